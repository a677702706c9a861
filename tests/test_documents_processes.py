"""PDF renderer processes under a real gunicorn: they never keep the listening socket, they
end with their worker, and recycling workers (max_requests, SIGHUP) never stalls requests."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from pathway import ROOT
from pathway.demo import DEMO_PASSWORD, PATIENT_EMAIL
from tests.servers import BIN, free_port, load_demo, wait_until_serving

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CARD = re.compile(r'href="/card/([^/"]+)/regenerate"')
# Far below the worker timeout (30 s), which is what a stalled worker used to cost; above
# what a new worker's first PDF costs on a loaded machine (its renderer starts, 2 to 7 s).
LONGEST_PAUSE = 15.0
MAX_REQUESTS = 30


@dataclass
class Browser:
    """One signed-in visitor: plain HTTP with a cookie jar."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, text
        finally:
            connection.close()

    def post_form(self, page: str, action: str, form: dict[str, str]) -> int:
        status, html = self.call("GET", page)
        assert status == 200, status
        found = CSRF.search(html)
        assert found is not None
        return self.call("POST", action, {**form, "csrf_token": found.group(1)})[0]


def started(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), None once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None  # a zombie holds nothing
    return fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every living process below `root`, with its start time (so a reused pid is not it)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                start = started(pid)
                if start is not None:
                    found[pid] = start
                    frontier.append(pid)
    return found


def holds_port(pid: int, port: int) -> bool:
    """Whether the process has a socket listening on the port (via /proc, as ss does)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)
            for line in lines:
                parts = line.split()
                if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
                    inodes.add(parts[9])
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return bool({f"socket:[{inode}]" for inode in inodes} & set(links))


def worker_pids(master: int) -> set[int]:
    return {
        pid
        for pid in descendants(master)
        if Path(f"/proc/{pid}/stat").exists()
        and int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]) == master
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    env = {
        **os.environ,
        "PATHWAY_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'documents.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "WEB_CONCURRENCY": "2",
    }
    load_demo(env)
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}",
                # Workers recycled every few dozen requests, while PDFs are being made.
                "--max-requests", str(MAX_REQUESTS),
                "--max-requests-jitter", "5",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    before = set()
    try:
        wait_until_serving(port, process)
        yield process, port, log
    finally:
        before = set(descendants(process.pid))
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in before:  # nothing of this server may outlive the test, even on failure
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def sign_in(port: int) -> tuple[Browser, str]:
    browser = Browser(port)
    form = {"email": PATIENT_EMAIL, "password": DEMO_PASSWORD}
    assert browser.post_form("/auth/login", "/auth/login", form) == 302
    status, html = browser.call("GET", "/card/")
    assert status == 200
    found = CARD.search(html)
    assert found is not None, "the demo patient has an emergency card"
    return browser, f"/card/{found.group(1)}/update"


def render_card(browser: Browser, update: str) -> int:
    """Re-make the wallet card PDF (a render in the worker's renderer process)."""
    return browser.post_form("/card/", update, {})


def test_recycled_workers_and_a_graceful_restart_never_stall_requests(server) -> None:
    process, port, log = server
    browser, update = sign_in(port)
    for _ in range(4):  # both workers get a renderer
        assert render_card(browser, update) == 302

    errors: list[str] = []
    pauses: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def visitor() -> None:
        while not stop.is_set():
            begun = time.monotonic()
            try:
                status = Browser(port).call("GET", "/healthz")[0]
                problem = None if status == 200 else f"status {status}"
            except OSError as error:
                problem = f"{type(error).__name__}: {error}"
            with lock:
                pauses.append(time.monotonic() - begun)
                if problem:
                    errors.append(problem)

    def renderer() -> None:
        while not stop.is_set():
            begun = time.monotonic()
            try:
                status = render_card(browser, update)
                problem = None if status == 302 else f"card status {status}"
            except (OSError, AssertionError) as error:
                problem = f"card: {type(error).__name__}: {error}"
            with lock:
                pauses.append(time.monotonic() - begun)
                if problem:
                    errors.append(problem)

    threads = [threading.Thread(target=visitor) for _ in range(3)]
    threads.append(threading.Thread(target=renderer))
    first_workers = worker_pids(process.pid)
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        # Several recycles of each worker (a few hundred requests), then a graceful restart.
        while len(pauses) < 8 * MAX_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGHUP)
        hup_at = len(pauses)
        while len(pauses) < hup_at + 4 * MAX_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(90)
    assert not errors, errors[:5]
    assert len(pauses) >= 8 * MAX_REQUESTS, f"only {len(pauses)} requests answered in 60 s"
    assert max(pauses) < LONGEST_PAUSE, f"a request waited {max(pauses):.1f} s"
    assert not worker_pids(process.pid) & first_workers, "the workers were recycled"
    assert "WORKER TIMEOUT" not in log.read_text(errors="replace")


def test_stopping_the_master_leaves_no_process_and_frees_the_port(server) -> None:
    process, port, _ = server
    browser, update = sign_in(port)
    for _ in range(4):
        assert render_card(browser, update) == 302
    below = descendants(process.pid)
    workers = worker_pids(process.pid)
    assert len(below) > len(workers), "renderer processes were started"
    # The renderers are not in the listening socket's way.
    assert [pid for pid in set(below) - workers if holds_port(pid, port)] == []

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [pid for pid, start in below.items() if started(pid) == start]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == [], "processes outlived the gunicorn master"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    # A new server can listen on the same port at once.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
