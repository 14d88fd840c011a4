"""The conversation hub: every channel's messages stored, ordered, routed to the assistant or
to a person, and delivered back on the customer's channel.

Channels call `get_hub().receive(InboundMessage(...))` and, once at start,
`get_hub().register_sender(channel, sender)`.
"""

from __future__ import annotations

from functools import lru_cache

from api.hub.hub import Hub
from api.hub.messages import (
    ChannelSender,
    CustomerOffline,
    DeliveryQueued,
    InboundMessage,
    OutboundMessage,
)


@lru_cache
def get_hub() -> Hub:
    """The process's one hub."""
    return Hub()


__all__ = [
    "ChannelSender",
    "CustomerOffline",
    "DeliveryQueued",
    "Hub",
    "InboundMessage",
    "OutboundMessage",
    "get_hub",
]
