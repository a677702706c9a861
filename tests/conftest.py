"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

DATABASE_URL selects the backend (PostgreSQL in CI); SQLite in a temporary file otherwise.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from pathway import create_app
from pathway.config import database_url
from pathway.db import session as db_session
from pathway.extensions import limiter
from pathway.migrate import upgrade

TEST_SECRET = "test-secret-key-0123456789abcdef0123456789abcdef"
PUBLIC_BASE_URL = "https://pathway.test"
RATELIMIT_PREFIX = f"pathway-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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


@pytest.fixture
def app_config(database_url_for_tests: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for this test's app; a test may change them before asking for `app`."""
    return make_config(database_url_for_tests, tmp_path)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """An app whose every commit lands in a transaction rolled back after the test."""
    app = create_app(app_config)
    database = app.extensions["pathway.db"]
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
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
def db(app: Flask):  # type: ignore[no-untyped-def]
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
    ):  # type: ignore[no-untyped-def]
        """POST a form as a browser would: fetch the page, take its token, post."""
        form = dict(data or {})
        form["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=form, base_url=PUBLIC_BASE_URL, **kwargs)

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        """Serve the request in its own app context, as in production, then refresh the test's view.

        The test body holds an app context (for factories); Flask would reuse it for
        the request, sharing `g` (signed-in user, locale, session) between requests.
        """
        kwargs.setdefault("base_url", PUBLIC_BASE_URL)
        outer = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(outer)
            if has_app_context() and "db_session" in g:
                g.db_session.expire_all()


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def other_client(app: Flask) -> Client:
    """A second, independent browser (another person)."""
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]
