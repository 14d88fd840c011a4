"""The agent console through its routes, on SQLite and PostgreSQL: sign-in, sessions, CSRF,
roles, lock-out, the live queue, replies that reach the customer, and every action's effect
read back through the ops API."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.console.conftest import (
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ADDRESS,
    ConsoleClient,
    ConsoleStore,
)

PAGES = [
    "/console",
    "/console/kpis",
    "/console/kpis.csv",
    "/console/queue/live",
    "/console/conversations/c-unknown",
    "/console/conversations/c-unknown/messages",
    "/console/admin/agents",
]


def test_nobody_unauthenticated_reaches_a_console_page(console: ConsoleStore) -> None:
    visitor = console.client()
    for path in PAGES:
        answer = visitor.http.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next="), path
    assert visitor.http.get("/console/events").status_code == 401
    # A forged cookie is no better than none.
    visitor.http.cookies.set("opsdesk_console", "made-up.0123456789abcdef", path="/console")
    assert visitor.http.get("/console").status_code == 303


def test_an_action_without_a_session_changes_nothing(console: ConsoleStore) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    ticket = console.ticket_of(conversation_id)
    visitor = console.client()
    answer = visitor.http.post(f"/console/tickets/{ticket['id']}/resolve", data={"csrf_token": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login")
    assert console.ticket_of(conversation_id)["status"] == "open"


def test_sign_in_needs_the_forms_csrf_field(console: ConsoleStore) -> None:
    client = console.client()
    client.login_form()
    answer = client.http.post(
        "/console/login",
        data={"email": "alex@fernhill.example", "password": console.agent_password},
    )
    assert answer.status_code == 403
    assert "opsdesk_console" not in answer.cookies


def test_sign_in_sets_an_http_only_lax_session_cookie_and_sign_out_revokes_it(
    console: ConsoleStore,
) -> None:
    client = console.client()
    answer = client.sign_in("alex@fernhill.example", console.agent_password)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("opsdesk_console=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # served over plain http here; Secure over https
    value = client.http.cookies.get("opsdesk_console")
    assert value and console.agent_password not in value
    page = client.http.get("/console")
    assert page.status_code == 200 and "Alex Rivera" in page.text

    assert client.post("/console/logout").status_code == 303
    assert client.http.get("/console").status_code == 303
    # The old cookie, replayed, is revoked on the server too.
    replay = console.client()
    replay.http.cookies.set("opsdesk_console", value, path="/console")
    assert replay.http.get("/console").status_code == 303


def test_a_wrong_password_is_refused_with_a_message(console: ConsoleStore) -> None:
    client = console.client()
    answer = client.sign_in("alex@fernhill.example", "not-the-password")
    assert answer.status_code == 401
    assert "match an account" in answer.text
    assert "opsdesk_console" not in client.http.cookies
    # The failure is cleared by the next success.
    assert client.sign_in("alex@fernhill.example", console.agent_password).status_code == 303


def test_an_account_is_locked_after_repeated_failures(console: ConsoleStore) -> None:
    admin = console.admin()
    email = "casey@fernhill.example"
    created = admin.post(
        "/console/admin/agents",
        email=email,
        name="Casey Park",
        role="agent",
        password="correct-horse-battery",
    )
    assert created.status_code == 303
    client = console.client()
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert client.sign_in(email, "wrong-password-x").status_code == 401
    locked = client.sign_in(email, "correct-horse-battery")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text and "minute" in locked.text
    assert "opsdesk_console" not in client.http.cookies
    # Other accounts from the same address still sign in.
    assert console.agent().http.get("/console").status_code == 200


def test_an_agent_cannot_reach_admin_pages_and_an_admin_can(console: ConsoleStore) -> None:
    agent = console.agent()
    assert agent.http.get("/console/admin/agents").status_code == 403
    refused = agent.post(
        "/console/admin/agents",
        email="sneaky@fernhill.example",
        name="Sneaky",
        role="admin",
        password="long-enough-password",
    )
    assert refused.status_code == 403
    admin = console.admin()
    page = admin.http.get("/console/admin/agents")
    assert page.status_code == 200 and "alex@fernhill.example" in page.text
    assert "sneaky@fernhill.example" not in page.text
    # The admin's new agent can sign in, with the agent role.
    assert (
        admin.post(
            "/console/admin/agents",
            email="jo@fernhill.example",
            name="Jo Banks",
            role="agent",
            password="a-good-long-password",
        ).status_code
        == 303
    )
    jo = console.client()
    assert jo.sign_in("jo@fernhill.example", "a-good-long-password").status_code == 303
    assert jo.http.get("/console/admin/agents").status_code == 403


def test_forms_without_the_csrf_field_are_refused(console: ConsoleStore) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    ticket = console.ticket_of(conversation_id)
    agent = console.agent()
    for path, fields in (
        (f"/console/tickets/{ticket['id']}/claim", {}),
        (f"/console/tickets/{ticket['id']}/resolve", {}),
        (f"/console/conversations/{conversation_id}/reply", {"text": "hello"}),
        ("/console/logout", {}),
    ):
        assert agent.http.post(path, data=fields).status_code == 403, path
        wrong = agent.http.post(path, data={**fields, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403, path
    after = console.ticket_of(conversation_id)
    assert after["status"] == "open" and after["assignee_id"] is None
    with console.api("agent") as api:
        texts = [
            m["text"]
            for m in api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
        ]
    assert "hello" not in texts
    assert agent.http.get("/console").status_code == 200  # logout was refused too


def _read_events(client: ConsoleClient, path: str, seen: list[tuple[float, str]]) -> None:
    with client.http.stream("GET", path, timeout=httpx.Timeout(10, read=10)) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                seen.append((time.monotonic(), line.removeprefix("event: ")))
                if line.endswith("tickets"):
                    return


def test_a_new_handoff_reaches_an_open_queue_within_a_second(console: ConsoleStore) -> None:
    agent = console.agent()
    seen: list[tuple[float, str]] = []
    reader = threading.Thread(target=_read_events, args=(agent, "/console/events", seen))
    reader.start()
    time.sleep(1.0)  # the page is open and listening
    sender = f"cust-live-{time.monotonic_ns()}"
    console.rest(sender, "my parcel is late")
    asked = time.monotonic()
    console.rest(sender, "/human_handoff")
    reader.join(timeout=8)
    assert seen and seen[-1][1] == "tickets", seen
    assert seen[-1][0] - asked < 1.0
    rows = agent.http.get("/console/queue/live")
    assert rows.status_code == 200
    ticket_id = max(t["id"] for t in console.api("agent").get("/api/v1/tickets").json()["items"])
    assert f'data-ticket="{ticket_id}"' in rows.text


def test_queue_orders_by_priority_then_sla_and_filters(console: ConsoleStore) -> None:
    _s1, normal = console.customer_asks_for_a_person()
    _s2, urgent = console.customer_asks_for_a_person()
    agent = console.agent()
    urgent_ticket = console.ticket_of(urgent)
    normal_ticket = console.ticket_of(normal)
    assert (
        agent.post(
            f"/console/tickets/{urgent_ticket['id']}/priority", priority="urgent"
        ).status_code
        == 303
    )
    page = agent.http.get("/console").text
    assert page.index(f'data-ticket="{urgent_ticket["id"]}"') < page.index(
        f'data-ticket="{normal_ticket["id"]}"'
    )
    assert agent.post(f"/console/tickets/{normal_ticket['id']}/claim").status_code == 303
    mine = agent.http.get("/console", params={"mine": "1"}).text
    assert f'data-ticket="{normal_ticket["id"]}"' in mine
    assert f'data-ticket="{urgent_ticket["id"]}"' not in mine
    unassigned = agent.http.get("/console", params={"assignee": "none"}).text
    assert f'data-ticket="{urgent_ticket["id"]}"' in unassigned
    assert f'data-ticket="{normal_ticket["id"]}"' not in unassigned
    by_reason = agent.http.get("/console", params={"reason": "no_such_reason"}).text
    assert "data-ticket=" not in by_reason
    assigned = agent.http.get("/console", params={"status": "assigned"}).text
    assert f'data-ticket="{normal_ticket["id"]}"' in assigned
    assert 'data-count="assigned"' in assigned


def test_claim_assign_unassign_priority_and_snooze_are_saved_and_audited(
    console: ConsoleStore,
) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    ticket_id = console.ticket_of(conversation_id)["id"]
    agent = console.agent()
    agent.post(f"/console/tickets/{ticket_id}/claim")
    claimed = console.ticket_of(conversation_id)
    assert claimed["status"] == "assigned" and claimed["assignee_id"] is not None
    agent.post(f"/console/tickets/{ticket_id}/unassign")
    back = console.ticket_of(conversation_id)
    assert back["status"] == "open" and back["assignee_id"] is None
    agent.post(f"/console/tickets/{ticket_id}/assign", assignee_id=str(claimed["assignee_id"]))
    assert console.ticket_of(conversation_id)["assignee_id"] == claimed["assignee_id"]
    agent.post(f"/console/tickets/{ticket_id}/priority", priority="high")
    high = console.ticket_of(conversation_id)
    assert high["priority"] == "high"
    answer = agent.post(f"/console/tickets/{ticket_id}/pending", snooze="4h")
    assert answer.status_code == 303
    assert console.ticket_of(conversation_id)["status"] == "pending"
    page = agent.http.get(f"/console/conversations/{conversation_id}").text
    assert "snoozed until" in page
    for action in ("assigned", "unassigned", "priority_changed", "snoozed", "status_changed"):
        assert action.replace("_", " ") in page, action  # the ticket's history panel
    bad = agent.post(f"/console/tickets/{ticket_id}/priority", priority="whenever")
    assert "error=" in bad.headers["location"]
    assert console.ticket_of(conversation_id)["priority"] == "high"


def test_the_conversation_view_has_transcript_summary_order_stock_and_filled_replies(
    console: ConsoleStore,
) -> None:
    sender = f"cust-ctx-{time.monotonic_ns()}"
    console.rest(sender, "where is order 10001? Do you have TEE-NAVY-M in stock?")
    with console.api("agent") as api:
        conversation_id = next(
            c["id"]
            for c in api.get("/api/v1/conversations", params={"channel": "rest"}).json()["items"]
            if c["channel_key"] == sender
        )
    # The action server's handoff: the ticket names the conversation, order and customer.
    with console.api("service") as service:
        made = service.post(
            "/api/v1/tickets",
            json={
                "conversation_id": conversation_id,
                "channel": "rest",
                "customer_email": "jane.doe@example.com",
                "order_number": "10001",
                "reason": "delayed_order",
                "priority": "high",
                "summary": "Intent: order_status. Verified order #10001. "
                "Customer asked for a person.",
            },
        )
        assert made.status_code == 201, made.text
    with console.api("agent") as api:
        order = api.get("/api/v1/orders/10001").json()
    tracking = order["shipments"][0]["tracking_number"]
    agent = console.agent()
    page = agent.http.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 200
    text = page.text
    assert "where is order 10001?" in text  # the customer's turn
    assert "Talk to a person" in text  # the button offered
    assert "Verified order #10001" in text  # the bot's summary
    assert "Order #10001" in text and tracking in text  # order panel with tracking
    assert "Jane" in text  # customer
    assert "TEE-NAVY-M" in text  # stock of the item discussed
    assert "Hi Jane, here is the live tracking for order #10001: " in text  # canned, filled
    assert "{first_name}" not in text


def test_a_reply_reaches_the_customer_and_a_note_never_does(console: ConsoleStore) -> None:
    sender, conversation_id = console.customer_asks_for_a_person()
    agent = console.agent()
    note = agent.post(
        f"/console/conversations/{conversation_id}/notes", text="Checked with the warehouse."
    )
    assert note.status_code == 303
    answer = agent.post(
        f"/console/conversations/{conversation_id}/reply", text="Hi, Alex here. On it!"
    )
    assert answer.status_code == 303
    fetched = agent.http.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"csrf_token": agent.csrf, "text": "One more thing."},
        headers={"x-console-fetch": "1"},
    )
    assert fetched.status_code == 204
    # REST hands a person's replies over with the answer to the customer's next message.
    replies = console.rest(sender, "thanks")
    texts = [r.get("text") for r in replies]
    assert "Hi, Alex here. On it!" in texts and "One more thing." in texts
    assert all("warehouse" not in (t or "") for t in texts)
    with console.api("agent") as api:
        messages = api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
    agent_turns = [m for m in messages if m["author"] == "agent"]
    assert [m["agent_name"] for m in agent_turns] == ["Alex", "Alex"]
    assert all("warehouse" not in m["text"] for m in messages)
    ticket = console.ticket_of(conversation_id)
    assert ticket["first_response_at"] is not None
    assert ticket["status"] == "assigned"  # the reply took the unowned ticket
    page = agent.http.get(f"/console/conversations/{conversation_id}").text
    assert "Checked with the warehouse." in page
    assert "note added" in page  # in the ticket's history (the audit log)


def test_resolve_hands_the_conversation_back_to_the_bot(console: ConsoleStore) -> None:
    sender, conversation_id = console.customer_asks_for_a_person()
    agent = console.agent()
    ticket = console.ticket_of(conversation_id)
    assert agent.post(f"/console/tickets/{ticket['id']}/resolve").status_code == 303
    assert console.ticket_of(conversation_id)["status"] == "resolved"
    with console.api("agent") as api:
        conversation = api.get(f"/api/v1/conversations/{conversation_id}").json()
    assert conversation["mode"] == "bot" and conversation["open_ticket_id"] is None
    # The customer's next message goes to the assistant again (away here: it says so).
    replies = console.rest(sender, "hello again")
    assert "unavailable" in replies[0]["text"]
    page = agent.http.get(f"/console/conversations/{conversation_id}").text
    assert "Reopen" in page


def test_hand_back_gives_the_bot_the_conversation_and_keeps_the_ticket_pending(
    console: ConsoleStore,
) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    agent = console.agent()
    assert agent.post(f"/console/conversations/{conversation_id}/handback").status_code == 303
    with console.api("agent") as api:
        assert api.get(f"/api/v1/conversations/{conversation_id}").json()["mode"] == "bot"
    assert console.ticket_of(conversation_id)["status"] == "pending"


def test_cancel_an_unshipped_order_and_refuse_a_shipped_one(console: ConsoleStore) -> None:
    agent = console.agent()
    assert (
        agent.post("/console/orders/10007/cancel", reason="customer changed mind").status_code
        == 303
    )
    refused = agent.post("/console/orders/10001/cancel", reason="please")
    assert "error=" in refused.headers["location"] and "shipped" in refused.headers["location"]
    with console.api("agent") as api:
        assert api.get("/api/v1/orders/10007").json()["status"] == "cancelled"
        shipped = api.get("/api/v1/orders/10001").json()
        assert shipped["status"] != "cancelled"
        history = api.get("/api/v1/orders/10007").json()["history"]
    assert history[-1]["to_state"] == "cancelled"
    assert history[-1]["actor"] == "alex@fernhill.example"


def _returns(api: httpx.Client, status: str) -> list[dict[str, Any]]:
    return api.get("/api/v1/returns", params={"status": status}).json()["items"]


def test_approve_label_and_reject_a_return(console: ConsoleStore) -> None:
    agent = console.agent()
    with console.api("agent") as api:
        requested = _returns(api, "requested")
        assert len(requested) >= 1, "the demo store has a requested return"
        rma = requested[0]["rma_number"]
        assert agent.post(f"/console/returns/{rma}/approve").status_code == 303
        assert api.get(f"/api/v1/returns/{rma}").json()["status"] == "approved"
        agent.post(f"/console/returns/{rma}/label")
        labelled = api.get(f"/api/v1/returns/{rma}").json()
        assert labelled["status"] == "label_issued"
        first_label = labelled["label"]["label_number"]
        agent.post(f"/console/returns/{rma}/label")
        again = api.get(f"/api/v1/returns/{rma}").json()
        assert again["label"]["label_number"] != first_label
        # A return that is further along can't be approved again: refused with the reason.
        refused = agent.post(f"/console/returns/{rma}/approve")
        assert "error=" in refused.headers["location"]

    _sender, conversation_id = console.customer_asks_for_a_person()
    with console.api("agent") as api:
        approved = _returns(api, "approved") + _returns(api, "requested")
        assert approved, "a return that can still be rejected"
        target = approved[0]["rma_number"]
        no_reason = agent.post(f"/console/returns/{target}/reject", reason=" ")
        assert "error=" in no_reason.headers["location"]
        agent.post(
            f"/console/returns/{target}/reject",
            reason="The item shows wear, so it can't be resold.",
            conversation_id=conversation_id,
        )
        assert api.get(f"/api/v1/returns/{target}").json()["status"] == "rejected"
        messages = api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
    told = [m["text"] for m in messages if m["author"] == "agent"]
    assert told == [
        f"About your return {target}: we can't accept it. "
        "The item shows wear, so it can't be resold."
    ]


def test_kpis_page_and_csv_export(console: ConsoleStore) -> None:
    console.customer_asks_for_a_person()
    agent = console.agent()
    page = agent.http.get("/console/kpis", params={"days": "7"})
    assert page.status_code == 200
    for title in (
        "First response time",
        "Resolution time",
        "Bot containment",
        "On-time delivery",
        "Backlog by priority",
        "Escalations by reason",
        "Returned units by reason",
    ):
        assert title in page.text, title
    assert page.text.count("<svg") >= 3  # per day, backlog, escalations (returns: none in 7 days)
    assert "system unavailable" in page.text  # the hub's handoffs, by reason
    exported = agent.http.get("/console/kpis.csv", params={"days": "7"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0] == "section,name,value"
    assert any(line.startswith("service,bot_containment_rate,") for line in lines)
    assert any(line.startswith("escalations_by_reason,system unavailable,") for line in lines)


@pytest.mark.parametrize("path", ["/console", "/console/kpis"])
def test_pages_carry_a_strict_content_security_policy(console: ConsoleStore, path: str) -> None:
    page = console.agent().http.get(path)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_a_client_address_is_locked_after_many_failures_on_any_accounts(
    console: ConsoleStore,
) -> None:
    """Locks this machine's address out, then lifts the lock as an admin would, so the
    module's other tests sign in whatever order they run in."""
    client = console.client()
    refused = 0
    for i in range(20):
        answer = client.sign_in(f"nobody{i}@example.com", "guess")
        if answer.status_code == 429:
            refused += 1
            break
        assert answer.status_code == 401
    assert refused == 1, "the address was never locked"
    locked = client.sign_in("alex@fernhill.example", console.agent_password)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text

    unlock = subprocess.run(
        [sys.executable, "-m", "api.cli", "agent", "unlock", "--address", "127.0.0.1"],
        cwd=REPO,
        env=console.store.env,
        capture_output=True,
        text=True,
    )
    assert unlock.returncode == 0, unlock.stderr
    forgotten = re.search(r"unlocked: (\d+) failed sign-ins forgotten", unlock.stdout)
    assert forgotten and int(forgotten.group(1)) >= MAX_FAILURES_PER_ADDRESS, unlock.stdout
    assert client.sign_in("alex@fernhill.example", console.agent_password).status_code == 303


def test_a_ticket_number_past_the_database_range_is_not_found(console: ConsoleStore) -> None:
    agent = console.agent()
    r = agent.post("/console/tickets/2147483648/priority", priority="urgent")
    assert r.status_code == 404, r.text


def test_an_agent_id_past_the_database_range_or_not_in_ascii_names_no_agent(
    console: ConsoleStore,
) -> None:
    agent = console.agent()
    for assignee in ("99999999999", "²"):
        page = agent.http.get("/console", params={"assignee": assignee})
        assert page.status_code == 200, page.text
        assert "data-ticket=" not in page.text
    _sender, conversation_id = console.customer_asks_for_a_person()
    ticket_id = console.ticket_of(conversation_id)["id"]
    for assignee in ("99999999999", "²"):
        r = agent.post(f"/console/tickets/{ticket_id}/assign", assignee_id=assignee)
        assert r.status_code == 303, r.text
        assert console.ticket_of(conversation_id)["assignee_id"] is None
