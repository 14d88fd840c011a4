"""The one client of the OpsDesk operations API used by the actions.

Base URL from OPSDESK_API_URL (default http://127.0.0.1:8000), service key from
OPSDESK_SERVICE_KEY, else the `service_key` in var/secrets.json (OPSDESK_VAR_DIR overrides
var/). Every call carries the `X-Request-ID` of the customer's turn (`bind_turn`), so the
API's log lines of one turn share an id. Short timeouts: a slow API must not keep the customer waiting in silence, so every
failure to get an answer becomes ApiUnavailable, which the actions turn into a plain
"I can't reach our system" and an offer of a person.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from actions import history

if TYPE_CHECKING:
    from rasa_sdk import Tracker

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_API_URL = "http://127.0.0.1:8000"
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
# How long a verified order view serves the other actions of the same customer message.
TURN_LOOKUP_SECONDS = 10.0
TURN_LOOKUP_LIMIT = 256


class ApiError(Exception):
    """The API answered with an error (problem+json)."""

    def __init__(self, status: int, code: str = "", detail: str = "", body: Any = None) -> None:
        super().__init__(f"{status} {code}: {detail}".strip())
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}


class NotFound(ApiError):
    """404: unknown order (or wrong email/postal code), product, RMA..."""


class Conflict(ApiError):
    """409: e.g. order_not_cancellable, insufficient_stock."""


class NotEligible(ApiError):
    """422 return_not_eligible: `detail` is the policy reason in customer words."""


class RateLimited(ApiError):
    """429 too_many_attempts: too many failed order verifications in this conversation."""


class ApiUnavailable(ApiError):
    """No usable answer: connection refused, timeout, 5xx, or no service key."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "api_unavailable", detail)


_BY_STATUS = {404: NotFound, 409: Conflict, 422: NotEligible, 429: RateLimited}

REQUEST_ID_HEADER = "X-Request-ID"
# The ids the API keeps as given (api/observability.py); it would replace anything else.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_turn_request_id: ContextVar[str | None] = ContextVar("opsdesk_turn_request_id", default=None)


def request_id_for_turn(tracker: Tracker) -> str:
    """The request id of the customer's latest message: the one the conversation hub put in
    the message's metadata (`request_id`), else `<conversation>-<turn>-<message>`: a hash
    of the sender id (shared by all turns of the conversation), the number of the customer's
    message in the session, and a hash of that message's id. Every action run for one
    message derives the same id."""
    user_events = history.user_events(tracker)
    latest = user_events[-1] if user_events else {}
    given = (latest.get("metadata") or {}).get("request_id")
    if isinstance(given, str) and _SANE_REQUEST_ID.fullmatch(given):
        return given
    conversation = hashlib.sha256(str(tracker.sender_id).encode()).hexdigest()[:12]
    message = latest.get("message_id") or latest.get("timestamp") or uuid.uuid4().hex
    turn = hashlib.sha256(str(message).encode()).hexdigest()[:8]
    return f"{conversation}-{len(user_events)}-{turn}"


def bind_turn(tracker: Tracker) -> str:
    """Send the turn's request id with every API call this action run makes (each run of
    the action server is a task of its own, so the id does not leak to another)."""
    request_id = request_id_for_turn(tracker)
    _turn_request_id.set(request_id)
    return request_id


def current_request_id() -> str | None:
    return _turn_request_id.get()


def api_base_url() -> str:
    return os.environ.get("OPSDESK_API_URL", DEFAULT_API_URL).rstrip("/")


def service_key() -> str | None:
    """OPSDESK_SERVICE_KEY, else var/secrets.json's service_key (read each time: the API
    may create the file after the action server started)."""
    key = os.environ.get("OPSDESK_SERVICE_KEY")
    if key:
        return key
    var_dir = Path(os.environ.get("OPSDESK_VAR_DIR") or REPO_ROOT / "var")
    try:
        return json.loads((var_dir / "secrets.json").read_text()).get("service_key") or None
    except (OSError, ValueError):
        return None


class OpsApiClient:
    """Async client; one aiohttp session per event loop, reused across actions.

    A successful order lookup is kept for the other actions run for the same customer
    message (same request id, conversation, order and proof): the verification form and
    the action that answers run one after the other, and both need the order. Any write
    through the client forgets them all; a failed lookup is never kept (the API counts it)."""

    def __init__(self, base_url: str | None = None, key: str | None = None) -> None:
        self._base_url = base_url
        self._key = key
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._turn_lookups: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}

    @property
    def base_url(self) -> str:
        return (self._base_url or api_base_url()).rstrip("/")

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            timeout = aiohttp.ClientTimeout(
                total=None,
                sock_connect=CONNECT_TIMEOUT_S,
                connect=CONNECT_TIMEOUT_S,
                sock_read=READ_TIMEOUT_S,
            )
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._session_loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        key = self._key or service_key()
        if not key:
            raise ApiUnavailable("no service key (OPSDESK_SERVICE_KEY or var/secrets.json)")
        request_id = _turn_request_id.get() or uuid.uuid4().hex
        headers = {
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            REQUEST_ID_HEADER: request_id,
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        if method != "GET" and path != "/orders/lookup":
            self._turn_lookups.clear()  # a write may change what a lookup answered
        url = f"{self.base_url}/api/v1{path}"
        try:
            session = self._session_for_loop()
            async with session.request(
                method, url, json=json_body, params=params, headers=headers
            ) as response:
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            logger.warning("ops API %s %s failed (request %s): %r", method, path, request_id, exc)
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            body = {}
        if status < 400:
            return body if isinstance(body, dict) else {"items": body}
        if not isinstance(body, dict):
            body = {}
        code, detail = body.get("code", ""), body.get("detail") or body.get("title") or ""
        if status >= 500:
            logger.warning(
                "ops API %s %s answered %s (request %s): %s",
                method,
                path,
                status,
                request_id,
                text[:300],
            )
            raise ApiUnavailable(f"{status} {code} {detail}".strip())
        raise _BY_STATUS.get(status, ApiError)(status, code, detail, body)

    # ---------------------------------------------------------------- orders
    async def lookup_order(
        self,
        order_number: str,
        *,
        conversation_id: str,
        email: str | None = None,
        postal_code: str | None = None,
    ) -> dict[str, Any]:
        """POST /orders/lookup: the verified customer's view of the order (once per customer
        message: see the class)."""
        body: dict[str, Any] = {"order_number": order_number, "conversation_id": conversation_id}
        if email:
            body["email"] = email
        if postal_code:
            body["postal_code"] = postal_code
        request_id = _turn_request_id.get()
        key = (request_id or "", conversation_id, order_number, email or "", postal_code or "")
        now = time.monotonic()
        kept = self._turn_lookups.get(key) if request_id else None
        if kept is not None and now - kept[0] < TURN_LOOKUP_SECONDS:
            return copy.deepcopy(kept[1])
        order = await self._request("POST", "/orders/lookup", json_body=body)
        if request_id:
            self._keep_lookup(key, now, order)
        return order

    def _keep_lookup(self, key: tuple[str, ...], now: float, order: dict[str, Any]) -> None:
        fresh = {k: v for k, v in self._turn_lookups.items() if now - v[0] < TURN_LOOKUP_SECONDS}
        while len(fresh) >= TURN_LOOKUP_LIMIT:
            fresh.pop(next(iter(fresh)))
        fresh[key] = (now, copy.deepcopy(order))
        self._turn_lookups = fresh

    async def cancel_order(
        self, order_number: str, reason: str, *, proof: dict[str, str]
    ) -> dict[str, Any]:
        """With the service key the customer's email or postal code is proof again."""
        return await self._request(
            "POST", f"/orders/{order_number}/cancel", json_body={"reason": reason, **proof}
        )

    # --------------------------------------------------------------- catalog
    async def search_products(self, q: str, limit: int = 5) -> list[dict[str, Any]]:
        found = await self._request("GET", "/products", params={"q": q, "limit": limit})
        return found.get("items", [])

    async def get_product(self, sku: str) -> dict[str, Any]:
        return await self._request("GET", f"/products/{sku}")

    async def get_inventory(self, sku: str) -> dict[str, Any]:
        """A variant SKU gives one variant; a style code gives {style, variants: [...]}"""
        return await self._request("GET", f"/inventory/{sku}")

    # --------------------------------------------------------------- returns
    async def return_eligibility(
        self,
        order_number: str,
        lines: list[dict[str, Any]],
        *,
        proof: dict[str, str],
        resolution: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"order_number": order_number, "lines": lines, **proof}
        if resolution:
            body["resolution"] = resolution
        return await self._request("POST", "/returns/eligibility", json_body=body)

    async def create_return(
        self,
        order_number: str,
        lines: list[dict[str, Any]],
        resolution: str,
        *,
        proof: dict[str, str],
        idempotency_key: str,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_number": order_number,
            "lines": lines,
            "resolution": resolution,
            **proof,
        }
        if conversation_id:
            body["conversation_id"] = conversation_id
        return await self._request(
            "POST", "/returns", json_body=body, idempotency_key=idempotency_key
        )

    async def get_return(
        self, rma_number: str, proof: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The RMA; without `proof` (the verified customer's email or postal code) the API
        answers only its status, not its order, items or amounts."""
        return await self._request("GET", f"/returns/{rma_number}", params=proof or None)

    async def known_customer(
        self, conversation_id: str, channel: str | None = None
    ) -> dict[str, Any]:
        """The returning customer of a conversation (NotFound when not known); `channel`, the
        one the session started on, lets the API answer at once for a channel that does not
        identify the person."""
        return await self._request(
            "GET",
            f"/conversations/{quote(conversation_id, safe='')}/known-customer",
            params={"channel": channel} if channel else None,
        )

    # ------------------------------------------------------ knowledge, tickets
    async def kb_search(self, q: str, sku: str | None = None, limit: int = 3) -> dict[str, Any]:
        return await self._request("GET", "/kb/search", params={"q": q, "sku": sku, "limit": limit})

    async def create_ticket(
        self,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        priority: str,
        summary: str,
        idempotency_key: str,
        customer_email: str | None = None,
        order_number: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "conversation_id": conversation_id,
            "channel": channel,
            "reason": reason,
            "priority": priority,
            "summary": summary,
        }
        if customer_email:
            body["customer_email"] = customer_email
        if order_number:
            body["order_number"] = order_number
        return await self._request(
            "POST", "/tickets", json_body=body, idempotency_key=idempotency_key
        )


# The actions share one client; tests swap it with `set_client`.
_client = OpsApiClient()


def get_client() -> OpsApiClient:
    return _client


def set_client(client: OpsApiClient) -> None:
    global _client
    _client = client
