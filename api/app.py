"""The api process: ops API under /api/v1, the conversation hub, the agent console, the
storefront."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response
from sqlalchemy import text

from api import errors, metrics, openapi
from api.console.returns_report import router as returns_report_router
from api.console.views import install as install_console
from api.db import get_engine
from api.deps import MetricsReader
from api.hub import get_hub
from api.hub.channels.email.runtime import router as email_router
from api.hub.channels.social.views import router as social_router
from api.hub.install import install as install_hub
from api.middleware import EdgeMiddleware
from api.ops.catalog.views import router as catalog_router
from api.ops.conversations.views import router as conversations_router
from api.ops.inventory.views import router as inventory_router
from api.ops.kb.views import router as kb_router
from api.ops.metrics.views import router as metrics_router
from api.ops.orders.views import router as orders_router
from api.ops.returns.views import labels_router
from api.ops.returns.views import router as returns_router
from api.ops.tickets.views import router as tickets_router
from api.reads import get_reader
from api.retention import prune_periodically
from api.settings import get_settings
from api.storefront.views import router as storefront_router

DESCRIPTION = """
The operations API of OpsDesk: orders, shipments, inventory, returns, the knowledge base and
the human ticket queue. Every route needs `Authorization: Bearer <key>`; keys have the role
`admin`, `agent` or `service` (the assistant's action server). Errors are
`application/problem+json` with a machine-readable `code`. Creates accept an `Idempotency-Key`.
"""


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    pruning = asyncio.create_task(prune_periodically(get_engine(), get_settings()))
    await get_hub().start()
    # What the process holds from its start (modules, the app, the ORM's mappings) lives as
    # long as the process: move it out of the collector's view. Otherwise every full
    # collection walks it, and that took 90-130 ms in the middle of a request, the console's
    # slowest percentile (bench/bench_console.py).
    gc.collect()
    gc.freeze()
    yield
    await get_hub().stop()
    pruning.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pruning
    await get_reader().close()


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="OpsDesk operations API",
        version="1.0",
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    errors.install(app)

    # Inside Starlette's own error middleware: an unexpected error is answered by ours, which
    # keeps the connection open, and never reaches Starlette's, which would drop it.
    app.add_middleware(EdgeMiddleware)

    v1 = APIRouter(prefix="/api/v1")
    for router in (
        orders_router,
        catalog_router,
        inventory_router,
        returns_router,
        kb_router,
        tickets_router,
        conversations_router,
        metrics_router,
    ):
        v1.include_router(router)

    @v1.get("/ping", tags=["health"])
    async def ping() -> dict[str, str]:
        """A constant answer: the framework's floor in the benchmarks."""
        return {"pong": "ok"}

    app.include_router(v1)
    app.include_router(labels_router)  # customers' links: a token, not an API key
    app.include_router(storefront_router)  # GET /: the demo shop and its chat widget
    install_hub(app)  # /webhooks/rest/webhook and /socket.io/
    app.include_router(social_router)  # /webhooks/messenger|instagram|whatsapp|telegram
    app.include_router(email_router)  # the email channel's outbox and mailbox poll
    install_console(app)  # /console: the agents' queue, conversations, actions and KPIs
    app.include_router(returns_report_router)  # /console/returns: what returns teach

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
            401: {"description": "Missing or unknown key"},
            403: {"description": "A key other than the metrics token or the admin key"},
        },
        openapi_extra={"security": [{"bearerKey": []}]},
    )
    async def prometheus_metrics(_reader: MetricsReader) -> Response:
        """The process's Prometheus metrics. Needs `OPSDESK_METRICS_TOKEN` or the admin key
        as the bearer key; reads no database, so it answers while the database is away."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    openapi.install(app)
    return app
