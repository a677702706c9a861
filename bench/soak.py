"""Soak test: several gunicorn workers on a fresh PostgreSQL database, a bounded mixed load.

    make soak                  (SOAK_SECONDS=60, SOAK_WORKERS=4, SOAK_CONNECTIONS=16)

Recipient views (/s/<token>) and emergency-card views (/e/<token>) from many connections,
while a patient creates and revokes shares. Passes only if: no 5xx at all; every 200 view is
recorded as exactly one "shown" AccessEvent (and every refusal as one "denied_*" event);
a share revoked during the load answers 410 on every worker at the next request; the
workers' memory stays flat. The database is created and dropped by the script.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import common
from common import app_env, flask, free_port, gunicorn, machine

SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "4"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "16"))
PG = os.environ.get("SOAK_PG", "postgresql://postgres@127.0.0.1:5432")
PG_ADMIN_DB = os.environ.get("PG_ADMIN_DB", "test")


class Tally:
    """Responses per share public id and status, and which worker answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_share: dict[str, Counter[int]] = defaultdict(Counter)
        self.statuses: Counter[int] = Counter()
        self.workers: set[str] = set()
        self.failures: list[str] = []

    def add(self, share: str, status: int, worker: str | None, where: str) -> None:
        with self.lock:
            self.by_share[share][status] += 1
            self.statuses[status] += 1
            if worker:
                self.workers.add(worker)
            if status >= 500:
                self.failures.append(f"{status} on {where}")


def request(port: int, path: str) -> tuple[int, str | None]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "GET", path, headers={"Host": "127.0.0.1", "User-Agent": "soak/1.0 (Linux)"}
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Worker")
    finally:
        connection.close()


def worker_rss(master_pid: int) -> dict[int, int]:
    """RSS in KiB of each gunicorn worker (children of the master)."""
    rss = {}
    for child in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split():
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+)", status)
        if match:
            rss[int(child)] = int(match.group(1))
    return rss


def create_database() -> str:
    return common.create_database(PG, PG_ADMIN_DB)


def drop_database(name: str) -> None:
    common.drop_database(PG, PG_ADMIN_DB, name)


class Patient:
    """The demo patient's side, in-process on the same database: create and revoke shares."""

    def __init__(self, env: dict[str, str]) -> None:
        from pathway import create_app
        from pathway.config import database_url

        names = ("PATHWAY_ENV", "SECRET_KEY", "PUBLIC_BASE_URL", "OUTBOX_DIR")
        config = {name: env[name] for name in names}
        self.app = create_app({**config, "DATABASE_URL": database_url(Path("."), env)})

    def _patient(self) -> Any:
        from sqlalchemy import select

        from pathway.db import session
        from pathway.demo import PATIENT_EMAIL
        from pathway.models import User

        return session.scalar(select(User).where(User.email == PATIENT_EMAIL)).patient

    def create(self, label: str) -> tuple[str, str]:
        from pathway.db import session
        from pathway.sharing.sections import PRESETS, Audience
        from pathway.sharing.shares import create_share, share_url

        with self.app.test_request_context():
            share = create_share(
                self._patient(), audience=Audience.GP, label=label, sections=PRESETS[Audience.GP]
            )
            url = share_url(share)
            session.commit()
            return share.public_id, "/" + url.split("/", 3)[3]

    def revoke(self, public_id: str) -> None:
        from sqlalchemy import select

        from pathway.db import session
        from pathway.models import Share
        from pathway.sharing.shares import revoke_share

        with self.app.test_request_context():
            share = session.scalar(select(Share).where(Share.public_id == public_id))
            revoke_share(share)
            session.commit()

    def card(self) -> tuple[str, str]:
        from pathway.cards.service import current_card
        from pathway.sharing.shares import share_url

        with self.app.test_request_context():
            share = current_card(self._patient())
            return share.public_id, "/" + share_url(share).split("/", 3)[3]

    def events(self) -> dict[str, Counter[str]]:
        from sqlalchemy import func, select

        from pathway.db import session
        from pathway.models import AccessEvent, Share

        with self.app.test_request_context():
            rows = session.execute(
                select(Share.public_id, AccessEvent.outcome, func.count())
                .join(AccessEvent, AccessEvent.share_id == Share.id)
                .group_by(Share.public_id, AccessEvent.outcome)
            ).all()
        counted: dict[str, Counter[str]] = defaultdict(Counter)
        for public_id, outcome, n in rows:
            counted[public_id][outcome] += n
        return counted


