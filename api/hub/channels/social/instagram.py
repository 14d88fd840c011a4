"""Instagram messaging through the Messenger Platform: the webhook's `object` is `instagram`,
the Send API is the page's `/me/messages`; a text is at most 1,000 bytes of UTF-8.
https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message"""

from __future__ import annotations

import httpx

from api.hub.channels.social.limits import utf8_bytes
from api.hub.channels.social.meta import MetaMessagesSender, MetaTextLimits, graph_throttled
from api.hub.channels.social.sending import PlatformApi, RetryPolicy
from api.settings import Settings

CHANNEL = "instagram"
LIMITS = MetaTextLimits(text_max=1000, measure=utf8_bytes)


def sender(
    settings: Settings, client: httpx.AsyncClient, policy: RetryPolicy | None = None
) -> MetaMessagesSender:
    return MetaMessagesSender(
        CHANNEL,
        PlatformApi(CHANNEL, client, policy=policy, throttled=graph_throttled),
        graph_url=settings.meta_graph_url,
        graph_version=settings.meta_graph_version,
        page_token=settings.meta_page_token,
        limits=LIMITS,
    )
