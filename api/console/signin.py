"""Signing in and out of the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from api.console import accounts
from api.console.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Csrf,
    Me,
    check_csrf,
    client_address,
    render_page,
    safe_next,
)
from api.db import begin_write
from api.deps import DbSession
from api.settings import get_settings

router = APIRouter(prefix="/console", include_in_schema=False)


# -- sign in and out ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    response = render_page(
        request, "login.html", csrf_token=token, next=safe_next(next), login_error="", email=""
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(
    request: Request,
    db: DbSession,
    csrf_token: Csrf = "",
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not accounts.csrf_matches(expected, csrf_token):
        return render_page(
            request,
            "refused.html",
            status_code=403,
            reason="The sign-in form expired or did not come from this site. Open it again.",
        )
    settings = get_settings()
    begin_write(db)
    result = accounts.sign_in(
        db_session=db,
        settings=settings,
        email=email,
        password=password,
        client_address=client_address(request),
    )
    db.commit()
    if result.session_token is None:
        if result.locked_for_seconds:
            minutes = max(1, round(result.locked_for_seconds / 60))
            error = (
                "Too many failed sign-ins. Sign-in is locked for this account or this "
                f"network for about {minutes} minute{'s' if minutes != 1 else ''}; "
                "ask an admin if you need in sooner."
            )
            status = 429
        else:
            error = "That email and password don't match an account."
            status = 401
        return render_page(
            request,
            "login.html",
            status_code=status,
            csrf_token=expected,
            next=safe_next(next),
            login_error=error,
            email=email,
        )
    signed_in = RedirectResponse(safe_next(next), status_code=303)
    _set_cookie(
        request,
        signed_in,
        SESSION_COOKIE,
        accounts.sign_cookie(settings, result.session_token),
        max_age=settings.console_session_hours * 3600,
    )
    signed_in.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return signed_in


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.post("/logout")
def logout(request: Request, db: DbSession, me: Me, csrf_token: Csrf = "") -> Response:
    check_csrf(me, csrf_token)
    begin_write(db)
    accounts.sign_out(db_session=db, signed_in=me)
    db.commit()
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
