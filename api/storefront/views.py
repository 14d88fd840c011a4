"""Routes of the demo storefront: the shop's front page with OpsDesk's chat widget, a page with
the stock rasa-webchat widget, their static files, and the widget's transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import DbSession
from api.errors import ApiError
from api.storefront import shelf, transcript
from api.storefront.vendor import missing_vendor_files, vendor_file

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

SOCKET_PATH = "/socket.io/"
# The pages load nothing from other hosts: fonts, scripts and images are the api's own, and
# the socket goes back to the same origin. rasa-webchat's stylesheet from a font host is
# refused here, so no request leaves the shop.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"socket_path": SOCKET_PATH, "missing_files": missing_vendor_files(), **context},
        headers=PAGE_HEADERS,
    )


@router.get("/", response_class=HTMLResponse, name="storefront")
def storefront(request: Request, db: DbSession) -> HTMLResponse:
    """The Fernhill & Co. demo shop with the chat bubble."""
    return _page(request, "storefront.html", products=shelf.featured(db_session=db))


@router.get("/storefront/webchat", response_class=HTMLResponse, name="storefront_webchat")
def storefront_webchat(request: Request) -> HTMLResponse:
    """The same shop's chat through the unmodified rasa-webchat 1.0.1 bundle."""
    return _page(request, "webchat.html")


@router.get("/storefront/static/{name}", name="storefront_static")
def storefront_static(name: str) -> FileResponse:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        raise ApiError(404, "not_found", "No such file")
    return FileResponse(
        path,
        media_type=STATIC_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/storefront/vendor/{name}", name="storefront_vendor")
def storefront_vendor(name: str) -> FileResponse:
    path = vendor_file(name)
    if path is None:
        raise ApiError(
            404,
            "not_found",
            "No such file",
            detail="Browser files come from npm: run `make setup` (npm ci) at the repo root.",
        )
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/storefront/chat/{session_id}/transcript", name="storefront_transcript")
def chat_transcript(
    session_id: str,
    db: DbSession,
    after: int | None = Query(default=None, ge=0),
) -> dict[str, Any]:
    """The conversation of this socket.io session, for the widget to repaint after a reload."""
    return transcript.for_session(db_session=db, session_id=session_id, after_id=after)
