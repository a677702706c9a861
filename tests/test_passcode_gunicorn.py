"""Wrong passcodes sent all at once over HTTP to several gunicorn workers on PostgreSQL: no
more than the link's budget of wrong attempts is ever evaluated, then it locks, and the right
passcode is refused too.

test_shares_concurrency.py races check_passcode in one process; this is the attacker's way
in: HTTP, each guess from another address (no rate limit in the way), served by separate
worker processes with their own connections. PostgreSQL only: that is where several workers
(and hosts) write at once; on SQLite one writer lock orders them.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, func, select

from pathway import ROOT, audit, create_app
from pathway.db import session
from pathway.models import AccessEvent, AuditEvent, OutboxMessage, Patient, Share, User
from pathway.sharing import shares
from pathway.sharing.sections import Audience
from tests.conftest import CSRF_PATTERN, TEST_SECRET, is_postgres, make_config
from tests.factories import make_patient, make_share
from tests.servers import BIN, free_port, wait_until_serving

pytestmark = pytest.mark.slow

GUESSERS = 16
WORKERS = 3
RIGHT = "right-passcode-8213"
EMAIL = "gaspard-gunicorn@example.org"


class Browser:
    """One visitor of the link, at their own address: the passcode form, then one answer."""

    def __init__(self, port: int, token: str, address: str) -> None:
        self.port, self.path = port, f"/s/{token}"
        self.headers = {"Host": "127.0.0.1", "X-Forwarded-For": address}
        self.cookie = self.csrf_token = ""

    def _send(self, method: str, body: str = "", **headers: str) -> tuple[int, str, list[str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, self.path, body=body, headers={**self.headers, **headers})
            response = connection.getresponse()
            page = response.read().decode()
            return response.status, page, response.headers.get_all("Set-Cookie") or []
        finally:
            connection.close()

    def open_form(self) -> None:
        status, page, cookies = self._send("GET")
        assert status == 200, status
        self.cookie = next(c.split(";")[0] for c in cookies if c.startswith("session="))
        found = CSRF_PATTERN.search(page)
        assert found, "the passcode form has a CSRF token"
        self.csrf_token = found.group(1)

    def answer(self, passcode: str) -> tuple[int, str]:
        status, page, _cookies = self._send(
            "POST",
            urlencode({"csrf_token": self.csrf_token, "passcode": passcode}),
            Cookie=self.cookie,
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        return status, page


def serve(env: dict[str, str], port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    with (log_dir / "server.log").open("wb") as server_log:
        return subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}",
                "--access-logfile", str(log_dir / "access.log"),
                "wsgi:app",
            ],
            cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def race(port: int, token: str) -> tuple[list[tuple[int, str]], tuple[int, str]]:
    """GUESSERS wrong passcodes at the same moment, then the right one from a form opened
    before them: every answer."""
    guessers = [Browser(port, token, f"198.51.100.{n + 1}") for n in range(GUESSERS)]
    holder = Browser(port, token, "203.0.113.50")
    together = threading.Barrier(GUESSERS)

    def guess(numbered: tuple[int, Browser]) -> tuple[int, str]:
        number, browser = numbered
        together.wait(timeout=30)
        return browser.answer(f"wrong-{number}")

    with ThreadPoolExecutor(max_workers=GUESSERS) as pool:
        list(pool.map(Browser.open_form, [*guessers, holder]))
        answers = list(pool.map(guess, enumerate(guessers)))
    return answers, holder.answer(RIGHT)


def test_wrong_passcodes_at_once_on_several_workers_never_exceed_the_budget(
    database_url_for_tests: str, tmp_path: Path
) -> None:
    if not is_postgres(database_url_for_tests):
        pytest.skip("PostgreSQL only (the race of several workers writing at once)")
    app = create_app(make_config(database_url_for_tests, tmp_path))
    with app.app_context():
        patient = make_patient("Gaspard", email=EMAIL)
        share = make_share(patient, Audience.GP, passcode=RIGHT)
        session.commit()
        share_id, patient_id, user_id = share.id, patient.id, patient.user_id
        token = shares.share_token(share)
    port = free_port()
    env = {
        **os.environ,
        "PATHWAY_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url_for_tests,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SMTP_HOST": "",
        "WEB_CONCURRENCY": str(WORKERS),
    }
    process: subprocess.Popen[bytes] | None = None
    try:
        process = serve(env, port, tmp_path)
        try:
            wait_until_serving(port, process)
            answers, (right_status, right_page) = race(port, token)
        finally:
            process.send_signal(signal.SIGTERM)  # it stops while the results are checked
        budget = shares.MAX_PASSCODE_ATTEMPTS
        # Each evaluated wrong guess but the last says how many are left (401); the last one
        # locks the link (410), as does every guess after it.
        statuses = sorted(status for status, _page in answers)
        assert statuses == [401] * (budget - 1) + [410] * (GUESSERS - budget + 1), statuses
        assert right_status == 410
        assert "Gaspard condition" not in right_page + "".join(page for _s, page in answers)
        with app.app_context():
            evaluated = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.patient_id == patient_id,
                    AuditEvent.tag == audit.Tag.SHARE_PASSCODE_FAILED,
                )
            )
            assert evaluated == budget
            locked = session.get_one(Share, share_id)
            assert locked.passcode_attempts_left == 0 and locked.locked_at is not None
            session.rollback()
        workers = set(re.findall(r"<(\d+)>$", (tmp_path / "access.log").read_text(), re.M))
        assert len(workers) >= 2, "the guesses were served by several workers"
    finally:
        with app.app_context():
            session.execute(delete(AuditEvent).where(AuditEvent.patient_id == patient_id))
            session.execute(delete(AccessEvent).where(AccessEvent.share_id == share_id))
            session.execute(delete(OutboxMessage).where(OutboxMessage.recipient.contains(EMAIL)))
            session.execute(delete(Share).where(Share.id == share_id))
            session.execute(delete(Patient).where(Patient.id == patient_id))
            session.execute(delete(User).where(User.id == user_id))
            session.commit()
        app.extensions["pathway.db"].engine.dispose()
        if process is not None:
            process.wait(timeout=30)
