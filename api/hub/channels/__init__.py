"""The hub's channels: each translates between its platform and the hub's message shapes."""
