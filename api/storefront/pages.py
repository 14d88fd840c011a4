"""How every storefront page is answered: its templates, and the headers that keep it to the
shop's own origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.storefront.vendor import missing_vendor_files

HERE = Path(__file__).resolve().parent
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


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"socket_path": SOCKET_PATH, "missing_files": missing_vendor_files(), **context},
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
