"""The console benchmark's store: a fresh SQLite file or PostgreSQL database holding the demo
store plus a store's history loaded in bulk (tickets with their audit trail, conversations,
messages, agents) and one long conversation of a verified customer with many orders and
returns; and the query plans of the statements that the conversation view runs."""

from __future__ import annotations

import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Every database this benchmark makes is named so; it drops no other.
PG_PREFIX = "opsdesk_bench_console_"
REASONS = ["delayed_order", "lost_parcel", "return_question", "damaged_item", "customer_request"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
# The long conversation: the demo customer with the most orders (returns in every state).
CONTEXT_CONVERSATION = "c-bench-context"
CONTEXT_EMAIL = "rma.tester@example.com"
CONTEXT_ORDER = "10020"


def fresh_database(backend: str, workdir: Path, pg_server: str = PG_SERVER) -> str:
    """A new empty SQLite file, or a new uniquely named PostgreSQL database; its URL."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'ops.db'}"
    name = f"{PG_PREFIX}{secrets.token_hex(4)}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(pg_server).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, pg_server: str = PG_SERVER) -> None:
    """Drop a PostgreSQL database that `fresh_database` made (no other name is dropped)."""
    if not url.startswith("postgresql"):
        return
    name = sa.make_url(url).database or ""
    if not name.startswith(PG_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: this benchmark did not create it")
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fill(url: str, tickets: int, messages_per: int, agents: int, password: str) -> None:
    """Bulk rows (not a user's path: a store's history, loaded fast): conversations with their
    messages, a ticket each with its audit trail (created, and resolved for most), agents."""
    from sqlalchemy.orm import Session

    from api.console import accounts
    from api.db import make_engine
    from api.ops.audit.models import AuditEntry
    from api.ops.conversations.models import Conversation, Message
    from api.ops.tickets.models import Ticket

    engine = make_engine(url)
    now = datetime.now(UTC)
    rng = random.Random(7)
    first_id = 1
    with engine.begin() as conn:
        first_id = (conn.execute(sa.select(sa.func.max(Ticket.id))).scalar() or 0) + 1
        for start in range(0, tickets, 1000):
            conversations, msgs, rows, trail = [], [], [], []
            for i in range(start, min(start + 1000, tickets)):
                created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
                cid = f"c-bench-{i:06d}"
                conversations.append(
                    {
                        "id": cid,
                        "channel": "rest",
                        "channel_key": f"bench-{i}",
                        "mode": "bot",
                        "status": "open",
                        "bot_reset_pending": False,
                        "created_at": created,
                        "updated_at": created,
                        "last_message_at": created,
                    }
                )
                for j in range(messages_per):
                    inbound = j % 2 == 0
                    msgs.append(
                        {
                            "conversation_id": cid,
                            "direction": "inbound" if inbound else "outbound",
                            "author": "customer" if inbound else "bot",
                            "text": f"message {j} of conversation {i}",
                            "state": "answered" if inbound else "sent",
                            "created_at": created + timedelta(seconds=j),
                        }
                    )
                priority = rng.choice(PRIORITIES)
                status = rng.choices(["resolved", "open", "assigned", "pending"], [70, 15, 10, 5])[
                    0
                ]
                resolved_at = created + timedelta(hours=rng.randint(1, 72))
                rows.append(
                    {
                        "id": first_id + i,
                        "conversation_id": cid,
                        "channel": "rest",
                        "reason": rng.choice(REASONS),
                        "priority": priority,
                        "status": status,
                        "summary": "Customer asked for a person.",
                        "sla_due_at": created + timedelta(hours=24),
                        "created_at": created,
                        "updated_at": created,
                        "first_response_at": created + timedelta(minutes=rng.randint(1, 240)),
                        "resolved_at": resolved_at if status == "resolved" else None,
                    }
                )
                trail.append(_audit(first_id + i, "created", "open", "hub", created))
                if status == "resolved":
                    trail.append(_audit(first_id + i, "resolved", status, "bench", resolved_at))
            conn.execute(sa.insert(Conversation), conversations)
            conn.execute(sa.insert(Message), msgs)
            conn.execute(sa.insert(Ticket), rows)
            conn.execute(sa.insert(AuditEntry), trail)
        if conn.dialect.name == "postgresql":
            # Ids were given explicitly: move the sequence past them.
            conn.execute(sa.text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
    with Session(engine) as db:
        for n in range(agents):
            accounts.create_agent(
                db_session=db,
                email=f"agent{n}@bench.example",
                name=f"Bench Agent {n}",
                role="agent",
                password=password,
            )
        db.commit()
    engine.dispose()


def _audit(ticket_id: int, action: str, to_state: str, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "entity_type": "ticket",
        "entity_id": str(ticket_id),
        "action": action,
        "to_state": to_state,
        "actor": actor,
        "created_at": at,
    }


def add_context_conversation(url: str, turns: int) -> str:
    """One long conversation of a verified customer (13 orders, returns in every state) whose
    ticket names an order and has a history: the conversation view at its heaviest."""
    from api.db import make_engine
    from api.ops.audit.models import AuditEntry
    from api.ops.conversations.models import Conversation, Message
    from api.ops.tickets.models import Ticket

    engine = make_engine(url)
    now = datetime.now(UTC)
    started = now - timedelta(days=2)
    with engine.begin() as conn:
        skus = list(conn.execute(sa.text("SELECT sku FROM variants ORDER BY id LIMIT 8")).scalars())
        conn.execute(
            sa.insert(Conversation),
            [
                {
                    "id": CONTEXT_CONVERSATION,
                    "channel": "socketio",
                    "channel_key": "bench-context",
                    "mode": "human",
                    "status": "open",
                    "bot_reset_pending": False,
                    "customer_email": CONTEXT_EMAIL,
                    "created_at": started,
                    "updated_at": started,
                    "last_message_at": started + timedelta(seconds=turns),
                }
            ],
        )
        buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
        conn.execute(
            sa.insert(Message),
            [
                {
                    "conversation_id": CONTEXT_CONVERSATION,
                    "direction": "inbound" if j % 2 == 0 else "outbound",
                    "author": "customer" if j % 2 == 0 else "bot",
                    "text": f"turn {j}: is {skus[j // 40 % len(skus)]} in stock?"
                    if j % 40 == 0
                    else f"turn {j} of the long conversation",
                    "payload": {"buttons": buttons} if j % 8 == 1 else None,
                    "state": "answered" if j % 2 == 0 else "sent",
                    "created_at": started + timedelta(seconds=j),
                }
                for j in range(turns)
            ],
        )
        ticket_id = conn.execute(
            sa.insert(Ticket).returning(Ticket.id),
            [
                {
                    "conversation_id": CONTEXT_CONVERSATION,
                    "channel": "socketio",
                    "customer_email": CONTEXT_EMAIL,
                    "order_number": CONTEXT_ORDER,
                    "reason": "return_question",
                    "priority": "high",
                    "status": "open",
                    "summary": "The customer asked about a return of order 10020.",
                    "sla_due_at": now + timedelta(hours=4),
                    "created_at": started,
                    "updated_at": started,
                }
            ],
        ).scalar_one()
        conn.execute(
            sa.insert(AuditEntry),
            [
                _audit(ticket_id, "updated", "open", "bench", started + timedelta(minutes=k))
                for k in range(10)
            ],
        )
    if engine.dialect.name == "postgresql":
        # The statistics autovacuum would gather within a minute of such a load, so that the
        # planner sees the tables as they are (a store's real state).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return CONTEXT_CONVERSATION


def explain_conversation(url: str, conversation_id: str) -> None:
    """Each statement the conversation view runs, its time, and the database's plan for it
    (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE)."""
    from sqlalchemy.orm import Session

    from api.console import conversation as view
    from api.db import make_engine
    from api.ops.conversations import service as conversations

    engine = make_engine(url)
    seen: list[tuple[str, Any, float]] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: Any
    ) -> None:
        context._bench_started = time.perf_counter()

    def after(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: Any
    ) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            took = (time.perf_counter() - context._bench_started) * 1000
            seen.append((statement, parameters, took))

    with Session(engine) as db:
        conversation = conversations.get(db_session=db, conversation_id=conversation_id)
        assert conversation is not None, conversation_id
        view.conversation_page(db_session=db, conversation=conversation)  # warm caches
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    with Session(engine) as db:
        conversation = conversations.get(db_session=db, conversation_id=conversation_id)
        assert conversation is not None
        view.conversation_page(db_session=db, conversation=conversation)
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    print(f"\nthe conversation view of {conversation_id}: {len(seen)} statements")
    with engine.connect() as conn:
        for n, (statement, parameters, took) in enumerate(seen, 1):
            print(f"\n[{n}] {took:.2f} ms  {' '.join(statement.split())[:160]}")
            plan = conn.exec_driver_sql(prefix + statement, parameters).all()
            for row in plan:
                print("    " + (str(row[0]) if postgres else str(row[-1])))
    engine.dispose()
