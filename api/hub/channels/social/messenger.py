"""Facebook Messenger: the webhook's `object` is `page`; texts up to 2,000 characters.
https://developers.facebook.com/docs/messenger-platform/reference/send-api/"""

from __future__ import annotations

import httpx

from api.hub.channels.social.limits import chars
from api.hub.channels.social.meta import MetaMessagesSender, MetaTextLimits, graph_throttled
from api.hub.channels.social.sending import PlatformApi, RetryPolicy
from api.settings import Settings

CHANNEL = "messenger"
LIMITS = MetaTextLimits(text_max=2000, measure=chars)


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
