"""Routes of the agent console (/console). Pages are rendered on the server; forms post back
with the session's CSRF token and are answered with a redirect (or 204 to the page's small
script); live updates are server-sent events. The routes live by responsibility in
signin, queue_views, ticket_views, conversation_views, order_return_views, kpi_views and
admin_views (their shared parts in web); this module mounts them."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from api.console import (
    admin_views,
    conversation_views,
    kpi_views,
    live,
    order_return_views,
    queue_views,
    signin,
    ticket_views,
)
from api.console.web import (
    STATIC_DIR,
    STATIC_TYPES,
    NotSignedIn,
    Refused,
    render_page,
)
from api.errors import ApiError
from api.hub import get_hub

router = APIRouter(prefix="/console", include_in_schema=False)


# -- static files ---------------------------------------------------------------------------


@router.get("/static/{name}")
def console_static(name: str) -> FileResponse:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        raise ApiError(404, "not_found", "No such file")
    return FileResponse(
        path,
        media_type=STATIC_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache"},
    )


# -- wiring ---------------------------------------------------------------------------------

_installed: set[int] = set()


def install(app: FastAPI) -> None:
    """Mount the console and hear the hub's message events."""
    # In the order the routes were declared in one module before.
    for module in (
        signin,
        queue_views,
        ticket_views,
        conversation_views,
        order_return_views,
        kpi_views,
        admin_views,
    ):
        app.include_router(module.router)
    app.include_router(router)

    @app.exception_handler(NotSignedIn)
    async def _to_sign_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.url.path.endswith("/events") or request.headers.get("x-console-fetch"):
            return PlainTextResponse("Sign in first", status_code=401)
        target = "/console"
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return render_page(request, "refused.html", status_code=403, reason=exc.reason)

    hub = get_hub()
    if id(hub) not in _installed:
        hub.add_listener(live.get_feed().on_hub_event)
        _installed.add(id(hub))
