"""What every console page shares: templates, headers, the signed-in agent, CSRF, the
answer after a form and the server-sent event stream."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates

from api.console import accounts, charts, live
from api.console.accounts import SignedIn
from api.deps import DbSession
from api.settings import get_settings

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["bar_chart"] = charts.bar_chart
templates.env.globals["column_chart"] = charts.column_chart

SESSION_COOKIE = "opsdesk_console"
LOGIN_CSRF_COOKIE = "opsdesk_console_login"
MAX_REPLY_CHARS = 4000
MAX_NOTE_CHARS = 4000
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
SNOOZE_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1)}


class NotSignedIn(Exception):
    """No valid session: pages go to the sign-in form."""


class Refused(Exception):
    """A signed-in agent may not do this (403), with the reason shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- sessions -------------------------------------------------------------------------------


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_agent(request: Request, db: DbSession) -> SignedIn:
    """The signed-in agent of the request's session cookie."""
    value = request.cookies.get(SESSION_COOKIE, "")
    token = accounts.unsign_cookie(get_settings(), value) if value else None
    me = accounts.session_of(db_session=db, token=token) if token else None
    if me is None:
        raise NotSignedIn()
    return me


Me = Annotated[SignedIn, Depends(current_agent)]
Csrf = Annotated[str, Form(alias="csrf_token")]


def check_csrf(me: SignedIn, given: str) -> None:
    if not accounts.csrf_matches(me.csrf_token, given):
        raise Refused("This form is out of date or did not come from the console. Reload it.")


def require_admin(me: SignedIn) -> None:
    if not me.is_admin:
        raise Refused("Only an admin of the console can open this page.")


def require_lead(me: SignedIn) -> None:
    """The operations lead's pages (the returns report): leads and admins."""
    if not me.reads_reports:
        raise Refused("Only the operations lead or an admin of the console can open this page.")


def render_page(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=PAGE_HEADERS
    )


def answer_form(url: str, request: Request, *, notice: str = "", error: str = "") -> Response:
    """After a form: 204 to the page's script (it refreshes live), else a redirect."""
    if request.headers.get("x-console-fetch") == "1" and not error:
        return Response(status_code=204)
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    separator = "&" if "?" in url else "?"
    target = f"{url}{separator}{query}" if query else url
    if request.headers.get("x-console-fetch") == "1":
        return Response(status_code=409, content=error, media_type="text/plain")
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path inside the console: no open redirect."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console"


async def event_stream(request: Request, conversation_id: str | None) -> StreamingResponse:
    feed = live.get_feed()

    async def body() -> Any:
        async with feed.subscription() as queue:
            async for chunk in live.stream(queue, conversation_id, request.is_disconnected):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
