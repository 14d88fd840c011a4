"""One way to call a platform's send API: JSON POST, retried with exponential backoff on 429,
5xx and connection errors (a Retry-After is honoured), never on other 4xx; the last failure
raises DeliveryFailed so the hub marks the message's delivery failed.

Request URLs carry secrets (Telegram's bot token is in the path, Meta's page token in the
query), so no URL is ever put in a log line or an exception message here."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("opsdesk.hub.social")
# httpx logs every request URL at INFO; those URLs hold tokens.
logging.getLogger("httpx").setLevel(logging.WARNING)


class DeliveryFailed(Exception):
    """The platform did not take the message; `retryable` says whether waiting could help."""

    def __init__(self, platform: str, reason: str, status: int | None, retryable: bool) -> None:
        super().__init__(f"{platform}: {reason}")
        self.platform = platform
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first one included
    base_delay: float = 0.5  # seconds before the second attempt; doubled each time after
    max_delay: float = 8.0
    # A platform asking us to wait longer than this gets a failure instead: the conversation's
    # later messages are waiting behind this one.
    max_retry_after: float = 60.0


# Says whether a non-2xx answer is throttling in the platform's own terms (Meta answers some
# rate limits with 400 and an error code), and how long the body asks us to wait.
ThrottleCheck = Callable[[httpx.Response], tuple[bool, float | None]]


def _no_throttle_codes(_response: httpx.Response) -> tuple[bool, float | None]:
    return False, None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_reason(response: httpx.Response) -> str:
    """What the platform said went wrong, from its documented error bodies, without echoing
    anything we sent."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Graph API: {"error": {"message", "type", "code", ...}}
            return f"HTTP {response.status_code} code {error.get('code')}: {error.get('message')}"
        if "description" in body:  # Bot API: {"ok": false, "error_code", "description"}
            return f"HTTP {response.status_code}: {body.get('description')}"
    return f"HTTP {response.status_code}"


class PlatformApi:
    """JSON POSTs to one platform's send API with the retry policy above."""

    def __init__(
        self,
        platform: str,
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy | None = None,
        throttled: ThrottleCheck = _no_throttle_codes,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.platform = platform
        self.client = client
        self.policy = policy or RetryPolicy()
        self.throttled = throttled
        self._sleep = sleep

    async def post(
        self,
        url: str,
        body: dict[str, Any],
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST `body`; the platform's JSON answer, or DeliveryFailed after the last attempt."""
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            wait = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            try:
                response = await self.client.post(url, json=body, params=params, headers=headers)
            except httpx.TransportError as exc:
                failure = DeliveryFailed(
                    self.platform, f"{type(exc).__name__} reaching the send API", None, True
                )
            else:
                if response.is_success:
                    try:
                        answer = response.json()
                    except ValueError:
                        answer = {}
                    return answer if isinstance(answer, dict) else {}
                is_throttled, body_wait = self.throttled(response)
                retryable = (
                    response.status_code == 429 or response.status_code >= 500 or is_throttled
                )
                failure = DeliveryFailed(
                    self.platform, _error_reason(response), response.status_code, retryable
                )
                asked = retry_after_seconds(response.headers.get("retry-after"))
                if asked is None:
                    asked = body_wait
                if asked is not None:
                    if asked > policy.max_retry_after:
                        failure.retryable = False
                    wait = asked
            if not failure.retryable or attempt == policy.attempts:
                log.warning(
                    "%s send failed after %d attempt(s): %s", self.platform, attempt, failure
                )
                raise failure
            log.info(
                "%s send attempt %d failed (%s); retrying in %.1f s",
                self.platform,
                attempt,
                failure,
                wait,
            )
            await self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises
