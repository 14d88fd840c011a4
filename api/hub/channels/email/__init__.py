"""The email channel: agents' replies mailed through an SMTP relay from a durable outbox,
and a support mailbox polled over IMAP whose mail becomes conversations and tickets."""
