"""Test fixtures: one migrated database per run, one rolled-back transaction per test,
and the personas every test speaks of.

DATABASE_URL selects the backend (PostgreSQL in CI); SQLite in a temporary file otherwise.

The personas, one meaning each everywhere:
- `alice`: Alice Martin, a woman, a patient with one item in every section, enrolled in
  Programme A;
- `bob`: Bob Martin, a man, another patient, enrolled in Programme B;
- `claire`: Claire Dubois, educator of Programme A, Alice's programme;
- `eve`: Eve, educator of Programme B, a team that has nothing to do with Alice;
- `stranger`: a browser with no account, holding nothing but what a test hands it (a link).
Beside them: `alice_enrollment` and `bob_enrollment` (their paths in those programmes),
`programme_a` and `programme_b`, `alice_signed_in` (Alice signed in on `client`), and
`client` and `other_client`, two browsers that sign in as whoever a test says.
Everything else a test needs is made with tests/factories.py.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask, g, has_app_context
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from pathway import create_app
from pathway.config import database_url
from pathway.db import session as db_session
from pathway.extensions import limiter
from pathway.migrate import upgrade
from pathway.models import Enrollment, Patient, Programme, Sex, User
from tests.factories import enroll, make_educator, make_patient, sign_in
from tests.servers import free_port

TEST_SECRET = "test-secret-key-0123456789abcdef0123456789abcdef"
PUBLIC_BASE_URL = "https://pathway.test"
RATELIMIT_PREFIX = f"pathway-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REDIS_URL = os.environ.get("PATHWAY_TEST_REDIS", "redis://127.0.0.1:6379/0")


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session")
def database_url_for_tests(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The run's database, emptied then migrated to head once."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        url = database_url(Path("."), {"DATABASE_URL": configured})
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'pathway-test.db'}"
    upgrade(url)
    return url


def make_config(url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "PATHWAY_ENV": "development",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SECRET_KEY_FALLBACKS": [],
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TRUSTED_HOSTS": ["pathway.test", "localhost"],
        "SERVER_NAME": None,
        "RATELIMIT_STORAGE_URI": os.environ.get("PATHWAY_TEST_REDIS", "memory://"),
        # limiter.reset() empties only this run's keys, not those of another run on the same Redis.
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": RATELIMIT_PREFIX},
        # Explicit: the shared limiter otherwise inherits the last app's setting.
        "RATELIMIT_ENABLED": True,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SMTP_HOST": "",
    }
    config.update(overrides)
    return config


class Inbox:
    """What the local SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        parsed = [
            email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes
        ]
        return [m for m in parsed if to is None or m["To"] == to]  # type: ignore[misc]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free local port: (what it received, its port)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, for a test whose parts must really commit from several
    connections (races, concurrent senders): a new SQLite file, or a new PostgreSQL database
    dropped at the end."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        url = f"sqlite:///{tmp_path / 'own.db'}"
        upgrade(url)
        yield url
        return
    base = database_url(Path("."), {"DATABASE_URL": configured})
    name = f"pathway_own_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def app_config(database_url_for_tests: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for this test's app; a test may change them before asking for `app`."""
    return make_config(database_url_for_tests, tmp_path)


@contextmanager
def rolled_back_app(config: dict[str, Any], reset_limits: bool = True) -> Iterator[Flask]:
    """An app whose every commit lands in one transaction, rolled back at the end; its rate
    limits emptied first unless the store is not to be asked."""
    app = create_app(config)
    database = app.extensions["pathway.db"]
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    if reset_limits:
        with app.app_context():
            limiter.reset()
    try:
        with app.app_context():
            yield app
    finally:
        transaction.rollback()
        connection.close()
        database.engine.dispose()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """An app whose every commit lands in a transaction rolled back after the test."""
    with rolled_back_app(app_config) as app:
        yield app


@pytest.fixture
def db(app: Flask) -> Session:
    """The session the app uses in this test (same transaction)."""
    return db_session


class Client(FlaskClient):
    """A test client that can submit forms with the CSRF token of the page they come from."""

    def csrf_token(self, page: str = "/auth/login") -> str:
        response = self.get(page, base_url=PUBLIC_BASE_URL, follow_redirects=True)
        match = CSRF_PATTERN.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {page} (status {response.status_code})"
        return match.group(1)

    def submit(
        self, url: str, data: dict[str, Any] | None = None, page: str | None = None, **kwargs: Any
    ) -> TestResponse:
        """POST a form as a browser would: fetch the page, take its token, post."""
        form = dict(data or {})
        form["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=form, base_url=PUBLIC_BASE_URL, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        """Serve the request in its own app context, as in production, then refresh the test's view.

        The test body holds an app context (for factories); Flask would reuse it for
        the request, sharing `g` (signed-in user, locale, session) between requests.
        """
        kwargs.setdefault("base_url", PUBLIC_BASE_URL)
        outer = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(outer)
            if has_app_context() and "db_session" in g:
                g.db_session.expire_all()


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def other_client(app: Flask) -> Client:
    """A second, independent browser (another person)."""
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def in_request(app: Flask) -> Iterator[None]:
    """A request around the test, as the domain runs in production (messages are translated)."""
    with app.test_request_context():
        yield


@pytest.fixture
def shared_redis() -> redis.Redis:
    """The Redis several app instances share; outside CI, its absence skips the test."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and unreachable at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL} (outside CI)")
    return client


# Personas ------------------------------------------------------------------------------


@pytest.fixture
def claire(db: Session) -> User:
    """Claire Dubois, educator of Programme A, the programme Alice follows."""
    return make_educator("Claire Dubois", "Programme A")


@pytest.fixture
def eve(db: Session) -> User:
    """Eve, educator of Programme B: another team, none of Alice's."""
    return make_educator("Eve", "Programme B")


@pytest.fixture
def programme_a(claire: User) -> Programme:
    return claire.programmes[0]


@pytest.fixture
def programme_b(eve: User) -> Programme:
    return eve.programmes[0]


@pytest.fixture
def alice_enrollment(programme_a: Programme) -> Enrollment:
    """Alice's path in Claire's Programme A (her BEP synthesis, two objectives)."""
    return enroll(make_patient("Alice", sex=Sex.FEMALE), programme_a)


@pytest.fixture
def bob_enrollment(programme_b: Programme) -> Enrollment:
    return enroll(make_patient("Bob", sex=Sex.MALE), programme_b)


@pytest.fixture
def alice(alice_enrollment: Enrollment) -> Patient:
    """Alice Martin (alice@example.org): one item in every section, enrolled in Programme A."""
    return alice_enrollment.patient


@pytest.fixture
def bob(bob_enrollment: Enrollment) -> Patient:
    """Bob Martin (bob@example.org): a second patient, enrolled in Eve's Programme B."""
    return bob_enrollment.patient


@pytest.fixture
def alice_signed_in(client: Client, alice: Patient) -> Patient:
    """Alice, signed in on `client`: her own browser."""
    sign_in(client, alice.user.email)
    return alice


@pytest.fixture
def stranger(app: Flask) -> Client:
    """Someone with no account: a GP or a crew holding only a link, or anyone at all."""
    app.test_client_class = Client
    return app.test_client()
