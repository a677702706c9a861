"""Soak with faults: two app hosts behind HAProxy, one PostgreSQL, one Redis, one SMTP server.

    make soak-hosts                      (the full form, about 2.5 minutes)
    SOAK_HOSTS_SHORT=1 make soak-hosts   (the short form CI runs, about 1.5 minutes)

Everything runs on this machine and is made by the script, then removed, failure or not:
- two network namespaces, the app hosts "a" and "b", joined to the root namespace by veth
  pairs on a bridge, in a private /24 (10.200.N.0/24, the first N not routed here). The
  namespaces have no default route: their traffic cannot leave that /24;
- in each namespace, gunicorn serving wsgi:app with PATHWAY_ENV=production, one SECRET_KEY,
  behind one proxy (TRUSTED_PROXIES=1);
- in the root namespace, on the bridge address (and 127.0.0.1): a PostgreSQL cluster of its
  own (initdb in a temporary folder, run as the postgres user), a Redis server and an SMTP
  server (aiosmtpd) of its own, so restarting or stopping them disturbs nothing else on the
  machine and needs no forwarder; and HAProxy on 127.0.0.1, in the foreground, with its own
  configuration, health-checking GET /healthz on both hosts.

A bounded mixed load goes through HAProxy: recipients open GP links and the emergency card,
the demo patient creates and revokes links through her pages, sign-ins with wrong passwords,
password-reset requests (each one mails). Each visitor request comes from its own loopback
address, so per-address limits count as they would for many people. Meanwhile, one after
the other: host a's gunicorn is killed with SIGKILL (master and workers), then started again;
PostgreSQL is restarted; Redis is stopped for 20 s; the SMTP server is stopped.

Reported for each fault: requests failed (connection errors and 5xx), the requests the
rate-limit policy refused by design (sign-in and reset forms while Redis is down), the longest
pause (the longest time no recipient or emergency view completed), the slowest request.

Fails unless: no request fails outside the faults, and none but the expected answers come;
no view fails while Redis or SMTP is down; every 200 of a view has exactly one "shown" access
event and every 410 one "denied" event (a request that failed may have been recorded before
its host died: those are counted, and never more than the failed requests); every revocation
is answered 410 by both hosts on their next request, and no 200 comes for it afterwards;
every link is whole (its creation and revocation audit events, exactly one link per
successful creation form); every reset request answered 302 sent exactly one mail; no
sign-in was accepted while Redis was down.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import itertools
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BIN, ROOT, app_env, create_database, flask, free_port, links_from_demo, machine
from soak import Patient

SHORT = os.environ.get("SOAK_HOSTS_SHORT", "") not in ("", "0")
WORKERS = int(os.environ.get("SOAK_HOSTS_WORKERS", "2"))
VISITORS = int(os.environ.get("SOAK_HOSTS_VISITORS", "8"))
# Seconds: quiet load first, the host's time down, the settling after each fault, Redis down,
# SMTP down, and load after the last fault.
TIMES = (
    {"baseline": 4, "host_down": 5, "settle": 5, "redis_down": 20, "smtp_down": 8, "tail": 4}
    if SHORT
    else {
        "baseline": 10,
        "host_down": 10,
        "settle": 10,
        "redis_down": 20,
        "smtp_down": 20,
        "tail": 10,
    }
)
APP_PORT = 8000
HOST_NAMES = ("a", "b")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK = re.compile(r"(/s/[A-Za-z0-9_.\-]+)")
EXPECTED = {
    "view": {200, 410},
    "probe": {410},
    "page": {200},
    "signin": {401},
    "forgot": {302},
    "login": {302},
    "create": {303},
    "revoke": {303},
}
# While Redis is down these forms answer 503 by design (pathway.extensions: fail closed).
FAIL_CLOSED_KINDS = {"signin", "forgot", "login"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(*args: str, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def quietly(action: Callable[[], object], what: str) -> Callable[[], None]:
    """A cleanup step that reports its failure and lets the next steps run."""

    def step() -> None:
        try:
            action()
        except Exception as error:
            log(f"cleanup: {what} failed: {error}")

    return step


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.1)


# --- The machine's pieces --------------------------------------------------------------


class Network:
    """A bridge in the root namespace and one namespace per host, in a private /24."""

    def __init__(self) -> None:
        self.tag = str(os.getpid())
        self.bridge = f"pwsbr{self.tag}"
        self.namespaces = {name: f"pathway-soak-{self.tag}-{name}" for name in HOST_NAMES}
        self.subnet = self._free_subnet()
        self.gateway = f"{self.subnet}.1"
        self.addresses = {name: f"{self.subnet}.{i + 2}" for i, name in enumerate(HOST_NAMES)}

    @staticmethod
    def remove_stale() -> None:
        """What an earlier run killed before its cleanup left behind (its process is gone)."""
        for line in run("ip", "netns", "list").splitlines():
            found = re.match(r"(pathway-soak-(\d+)-\w+)", line)
            if found and not alive(int(found.group(2))):
                run("ip", "netns", "del", found.group(1), check=False)
        for found in re.finditer(r"^\d+: (pwsbr(\d+))[:@]", run("ip", "-o", "link"), re.M):
            if not alive(int(found.group(2))):
                run("ip", "link", "del", found.group(1), check=False)

    @staticmethod
    def _free_subnet() -> str:
        used = run("ip", "-4", "-o", "addr") + run("ip", "-4", "route", "show", "table", "all")
        taken = {int(n) for n in re.findall(r"\b10\.200\.(\d+)\.", used)}
        start = os.getpid() % 200
        for offset in range(256):
            n = (start + offset) % 256
            if n not in taken:
                return f"10.200.{n}"
        raise RuntimeError("no free 10.200.N.0/24 on this machine")

    def up(self) -> None:
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for name, namespace in self.namespaces.items():
            outer, inner = f"pws{self.tag}{name}", f"pws{self.tag}{name}p"
            run("ip", "netns", "add", namespace)
            run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            run("ip", "link", "set", inner, "netns", namespace)
            run("ip", "-n", namespace, "link", "set", inner, "name", "eth0")
            run("ip", "-n", namespace, "addr", "add", f"{self.addresses[name]}/24", "dev", "eth0")
            run("ip", "-n", namespace, "link", "set", "eth0", "up")
            run("ip", "-n", namespace, "link", "set", "lo", "up")
            run("ip", "link", "set", outer, "master", self.bridge, "up")

    def down(self) -> None:
        for namespace in self.namespaces.values():  # takes the veth pairs with it
            run("ip", "netns", "del", namespace, check=False)
        run("ip", "link", "del", self.bridge, check=False)


def postgres_bin() -> Path:
    configured = os.environ.get("SOAK_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are needed (apt-get install postgresql)")
    return Path(found[-1]).parent


class Postgres:
    """A cluster of the soak's own, run as the postgres user, on 127.0.0.1 and the bridge."""

    def __init__(self, tmp: Path, listen: str, subnet: str) -> None:
        self.bin = postgres_bin()
        self.data = tmp / "pg"
        self.run_dir = tmp / "pg-run"
        self.port = free_port()
        self.listen, self.subnet = listen, subnet
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"
        self.started = False

    def _as_postgres(self, *args: str) -> None:
        run("runuser", "-u", "postgres", "--", *args)

    def init(self) -> None:
        for folder in (self.data, self.run_dir):
            folder.mkdir(mode=0o700)
            shutil.chown(folder, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.subnet}.0/24 trust\n")

    def start(self) -> None:
        options = (
            f"-c listen_addresses='127.0.0.1,{self.listen}' -p {self.port} "
            f"-c unix_socket_directories='{self.run_dir}' -c max_connections=100"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.run_dir / "log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip
        self.started = True

    def stop(self, mode: str = "fast") -> None:
        if self.started:
            self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
            )  # fmt: skip
            self.started = False

    def restart(self) -> None:
        self.stop()
        self.start()


