"""Routes of the agent console (/console). Pages are rendered on the server; forms post back
with the session's CSRF token and are answered with a redirect (or 204 to the page's small
script); live updates are server-sent events."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.console import accounts, charts, kpis, live, service
from api.console import conversation as conversation_view
from api.console.accounts import SignedIn
from api.db import begin_write, utcnow
from api.deps import DbSession
from api.errors import ApiError
from api.hub import get_hub
from api.ops.conversations import flows as conversation_flows
from api.ops.conversations import service as conversations
from api.ops.orders import service as orders
from api.ops.returns import service as returns
from api.ops.returns.enums import RmaStatus
from api.ops.returns.policy import load_policy
from api.ops.tickets import service as tickets
from api.ops.tickets.models import Ticket
from api.ops.tickets.service import Priority, TicketStatus
from api.settings import get_settings
from opsdesk_ids import MAX_ROW_ID, parse_row_id

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

router = APIRouter(prefix="/console", include_in_schema=False)


class NotSignedIn(Exception):
    """No valid session: pages go to the sign-in form."""


class Refused(Exception):
    """A signed-in agent may not do this (403), with the reason shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- sessions -------------------------------------------------------------------------------


def _client_address(request: Request) -> str:
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


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=PAGE_HEADERS
    )


def _back(url: str, request: Request, *, notice: str = "", error: str = "") -> Response:
    """After a form: 204 to the page's script (it refreshes live), else a redirect."""
    if request.headers.get("x-console-fetch") == "1" and not error:
        return Response(status_code=204)
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    separator = "&" if "?" in url else "?"
    target = f"{url}{separator}{query}" if query else url
    if request.headers.get("x-console-fetch") == "1":
        return Response(status_code=409, content=error, media_type="text/plain")
    return RedirectResponse(target, status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: no open redirect."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console"


# -- sign in and out ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    response = _page(
        request, "login.html", csrf_token=token, next=_safe_next(next), login_error="", email=""
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
        return _page(
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
        client_address=_client_address(request),
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
        return _page(
            request,
            "login.html",
            status_code=status,
            csrf_token=expected,
            next=_safe_next(next),
            login_error=error,
            email=email,
        )
    signed_in = RedirectResponse(_safe_next(next), status_code=303)
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


# -- the queue ------------------------------------------------------------------------------


def _filters(
    status: str = "", channel: str = "", reason: str = "", assignee: str = "", mine: str = ""
) -> service.QueueFilters:
    return service.QueueFilters(
        status=status[:20],
        channel=channel[:20],
        reason=reason[:40],
        assignee=assignee[:12],
        mine=mine in ("1", "true", "on"),
    )


Filters = Annotated[service.QueueFilters, Depends(_filters)]


# The queue's rows are the same for every agent with the same filters: rendered once per
# change of the tickets table (and per half minute, for the SLA countdown), then given each
# agent's CSRF token and "mine" count. With many agents watching, a new handoff costs one
# render, not one per open page.
CSRF_SLOT = "__opsdesk_csrf_slot__"
MINE_SLOT = "__opsdesk_mine_slot__"
_fragments: OrderedDict[tuple[Any, ...], str] = OrderedDict()
FRAGMENTS_KEPT = 64


def _queue_fragment(
    request: Request, db: Session, filters: service.QueueFilters, me: SignedIn
) -> str:
    version = live.tickets_fingerprint(db)
    key = (
        version,
        tuple(sorted(filters.as_query().items())),
        me.agent_id if filters.mine else None,
        int(time.time() // 30),
    )
    html = _fragments.get(key)
    if html is None:
        found = service.queue(db_session=db, filters=filters, agent_id=me.agent_id)
        html = templates.get_template("_queue_live.html").render(
            request=request,
            queue=found,
            filters=filters,
            query=urlencode(filters.as_query()),
            now=utcnow(),
            csrf_token=CSRF_SLOT,
            mine_count=MINE_SLOT,
        )
        _fragments[key] = html
        while len(_fragments) > FRAGMENTS_KEPT:
            _fragments.popitem(last=False)
    mine = service.mine_count(db_session=db, agent_id=me.agent_id)
    return html.replace(CSRF_SLOT, me.csrf_token).replace(MINE_SLOT, str(mine))


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    db: DbSession,
    me: Me,
    filters: Filters,
    notice: str = "",
    error: str = "",
) -> HTMLResponse:
    return _page(
        request,
        "queue.html",
        me=me,
        queue_live=Markup(_queue_fragment(request, db, filters, me)),
        choices=service.filter_choices(db_session=db),
        filters=filters,
        query=urlencode(filters.as_query()),
        statuses=[s.value for s in TicketStatus],
        notice=notice[:200],
        error=error[:300],
    )


@router.get("/queue/live", response_class=HTMLResponse)
def queue_live(request: Request, db: DbSession, me: Me, filters: Filters) -> HTMLResponse:
    """The counts and the table of the queue, for the page to swap in on a `tickets` event."""
    return HTMLResponse(_queue_fragment(request, db, filters, me), headers=PAGE_HEADERS)


async def _events(request: Request, conversation_id: str | None) -> StreamingResponse:
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


@router.get("/events")
async def queue_events(request: Request, me: Me) -> StreamingResponse:
    """Server-sent events for the queue: `tickets` whenever any ticket changes."""
    return await _events(request, None)


# -- ticket actions -------------------------------------------------------------------------


def _ticket(db: Session, ticket_id: int) -> Ticket:
    begin_write(db)
    return tickets.get_or_raise(db_session=db, ticket_id=ticket_id)


def _where_after(ticket: Ticket, next: str | None) -> str:
    if next:
        return _safe_next(next)
    if ticket.conversation_id:
        return f"/console/conversations/{ticket.conversation_id}"
    return "/console"


def _act(request: Request, db: Session, ticket: Ticket, next: str | None, fn: Any) -> Response:
    """Run one action in the request's transaction; a rule's refusal is shown to the agent."""
    try:
        notice = fn()
    except ApiError as exc:
        db.rollback()
        return _back(_where_after(ticket, next), request, error=exc.detail or exc.title)
    db.commit()
    return _back(_where_after(ticket, next), request, notice=notice or "")


@router.post("/tickets/{ticket_id}/claim")
def claim(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=me.agent_id)
        return f"Ticket #{ticket.id} is yours."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/assign")
def assign(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    assignee_id: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        if not assignee_id.isdigit():
            tickets.unassign(db_session=db, ticket=ticket, actor=me.email)
            return f"Ticket #{ticket.id} is back in the team's queue."
        agent_id = parse_row_id(assignee_id)  # None past the column's range, or for "²"
        agent = accounts.active_agent(db_session=db, agent_id=agent_id) if agent_id else None
        if agent is None:
            raise ApiError(422, "unknown_agent", "No such agent", "That agent has no account.")
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=agent.id)
        return f"Ticket #{ticket.id} is assigned to {agent.name}."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/unassign")
def unassign(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    csrf_token: Csrf = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.unassign(db_session=db, ticket=ticket, actor=me.email)
        return f"Ticket #{ticket.id} is back in the team's queue."

    return _act(request, db, ticket, next, run)


@router.post("/tickets/{ticket_id}/priority")
def change_priority(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    priority: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        if priority not in {p.value for p in Priority}:
            raise ApiError(422, "invalid_priority", "Unknown priority", "Choose a priority.")
        tickets.update(db_session=db, ticket=ticket, actor=me.email, priority=priority)
        return f"Priority is {priority}."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/pending")
def set_pending(
    ticket_id: int,
    request: Request,
    db: DbSession,
    me: Me,
    snooze: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        wait = SNOOZE_CHOICES.get(snooze)
        until = utcnow() + wait if wait else None
        tickets.snooze(db_session=db, ticket=ticket, actor=me.email, until=until)
        return f"Snoozed until {until:%H:%M} UTC." if until else "Pending."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/reopen")
def reopen(
    ticket_id: int, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)

    def run() -> str:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, status=TicketStatus.open.value)
        ticket.snoozed_until = None
        return "Open again."

    return _act(request, db, ticket, None, run)


@router.post("/tickets/{ticket_id}/resolve")
def resolve(
    ticket_id: int, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    """Resolve: the conversation goes back to the bot, which greets the customer."""
    check_csrf(me, csrf_token)
    ticket = _ticket(db, ticket_id)
    handed_back: list[str] = []

    def run() -> str:
        conversation_id = tickets.resolve(db_session=db, ticket=ticket, actor=me.email)
        if conversation_id:
            handed_back.append(conversation_id)
        return f"Ticket #{ticket.id} is resolved; the assistant has the conversation again."

    response = _act(request, db, ticket, None, run)
    for conversation_id in handed_back:
        get_hub().handed_back(conversation_id)
    return response


@router.post("/conversations/{conversation_id}/handback")
def hand_back(
    conversation_id: str, request: Request, db: DbSession, me: Me, csrf_token: Csrf = ""
) -> Response:
    """Give the conversation back to the bot and leave the ticket pending (not resolved)."""
    check_csrf(me, csrf_token)
    begin_write(db)
    conversation = conversations.get_or_raise(db_session=db, conversation_id=conversation_id[:120])
    was_human = conversation.mode == "human"
    conversations.set_mode(
        db_session=db, conversation_id=conversation.id, mode="bot", actor=me.email
    )
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=conversation.id)
    if ticket is not None and ticket.status not in (TicketStatus.resolved, TicketStatus.pending):
        tickets.snooze(db_session=db, ticket=ticket, actor=me.email, until=None)
    db.commit()
    if was_human:
        get_hub().handed_back(conversation.id)
    return _back(
        f"/console/conversations/{conversation.id}",
        request,
        notice="The assistant has the conversation again; the ticket is pending.",
    )


# -- a conversation -------------------------------------------------------------------------


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    notice: str = "",
    error: str = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """The newest turns (or, without the script, those `before` a turn), the header and the
    context panel."""
    conversation = conversations.get(db_session=db, conversation_id=conversation_id[:120])
    if conversation is None:
        return _page(
            request, "refused.html", status_code=404, reason="No such conversation.", me=me
        )
    page = conversation_view.conversation_page(
        db_session=db, conversation=conversation, before_id=before
    )
    return _page(
        request,
        "conversation.html",
        me=me,
        page=page,
        head=page.head,
        canned=conversation_view.canned_responses(page, me.first_name),
        priorities=conversation_view.PRIORITIES,
        snooze_choices=list(SNOOZE_CHOICES),
        notice=notice[:200],
        error=error[:300],
        older_window=before is not None,
        customer_left=get_hub().customer_gone(conversation.id),
    )


@router.get("/conversations/{conversation_id}/messages", response_class=HTMLResponse)
def conversation_messages(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """Transcript rows for the page: the turns after `after` to append, or one page of the
    turns `before` a turn to put above the others (with the next "Earlier messages")."""
    cid = conversation_id[:120]
    if before is not None:
        older = conversation_view.transcript_before(
            db_session=db, conversation_id=cid, before_id=before
        )
        return _page(
            request,
            "_messages.html",
            messages=older.messages,
            me=me,
            conversation_id=cid,
            earlier_before=older.first_id if older.earlier else None,
        )
    messages = conversation_view.transcript_after(
        db_session=db, conversation_id=cid, after_id=after
    )
    return _page(request, "_messages.html", messages=messages, me=me, conversation_id=cid)


@router.get("/conversations/{conversation_id}/head", response_class=HTMLResponse)
def conversation_head(conversation_id: str, request: Request, db: DbSession, me: Me) -> Response:
    """The header (ticket status, priority, assignee, mode, actions), which the page swaps in
    when the ticket changes."""
    conversation = conversations.get(db_session=db, conversation_id=conversation_id[:120])
    if conversation is None:
        return PlainTextResponse("No such conversation.", status_code=404)
    head = conversation_view.head_of(db_session=db, conversation=conversation)
    return _page(request, "_conversation_head.html", me=me, head=head)


@router.get("/conversations/{conversation_id}/events")
async def conversation_events(conversation_id: str, request: Request, me: Me) -> StreamingResponse:
    """Server-sent events: `message` for each new or delivered turn, `tickets` on changes."""
    return await _events(request, conversation_id[:120])


@router.post("/conversations/{conversation_id}/reply")
def reply(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    text: Annotated[str, Form(max_length=MAX_REPLY_CHARS)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """The same path as POST /api/v1/conversations/{id}/messages: stored, then delivered on
    the customer's channel. An unowned ticket becomes the replying agent's."""
    check_csrf(me, csrf_token)
    url = f"/console/conversations/{conversation_id[:120]}"
    if not text.strip():
        return _back(url, request, error="Write a reply first.")
    begin_write(db)
    message = conversation_flows.agent_reply(
        db_session=db,
        conversation_id=conversation_id[:120],
        text=text.strip(),
        agent_name=me.first_name,
        actor=me.email,
    )
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=message.conversation_id)
    if ticket is not None and ticket.status != TicketStatus.resolved and not ticket.assignee_id:
        tickets.update(db_session=db, ticket=ticket, actor=me.email, assignee_id=me.agent_id)
    db.commit()
    get_hub().deliver_soon(message.conversation_id)
    return _back(url, request)


@router.post("/conversations/{conversation_id}/notes")
def add_note(
    conversation_id: str,
    request: Request,
    db: DbSession,
    me: Me,
    text: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """A private note on the conversation's ticket: the team sees it, the customer never."""
    check_csrf(me, csrf_token)
    url = f"/console/conversations/{conversation_id[:120]}"
    begin_write(db)
    ticket = conversation_view.ticket_of(db_session=db, conversation_id=conversation_id[:120])
    if ticket is None:
        return _back(url, request, error="This conversation has no ticket to note on.")
    if not text.strip():
        return _back(url, request, error="Write the note first.")
    service.add_note(
        db_session=db,
        ticket=ticket,
        agent_id=me.agent_id,
        author_name=me.name,
        text=text,
        actor=me.email,
    )
    db.commit()
    return _back(f"{url}#notes", request, notice="Note saved (only the team sees it).")


# -- returns and orders ---------------------------------------------------------------------


def _policy() -> Any:
    return load_policy(get_settings().store_dir / "return_policy.yml")


def _tell_customer(db: Session, conversation_id: str | None, text: str, me: SignedIn) -> bool:
    """Send the customer what they need to know about an action, on their channel."""
    if not conversation_id:
        return False
    conversation_flows.agent_reply(
        db_session=db,
        conversation_id=conversation_id,
        text=text,
        agent_name=me.first_name,
        actor=me.email,
    )
    return True


def _rma_action(
    request: Request,
    db: Session,
    me: SignedIn,
    rma_number: str,
    back_to: str | None,
    fn: Any,
) -> Response:
    begin_write(db)
    rma = returns.get_by_number_or_raise(db_session=db, rma_number=rma_number[:40])
    conversation_id = back_to or rma.conversation_id
    url = f"/console/conversations/{conversation_id}" if conversation_id else "/console"
    try:
        notice, told = fn(rma, conversation_id)
    except ApiError as exc:
        db.rollback()
        return _back(url, request, error=exc.detail or exc.title)
    db.commit()
    if told and conversation_id:
        get_hub().deliver_soon(conversation_id)
    return _back(url, request, notice=notice)


@router.post("/returns/{rma_number}/approve")
def approve_return(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        returns.transition(db_session=db, rma=rma, to=RmaStatus.approved, actor=me.email)
        return f"{rma.rma_number} approved.", False

    return _rma_action(request, db, me, rma_number, conversation_id, run)


@router.post("/returns/{rma_number}/reject")
def reject_return(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    reason: Annotated[str, Form(max_length=500)] = "",
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    """Reject with a reason the customer sees: it is sent to them and kept in the audit log."""
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        if not reason.strip():
            raise ApiError(
                422, "reason_required", "A reason is needed", "Say why, for the customer."
            )
        returns.transition(
            db_session=db, rma=rma, to=RmaStatus.rejected, actor=me.email, note=reason.strip()
        )
        told = _tell_customer(
            db,
            conv,
            f"About your return {rma.rma_number}: we can't accept it. {reason.strip()}",
            me,
        )
        return f"{rma.rma_number} rejected" + (" and the customer told." if told else "."), told

    return _rma_action(request, db, me, rma_number, conversation_id, run)


@router.post("/returns/{rma_number}/label")
def issue_label(
    rma_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(me, csrf_token)

    def run(rma: Any, conv: str | None) -> tuple[str, bool]:
        returns.issue_label(db_session=db, rma=rma, policy=_policy(), actor=me.email)
        return f"New label {rma.label_number} for {rma.rma_number}.", False

    return _rma_action(request, db, me, rma_number, conversation_id, run)


@router.post("/orders/{order_number}/cancel")
def cancel_order(
    order_number: str,
    request: Request,
    db: DbSession,
    me: Me,
    reason: Annotated[str, Form(max_length=300)] = "",
    conversation_id: Annotated[str | None, Form(max_length=120)] = None,
    csrf_token: Csrf = "",
) -> Response:
    """Cancel through the order status machine: refused with the reason once shipped."""
    check_csrf(me, csrf_token)
    begin_write(db)
    url = f"/console/conversations/{conversation_id}" if conversation_id else "/console"
    try:
        order = orders.get_by_number_or_raise(db_session=db, order_number=order_number[:40])
        orders.cancel(
            db_session=db,
            order=order,
            actor=me.email,
            reason=reason.strip() or "cancelled by the support team",
        )
    except ApiError as exc:
        db.rollback()
        return _back(url, request, error=exc.detail or exc.title)
    db.commit()
    return _back(url, request, notice=f"Order #{order.number} is cancelled.")


# -- KPIs -----------------------------------------------------------------------------------


def _period(days: str) -> tuple[datetime, int]:
    span = int(days) if days in kpis.PERIODS else 30
    return utcnow() - timedelta(days=span), span


# A period's figures are computed at most every KPI_SECONDS: the page is a dashboard, and
# each computation reads every order, return and ticket of the period.
KPI_SECONDS = 30.0
_reports: dict[int, tuple[float, kpis.Report]] = {}


def _report(db: Session, days: str) -> kpis.Report:
    since, span = _period(days)
    kept = _reports.get(span)
    if kept is not None and time.monotonic() - kept[0] < KPI_SECONDS:
        return kept[1]
    found = kpis.report(db_session=db, since=since, days=span)
    _reports[span] = (time.monotonic(), found)
    return found


@router.get("/kpis", response_class=HTMLResponse)
def kpis_page(request: Request, db: DbSession, me: Me, days: str = "30") -> HTMLResponse:
    found = _report(db, days)
    span = found.days
    return _page(request, "kpis.html", me=me, report=found, periods=kpis.PERIODS, days=str(span))


@router.get("/kpis.csv")
def kpis_csv(db: DbSession, me: Me, days: str = "30") -> PlainTextResponse:
    found = _report(db, days)
    span = found.days
    return PlainTextResponse(
        kpis.as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="opsdesk-kpis-{span}d.csv"'},
    )


# -- admin: the team's accounts ------------------------------------------------------------


@router.get("/admin/agents", response_class=HTMLResponse)
def agents_page(
    request: Request, db: DbSession, me: Me, notice: str = "", error: str = ""
) -> HTMLResponse:
    require_admin(me)
    return _page(
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
        return _back("/console/admin/agents", request, error=str(exc).capitalize() + ".")
    db.commit()
    return _back("/console/admin/agents", request, notice=f"{agent.email} can sign in now.")


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
        return _page(request, "refused.html", status_code=403, reason=exc.reason)

    hub = get_hub()
    if id(hub) not in _installed:
        hub.add_listener(live.get_feed().on_hub_event)
        _installed.add(id(hub))
