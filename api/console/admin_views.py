"""Admin: the team's accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import (
    HTMLResponse,
    Response,
)

from api.console import accounts
from api.console.web import (
    Csrf,
    Me,
    answer_form,
    check_csrf,
    render_page,
    require_admin,
)
from api.db import begin_write
from api.deps import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)


# -- admin: the team's accounts ------------------------------------------------------------


@router.get("/admin/agents", response_class=HTMLResponse)
def agents_page(
    request: Request, db: DbSession, me: Me, notice: str = "", error: str = ""
) -> HTMLResponse:
    require_admin(me)
    return render_page(
        request,
        "agents.html",
        me=me,
        agents=accounts.list_agents(db_session=db),
        notice=notice[:200],
        error=error[:300],
    )


@router.post("/admin/agents")
def create_agent(
    request: Request,
    db: DbSession,
    me: Me,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=10)] = "agent",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Csrf = "",
) -> Response:
    require_admin(me)
    check_csrf(me, csrf_token)
    begin_write(db)
    try:
        agent = accounts.create_agent(
            db_session=db, email=email, name=name, role=role, password=password
        )
    except ValueError as exc:
        db.rollback()
        return answer_form("/console/admin/agents", request, error=str(exc).capitalize() + ".")
    db.commit()
    return answer_form("/console/admin/agents", request, notice=f"{agent.email} can sign in now.")