def main() -> int:
    if not shutil.which("psql"):
        print("soak: psql is required (PostgreSQL client)")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="pathway-soak-"))
    database = create_database()
    try:
        port = free_port()
        env = app_env(f"{PG}/{database}", port, tmp)
        flask(env, "migrate")
        flask(env, "demo")
        patient = Patient(env)
        card_id, card_path = patient.card()
        live: dict[str, str] = dict([patient.create(f"Dr Soak {n}") for n in range(8)])
        revoked: dict[str, str] = {}
        tally = Tally()
        revocation_ok: list[bool] = []
        rss_samples: list[dict[int, int]] = []
        with gunicorn("bench.soak_wsgi:app", port, env, workers=WORKERS, log_dir=tmp) as server:
            stop = time.monotonic() + SECONDS
            lock = threading.Lock()

            def visitor(seed: int) -> None:
                rng = random.Random(seed)
                while time.monotonic() < stop:
                    with lock:
                        pool = list(live.items()) + list(revoked.items())
                    if rng.random() < 0.3:
                        public_id, path = card_id, card_path
                    else:
                        public_id, path = rng.choice(pool)
                    status, worker = request(port, path)
                    tally.add(public_id, status, worker, path.split("/")[1])

            def patient_side() -> None:
                n = 100
                while time.monotonic() < stop - 5:
                    time.sleep(max(1.0, SECONDS / 12))
                    public_id, path = patient.create(f"Dr Soak {n}")
                    n += 1
                    with lock:
                        live[public_id] = path
                        victim = next(iter(live))
                        victim_path = live.pop(victim)
                    patient.revoke(victim)
                    # The very next requests, spread over every worker, must all answer 410.
                    with ThreadPoolExecutor(WORKERS * 4) as burst:
                        answers = list(
                            burst.map(request, [port] * WORKERS * 8, [victim_path] * WORKERS * 8)
                        )
                    for status, worker in answers:
                        tally.add(victim, status, worker, "revoked")
                    seen = {worker for _, worker in answers}
                    revocation_ok.append(all(status == 410 for status, _ in answers))
                    print(
                        f"  revoked a share: {len(answers)} requests on {len(seen)} workers, "
                        f"statuses {sorted({s for s, _ in answers})}",
                        flush=True,
                    )
                    with lock:
                        revoked[victim] = victim_path
                    rss_samples.append(worker_rss(server.pid))

            rss_samples.append(worker_rss(server.pid))
            # The demo data holds openings of its own (a crew opened the card): only the
            # events recorded during the load are compared with the load's answers.
            before = patient.events()
            threads = [threading.Thread(target=visitor, args=(i,)) for i in range(CONNECTIONS)]
            threads.append(threading.Thread(target=patient_side))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rss_samples.append(worker_rss(server.pid))
        counted = patient.events()
        mismatches = []
        for public_id, statuses in tally.by_share.items():
            during = counted[public_id] - before[public_id]
            shown = during["shown"]
            denied = sum(n for outcome, n in during.items() if outcome.startswith("denied"))
            if shown != statuses[200]:
                mismatches.append(f"{public_id[:6]}…: {statuses[200]} views, {shown} shown events")
            if denied != statuses[410]:
                mismatches.append(
                    f"{public_id[:6]}…: {statuses[410]} refusals, {denied} denied events"
                )
        total = sum(tally.statuses.values())
        first, last = rss_samples[0], rss_samples[-1]
        print(f"\nMachine: {machine()}")
        print(f"Soak: {SECONDS} s, {WORKERS} workers, {CONNECTIONS} connections, PostgreSQL")
        print(
            f"Requests: {total} ({total / SECONDS:.0f}/s); "
            f"statuses: {dict(sorted(tally.statuses.items()))}"
        )
        print(f"Workers that answered: {len(tally.workers)}")
        print(f"Revocations: {len(revocation_ok)}, all seen as 410 at once: {all(revocation_ok)}")
        print(
            f"Worker RSS (MiB) at start: {sorted(v // 1024 for v in first.values())}, "
            f"at end: {sorted(v // 1024 for v in last.values())}; largest worker over time: "
            f"{[max(s.values(), default=0) // 1024 for s in rss_samples]}"
        )
        print(f"AccessEvent count check: {'OK' if not mismatches else mismatches[:5]}")
        failed = (
            bool(tally.failures) or bool(mismatches) or not revocation_ok or not all(revocation_ok)
        )
        if tally.failures:
            print(f"5xx responses: {len(tally.failures)} e.g. {tally.failures[:3]}")
        print("SOAK FAILED" if failed else "SOAK PASSED")
        patient.app.extensions["pathway.db"].engine.dispose()
        return 1 if failed else 0
    finally:
        drop_database(database)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
