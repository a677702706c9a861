"""End-to-end fixtures: the demo served by a real gunicorn, driven by Debian's Chromium (phone).

One server and one browser per run; one fresh browser context (a separate person) per test.
The server always uses its own temporary SQLite database, whatever DATABASE_URL says: the
unit tests' conftest empties that one, and the journeys need the demo data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pathway import ROOT
from tests.servers import BIN, free_port, load_demo

from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EDUCATOR_EMAIL,
    PATIENT_EMAIL,
    SKIP_MESSAGE,
    Phones,
    Server,
    demo_links,
    sign_in,
    wait_until_healthy,
)

BROWSER_CHECK = "test_browser.py"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without Chromium (outside CI), collect only the browser check: one skip, one message."""
    if CHROMIUM.exists() or os.environ.get("CI") == "true":
        return None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return collection_path.name != BROWSER_CHECK
    return None


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; its absence skips the journeys, except in CI where it fails the run."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"CI runs the end-to-end tests: {CHROMIUM} is missing (apt-get install chromium)"
            )
        pytest.skip(SKIP_MESSAGE)
    return CHROMIUM


# Package scope: the server and the browser stop as soon as the journeys are done,
# rather than idling through the rest of the test run.
@pytest.fixture(scope="package")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn (gunicorn.conf.py) over a migrated SQLite database holding the demo data."""
    workdir = tmp_path_factory.mktemp("e2e")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATHWAY_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "SECRET_KEY_FALLBACKS": "",
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "PUBLIC_BASE_URL": url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(workdir / "outbox"),
        "SMTP_HOST": "",
        "STAFF_2FA_REQUIRED": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    output = load_demo(env)
    log = workdir / "server.log"
    command = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
    setpriv = shutil.which("setpriv")
    if setpriv:
        # If the test run itself is killed, the server stops too instead of lingering.
        command = [setpriv, "--pdeathsig", "TERM", "--", *command]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(url, process, log)
        yield Server(
            url=url, links=demo_links(output), outbox=workdir / "outbox", log=log, process=process
        )
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown: nothing is left to finish
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # The database is a throwaway file: stop the master and its workers at once.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Any]:
    """One headless Chromium for all the journeys."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phones(browser: Any, server: Server) -> Iterator[Phones]:
    """Phones for this test; at the end, no page logged an error (CSP violation, script error)."""
    phones = Phones(browser, server)
    try:
        yield phones
    finally:
        phones.close()
    assert phones.problems == [], "\n".join(phones.problems)


@pytest.fixture(scope="package")
def signed_in_states(browser: Any, server: Server) -> dict[str, dict[str, Any]]:
    """Sign each persona in once (sign-in is rate limited per account); tests reuse the cookies."""
    states: dict[str, dict[str, Any]] = {}
    phones = Phones(browser, server)
    try:
        for email in (PATIENT_EMAIL, EDUCATOR_EMAIL):
            page = phones.new()
            sign_in(page, email)
            states[email] = page.context.storage_state()
    finally:
        phones.close()
    return states


@pytest.fixture
def patient_page(phones: Phones, signed_in_states: dict[str, dict[str, Any]]) -> Any:
    """The demo patient's phone, signed in."""
    return phones.new(signed_in_states[PATIENT_EMAIL])


@pytest.fixture
def educator_page(phones: Phones, signed_in_states: dict[str, dict[str, Any]]) -> Any:
    """The demo educator, signed in, on a phone too: the team pages must work on small screens."""
    return phones.new(signed_in_states[EDUCATOR_EMAIL])


@pytest.fixture
def stranger_page(phones: Phones) -> Any:
    """Someone with no account: a GP, a paramedic, a visitor."""
    return phones.new()
