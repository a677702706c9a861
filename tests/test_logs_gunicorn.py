"""A real gunicorn, configured by gunicorn.conf.py, writes no token to any log."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pathway import ROOT, create_app, tokens

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers={"Host": "127.0.0.1", **(headers or {})})
    status = connection.getresponse().status
    connection.close()
    return status


def raw(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.recv(4096)


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
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
    for command in ("migrate", "demo"):
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    demo_output = done.stdout
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
