"""Host and proxy handling, oversized requests, and SQLite under concurrent writes."""

from __future__ import annotations

import ast
import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select

from pathway import ROOT
from pathway.migrate import upgrade
from pathway.models import AuditEvent, User
from tests.conftest import make_config
from tests.factories import PASSWORD, make_user, sign_in

CLIENT_IP = "203.0.113.7"


def bad_sign_in(client, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = client.csrf_token()
    response = client.post(
        "/auth/login",
        data={"email": "nobody@example.org", "password": "wrong password", "csrf_token": token},
        headers=headers,
    )
    return response.status_code


# Host ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/auth/login", "/s/some-token", "/healthz"])
def test_a_foreign_host_header_is_refused_without_a_stack_trace(client, db, path: str) -> None:
    response = client.get(path, base_url="https://evil.example")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Traceback" not in page and "SecurityError" not in page and "werkzeug" not in page
    assert "Requête incomprise" in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_configured_host_is_served(client, db) -> None:
    assert client.get("/auth/login").status_code == 200


# Proxy --------------------------------------------------------------------------------


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Behind one reverse proxy, which appends the client's address to X-Forwarded-For."""
    app_config["TRUSTED_PROXIES"] = 1
    return app_config


def test_limits_count_the_real_client_behind_the_proxy(client, db) -> None:
    statuses = [bad_sign_in(client, CLIENT_IP) for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    # Another person behind the same proxy is not blocked by the first one's attempts.
    assert bad_sign_in(client, "198.51.100.20") == 401


def test_a_forged_forwarded_for_entry_does_not_reset_the_count(client, db) -> None:
    # The client adds its own X-Forwarded-For; the proxy appends the real address.
    statuses = [bad_sign_in(client, f"10.0.0.{i}, {CLIENT_IP}") for i in range(11)]
    assert statuses == [401] * 10 + [429]
    assert bad_sign_in(client, f"192.0.2.99, {CLIENT_IP}") == 429


def test_the_proxy_address_itself_is_not_the_client(app, client, db) -> None:
    seen = []
    app.add_url_rule(
        "/_test/addr",
        "_test_addr",
        lambda: seen.append(__import__("flask").request.remote_addr) or "ok",
    )
    client.get("/_test/addr", headers={"X-Forwarded-For": f"10.9.9.9, {CLIENT_IP}"})
    assert seen == [CLIENT_IP]


# Oversized requests -------------------------------------------------------------------


def test_an_oversized_form_gets_a_translated_413(app, client, db) -> None:
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    token = client.csrf_token()
    response = client.post(
        "/auth/login", data={"email": "a@example.org", "password": big, "csrf_token": token}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Trop de données" in page
    assert "Ce que vous avez envoyé est trop volumineux." in page
    assert big[:1000] not in page


def test_an_oversized_form_without_csrf_token_gets_a_413(app, client, db) -> None:
    big = "y" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/auth/forgot", data={"email": big})
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


# Redirect targets ---------------------------------------------------------------------

# What an attacker puts in ?next= or a form's next field, decoded: a line break would end the
# Location header and start one of theirs; other control characters and backslashes are
# refused too. Each must send the user to the page's default, with no 500.
HOSTILE_TARGETS = [
    "/account/my-data\r\nSet-Cookie: evil=1",
    "/account/my-data\nX-Evil: 1",
    "/account/my-data\rX-Evil: 1",
    "\r\n",
    "/account/my-data\x0bX-Evil: 1",
    "/account/my-data\u2028X-Evil: 1",
    "/\\evil.example",
    "\\\\evil.example",
]
# The same break typed by hand in the address: %0d%0a in the query, decoded by the server.
RAW_QUERY = "next=/account/my-data%0d%0aSet-Cookie:%20evil=1"
# A percent-encoded break inside the target itself is only text: a local path, kept.
ENCODED_TARGET = "/account/my-data%0d%0aX-Evil:%201"


def check_redirect(response, default: str) -> None:
    """A redirect to `default`, with nothing of the attacker's in any header."""
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    assert location == default, location
    check_no_injection(response)


def check_no_injection(response) -> None:
    assert response.status_code < 500, response.status_code
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)
        assert name.lower() != "x-evil", name
    assert not any(c.startswith("evil=") for c in response.headers.getlist("Set-Cookie"))


def sign_in_to(client, query: dict[str, str] | str) -> Any:
    token = client.csrf_token()
    form = {"email": "alice@example.org", "password": PASSWORD, "csrf_token": token}
    return client.post("/auth/login", data=form, query_string=query)


def test_hostile_next_after_sign_in_lands_on_the_home_page(client, db, alice) -> None:
    for target in [*HOSTILE_TARGETS, RAW_QUERY]:
        query = target if target == RAW_QUERY else {"next": target}
        check_redirect(sign_in_to(client, query), "/patient/")
        client.submit("/auth/logout", {}, page="/patient/")
    # A percent-encoded break is a plain local address: kept, and still one header.
    response = sign_in_to(client, {"next": ENCODED_TARGET})
    assert response.headers["Location"] == ENCODED_TARGET
    check_no_injection(response)


def test_hostile_next_after_the_password_again_lands_on_the_home_page(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    for target in [*HOSTILE_TARGETS, RAW_QUERY]:
        query = target if target == RAW_QUERY else {"next": target}
        page = client.get("/auth/confirm", query_string=query)
        check_no_injection(page)
        assert page.status_code == 200
        token = client.csrf_token("/auth/confirm")
        response = client.post(
            "/auth/confirm", data={"password": PASSWORD, "csrf_token": token}, query_string=query
        )
        check_redirect(response, "/patient/")


def test_hostile_next_of_the_language_form_lands_on_the_home_page(client, db) -> None:
    for target in HOSTILE_TARGETS:
        response = client.submit("/language", {"locale": "en", "next": target}, page="/")
        check_redirect(response, "/")
    body = f"locale=fr&{RAW_QUERY}&csrf_token={client.csrf_token('/')}"
    response = client.post("/language", data=body, content_type="application/x-www-form-urlencoded")
    check_redirect(response, "/")
    # The language was still set: the hostile target changed nothing but the landing page.
    assert "lang=fr" in response.headers.get("Set-Cookie", "")


def test_a_page_behind_sign_in_keeps_a_hostile_address_out_of_the_location(client, db) -> None:
    response = client.get("/account/my-data?x=%0d%0aX-Evil:%201")
    assert response.status_code == 302
    check_no_injection(response)
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_every_redirect_target_read_from_the_request_goes_through_safe_next() -> None:
    """A parameter named like a redirect target (next, return_to…) is read only inside
    safe_next(…), so a target added later is checked as these are."""
    names = {"next", "return_to", "redirect", "redirect_to", "back", "target", "url"}
    unchecked = []
    for path in (ROOT / "pathway").rglob("*.py"):
        tree = ast.parse(path.read_text())
        checked = {
            id(argument)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "safe_next"
            for argument in node.args
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and "request" in ast.unparse(node.func.value)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in names
                and id(node) not in checked
            ):
                unchecked.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert unchecked == []


# SQLite concurrency -------------------------------------------------------------------

# One process, as one gunicorn worker would be: two threads, each signs in once, then
# switches language 25 times (each an UPDATE of the user row, committed).
WRITER = """
import json, sys, threading
from pathway import create_app
app = create_app(json.loads(sys.argv[1]))
statuses = []
lock = threading.Lock()

def worker(email):
    client = app.test_client()
    base = "https://pathway.test"
    form = {"email": email, "password": sys.argv[2]}
    signed_in = client.post("/auth/login", data=form, base_url=base)
    with lock:
        statuses.append(signed_in.status_code)
    for i in range(25):
        response = client.post("/language", data={"locale": ("fr", "en")[i % 2]}, base_url=base)
        with lock:
            statuses.append(response.status_code)

emails = json.loads(sys.argv[3])
threads = [threading.Thread(target=worker, args=(email,)) for email in emails]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(statuses))
"""


def test_concurrent_sqlite_writes_never_fail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    upgrade(url)
    config = {
        "PATHWAY_ENV": "development",
        "SECRET_KEY": "concurrency-secret-0123456789abcdef01234567",
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": "https://pathway.test",
        "TRUSTED_HOSTS": ["pathway.test"],
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    from pathway import create_app

    seed = create_app({**config, "RATELIMIT_ENABLED": True})
    with seed.app_context():
        from pathway.db import session

        for n in range(8):
            make_user(f"writer{n}@example.org")
        session.commit()
    seed.extensions["pathway.db"].engine.dispose()

    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                json.dumps(config),
                PASSWORD,
                json.dumps([f"writer{2 * p}@example.org", f"writer{2 * p + 1}@example.org"]),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(4)
    ]
    statuses: list[int] = []
    errors = ""
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-2000:]
        statuses += json.loads(out.strip().splitlines()[-1])
        errors += err
    assert len(statuses) == 4 * 2 * 26
    assert statuses.count(302) == len(statuses), (sorted(set(statuses)), errors[-3000:])
    assert "database is locked" not in errors
    engine = create_engine(url)
    with engine.connect() as connection:
        signed_in = connection.scalar(
            select(func.count()).where(AuditEvent.tag == "auth:signin:succeeded")
        )
    engine.dispose()
    assert signed_in == 8


def sqlite_app(tmp_path: Path) -> Flask:
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    upgrade(url)
    from pathway import create_app

    return create_app(make_config(url, tmp_path))


def writes_at_once(path: Path) -> bool:
    """Can another process's connection write right now, without waiting for a lock?"""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE users SET locale = locale")
        other.execute("COMMIT")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


def test_the_hot_views_reads_take_no_write_lock_on_sqlite(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path)
    path = tmp_path / "locks.db"
    with app.test_request_context("/"):
        from pathway.db import reading, session

        make_user("reader@example.org")
        session.commit()
        with reading():
            user = session.scalar(select(User).where(User.email == "reader@example.org"))
            # Another worker writes while this transaction is open: no waiting.
            assert writes_at_once(path)
        # What the block loaded stays usable once it has ended.
        assert user is not None and user.email == "reader@example.org"
        # Any other transaction takes the write lock up front (no deadlock on upgrade).
        session.scalar(select(func.count()).select_from(User))
        assert not writes_at_once(path)
        session.rollback()
        assert writes_at_once(path)
    app.extensions["pathway.db"].engine.dispose()


def writer_lock_is_free(path: Path) -> bool:
    """Could a writer take the database's writer lock (the queue) right now?"""
    fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_sqlite_writers_queue_on_the_writer_lock_not_in_sqlites_busy_loop(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path)
    path = tmp_path / "locks.db"
    with app.test_request_context("/"):
        from pathway.db import reading, session

        make_user("writer@example.org")
        assert not writer_lock_is_free(path)  # held for the whole write transaction
        session.commit()
        assert writer_lock_is_free(path)
        session.scalar(select(func.count()).select_from(User))
        session.rollback()
        assert writer_lock_is_free(path)
        with reading():
            session.scalar(select(func.count()).select_from(User))
            assert writer_lock_is_free(path)  # reads never queue

    # Another process holds the queue, SQLite itself is free: a writer waits for its turn
    # and goes in the moment the lock is released.
    queue = os.open(f"{path}-writer", os.O_RDWR)
    fcntl.flock(queue, fcntl.LOCK_EX)
    wrote = threading.Event()

    def write() -> None:
        with app.test_request_context("/"):
            from pathway.db import session

            make_user("queued@example.org")
            session.commit()
            wrote.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not wrote.wait(0.5)
        assert writes_at_once(path)  # the wait is the queue's, not SQLite's lock
    finally:
        fcntl.flock(queue, fcntl.LOCK_UN)
        os.close(queue)
    assert wrote.wait(15)
    writer.join()
    app.extensions["pathway.db"].engine.dispose()


def test_a_writer_that_cannot_begin_leaves_the_queue(tmp_path: Path) -> None:
    from pathway.db import SQLiteConnection

    path = tmp_path / "queue.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (n INTEGER)")
    other.execute("BEGIN IMMEDIATE")  # another program holds SQLite's write lock
    ours = sqlite3.connect(path, timeout=0, isolation_level=None, factory=SQLiteConnection)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        ours.begin_writing()
    assert writer_lock_is_free(path)
    other.execute("COMMIT")
    ours.begin_writing()
    ours.execute("INSERT INTO t VALUES (1)")
    assert not writer_lock_is_free(path)
    ours.close()  # closing with the transaction open frees the queue too
    assert writer_lock_is_free(path)
    other.close()


def test_writers_checkpoint_the_log_themselves_once_the_queue_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathway.db import SQLiteConnection, make_engine

    path = tmp_path / "checkpoints.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        # SQLite's own checkpoint would run inside a COMMIT, with the queue held.
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    engine.dispose()

    monkeypatch.setattr(SQLiteConnection, "CHECKPOINT_EVERY", 3)
    ours = sqlite3.connect(path, isolation_level=None, factory=SQLiteConnection)
    ours.execute("PRAGMA journal_mode=WAL")
    ours.execute("CREATE TABLE t (n INTEGER)")
    checkpoints: list[bool] = []

    def watch(statement: str) -> None:
        if "wal_checkpoint" in statement:
            checkpoints.append(writer_lock_is_free(path))

    ours.set_trace_callback(watch)
    for n in range(7):
        ours.begin_writing()
        ours.execute("INSERT INTO t VALUES (?)", (n,))
        ours.commit()
    ours.execute("BEGIN")  # a read transaction is not a write
    ours.commit()
    assert checkpoints == [True, True]  # after the 3rd and 6th writes, the queue already free
    ours.close()


def test_a_reading_block_never_writes(app, db) -> None:
    from pathway.db import reading

    with pytest.raises(RuntimeError, match="must not write"), reading():
        make_user("sneaky@example.org")
    # Nothing of the block was kept.
    assert db.scalar(select(User).where(User.email == "sneaky@example.org")) is None


def test_warm_up_prepares_what_workers_would_do_first_without_the_database(
    tmp_path: Path,
) -> None:
    from pathway import LOCALES, create_app, warm_up

    # A database that cannot be reached: warming up must not need it (gunicorn's master).
    app = create_app(make_config("postgresql+psycopg://nobody@127.0.0.1:9/none", tmp_path))
    warm_up(app)
    compiled = {key[1] for key in app.jinja_env.cache}
    assert {"cards/responder/view.html", "sharing/recipient/view.html"} <= compiled
    assert len(compiled) == len(app.jinja_env.list_templates())
    domain = app.extensions["babel"].instance.domain_instance
    assert {locale for locale, _ in domain.cache} == set(LOCALES)


def test_a_view_shows_and_logs_one_state_of_the_summary(
    database_url_for_tests: str, tmp_path: Path
) -> None:
    """A change committed by another worker while a view is read is wholly in the view or
    wholly out of it, and the version logged is the one shown (on PostgreSQL too, whose
    default isolation would let each query see the latest commit)."""
    from sqlalchemy import delete, insert, update

    from pathway import create_app
    from pathway.db import reading, session
    from pathway.models import Allergy, Patient
    from pathway.sharing.sections import Section
    from pathway.sharing.view import build_view
    from tests.factories import make_patient

    app = create_app(make_config(database_url_for_tests, tmp_path))
    engine = app.extensions["pathway.db"].engine

    def another_worker_adds_an_allergy(patient_id: int) -> None:
        def write() -> None:  # in a thread: outside this request, as another worker would be
            with engine.connect() as other:
                other.execute(insert(Allergy).values(patient_id=patient_id, substance="Latex"))
                other.execute(
                    update(Patient)
                    .where(Patient.id == patient_id)
                    .values(summary_version=Patient.summary_version + 1)
                )
                other.commit()

        worker = threading.Thread(target=write)
        worker.start()
        worker.join()

    def allergens(view: dict) -> list[str]:
        return [allergy["substance"] for allergy in view["sections"][0]["data"]]

    with app.test_request_context("/"):
        patient = make_patient("Snapshot", "Reader", email="snapshot@example.org")
        session.commit()
        version = patient.summary_version
        try:
            with reading():
                session.scalar(select(Patient.id).where(Patient.id == patient.id))
                another_worker_adds_an_allergy(patient.id)
                during = build_view(patient.id, [Section.ALLERGIES])
            assert (during["summary_version"], allergens(during)) == (
                version,
                ["Snapshot allergen"],
            )
            # The next view, with the patient object of the earlier read: the new state, and
            # the version that goes with it.
            another_worker_adds_an_allergy(patient.id)
            with reading():
                after = build_view(patient.id, [Section.ALLERGIES])
            assert (after["summary_version"], allergens(after)) == (
                version + 2,
                ["Snapshot allergen", "Latex", "Latex"],
            )
            # Nothing can be written inside a reading block, not even by a statement.
            if database_url_for_tests.startswith("postgresql"):
                with pytest.raises(Exception, match="read-only"), reading():
                    session.execute(update(Patient).values(phone="0600000000"))
        finally:
            session.rollback()
            session.execute(delete(Patient).where(Patient.id == patient.id))
            session.execute(delete(User).where(User.email == "snapshot@example.org"))
            session.commit()
    engine.dispose()
