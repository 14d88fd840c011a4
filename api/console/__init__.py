"""The agent console under /console: login, the live queue, a conversation with its whole
context, replies, notes, ticket actions and the KPIs page (server-rendered, Jinja2)."""
