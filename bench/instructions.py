"""Instructions per request, counted by valgrind: figures that do not move with the machine's load.

    make bench-instructions      (needs valgrind; BENCH_INSTRUCTION_REQUESTS=50 per view)

Wall-clock figures on a shared machine move by a third from one run to the next; the number
of instructions a request executes does not (within about 1 %). Each view is called in
process (the WSGI app, no server, no network) under callgrind, which counts only while the
measured requests run (instrumentation is switched on and off around them), beside a bare
Flask hello-world counted the same way. The ratio hello-world / view is the share of
hello-world throughput the view would reach if serving a request cost nothing else; under
gunicorn the server and the load generator add the same cost to both, so the measured
throughput ratio is higher (bench.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from common import ROOT, Table, demo_site, free_port, machine

REQUESTS = int(os.environ.get("BENCH_INSTRUCTION_REQUESTS", "50"))
WARM_UP = 20
# (row, app: the bare hello-world or the bench build of Pathway, its path from the demo's links)
VIEWS: tuple[tuple[str, str, Callable[[dict[str, str]], str]], ...] = (
    ("Bare Flask hello-world", "hello", lambda links: "/"),
    ("App route that does nothing (every hook, no query)", "pathway", lambda links: "/bench/noop"),
    (
        "Link read only: token + share read, no write",
        "pathway",
        lambda links: links["Emergency link"].replace("/e/", "/bench/read/", 1),
    ),
    (
        "Floor: token + share read + access event + commit",
        "pathway",
        lambda links: links["Emergency link"].replace("/e/", "/bench/floor/", 1),
    ),
    (
        "Floor with DB-API calls instead of SQLAlchemy",
        "pathway",
        lambda links: links["Emergency link"].replace("/e/", "/bench/driver/", 1),
    ),
    ("Emergency view /e/<token>", "pathway", lambda links: links["Emergency link"]),
    ("Recipient view /s/<token>", "pathway", lambda links: links["GP link"]),
)


def child(kind: str, path: str, requests: int) -> None:
    """Run under valgrind: warm up, then count `requests` calls of the app on `path`."""
    from werkzeug.test import EnvironBuilder

    if kind == "hello":
        from hello import app
    else:
        from bench_wsgi import app

        from pathway import warm_up

        warm_up(app)
    environ = EnvironBuilder(
        path=path, base_url=os.environ["PUBLIC_BASE_URL"], headers={"User-Agent": "bench"}
    ).get_environ()

    def call() -> None:
        statuses: list[str] = []
        body = app(dict(environ), lambda status, headers: statuses.append(status))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{path}: {statuses[0]}")

    for _ in range(WARM_UP):
        call()
    control = ["callgrind_control", "--instr={}", str(os.getpid())]
    subprocess.run([part.format("on") for part in control], check=True, capture_output=True)
    for _ in range(requests):
        call()
    subprocess.run([part.format("off") for part in control], check=True, capture_output=True)


def count(kind: str, path: str, env: dict[str, str], out: Path) -> float:
    """Instructions per request of the app on `path`, under callgrind."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            kind,
            path,
            str(REQUESTS),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise RuntimeError(f"{kind} {path} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return int(collected.group(1)) / REQUESTS


def main() -> None:
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("valgrind is needed: sudo apt-get install -y valgrind")
    with demo_site("pathway-instructions-", free_port()) as (env, links, tmp):
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT)])
        table = Table()
        hello = None
        for label, kind, path_of in VIEWS:
            instructions = count(kind, path_of(links), env, tmp / "callgrind.out")
            hello = hello or instructions
            table.add(
                label,
                f"{instructions / 1e6:.2f} M instructions",
                "bare Flask hello-world",
                f"{hello / 1e6:.2f} M",
                hello / instructions,
            )
    print(f"Machine: {machine()}")
    print(f"In process, {REQUESTS} requests each after {WARM_UP} to warm up (callgrind)\n")
    print(table.render())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
