"""Every route, present and future: security headers, cookie attributes, CSRF on every write.

The routes come from app.url_map, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask, abort
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, Rule

from pathway import MAX_ID
from pathway.db import Base
from pathway.models import Role
from pathway.sharing import shares
from tests.factories import make_card, make_progress, make_share, make_user, path_of, sign_in

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REQUIRED_CSP = {
    "default-src": {"'self'", "'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'", "'none'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'", "'self'"},
}
# Stricter is fine: no-referrer is stricter than same-origin.
ACCEPTED_REFERRER = {"same-origin", "no-referrer", "strict-origin"}
INLINE = [
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style[\s>]", re.I), "inline <style>"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "on* handler"),
    (re.compile(r"""\ssrc\s*=\s*["']?(?:https?:)?//""", re.I), "external resource"),
    (re.compile(r"""<link[^>]*\shref\s*=\s*["']?(?:https?:)?//""", re.I), "external stylesheet"),
]


def dummy_value(rule: Rule, name: str) -> object:
    converter = rule._converters[name]
    if hasattr(converter, "items"):  # <any(a, b):name>
        return sorted(converter.items)[0]
    if isinstance(converter, IntegerConverter):
        return 1
    if type(converter).__name__ == "UUIDConverter":
        return "00000000-0000-0000-0000-000000000000"
    if name == "filename":
        return "css/pathway.css"
    return secrets.token_urlsafe(32)


def urls(app: Flask, methods: set[str]) -> Iterator[tuple[Rule, str]]:
    adapter = app.url_map.bind("pathway.test", url_scheme="https")
    for rule in app.url_map.iter_rules():
        if not (rule.methods or set()) & methods or rule.endpoint.startswith("_test"):
            continue
        values = {name: dummy_value(rule, name) for name in rule.arguments}
        yield (
            rule,
            adapter.build(
                rule.endpoint, values, method=next(iter((rule.methods or set()) & methods))
            ),
        )


