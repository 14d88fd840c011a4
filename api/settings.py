"""One settings object for the api process, read from OPSDESK_* variables and `.env`."""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# Keys that are generated at first start when not given, and kept under var/.
GENERATED_SECRETS = (
    "admin_key",
    "service_key",
    "agent_key",
    "session_secret",
    "agent_password",
    "metrics_token",
    "admin_password",
    # Rasa's HTTP API (`rasa run --auth-token`); the hub sends it on every call to Rasa.
    "rasa_token",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", env_file=".env", extra="ignore")

    var_dir: Path = REPO_ROOT / "var"
    database_url: str = ""
    # The api's connections, for the SQLAlchemy sessions (api/db.py) and the one-statement
    # reader of the hottest routes (api/reads.py) alike: see api.db.DatabaseConfig.
    database_pool_size: int = 20
    database_reader_pool_size: int = 8
    database_wait_seconds: float = 3.0
    sqlite_write_wait_seconds: float = 10.0
    sqlite_read_wait_seconds: float = 2.0
    admin_key: str = ""
    service_key: str = ""
    agent_key: str = ""
    session_secret: str = ""
    # Password of the demo agent (alex@fernhill.example) that the seed creates.
    agent_password: str = ""
    # Password of the demo store's console admin (admin@fernhill.example).
    admin_password: str = ""
    # Console sign-in: failures allowed per account and per client address within the window
    # before sign-in is refused for the rest of it; how long a session lasts.
    console_max_failures_per_account: int = 5
    console_max_failures_per_address: int = 20
    console_lockout_seconds: int = 900
    console_session_hours: int = 12
    rasa_url: str = "http://127.0.0.1:5005"
    # Several Rasa servers sharing one tracker store (PostgreSQL) and lock store (Redis):
    # their base URLs, comma-separated. Empty: rasa_url alone. The hub keeps each
    # conversation on one of them and moves it to the next when that one does not answer.
    rasa_urls: str = ""
    rasa_token: str = ""
    # How many Rasa servers (each with its action server) and api processes `opsdesk up`
    # starts; more than one needs PostgreSQL and Redis.
    replicas: int = Field(default=1, ge=1, le=16)
    # A turn of the assistant that takes longer is answered "briefly unavailable".
    rasa_timeout_seconds: float = 20.0
    # Turns each api process has in flight at each Rasa server at once; the others wait in
    # the hub, in order, up to rasa_timeout_seconds (then "briefly unavailable").
    rasa_concurrency: int = Field(default=8, ge=1, le=256)
    # Redis: Rasa's lock store and the socket.io rooms shared by several api processes.
    redis_url: str = ""
    # RabbitMQ (amqp://user:password@host:port/vhost): Rasa publishes every tracker event
    # to this queue (through its fanout exchange `rasa-exchange`).
    rabbitmq_url: str = ""
    rabbitmq_queue: str = "rasa_events"
    store_dir: Path = REPO_ROOT / "data" / "store"
    # Failed proofs of identity allowed per conversation, and per order (or return) number
    # whatever the conversation, within the window, before 429. The assistant gives up when
    # the API says no tries are left: this is the one limit (three, as customers know it).
    lookup_max_failures: int = 3
    lookup_max_failures_per_order: int = 10
    lookup_failure_window_seconds: int = 900
    # How long a proof of identity given on a channel that identifies the person (Telegram,
    # Messenger, Instagram, WhatsApp, email) lets the assistant greet them by name and offer
    # their latest order in a later session without asking again. 0 turns that off.
    known_customer_hours: float = Field(default=720.0, ge=0)
    # The returns report's flags (api/ops/metrics/returns.py): a product's defect and "not as
    # described" shares of units sold, a size returned as too small/large this many times as
    # often as the other sizes and by this share of its units, and the fewest units behind any.
    returns_defect_rate: float = Field(default=0.05, gt=0, le=1)
    returns_not_as_described_rate: float = Field(default=0.05, gt=0, le=1)
    returns_size_skew: float = Field(default=3.0, ge=1)
    returns_size_min_rate: float = Field(default=0.15, gt=0, le=1)
    returns_min_units: int = Field(default=3, ge=1)
    log_level: str = "info"
    # Social channels: each is off until its secrets are set (api/hub/channels/social/).
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    meta_page_token: str = ""
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "21.0"
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    # Email channel (api/hub/channels/email/): outbound is off until the SMTP relay and the
    # From address are set, inbound until the mailbox is.
    smtp_url: str = ""  # smtp://host:587 or smtps://host:465
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True  # upgrade smtp:// with STARTTLS (refused relays fail, not send)
    support_email: str = ""  # the From address, e.g. "Fernhill & Co. <help@fernhill.example>"
    imap_url: str = ""  # imaps://host:993/INBOX or imap://host:143/INBOX
    imap_user: str = ""
    imap_password: str = ""
    imap_poll_seconds: float = Field(default=30.0, gt=0)
    # A mail above this is not read (its headers are): the agent finds it in the mailbox.
    email_max_message_bytes: int = Field(default=10_000_000, gt=0)
    # Attachments are listed (name, type, size); at most this many per mail.
    email_max_attachments: int = Field(default=20, ge=0)
    # Sending through the outbox: the first retry after this, doubled each time, at most
    # email_retry_max_seconds apart; after email_max_attempts the reply is marked failed.
    email_retry_base_seconds: float = Field(default=30.0, gt=0)
    email_retry_max_seconds: float = Field(default=3600.0, gt=0)
    email_max_attempts: int = Field(default=12, ge=1)
    # Replies stored within this many seconds of each other go out as one mail.
    email_batch_seconds: float = Field(default=2.0, ge=0)
    # The assistant answers a first mail itself only when its intent is order_status with at
    # least this confidence, an order number is in it and the sender's address is the order's.
    email_bot_min_confidence: float = Field(default=0.7, ge=0, le=1)
    # "json" (one object per line) or "text"; empty: JSON unless stderr is a terminal.
    log_format: Literal["", "json", "text"] = ""
    # Bearer token a Prometheus scraper sends to GET /metrics (the admin key works too).
    metrics_token: str = ""
    # A retry with the same Idempotency-Key after this long creates anew.
    idempotency_retention_hours: float = Field(default=24.0, gt=0)
    # How often the api deletes expired idempotency records and verification buckets.
    prune_interval_seconds: float = Field(default=600.0, gt=0)

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'opsdesk.db'}"

    def rasa_replica_urls(self) -> list[str]:
        urls = [u.strip().rstrip("/") for u in self.rasa_urls.split(",") if u.strip()]
        return urls or [self.rasa_url.rstrip("/")]


def _load_or_create_secrets(var_dir: Path) -> dict[str, str]:
    """Read var/secrets.json, adding a random value for every missing key (file mode 0600)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in GENERATED_SECRETS if not stored.get(name)]
    if missing:
        for name in missing:
            stored[name] = secrets.token_urlsafe(32)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh, indent=2)
        os.replace(tmp, path)
    return stored


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    if any(not getattr(settings, name) for name in GENERATED_SECRETS):
        stored = _load_or_create_secrets(settings.var_dir)
        for name in GENERATED_SECRETS:
            if not getattr(settings, name):
                setattr(settings, name, stored[name])
    return settings
