"""For the tests that run the app in real processes: ports, the flask command, waiting, asking."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from pathway import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_demo(env: dict[str, str]) -> str:
    """Migrate the database that `env` names and load the demo; return what the demo printed.

    `flask demo` refuses PATHWAY_ENV=production: the demo is loaded as on a development
    machine, into the database that a server in production mode then serves.
    """
    output = ""
    for command in ("migrate", "demo"):
        development = {"PATHWAY_ENV": "development"} if command == "demo" else {}
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", command],
            cwd=ROOT,
            env={**os.environ, **env, **development},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"flask {command} failed:\n{done.stdout}\n{done.stderr}"
        output = done.stdout
    return output


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
    """The status of one plain HTTP request to the local server."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers={"Host": "127.0.0.1", **(headers or {})})
    status = connection.getresponse().status
    connection.close()
    return status
