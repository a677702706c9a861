"""Every route, present and future: security headers, cookie attributes, CSRF on every write.

The routes come from app.url_map, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask, abort
from werkzeug.routing import Rule

from pathway.models import Role
from pathway.sharing import shares
from tests.factories import make_card, make_share, make_user, path_of, sign_in

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
    if type(converter).__name__ == "IntegerConverter":
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
