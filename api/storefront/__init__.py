"""The demo storefront (Fernhill & Co.) with OpsDesk's chat widget, and a page with the stock
rasa-webchat widget, both talking to the hub's `/socket.io/`."""
