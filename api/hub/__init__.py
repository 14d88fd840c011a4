"""The conversation hub: every channel's messages stored, ordered, routed to the assistant or
to a person, and delivered back on the customer's channel."""