def csp_directives(value: str) -> dict[str, set[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = set(words[1:])
    return directives


def check_headers(url: str, response) -> None:
    headers = response.headers
    where = f"{url} ({response.status_code})"
    csp = csp_directives(headers.get("Content-Security-Policy", ""))
    for directive, accepted in REQUIRED_CSP.items():
        assert csp.get(directive) and csp[directive] <= accepted, (
            f"CSP {directive} on {where}: {csp}"
        )
    assert not any("'unsafe-inline'" in v for v in csp.values()), where
    assert not any("'unsafe-eval'" in v for v in csp.values()), where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ACCEPTED_REFERRER, where
    if url.startswith(("/s/", "/e/")):
        assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    hsts = headers.get("Strict-Transport-Security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    assert match and int(match.group(1)) >= 31536000 and "includeSubDomains" in hsts, where
    if not url.startswith("/static/"):
        assert "no-store" in headers.get("Cache-Control", ""), where
    # One header: two Cache-Control fields are combined by caches, or one of them ignored.
    assert len(headers.getlist("Cache-Control")) <= 1, (
        f"{where}: {headers.getlist('Cache-Control')}"
    )


def check_cookies(url: str, response) -> None:
    for cookie in response.headers.getlist("Set-Cookie"):
        attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "secure" in attributes, f"cookie without Secure from {url}: {cookie}"
        assert "httponly" in attributes, f"cookie without HttpOnly from {url}: {cookie}"
        assert any(a in ("samesite=lax", "samesite=strict") for a in attributes), cookie
        if cookie.startswith("__Host-"):
            assert "path=/" in attributes and not any(a.startswith("domain=") for a in attributes)


def check_page(url: str, response) -> None:
    if response.mimetype != "text/html":
        return
    page = response.get_data(as_text=True)
    for pattern, what in INLINE:
        found = pattern.search(page)
        assert not found, f"{what} on {url}: {found.group(0)[:80] if found else ''}"
    assert "Traceback" not in page, url


@pytest.fixture
def people(alice, claire) -> dict[str, str]:
    """Who signs in: Alice, Claire her educator, or an admin."""
    make_user("admin@example.org", Role.ADMIN)
    return {
        "patient": "alice@example.org",
        "educator": "claire@example.org",
        "admin": "admin@example.org",
    }


@pytest.mark.parametrize("who", ["anonymous", "patient", "educator", "admin"])
def test_every_get_route_sends_the_security_headers(app, client, people, who: str) -> None:
    if who != "anonymous":
        check_cookies("/auth/login", sign_in(client, people[who]))
    checked = 0
    for _rule, url in urls(app, {"GET"}):
        response = client.get(url)
        check_headers(url, response)  # on every status, failures included
        check_cookies(url, response)
        check_page(url, response)
        response.close()
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("who", ["anonymous", "patient", "educator"])
def test_no_get_route_fails_on_unexpected_ids(app, client, people, who: str) -> None:
    if who != "anonymous":
        sign_in(client, people[who])
    failures = []
    for _rule, url in urls(app, {"GET"}):
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(url)
        response.close()
    assert failures == [], f"5xx for {who}"


def test_error_pages_send_the_security_headers(app, client, db) -> None:
    app.add_url_rule("/_test/gone", "_test_gone", lambda: abort(410))

    def boom() -> str:
        raise RuntimeError("injected failure")

    app.add_url_rule("/_test/boom", "_test_boom", boom)
    app.add_url_rule("/_test/big", "_test_big", lambda: abort(413), methods=["GET"])
    for url, status in (
        ("/no/such/page", 404),
        ("/_test/gone", 410),
        ("/_test/boom", 500),
        ("/_test/big", 413),
    ):
        response = client.get(url)
        assert response.status_code == status
        check_headers(url, response)
        check_page(url, response)
        assert "injected failure" not in response.get_data(as_text=True)


def test_every_cookie_is_secure_httponly_and_samesite(app, client, people) -> None:
    responses = [
        client.get("/auth/login"),
        client.submit("/language", {"locale": "en", "next": "/"}, page="/auth/login"),
        sign_in(client, people["educator"]),
        client.submit("/auth/logout", {}, page="/team/"),
    ]
    cookies = [c for r in responses for c in r.headers.getlist("Set-Cookie")]
    assert len(cookies) >= 3
    for response in responses:
        check_cookies(response.request.path, response)
    assert not any(c.lower().startswith("remember_token") for c in cookies)


@pytest.mark.parametrize("who", ["anonymous", "patient"])
def test_every_write_route_refuses_a_post_without_csrf_token(app, client, people, who: str) -> None:
    if who != "anonymous":
        sign_in(client, people[who])
    checked = 0
    for rule, url in urls(app, WRITE_METHODS):
        method = sorted((rule.methods or set()) & WRITE_METHODS)[0]
        response = client.open(url, method=method, data={"anything": "x"})
        assert response.status_code == 400, (
            f"{method} {url} without CSRF token: {response.status_code}"
        )
        check_headers(url, response)
        checked += 1
    assert checked >= 5


def test_links_and_cards_send_cache_control_once_on_every_answer(
    app, client, stranger, db, alice
) -> None:
    share, card, revoked = make_share(alice), make_card(alice), make_share(alice, label="Old")
    shares.revoke_share(revoked)
    db.commit()
    paths = {
        path_of(share): 200,
        path_of(card): 200,
        path_of(revoked): 410,
        f"/s/{secrets.token_urlsafe(32)}": 404,
        f"/e/{secrets.token_urlsafe(32)}": 404,
    }
    for path, status in paths.items():
        response = stranger.get(path)
        assert response.status_code == status, path
        assert response.headers.getlist("Cache-Control") == ["no-store"], path
        response.close()
    # A form posted without its token is refused with an error page on the link too.
    refused = stranger.post(f"{path_of(share)}/reply", data={})
    assert refused.status_code == 400
    assert refused.headers.getlist("Cache-Control") == ["no-store"]


# Ids no row can have, and forged forms: every route, as every persona --------------------

# Past the id columns (INTEGER: 32 bits on PostgreSQL), past SQLite's 64 bits, negative.
IDS_NO_ROW_CAN_HAVE = [MAX_ID + 1, 2**64, 10**30, -1]
# Rows each request writes about itself, whatever it asks: not a change the form made.
REQUEST_TRAIL = {"audit_events", "user_sessions"}
CSRF_REFUSED = "Le formulaire a expiré ou n&#39;a pas été envoyé depuis ce site."


def int_arguments(rule: Rule) -> list[str]:
    return [name for name in rule.arguments if isinstance(rule._converters[name], IntegerConverter)]


@pytest.fixture
def browsers(client, other_client, stranger, alice, claire) -> dict[str, object]:
    """One browser per persona, signed in once: a stranger, Alice (patient), Claire (educator)."""
    sign_in(client, "alice@example.org")
    sign_in(other_client, "claire@example.org")
    return {"anonymous": stranger, "patient": client, "educator": other_client}


def test_an_id_no_row_can_have_is_not_found_on_every_route_for_everyone(app, browsers) -> None:
    adapter = app.url_map.bind("pathway.test", url_scheme="https")
    requests = []  # (method, path, the id in it)
    for rule in app.url_map.iter_rules():
        ids = int_arguments(rule)
        for method in sorted((rule.methods or set()) & {"GET", "POST"} if ids else set()):
            for value in [*IDS_NO_ROW_CAN_HAVE, MAX_ID]:
                values = {name: dummy_value(rule, name) for name in rule.arguments}
                values.update(dict.fromkeys(ids, value))
                requests.append(
                    (method, adapter.build(rule.endpoint, values, method=method), value)
                )
    assert len(requests) >= 20 * 5
    failures = []
    for who, browser in browsers.items():
        token = browser.csrf_token("/")
        for method, path, value in requests:
            status = browser.open(path, method=method, data={"csrf_token": token}).status_code
            # No route takes these; the largest id a row can have reaches the database,
            # which must not fail on it either.
            refused = status < 500 if value == MAX_ID else status == 404
            if not refused:
                failures.append((who, method, path, status))
    assert failures == []


def table_rows(db) -> dict[str, list[tuple]]:
    return {
        table.name: sorted(map(tuple, db.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
        if table.name not in REQUEST_TRAIL
    }


def real_value(rule: Rule, name: str, things: dict[str, object]) -> object:
    """The id or token of a real thing of Alice's where the route names one: a forged form
    that got through would change it."""
    converter = rule._converters[name]
    if hasattr(converter, "items"):
        return sorted(converter.items)[0]
    if name in things:
        return things[name]
    if rule.endpoint.startswith("card."):
        return things["card_id"]
    if rule.endpoint.startswith("emergency."):
        return things["card_token"]
    if isinstance(converter, IntegerConverter):
        return 1
    return {"public_id": things["share_id"], "token": things["share_token"]}.get(name, "x" * 22)


def test_a_form_posted_with_another_sessions_token_is_refused_and_changes_nothing(
    app, db, browsers, alice, alice_enrollment, claire
) -> None:
    make_progress(alice_enrollment, claire)
    share, card = make_share(alice, allow_replies=True), make_card(alice)
    things = {
        "enrollment_id": alice_enrollment.id,
        "programme_id": alice_enrollment.programme_id,
        "item_id": alice.conditions[0].id,
        "section_slug": "conditions",
        "objective_id": alice_enrollment.objectives[0].id,
        "attendance_id": alice_enrollment.attendances[0].id,
        "competency_id": alice_enrollment.competencies[0].id,
        "share_id": share.public_id,
        "share_token": shares.share_token(share),
        "card_id": card.public_id,
        "card_token": shares.share_token(card),
    }
    db.commit()
    # The attacker's own session (anonymous), whose token the forged forms carry.
    attacker = app.test_client()
    forged = attacker.csrf_token("/")
    form = {
        "csrf_token": forged,
        "locale": "en",
        "next": "/",
        "label": "Forged",
        "text": "Forged",
        "name": "Forged",
        "email": "forged@example.org",
        "password": "forged password",
    }
    adapter = app.url_map.bind("pathway.test", url_scheme="https")
    posts = [
        adapter.build(
            rule.endpoint,
            {name: real_value(rule, name, things) for name in rule.arguments},
            method="POST",
        )
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
    ]
    assert len(posts) >= 40
    before = table_rows(db)
    failures = []
    for who, browser in browsers.items():
        for url in posts:
            response = browser.post(url, data=form)
            if response.status_code != 400 or CSRF_REFUSED not in response.get_data(as_text=True):
                failures.append((who, url, response.status_code))
    assert failures == []
    db.expire_all()
    assert table_rows(db) == before


def test_the_id_pattern_takes_every_whole_number_up_to_its_limit_and_no_other() -> None:
    from pathway import whole_numbers_up_to

    for limit in [*range(130), 1999, 2147, 3009]:
        pattern = re.compile(whole_numbers_up_to(limit) + r"\Z")
        taken = [n for n in range(3 * limit + 20) if pattern.match(str(n))]
        assert taken == list(range(limit + 1)), limit
        assert not pattern.match(f"0{limit}")  # no leading zero: one address per id
    pattern = re.compile(whole_numbers_up_to(MAX_ID) + r"\Z")
    for number in (0, 9, 10**9, 1_999_999_999, MAX_ID - 1, MAX_ID):
        assert pattern.match(str(number)), number
    for number in (MAX_ID + 1, 2_147_483_650, 10**10, 2**63, 2**64, 10**30):
        assert not pattern.match(str(number)), number
    assert not pattern.match("٣")  # digits of other scripts name no row either
