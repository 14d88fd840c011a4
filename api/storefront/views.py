"""Routes of the demo storefront: the shop's front page with OpsDesk's chat widget, a page with
the stock rasa-webchat widget, their static files, the widget's transcript, and the help
centre (api/storefront/help_centre.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import DbSession
from api.errors import ApiError
from api.storefront import help_centre, shelf, transcript
from api.storefront.pages import page
from api.storefront.vendor import vendor_file

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)
router.include_router(help_centre.router)  # /help: the help centre


@router.get("/", response_class=HTMLResponse, name="storefront")
def storefront(request: Request, db: DbSession) -> HTMLResponse:
    """The Fernhill & Co. demo shop with the chat bubble."""
    return page(request, "storefront.html", products=shelf.featured(db_session=db))


@router.get("/storefront/webchat", response_class=HTMLResponse, name="storefront_webchat")
def storefront_webchat(request: Request) -> HTMLResponse:
    """The same shop's chat through the unmodified rasa-webchat 1.0.1 bundle."""
    return page(request, "webchat.html")


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
