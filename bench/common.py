"""Shared helpers of the benchmarks and the soak test: servers, load, timings, the machine."""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    """nproc, CPU model and memory, for the report."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown memory"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs ({cpu}), {memory}, load average {load:.1f} at start"


def app_env(database_url: str, port: int, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment of an app process: development settings (no TOTP step), a fixed secret."""
    return {
        **os.environ,
        "PATHWAY_ENV": "development",
        "SECRET_KEY": extra.pop("SECRET_KEY", secrets.token_hex(32)),
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "OUTBOX_DIR": str(tmp / "outbox"),
        **extra,
    }


def links_from_demo(output: str) -> dict[str, str]:
    """Paths of the demo's links (GP link: …, Emergency link: …) printed by `flask demo`."""
    found = {}
    for label, url in re.findall(r"^(GP link|Emergency link): (\S+)$", output, re.M):
        found[label] = "/" + url.split("/", 3)[3]
    return found


@contextlib.contextmanager
def demo_site(prefix: str, port: int) -> Iterator[tuple[dict[str, str], dict[str, str], Path]]:
    """A temporary folder with a migrated SQLite database holding the demo data, removed at
    the end: (the app's environment, the demo's link paths, the folder)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        env = app_env(f"sqlite:///{tmp / 'bench.db'}", port, tmp)
        flask(env, "migrate")
        yield env, links_from_demo(flask(env, "demo")), tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def create_database(pg: str, admin_db: str, prefix: str = "pathway_soak") -> str:
    """A new, empty database on the PostgreSQL server at `pg` (postgresql://user@host:port)."""
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    subprocess.run(
        [
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            f"{pg}/{admin_db}",
            "-c",
            f"CREATE DATABASE {name}",
        ],
        check=True,
    )
    return name


def drop_database(pg: str, admin_db: str, name: str) -> None:
    subprocess.run(
        ["psql", "-q", f"{pg}/{admin_db}", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
        check=False,
    )


@contextlib.contextmanager
def gunicorn(
    app: str, port: int, env: dict[str, str], workers: int = 2, log_dir: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve `app` with gunicorn.conf.py on 127.0.0.1:port until the block ends."""
    logs = log_dir or Path(env.get("OUTBOX_DIR", "/tmp")).parent
    out = (logs / f"gunicorn-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            str(logs / f"access-{port}.log"),
            "--error-logfile",
            str(logs / f"error-{port}.log"),
            "--chdir",
            str(ROOT),
            app,
        ],
        cwd=ROOT,
        env={**env, "WEB_CONCURRENCY": str(workers)},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn {app} exited; see {out.name}")
            with contextlib.suppress(OSError):
                status = get(port, "/healthz" if app != "bench.hello:app" else "/")[0]
                if status < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {app} did not start; see {out.name}")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def get(
    port: int,
    path: str,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(port: int, path: str, seconds: int, connections: int) -> Load:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * _UNITS[unit]

    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(rps, percentile("50"), percentile("99"), errors, "wrk")


def _python_load(port: int, path: str, seconds: int, connections: int) -> Load:
    """A bounded client: `connections` threads, each one request at a time, for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _ = get(port, path)
            except OSError:
                status = 599
            mine.append((time.perf_counter() - started) * 1000)
            if status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return Load(
        len(latencies) / seconds,
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        errors[0],
        "python",
    )


def load(port: int, path: str, seconds: int, connections: int = 32) -> Load:
    """Throughput and latency of GET path: wrk if installed, else the Python client."""
    if shutil.which("wrk"):
        return _wrk(port, path, seconds, connections)
    return _python_load(port, path, seconds, connections)


def median_seconds(action: Callable[[], object], repeat: int, warm: int = 1) -> float:
    for _ in range(warm):
        action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentiles_ms(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


class Table:
    """One table: measure, value, baseline, baseline value, ratio, target."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(
        self,
        measure: str,
        value: str,
        baseline: str,
        base_value: str,
        ratio: float | None,
        target: str = "",
    ) -> None:
        self.rows.append(
            (measure, value, baseline, base_value, "-" if ratio is None else f"{ratio:.2f}", target)
        )

    def render(self) -> str:
        header = ("Measure", "Value", "Baseline (same run)", "Baseline value", "Ratio", "Target")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(6)]

        def line(row: tuple[str, ...]) -> str:
            cells = (str(c).ljust(w) for c, w in zip(row, widths, strict=True))
            return "| " + " | ".join(cells) + " |"

        return "\n".join(
            [
                line(header),
                "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                *map(line, self.rows),
            ]
        )
