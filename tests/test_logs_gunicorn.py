"""A real gunicorn, configured by gunicorn.conf.py, writes no token to any log."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pathway import ROOT, create_app, tokens
from tests.servers import BIN, free_port, load_demo, request, wait_until_serving


def raw(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.recv(4096)


@pytest.fixture
def served(tmp_path: Path):
    """gunicorn on a free port over a migrated SQLite file with the demo loaded."""
    port = free_port()
    env = {
        **os.environ,
        "PATHWAY_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "WEB_CONCURRENCY": "2",
    }
    demo_output = load_demo(env)
    logs = {name: tmp_path / f"{name}.log" for name in ("access", "error", "stderr")}
    stderr_file = logs["stderr"].open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(logs["access"]),
            "--error-logfile",
            str(logs["error"]),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=stderr_file,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(port, process)
        yield port, env, logs, demo_output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr_file.close()


def test_gunicorn_logs_hold_neither_tokens_nor_their_prefix(served) -> None:
    port, env, logs, demo_output = served
    names = (
        "PATHWAY_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "RATELIMIT_STORAGE_URI",
    )
    app = create_app({name: env[name] for name in names})
    with app.app_context():
        minted = [
            tokens.sign(tokens.Purpose.SHARE, secrets.token_urlsafe(16), 1),
            tokens.sign(tokens.Purpose.EMERGENCY, secrets.token_urlsafe(16), 1),
            tokens.sign(tokens.Purpose.PASSWORD_RESET, secrets.token_urlsafe(16), 1),
            tokens.sign(tokens.Purpose.INVITATION, secrets.token_urlsafe(16)),
        ]
    app.extensions["pathway.db"].engine.dispose()
    # Links printed by the demo (GP link:, Emergency link:) once the sharing features exist.
    demo_tokens = re.findall(r"https?://\S+/(?:s|e)/(\S+)", demo_output)
    garbled = secrets.token_urlsafe(32)
    every = minted + demo_tokens + [garbled]
    share, emergency, reset, invitation = minted
    paths = [f"/s/{t}" for t in (share, garbled, *demo_tokens)] + [
        f"/e/{emergency}",
        f"/auth/reset/{reset}",
        f"/auth/invitation/{invitation}",
        f"/s/{share}?again={share}",
        f"/static/{share}",
        f"/no-such-page/{share}",
    ]
    statuses = [
        request(port, "GET", path, {"Referer": f"http://127.0.0.1:{port}/s/{share}"})
        for path in paths
    ]
    statuses.append(request(port, "POST", f"/auth/reset/{reset}"))  # no CSRF token: 400
    statuses.append(request(port, "GET", f"/s/{share}", {"Host": "evil.example"}))  # 400
    # Malformed requests make gunicorn itself log the request line.
    raw(port, f"GET /s/{share} HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n".encode())
    raw(port, f"GET /e/{emergency}?{'x' * 5000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert 400 in statuses  # the foreign Host header

    time.sleep(0.5)
    texts = {
        name: path.read_text(encoding="utf-8", errors="replace") for name, path in logs.items()
    }
    assert texts["access"].count("\n") >= len(paths), texts["access"][-2000:]
    assert '"GET /s/<token>"' in texts["access"]
    for name, text in texts.items():
        for token in every:
            assert token not in text, f"token in the {name} log"
            assert token[:12] not in text, f"token prefix in the {name} log"


def test_openings_of_links_and_cards_are_logged_without_the_client_address(served) -> None:
    port, _env, logs, demo_output = served
    demo_paths = re.findall(r"https?://[^/\s]+(/(?:s|e)/\S+)", demo_output)
    paths = [*demo_paths, f"/s/{secrets.token_urlsafe(32)}", f"/e/{secrets.token_urlsafe(32)}"]
    for path in paths:
        request(port, "GET", path, {"X-Forwarded-For": "203.0.113.7"})
    request(port, "GET", "/auth/login", {"X-Forwarded-For": "203.0.113.7"})
    time.sleep(0.5)
    lines = logs["access"].read_text(encoding="utf-8").splitlines()
    openings = [line for line in lines if re.search(r'"GET /(s|e)/<', line)]
    assert len(openings) >= len(paths)
    assert all(line.startswith("- [") for line in openings), openings
    assert all("127.0.0.1" not in line and "203.0.113.7" not in line for line in openings)
    # Other pages keep the address (it helps against abuse, and holds no health data).
    assert any(line.startswith("127.0.0.1 ") and '"GET /auth/login"' in line for line in lines)
