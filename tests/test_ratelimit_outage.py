"""While the rate-limit store (Redis) is down: sign-in, password, code and passcode forms fail
closed (503), every other page fails open (served, counted in the process's memory)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from pathway.extensions import FAIL_CLOSED_ENDPOINTS, FAIL_CLOSED_WITH_PASSCODE
from pathway.sharing import shares
from tests.conftest import RATELIMIT_PREFIX, Client, rolled_back_app
from tests.factories import PASSWORD, make_card, make_share, path_of, post_reply, reply_data
from tests.servers import free_port


@pytest.fixture
def store_port() -> int:
    """A port nothing listens on (bound, then released): the store is down."""
    return free_port()


@pytest.fixture
def app_config(app_config: dict[str, Any], store_port: int) -> dict[str, Any]:
    return {
        **app_config,
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{store_port}/0",
        "RATELIMIT_STORAGE_OPTIONS": {
            "key_prefix": RATELIMIT_PREFIX,
            "socket_timeout": 1,
            "socket_connect_timeout": 1,
        },
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The conftest app, without emptying the limits first (the store does not answer)."""
    with rolled_back_app(app_config, reset_limits=False) as app:
        yield app


def assert_refused(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"] == "30"


def test_sign_in_fails_closed_but_its_page_still_shows(client: Client, alice) -> None:
    assert client.get("/auth/login").status_code == 200
    response = client.submit("/auth/login", {"email": alice.user.email, "password": PASSWORD})
    assert_refused(response)
    assert "session" not in response.headers.get("Set-Cookie", "")


def test_password_reset_and_sign_in_code_forms_fail_closed(client: Client) -> None:
    assert_refused(client.submit("/auth/forgot", {"email": "someone@example.org"}))
    assert_refused(client.submit("/auth/two-factor", {"code": "123456"}, page="/auth/login"))


def test_emergency_and_recipient_views_fail_open(stranger: Client, db, alice) -> None:
    card = make_card(alice)
    share = make_share(alice)
    db.commit()
    for _ in range(3):
        assert stranger.get(path_of(card)).status_code == 200
        assert stranger.get(path_of(share)).status_code == 200
    assert stranger.get("/healthz").status_code == 200


def test_limits_still_count_in_memory_while_failing_open(stranger: Client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    statuses = [stranger.get(path_of(share)).status_code for _ in range(121)]
    assert statuses == [200] * 120 + [429]  # 120 per minute, counted by this process


def test_a_passcode_fails_closed_on_the_link_and_in_a_reply(stranger: Client, db, alice) -> None:
    share = make_share(alice, passcode="4321", allow_replies=True)
    db.commit()
    token = shares.share_token(share)
    assert stranger.get(path_of(share)).status_code == 200  # the form shows
    assert_refused(stranger.submit(path_of(share), {"passcode": "4321"}))
    assert_refused(post_reply(stranger, token, reply_data(passcode="4321")))
    db.refresh(share)
    assert share.passcode_attempts_left == 5  # nothing was tried


def test_a_reply_without_a_passcode_fails_open(stranger: Client, db, alice) -> None:
    share = make_share(alice, allow_replies=True)
    db.commit()
    assert post_reply(stranger, shares.share_token(share), reply_data()).status_code == 303


def test_every_fail_closed_endpoint_exists_and_takes_posts(app: Flask) -> None:
    """A renamed route must not slip out of the policy unnoticed."""
    methods = {rule.endpoint: rule.methods or set() for rule in app.url_map.iter_rules()}
    for endpoint in FAIL_CLOSED_ENDPOINTS | FAIL_CLOSED_WITH_PASSCODE:
        assert "POST" in methods.get(endpoint, set()), endpoint


@pytest.mark.slow
def test_forms_count_in_the_store_again_as_soon_as_it_answers(
    client: Client, stranger: Client, db, alice, store_port: int, tmp_path
) -> None:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    card = make_card(alice)
    db.commit()
    # A fail-open page switches this process to counting in memory.
    assert stranger.get(path_of(card)).status_code == 200
    assert_refused(client.submit("/auth/login", {"email": "x@example.org", "password": "wrong"}))
    process = subprocess.Popen(
        [server, "--port", str(store_port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    store = redis.Redis(port=store_port, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                store.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        response = client.submit("/auth/login", {"email": "x@example.org", "password": "wrong"})
        assert response.status_code == 401
        assert store.keys(f"{RATELIMIT_PREFIX}*"), "the attempt was counted in the store"
    finally:
        process.terminate()
        process.wait(timeout=10)
