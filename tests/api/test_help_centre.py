"""The help centre (/help) and the admin's edit of an article on a running api, SQLite and
PostgreSQL: pages from the knowledge base, search that forgives typos, the widget's JSON
search, an edit live at once for the pages and the assistant's KB search, escaping."""

from __future__ import annotations

import html
import re

import httpx

from tests.conftest import Store


def _main(page: str) -> str:
    """The page's <main>: the header and footer repeat on every page."""
    return page[page.index("<main") : page.index("</main>")]


def test_the_shop_header_links_the_help_centre_which_lists_every_topic(live: Store) -> None:
    front = httpx.get(f"{live.base_url}/").text
    assert re.search(r'<nav aria-label="Shop">.*href="/help"', front, re.S)
    page = httpx.get(f"{live.base_url}/help")
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    body = _main(page.text)
    for topic in ("Shipping and delivery", "Returns and refunds", "Sizing and fit"):
        assert topic in body
    with live.client("agent") as api:
        articles = api.get("/api/v1/kb/articles").json()["items"]
    assert len(articles) >= 40
    returns = httpx.get(f"{live.base_url}/help/topics/returns").text
    listed = re.findall(r'href="/help/articles/([a-z0-9-]+)"', _main(returns))
    expected = [a["slug"] for a in articles if a["topic"] == "returns"]
    assert "return-window" in expected and set(expected) <= set(listed)
    assert httpx.get(f"{live.base_url}/help/topics/nope").status_code == 404


def test_an_article_has_a_stable_page_with_its_topic_and_related_answers(live: Store) -> None:
    page = httpx.get(f"{live.base_url}/help/articles/return-window")
    assert page.status_code == 200
    body = html.unescape(_main(page.text))
    assert '<h1 id="article-title">What is your return policy?</h1>' in body
    assert "within 30 days of delivery" in body
    assert 'href="/help/topics/returns"' in body and 'href="/help/articles/start-a-return"' in body
    missing = httpx.get(f"{live.base_url}/help/articles/no-such-article")
    assert missing.status_code == 404 and "couldn't find that article" in html.unescape(
        missing.text
    )


def test_search_reads_misspelt_words_as_the_store_spells_them(live: Store) -> None:
    page = httpx.get(f"{live.base_url}/help/search", params={"q": "retrun polcy"})
    assert page.status_code == 200
    body = html.unescape(_main(page.text))
    first = re.search(r'<li><h2><a href="/help/articles/([a-z0-9-]+)"', body)
    assert first and first.group(1) == "return-window"
    assert "Showing results for <q>return policy</q>" in body
    found = httpx.get(
        f"{live.base_url}/help/search.json", params={"q": "how long does delivry take"}
    ).json()
    assert found["items"][0]["slug"] == "shipping-times"
    assert found["items"][0]["url"] == "/help/articles/shipping-times"
    assert len(found["items"]) <= 3 and found["understood_as"] == "how long does delivery take"
    nothing = httpx.get(f"{live.base_url}/help/search", params={"q": "zzzqqq"})
    assert nothing.status_code == 200 and "No answers for" in nothing.text


def test_bad_searches_get_a_clear_answer(live: Store) -> None:
    base = live.base_url
    too_long = httpx.get(f"{base}/help/search", params={"q": "a" * 201})
    assert too_long.status_code == 422 and "200 characters or fewer" in too_long.text
    for params in ({"q": ""}, {"q": "x" * 201}, {"q": "shipping", "limit": "50"}, {}):
        r = httpx.get(f"{base}/help/search.json", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{base}/help/search").status_code == 200  # the empty form


def test_an_admin_edit_is_live_at_once_for_the_pages_and_the_assistant(live: Store) -> None:
    new_answer = "Our team answers every day from 8 am to 10 pm Eastern, weekends included."
    with live.client("service") as api:
        before = api.get("/api/v1/kb/search", params={"q": "what are your support hours"}).json()
    assert before["items"][0]["id"] == "faq:support-hours"
    assert "10 pm" not in before["items"][0]["answer"]
    with live.client("admin") as admin:
        r = admin.patch("/api/v1/kb/articles/support-hours", json={"answer": new_answer})
        assert r.status_code == 200, r.text
        edited = r.json()
        assert edited["answer"] == new_answer and edited["url"] == "/help/articles/support-hours"
    page = httpx.get(f"{live.base_url}/help/articles/support-hours").text
    assert new_answer in html.unescape(page)
    with live.client("service") as api:
        after = api.get("/api/v1/kb/search", params={"q": "what are your support hours"}).json()
    assert after["items"][0]["answer"] == new_answer and after["confident"]
    who = live.scalar(
        "SELECT actor FROM audit_log WHERE entity_type = 'kb_article' "
        "AND entity_id = 'support-hours' AND action = 'edited'"
    )
    assert who == "admin-key"  # the configured admin key's name


def test_only_an_admin_may_edit_and_a_bad_edit_changes_nothing(live: Store) -> None:
    path = "/api/v1/kb/articles/refund-timing"
    with live.client("admin") as admin:
        original = admin.get(path).json()
        with live.client("agent") as agent:
            refused = agent.patch(path, json={"answer": "Never."})
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        with live.client("service") as service:
            assert service.patch(path, json={"answer": "Never."}).status_code == 403
        for bad in (
            {"answer": ""},
            {"answer": "   "},
            {"title": "x" * 201},
            {"tags": ["Not A Tag"]},
            {"tags": []},
            {"slug": "renamed"},
            {"answer": "x" * 10_001},
        ):
            r = admin.patch(path, json=bad)
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        assert admin.patch("/api/v1/kb/articles/nope", json={"answer": "x"}).status_code == 404
        assert admin.get(path).json() == original
    edits = live.scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'kb_article' "
        "AND entity_id = 'refund-timing'"
    )
    assert edits == 0


def test_article_text_is_shown_as_text_never_as_markup(live: Store) -> None:
    hostile = '<script>alert("x")</script> Gift cards <b>never</b> expire.\n\n- one\n- <img src=x>'
    with live.client("admin") as admin:
        r = admin.patch(
            "/api/v1/kb/articles/gift-cards",
            json={"answer": hostile, "title": "Gift <i>cards</i>"},
        )
        assert r.status_code == 200, r.text
    page = httpx.get(f"{live.base_url}/help/articles/gift-cards").text
    body = _main(page)
    assert "<script>alert" not in page and "<img src=x>" not in page and "<i>cards" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Gift cards &lt;b&gt;never" in body
    assert "<li>one</li><li>&lt;img src=x&gt;</li>" in body
    found = httpx.get(f"{live.base_url}/help/search.json", params={"q": "gift cards expire"})
    assert found.json()["items"][0]["title"] == "Gift <i>cards</i>"  # JSON: the widget sets text