class Redis:
    def __init__(self, tmp: Path, listen: str) -> None:
        self.port = free_port()
        self.tmp, self.listen = tmp, listen
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is needed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", self.listen,
             "--save", "", "--appendonly", "no", "--dir", str(self.tmp),
             # Bound to loopback and the private bridge only; without this, Redis would
             # refuse the hosts (not loopback) since the default user has no password.
             "--protected-mode", "no"],
            stdout=(self.tmp / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self.answers, 20, "Redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


DRAIN_SECONDS = 60


def drain_outbox(env: dict[str, str]) -> int:
    """Run `flask send-mail` as cron would until nothing waits; what is left after DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "send-mail"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        log(result.stdout.strip())
        match = re.search(r"(\d+) waiting", result.stdout)
        left = int(match.group(1)) if match else -1
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(5)


# The subject of a password reset e-mail, in French (the demo patient's language) and English.
RESET_SUBJECTS = frozenset(
    {"Réinitialiser votre mot de passe Pathway", "Reset your Pathway password"}
)


class Mailbox:
    """An SMTP server (aiosmtpd) that counts what it receives, per recipient."""

    def __init__(self, listen: str) -> None:
        self.listen, self.port = listen, free_port()
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.resets: Counter[str] = Counter()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email
        import email.policy

        # Password resets are counted apart: the patient also gets e-mail notices (her card
        # opened, a link locked), which the load causes too.
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        is_reset = RESET_SUBJECTS.intersection({str(message["Subject"] or "")})
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received[recipient.lower()] += 1
                if is_reset:
                    self.resets[recipient.lower()] += 1
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname=self.listen, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Host:
    """gunicorn serving the app inside one network namespace."""

    def __init__(self, name: str, namespace: str, address: str, env: dict[str, str], tmp: Path):
        self.name, self.namespace, self.address = name, namespace, address
        self.env, self.tmp = env, tmp
        self.process: subprocess.Popen[bytes] | None = None

    def healthy(self) -> bool:
        try:
            return call_once(self.address, APP_PORT, "GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def start(self) -> None:
        logs = self.tmp / f"host-{self.name}"
        logs.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, str(BIN / "gunicorn"),
             "--config", str(ROOT / "gunicorn.conf.py"), "--bind", f"{self.address}:{APP_PORT}",
             "--workers", str(WORKERS), "--access-logfile", str(logs / "access.log"),
             "--error-logfile", str(logs / "error.log"), "--chdir", str(ROOT), "wsgi:app"],
            cwd=ROOT,
            env=self.env,
            stdout=(logs / "out.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: master and workers
        )  # fmt: skip
        wait_for(self.healthy, 60, f"host {self.name}")

    def signal_all(self, number: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: the host's app server crashes."""
        self.signal_all(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.signal_all(signal.SIGTERM)
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            self.signal_all(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def error_tail(self) -> str:
        path = self.tmp / f"host-{self.name}" / "error.log"
        with contextlib.suppress(OSError):
            return "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        return ""


class Balancer:
    """HAProxy in the foreground, with a configuration of its own, health-checking /healthz."""

    def __init__(self, tmp: Path, hosts: dict[str, str]) -> None:
        self.port = free_port()
        self.config = tmp / "haproxy.cfg"
        self.socket = tmp / "haproxy.sock"
        self.tmp = tmp
        servers = "\n".join(
            f"    server {name} {address}:{APP_PORT} check" for name, address in hosts.items()
        )
        # No log lines at all: a request's path holds a link's token.
        self.config.write_text(
            f"""global
    maxconn 4096
    stats socket {self.socket} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 35s
    timeout server 35s
    timeout http-request 10s
    timeout queue 10s
    # A connection refused by a host that died is tried again, on the other host. Nothing
    # is retried once sent: a view may have been recorded before its host died.
    retries 2
    option redispatch 1

frontend pathway
    bind 127.0.0.1:{self.port}
    option forwardfor
    default_backend hosts

backend hosts
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
    http-response set-header X-Host %[srv_name]
{servers}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        run(haproxy, "-c", "-q", "-f", str(self.config))
        self.process = subprocess.Popen(
            [haproxy, "-db", "-f", str(self.config)],
            stdout=(self.tmp / "haproxy.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: self.socket.exists(), 20, "HAProxy")
        self.wait_up(*HOST_NAMES)

    def states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        states = {}
        for line in data.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "hosts" and fields[1] in HOST_NAMES:
                states[fields[1]] = fields[17]
        return states

    def wait_up(self, *names: str, seconds: float = 60) -> None:
        def up() -> bool:
            try:
                states = self.states()
            except OSError:
                return False
            return all(states.get(name, "").startswith("UP") for name in names)

        wait_for(up, seconds, f"HAProxy to see {', '.join(names)} up")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# --- The load ---------------------------------------------------------------------------


def call_once(
    host: str,
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    source: str | None = None,
    timeout: float = 30,
) -> tuple[int, http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection(
        host, port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        sent = {"Host": "127.0.0.1", "User-Agent": "soak-hosts/1.0 (Linux)", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response, response.read()
    finally:
        connection.close()


@dataclass
class Record:
    kind: str
    share: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    host: str


@dataclass
class Browser:
    """Cookies of one person, kept from response to response."""

    source: str
    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def keep(self, response: http.client.HTTPResponse) -> None:
        for cookie in response.headers.get_all("Set-Cookie") or []:
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)


class Load:
    """Every request through HAProxy (or straight to a host), recorded with its timing."""

    def __init__(self, balancer_port: int, hosts: dict[str, str]) -> None:
        self.port = balancer_port
        self.hosts = hosts
        self.lock = threading.Lock()
        self.records: list[Record] = []
        self.stop = threading.Event()

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        share: str = "",
        form: dict[str, Any] | None = None,
        browser: Browser | None = None,
        source: str | None = None,
        host: str | None = None,
    ) -> tuple[int, http.client.HTTPResponse | None, str]:
        from urllib.parse import urlencode

        headers = browser.header() if browser else {}
        target = (self.hosts[host], APP_PORT) if host else ("127.0.0.1", self.port)
        if host:  # straight to a host: the address a proxy would have given
            headers["X-Forwarded-For"] = source or random_source(random)
            source = None
        started = time.monotonic()
        try:
            status, response, body = call_once(
                *target,
                method,
                path,
                body=urlencode(form, doseq=True) if form is not None else None,
                headers=headers,
                source=source or (browser.source if browser else None),
            )
        except (OSError, http.client.HTTPException):
            status, response, body = 0, None, b""
        ended = time.monotonic()
        if browser and response is not None:
            browser.keep(response)
        answered_by = host or (response.getheader("X-Host", "") if response else "")
        with self.lock:
            self.records.append(Record(kind, share, started, ended, status, answered_by or ""))
        return status, response, body.decode(errors="replace")


def random_source(rng: random.Random | Any) -> str:
    """One of 65 000 loopback addresses: many visitors, as per-address limits see them."""
    return f"127.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"


@dataclass
class Links:
    """The links visitors open: the card, live links, revoked ones."""

    card: tuple[str, str]
    live: dict[str, str]
    revoked: dict[str, str] = field(default_factory=dict)
    revoked_at: dict[str, float] = field(default_factory=dict)  # when the 303 came back
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, rng: random.Random) -> tuple[str, str]:
        if rng.random() < 0.3:
            return self.card
        with self.lock:
            pool = list(self.live.items()) + list(self.revoked.items())
        return rng.choice(pool)


def visitor(load: Load, links: Links, seed: int) -> None:
    rng = random.Random(seed)
    while not load.stop.is_set():
        public_id, path = links.pick(rng)
        status = load.request("view", "GET", path, share=public_id, source=random_source(rng))[0]
        if status == 0 or status >= 500:
            load.stop.wait(0.25)  # as a person would, rather than ask again at once


def csrf_of(page: str) -> str | None:
    found = CSRF.search(page)
    return found.group(1) if found else None


def form_post(
    load: Load, kind: str, page: str, path: str, form: dict[str, Any], browser: Browser
) -> tuple[int, http.client.HTTPResponse | None, str]:
    """Open the form's page, then post it with that page's CSRF token."""
    status, _, html = load.request("page", "GET", page, browser=browser)
    token = csrf_of(html) if status == 200 else None
    if token is None:
        return 0, None, ""
    return load.request(kind, "POST", path, form={**form, "csrf_token": token}, browser=browser)


def prober(load: Load, kind: str, seconds: float, seed: int) -> None:
    """Wrong sign-ins, or reset requests (each one mails the demo patient)."""
    from pathway.demo import PATIENT_EMAIL

    rng = random.Random(seed)
    while not load.stop.wait(seconds):
        browser = Browser(source=random_source(rng))
        if kind == "signin":
            form = {"email": f"nobody{rng.randrange(10**9)}@example.org", "password": "wrong one"}
            form_post(load, "signin", "/auth/login", "/auth/login", form, browser)
        else:
            form = {"email": PATIENT_EMAIL}
            form_post(load, "forgot", "/auth/forgot", "/auth/forgot", form, browser)


@dataclass
class PatientSide:
    """The demo patient, in her browser through HAProxy: creates and revokes links."""

    load: Load
    links: Links
    probes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # host: pending
    created: dict[str, str | None] = field(default_factory=dict)  # label: public id if 303
    revoked: dict[str, int] = field(default_factory=dict)  # public id: revoke status
    failures: list[str] = field(default_factory=list)

    def sign_in(self, browser: Browser) -> None:
        from pathway.demo import DEMO_PASSWORD, PATIENT_EMAIL

        for _ in range(20):
            form = {"email": PATIENT_EMAIL, "password": DEMO_PASSWORD}
            if form_post(self.load, "login", "/auth/login", "/auth/login", form, browser)[0] == 302:
                return
            time.sleep(0.5)
        raise RuntimeError("the demo patient could not sign in")

    def probe(self, host: str, public_id: str, path: str) -> None:
        """The host's next request for a revoked link: it must answer 410."""
        status = self.load.request("probe", "GET", path, share=public_id, host=host)[0]
        if status in (0, 502, 503, 504):
            # The host is down or cannot reach the database: its next answer will tell.
            self.probes.setdefault(host, []).append((public_id, path))
        elif status != 410:
            self.failures.append(f"host {host} answered {status} for a revoked link")

    def run(self, period: float) -> None:
        from pathway.sharing.sections import PRESETS, Audience
        from pathway.sharing.shares import DEFAULT_EXPIRY

        browser = Browser(source="127.2.0.1")
        self.sign_in(browser)
        n = 0
        while not self.load.stop.wait(period):
            for host, pending in list(self.probes.items()):
                self.probes[host] = []
                for public_id, path in pending:
                    self.probe(host, public_id, path)
            n += 1
            label = f"Dr Soak HTTP {n}"
            form = {
                "audience": Audience.GP.value,
                "label": label,
                "sections": [s.value for s in PRESETS[Audience.GP]],
                "expiry": DEFAULT_EXPIRY.value,
            }
            status, response, _ = form_post(
                self.load, "create", "/shares/new?audience=gp", "/shares/new", form, browser
            )
            self.created[label] = None
            if status == 303 and response is not None:
                location = response.getheader("Location", "")
                public_id = location.split("/shares/", 1)[1].split("?", 1)[0]
                self.created[label] = public_id
                for _ in range(10):
                    code, _, page = self.load.request("page", "GET", location, browser=browser)
                    found = LINK.search(page) if code == 200 else None
                    if found:
                        with self.links.lock:
                            self.links.live[public_id] = found.group(1)
                        break
                    time.sleep(0.3)
            with self.links.lock:
                victim = next(iter(self.links.live), None) if len(self.links.live) > 4 else None
            if victim is None:
                continue
            status, _, _ = form_post(
                self.load, "revoke", f"/shares/{victim}", f"/shares/{victim}/revoke", {}, browser
            )
            self.revoked[victim] = status
            if status != 303:
                continue
            with self.links.lock:
                path = self.links.live.pop(victim)
                self.links.revoked[victim] = path
                self.links.revoked_at[victim] = time.monotonic()
            for host in HOST_NAMES:
                self.probe(host, victim, path)


# --- Faults and the report ---------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float
    recovered: float = 0.0
    settle: float = 0.0

    @property
    def ends(self) -> float:
        return self.recovered + self.settle

    def holds(self, moment: float) -> bool:
        return self.started <= moment <= self.ends

    def overlaps(self, record: Record) -> bool:
        """A request in flight when the fault began, or begun before it ended."""
        return record.ended >= self.started and record.started <= self.ends


def outcome(record: Record, faults: list[Fault]) -> str:
    """ok, policy (refused by design), failed (no answer or 5xx), or unexpected."""
    redis = next(f for f in faults if f.name == "Redis stopped")
    if record.status in EXPECTED[record.kind]:
        return "ok"
    if record.kind == "probe" and record.status == 0:
        return "host down"  # asked again once it is back (PatientSide.probe)
    if record.status == 503 and record.kind in FAIL_CLOSED_KINDS and redis.overlaps(record):
        return "policy"
    if record.status == 0 or record.status >= 500:
        return "failed"
    return "unexpected"


def longest_pause(records: list[Record], fault: Fault) -> float:
    """The longest time, from the fault on, during which no view was answered."""
    answered = sorted(
        r.ended
        for r in records
        if r.kind == "view" and r.status in EXPECTED["view"] and fault.started <= r.ended
    )
    moments = [fault.started] + [t for t in answered if t <= fault.ends]
    after = [t for t in answered if t > fault.ends]
    moments.append(after[0] if after else fault.ends)
    return max(b - a for a, b in itertools.pairwise(moments))


def share_ledger(patient: Patient, before: set[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Every link made during the soak must be whole: its creation event, and its revocation
    event exactly when it is revoked. Returns (problems, links by public id)."""
    from sqlalchemy import select

    from pathway.db import session
    from pathway.models import AuditEvent, Share

    with patient.app.test_request_context():
        shares = {
            row.public_id: {"label": row.label, "revoked": row.revoked_at is not None}
            for row in session.execute(select(Share.public_id, Share.label, Share.revoked_at))
        }
        events = Counter(
            (tag, (details or {}).get("share"))
            for tag, details in session.execute(
                select(AuditEvent.tag, AuditEvent.details).where(
                    AuditEvent.tag.in_(("share:link:created", "share:link:revoked"))
                )
            )
        )
    problems = []
    for public_id, share in shares.items():
        if public_id in before:
            continue
        created = events[("share:link:created", public_id)]
        revoked = events[("share:link:revoked", public_id)]
        if created != 1:
            problems.append(f"link {public_id[:6]}…: {created} creation events")
        if revoked != (1 if share["revoked"] else 0):
            problems.append(f"link {public_id[:6]}…: revoked={share['revoked']}, {revoked} events")
    for (tag, public_id), _ in events.items():
        if public_id not in shares:
            problems.append(f"{tag} event for a link that does not exist")
    return problems, shares


def main() -> int:
    if os.geteuid() != 0:
        print("soak-hosts: run as root (it makes network namespaces)")
        return 1
    for tool in ("ip", "haproxy", "redis-server", "psql", "runuser"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"soak-hosts: {tool} is needed (see the Makefile's soak-hosts target)")
            return 1

    def interrupted(number: int, _frame: object) -> None:
        log(f"signal {number}: stopping and cleaning up")
        raise SystemExit(128 + number)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    Network.remove_stale()
    tmp = Path(tempfile.mkdtemp(prefix="pathway-soak-hosts-"))
    tmp.chmod(0o755)  # the postgres user reaches its folders inside
    cleanup = contextlib.ExitStack()
    hosts: dict[str, Host] = {}
    load: Load | None = None
    failed = True
    began = time.monotonic()
    try:
        network = Network()
        cleanup.callback(quietly(network.down, "removing the namespaces"))
        network.up()
        log(f"namespaces {', '.join(network.namespaces.values())} on {network.subnet}.0/24")
        postgres = Postgres(tmp, network.gateway, network.subnet)
        cleanup.callback(quietly(lambda: postgres.stop("immediate"), "stopping PostgreSQL"))
        postgres.init()
        postgres.start()
        database = create_database(postgres.url, "postgres")
        redis = Redis(tmp, network.gateway)
        cleanup.callback(quietly(redis.stop, "stopping Redis"))
        redis.start()
        mailbox = Mailbox(network.gateway)
        cleanup.callback(quietly(mailbox.stop, "stopping the SMTP server"))
        mailbox.start()
        log(
            f"PostgreSQL {postgres.bin.parent.name} :{postgres.port}, Redis :{redis.port}, "
            f"SMTP :{mailbox.port}, on {network.gateway} and 127.0.0.1"
        )

        balancer = Balancer(tmp, network.addresses)
        secret = secrets.token_hex(32)
        env = app_env(f"{postgres.url}/{database}", balancer.port, tmp, SECRET_KEY=secret)
        flask(env, "migrate")
        demo_links = links_from_demo(flask(env, "demo"))
        patient = Patient(env)
        logging.getLogger("pathway.audit").setLevel(logging.WARNING)  # not one line per link
        cleanup.callback(
            quietly(patient.app.extensions["pathway.db"].engine.dispose, "closing connections")
        )
        before = set(share_ledger(patient, set())[1])
        card = patient.card()
        live = dict(patient.create(f"Dr Soak {n}") for n in range(6))
        with patient.app.test_request_context():
            from pathway import tokens

            gp_id = tokens.unsign(tokens.Purpose.SHARE, demo_links["GP link"].split("/")[-1])[0]
        live[gp_id] = demo_links["GP link"]
        links = Links(card=card, live=live)

        host_env = {
            **os.environ,
            "PATHWAY_ENV": "production",
            "SECRET_KEY": secret,
            "DATABASE_URL": f"postgresql://postgres@{network.gateway}:{postgres.port}/{database}",
            "RATELIMIT_STORAGE_URI": f"redis://{network.gateway}:{redis.port}/0",
            "RATELIMIT_KEY_PREFIX": f"pathway-soak-{os.getpid()}",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{balancer.port}",
            "TRUSTED_HOSTS": "127.0.0.1",
            "TRUSTED_PROXIES": "1",
            "FORWARDED_ALLOW_IPS": network.gateway,
            "SMTP_HOST": network.gateway,
            "SMTP_PORT": str(mailbox.port),
            "SMTP_STARTTLS": "false",
            "MAIL_FROM": "Pathway <no-reply@pathway.invalid>",
            "WEB_CONCURRENCY": str(WORKERS),
        }
        for name in HOST_NAMES:
            hosts[name] = Host(
                name, network.namespaces[name], network.addresses[name], host_env, tmp
            )
            cleanup.callback(quietly(hosts[name].stop, f"stopping host {name}"))
            hosts[name].start()
        cleanup.callback(quietly(balancer.stop, "stopping HAProxy"))
        balancer.start()
        log(f"hosts a and b up ({WORKERS} workers each), HAProxy on 127.0.0.1:{balancer.port}")

        base_events = patient.events()
        load = Load(balancer.port, network.addresses)
        side = PatientSide(load, links)
        threads = [
            threading.Thread(target=visitor, args=(load, links, i), daemon=True)
            for i in range(VISITORS)
        ]
        threads.append(threading.Thread(target=side.run, args=(1.5,), daemon=True))
        threads.append(threading.Thread(target=prober, args=(load, "signin", 0.5, 1), daemon=True))
        threads.append(threading.Thread(target=prober, args=(load, "forgot", 1.0, 2), daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()

        settle = TIMES["settle"]
        faults: list[Fault] = []
        time.sleep(TIMES["baseline"])

        fault = Fault("host a killed (SIGKILL)", time.monotonic(), settle=settle)
        faults.append(fault)
        log(fault.name)
        hosts["a"].kill()
        time.sleep(TIMES["host_down"])
        log("host a starting again")
        hosts["a"].start()
        balancer.wait_up("a")
        fault.recovered = time.monotonic()
        time.sleep(settle)

        fault = Fault("PostgreSQL restarted", time.monotonic(), settle=settle)
        faults.append(fault)
        log(fault.name)
        postgres.restart()
        balancer.wait_up(*HOST_NAMES)
        fault.recovered = time.monotonic()
        time.sleep(settle)

        fault = Fault("Redis stopped", time.monotonic(), settle=settle)
        faults.append(fault)
        log(f"{fault.name} for {TIMES['redis_down']} s")
        redis.stop()
        time.sleep(TIMES["redis_down"])
        redis.start()
        redis_back = time.monotonic()
        fault.recovered = redis_back
        time.sleep(settle)

        fault = Fault("SMTP server stopped", time.monotonic(), settle=settle)
        faults.append(fault)
        log(f"{fault.name} for {TIMES['smtp_down']} s")
        mailbox.stop()
        time.sleep(TIMES["smtp_down"])
        mailbox.start()
        fault.recovered = time.monotonic()
        time.sleep(settle + TIMES["tail"])

        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        ended = time.monotonic()
        stuck = [t for t in threads if t.is_alive()]
        # Revocations whose host was down at the time: that host's next request.
        for host, pending in list(side.probes.items()):
            side.probes[host] = []
            for public_id, path in pending:
                side.probe(host, public_id, path)
        records = list(load.records)
        # Mail the outage left in the outbox goes out with the next sender: `flask send-mail`,
        # run every minute by cron in production, here until the outbox is empty (a retry is
        # due 15 to 30 s after a failure).
        outbox_left = drain_outbox(host_env)
        if os.environ.get("SOAK_HOSTS_KEEP"):
            with (tmp / "records.tsv").open("w") as out:
                for r in records:
                    out.write(
                        f"{r.started - started:.3f}\t{r.ended - r.started:.3f}\t{r.kind}\t"
                        f"{r.status}\t{r.host}\t{r.share[:6]}\n"
                    )

        # --- Checks ---
        problems: list[str] = []
        if stuck:
            problems.append(f"{len(stuck)} load threads did not stop")
        outcomes = [outcome(r, faults) for r in records]
        # A request in flight across two faults belongs to the later one, which decided its answer.
        during = [next((f for f in reversed(faults) if f.overlaps(r)), None) for r in records]
        for record, result, fault_of in zip(records, outcomes, during, strict=True):
            if result == "unexpected":
                problems.append(f"{record.kind} answered {record.status}")
            elif result == "failed" and fault_of is None:
                problems.append(
                    f"{record.kind} failed ({record.status}) outside any fault, "
                    f"at {record.started - started:.0f} s, host {record.host or '?'}"
                )
            elif (
                result == "failed"
                and record.kind == "view"
                and fault_of is not None
                and fault_of.name in ("Redis stopped", "SMTP server stopped")
            ):
                problems.append(f"a view failed ({record.status}) while {fault_of.name}")
        redis_fault = next(f for f in faults if f.name == "Redis stopped")
        accepted = [
            r
            for r in records
            if r.kind in FAIL_CLOSED_KINDS
            and r.status not in (0, 503)
            and redis_fault.started + 1 < r.started
            and r.ended < redis_back
        ]
        if accepted:
            problems.append(f"{len(accepted)} sign-in or reset forms answered while Redis was down")

        events = patient.events()
        recorded_by_failures = 0
        for public_id in {r.share for r in records if r.share}:
            mine = [(r, o) for r, o in zip(records, outcomes, strict=True) if r.share == public_id]
            shown_ok = sum(1 for r, _ in mine if r.status == 200)
            denied_ok = sum(1 for r, _ in mine if r.status == 410)
            lost = sum(1 for _, o in mine if o == "failed")
            shown = events[public_id]["shown"] - base_events[public_id]["shown"]
            denied = sum(
                n - base_events[public_id][outcome_name]
                for outcome_name, n in events[public_id].items()
                if outcome_name.startswith("denied")
            )
            extra = (shown - shown_ok) + (denied - denied_ok)
            recorded_by_failures += extra
            if shown < shown_ok or denied < denied_ok or extra > lost:
                problems.append(
                    f"link {public_id[:6]}…: {shown_ok} views answered 200 and {shown} shown "
                    f"events, {denied_ok} answered 410 and {denied} denied events, "
                    f"{lost} failed requests"
                )

        problems += side.failures
        revocations_ok = not side.failures
        for host, pending in side.probes.items():
            if pending:
                revocations_ok = False
                problems.append(f"host {host} never answered for {len(pending)} revoked links")
        for public_id, confirmed in links.revoked_at.items():
            late = [
                r
                for r in records
                if r.share == public_id and r.status == 200 and r.started > confirmed
            ]
            if late:
                revocations_ok = False
                problems.append(f"{len(late)} views of a revoked link answered 200 afterwards")

        ledger_problems, stored = share_ledger(patient, before)
        problems += ledger_problems
        labels = Counter(share["label"] for share in stored.values())
        for label, public_id in side.created.items():
            if labels[label] > 1:
                problems.append(f"{labels[label]} links for one creation form ({label})")
            if public_id is not None and public_id not in stored:
                problems.append(f"a link answered 303 ({label}) is not in the database")
        for public_id, status in side.revoked.items():
            if status == 303 and not stored.get(public_id, {}).get("revoked"):
                problems.append("a revocation answered 303 but the link is not revoked")

        from pathway.demo import PATIENT_EMAIL

        forgot = [(r, o) for r, o in zip(records, outcomes, strict=True) if r.kind == "forgot"]
        sent_ok = sum(1 for r, _ in forgot if r.status == 302)
        forgot_failed = sum(1 for _, o in forgot if o == "failed")
        mails = mailbox.resets[PATIENT_EMAIL]
        if outbox_left:
            problems.append(f"{outbox_left} messages still in the outbox after {DRAIN_SECONDS} s")
        if not sent_ok <= mails <= sent_ok + forgot_failed:
            problems.append(
                f"{sent_ok} reset requests answered 302, {mails} mails received "
                f"({forgot_failed} failed requests)"
            )

        # --- Report ---
        seconds = ended - started
        statuses = Counter(r.status for r in records)
        print(f"\nMachine: {machine()}")
        print(
            f"Soak with faults ({'short' if SHORT else 'full'} form): {seconds:.0f} s of load, "
            f"2 hosts × {WORKERS} workers behind HAProxy, {VISITORS} visitors, PostgreSQL, "
            f"Redis, SMTP"
        )
        print(
            f"Requests: {len(records)} ({len(records) / seconds:.0f}/s); statuses: "
            f"{dict(sorted(statuses.items()))}; hosts that answered: "
            f"{dict(Counter(r.host for r in records if r.host))}"
        )
        print(
            "\n| fault | lasted | requests | failed | refused by policy | longest pause "
            "| slowest request |"
        )
        print("|---|---|---|---|---|---|---|")
        for fault in faults:
            inside = [
                (r, o) for r, o, f in zip(records, outcomes, during, strict=True) if f is fault
            ]
            failed_kinds = Counter(r.kind for r, o in inside if o == "failed")
            failed_text = (
                f"{sum(failed_kinds.values())} ("
                + ", ".join(f"{k} {n}" for k, n in sorted(failed_kinds.items()))
                + ")"
                if failed_kinds
                else "0"
            )
            policy = Counter(r.kind for r, o in inside if o == "policy")
            policy_text = (
                ", ".join(f"{k} {n}" for k, n in sorted(policy.items())) if policy else "0"
            )
            slowest = max((r.ended - r.started for r, _ in inside), default=0.0)
            print(
                f"| {fault.name} | {fault.recovered - fault.started:.1f} s | {len(inside)} "
                f"| {failed_text} | {policy_text} | {longest_pause(records, fault):.2f} s "
                f"| {slowest:.2f} s |"
            )
        outside = [r for r, f in zip(records, during, strict=True) if f is None]
        slow_outside = max((r.ended - r.started for r in outside), default=0.0)
        print(
            f"| (no fault) | | {len(outside)} | "
            f"{sum(1 for r, f, o in zip(records, during, outcomes, strict=True) if f is None and o == 'failed')} "  # noqa: E501
            f"| | | {slow_outside:.2f} s |"
        )
        views = sum(1 for r in records if r.kind == "view" and r.status == 200)
        print(
            f"\nAccess events: {views} views answered 200 through HAProxy, each with one shown "
            f"event; {recorded_by_failures} failed requests had been recorded before they "
            f"failed (their host died or the database went away after the commit)"
        )
        print(
            f"Revocations: {sum(1 for s in side.revoked.values() if s == 303)}, each answered "
            f"410 by both hosts on their next request: "
            f"{revocations_ok}"
        )
        print(
            f"Links created through the form: {sum(1 for v in side.created.values() if v)} "
            f"of {len(side.created)} attempts answered 303; links whole: {not ledger_problems}"
        )
        print(f"Reset requests: {sent_ok} answered 302, {mails} mails received")
        print(f"Took {time.monotonic() - began:.0f} s in all")
        if problems:
            print(f"\nProblems ({len(problems)}):")
            for problem, n in Counter(problems).most_common(40):
                print(f"  - {problem}" + (f" (×{n})" if n > 1 else ""))
            for name, host in hosts.items():
                tail = host.error_tail()
                if tail:
                    print(f"\nhost {name}, end of its error log:\n{tail}")
        failed = bool(problems)
        print("SOAK-HOSTS FAILED" if failed else "SOAK-HOSTS PASSED")
        return 1 if failed else 0
    finally:
        if load is not None:
            load.stop.set()
        cleanup.close()
        if os.environ.get("SOAK_HOSTS_KEEP"):
            print(f"soak-hosts: logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
