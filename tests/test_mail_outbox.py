"""The outbox: mail is written in the event's transaction, sent after the response, retried
after a failure, and never sent twice by two senders at once."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from email.message import EmailMessage
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from sqlalchemy import select

from pathway import ROOT, create_app, mail
from pathway.db import session
from pathway.models import OutboxMessage
from tests.conftest import make_config
from tests.factories import make_user
from tests.servers import BIN, free_port, load_demo, request, wait_until_serving

SMTP_SECONDS = 1.5  # a slow mail server: far more than the request itself takes


class FakeSMTP:
    """smtplib.SMTP as a test double: slow, and it remembers what it was given."""

    delay = 0.0
    down = False
    received: list[EmailMessage] = []
    lock = threading.Lock()

    def __init__(self, host: str, port: int, timeout: float) -> None:
        if FakeSMTP.down:
            raise ConnectionRefusedError("connection refused")

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def starttls(self) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def send_message(self, message: EmailMessage) -> None:
        time.sleep(FakeSMTP.delay)
        with FakeSMTP.lock:
            FakeSMTP.received.append(message)


@pytest.fixture(autouse=True)
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "received", [])
    monkeypatch.setattr(FakeSMTP, "delay", 0.0)
    monkeypatch.setattr(FakeSMTP, "down", False)
    return FakeSMTP


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "SMTP_HOST": "smtp.test", "SMTP_STARTTLS": False}


def timed_reset_request(client, email: str) -> tuple[float, Any]:
    token = client.csrf_token("/auth/forgot")
    started = time.monotonic()
    response = client.post("/auth/forgot", data={"email": email, "csrf_token": token})
    return time.monotonic() - started, response


def test_a_reset_for_a_known_address_answers_before_the_mail_is_sent(app, client, db, smtp) -> None:
    make_user("known@example.org")
    db.commit()
    smtp.delay = SMTP_SECONDS
    unknown_time, unknown = timed_reset_request(client, "ghost@example.org")
    known_time, known = timed_reset_request(client, "known@example.org")
    assert known.status_code == unknown.status_code == 302
    # The response is complete, the mail server not yet spoken to: the message waits.
    assert known_time < SMTP_SECONDS
    assert abs(known_time - unknown_time) < SMTP_SECONDS / 2
    assert smtp.received == []
    [queued] = db.scalars(select(OutboxMessage)).all()
    assert queued.recipient == "known@example.org" and queued.sent_at is None
    assert "/auth/reset/" in queued.body
    unknown.close()
    assert smtp.received == []  # the unknown address queued nothing

    # The server closes the response once written: the worker sends the mail then.
    known.close()
    [message] = smtp.received
    assert message["To"] == "known@example.org"
    assert "/auth/reset/" in message.get_body(("plain",)).get_content()
    db.expire_all()
    sent = db.get(OutboxMessage, queued.id)
    assert sent.sent_at is not None and sent.attempts == 1
    assert sent.body == ""  # the reset link is not kept once delivered
    assert mail.deliver().sent == 0  # and never sent again


def test_a_request_that_rolls_back_sends_nothing(app, db, smtp) -> None:
    mail.queue_mail("someone@example.org", "Subject", "Body")
    db.rollback()
    assert mail.deliver().sent == 0
    assert smtp.received == []


def test_a_mail_server_failure_leaves_the_message_for_a_later_attempt(app, db, smtp) -> None:
    mail.queue_mail("someone@example.org", "Subject", "Body with a link")
    db.commit()
    smtp.down = True
    assert mail.deliver() == mail.Delivery(sent=0, failed=1)
    [waiting] = db.scalars(select(OutboxMessage)).all()
    db.refresh(waiting)
    assert waiting.sent_at is None and waiting.claimed_at is None
    assert waiting.attempts == 1 and "refused" in (waiting.last_error or "")
    smtp.down = False
    assert mail.deliver().sent == 0  # not before its retry delay
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)):
        assert mail.deliver().sent == 1
    [message] = smtp.received
    assert message.get_body(("plain",)).get_content().strip() == "Body with a link"


def test_a_claim_held_by_a_sender_that_died_is_taken_over_later(app, db, smtp) -> None:
    mail.queue_mail("someone@example.org", "Subject", "Body")
    db.commit()
    db.execute(OutboxMessage.__table__.update().values(claimed_at=mail.utcnow(), attempts=1))
    db.commit()
    assert mail.deliver().sent == 0  # another sender is at it
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=mail.CLAIM_SECONDS + 1)
    with time_machine.travel(later):
        assert mail.deliver().sent == 1
    assert len(smtp.received) == 1


def test_control_characters_never_reach_a_header(app, db, smtp) -> None:
    mail.queue_mail("someone@example.org", "Lettre – Alice\r\nBcc: x@evil.example", "Body")
    db.commit()
    assert mail.deliver().sent == 1
    [message] = smtp.received
    assert message["Subject"] == "Lettre – Alice Bcc: x@evil.example"
    assert message["Bcc"] is None


def test_the_send_mail_command_catches_up(app, db, smtp) -> None:
    mail.queue_mail("someone@example.org", "Subject", "Body")
    db.commit()
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 messages, 0 failed; 0 waiting" in result.output
    assert len(smtp.received) == 1


def test_two_senders_at_once_never_send_one_message_twice(
    own_database: str, tmp_path: Path, smtp
) -> None:
    app = create_app(make_config(own_database, tmp_path, SMTP_HOST="smtp.test"))
    count = 40
    with app.app_context():
        for n in range(count):
            mail.queue_mail(f"person{n}@example.org", f"Message {n}", "Body")
        session.commit()
    smtp.delay = 0.01
    start = threading.Barrier(2)
    results: list[mail.Delivery] = []
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(mail.deliver())
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    app.extensions["pathway.db"].engine.dispose()
    assert failures == []
    recipients = sorted(str(message["To"]) for message in smtp.received)
    assert recipients == sorted(f"person{n}@example.org" for n in range(count))
    assert sorted(result.sent for result in results)[0] > 0, "both senders sent some"
    assert sum(result.sent for result in results) == count


@pytest.mark.slow
def test_under_gunicorn_the_mail_goes_out_after_the_response(tmp_path: Path) -> None:
    from pathway.demo import PATIENT_EMAIL

    port = free_port()
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "PATHWAY_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(outbox),
        "SMTP_HOST": "",
        "WEB_CONCURRENCY": "1",
    }
    load_demo(env)
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_serving(port, process)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/auth/forgot", headers={"Host": "127.0.0.1"})
        page = connection.getresponse()
        cookie = SimpleCookie(page.headers["Set-Cookie"])
        html = page.read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(
            "POST",
            "/auth/forgot",
            body=urlencode({"email": PATIENT_EMAIL, "csrf_token": token}),
            headers={
                "Host": "127.0.0.1",
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items()),
            },
        )
        assert connection.getresponse().status == 302
        connection.close()
        deadline = time.monotonic() + 10

        # The demo's own notices to its patient are in the outbox too: the reset is looked for.
        def resets() -> list[Path]:
            return [p for p in outbox.glob("*.eml") if b"/auth/reset/" in p.read_bytes()]

        while not resets() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(resets()) == 1
        assert request(port, "GET", "/healthz") == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
