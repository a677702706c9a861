"""Scale: do views slow down as the database grows?

    make bench-scale

Two SQLite databases with the demo data: a small one (1 000 patients, 10 000 access events)
and a large one (100 000 patients, 1 000 000 access events), filled with fast bulk inserts.
The emergency view, the recipient view and the patient dashboard are timed in-process
(Flask test client, no network) on each; the table gives large / small.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Table, app_env, flask, free_port, machine, percentiles_ms

REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "200"))
SIZES = {"small": (1_000, 10_000), "large": (100_000, 1_000_000)}


def fill(path: Path, patients: int, events: int) -> None:
    """Add filler patients (each with a condition, an enrollment and a share) and access
    events, in bulk."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=WAL")
    (existing,) = db.execute("SELECT count(*) FROM patients").fetchone()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    start = db.execute("SELECT coalesce(max(id), 0) FROM patients").fetchone()[0] + 1
    extra = max(0, patients - existing)
    ids = range(start, start + extra)
    db.executemany(
        "INSERT INTO patients (id, first_name, last_name, birth_date, life_context,"
        " summary_version, created_at) VALUES (?, ?, ?, '1970-01-01', '', 1, ?)",
        ((i, f"Prénom{i}", f"Nom{i}", stamp) for i in ids),
    )
    db.executemany(
        "INSERT INTO conditions (patient_id, label, is_rare, notes) VALUES (?, ?, 0, '')",
        ((i, f"Condition {i}") for i in ids),
    )
    # Each filler patient follows the demo's programme: an enrollment with two objectives, a
    # competency and a consent, so the ETP lists grow with the patients too.
    programme, workshop = db.execute(
        "SELECT programme_id, id FROM workshops ORDER BY id LIMIT 1"
    ).fetchone()
    enrollment_start = db.execute("SELECT coalesce(max(id), 0) FROM enrollments").fetchone()[0] + 1
    enrollments = [(enrollment_start + n, i) for n, i in enumerate(ids)]
    db.executemany(
        "INSERT INTO enrollments (id, patient_id, programme_id, started_on, bep_synthesis,"
        " gp_topics, created_at, updated_at, version)"
        " VALUES (?, ?, ?, '2026-01-05', '', '', ?, ?, 1)",
        ((e, i, programme, stamp, stamp) for e, i in enrollments),
    )
    db.executemany(
        "INSERT INTO objectives (enrollment_id, text, status, is_treatment_related, proposed_by,"
        " created_at) VALUES (?, ?, 'in_progress', ?, '', ?)",
        ((e, f"Objective {k}", k, stamp) for e, _ in enrollments for k in (0, 1)),
    )
    db.executemany(
        "INSERT INTO competencies (enrollment_id, text, is_acquired, created_at)"
        " VALUES (?, 'Competency', 1, ?)",
        ((e, stamp) for e, _ in enrollments),
    )
    db.executemany(
        "INSERT INTO workshop_attendances (enrollment_id, workshop_id, status)"
        " VALUES (?, ?, 'attended')",
        ((e, workshop) for e, _ in enrollments),
    )
    db.executemany(
        "INSERT INTO consents (enrollment_id, given_at, method, recorded_by_name)"
        " VALUES (?, ?, 'oral', 'Filler')",
        ((e, stamp) for e, _ in enrollments),
    )
    share_start = db.execute("SELECT coalesce(max(id), 0) FROM shares").fetchone()[0] + 1
    share_count = min(extra, 10_000)
    db.executemany(
        "INSERT INTO shares (id, public_id, patient_id, kind, audience, label, sections,"
        " passcode_attempts_left, allow_replies, token_version, created_at)"
        " VALUES (?, ?, ?, 'link', 'gp', 'Dr X', '[\"allergies\"]', 5, 0, 1, ?)",
        (
            (share_start + n, f"filler{share_start + n:026d}", start + n, stamp)
            for n in range(share_count)
        ),
    )
    share_ids = [row[0] for row in db.execute("SELECT id FROM shares")]
    rng = random.Random(7)
    sections = json.dumps(["allergies", "medications"])

    def rows() -> Any:
        for n in range(events):
            when = (now - dt.timedelta(minutes=n % 500_000)).strftime("%Y-%m-%d %H:%M:%S.%f")
            yield (rng.choice(share_ids), when, "shown", "gp", sections, 1, "phone · Firefox", "")

    db.executemany(
        "INSERT INTO access_events (share_id, occurred_at, outcome, audience, sections,"
        " summary_version, client, viewer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


def measure(env: dict[str, str], links: dict[str, str]) -> dict[str, tuple[float, float]]:
    from bench import in_process_app
    from pathway.demo import DEMO_PASSWORD, PATIENT_EMAIL

    app = in_process_app(env)
    client = app.test_client()
    base = "http://127.0.0.1"
    results = {}
    for label, key in (("Emergency view", "Emergency link"), ("Recipient view", "GP link")):
        if key in links:
            path = links[key]
            assert client.get(path, base_url=base).status_code == 200, label
            results[label] = percentiles_ms(lambda p=path: client.get(p, base_url=base), REQUESTS)
    client.post(
        "/auth/login", data={"email": PATIENT_EMAIL, "password": DEMO_PASSWORD}, base_url=base
    )
    assert client.get("/patient/", base_url=base).status_code == 200
    results["Patient dashboard"] = percentiles_ms(
        lambda: client.get("/patient/", base_url=base), REQUESTS
    )
    app.extensions["pathway.db"].engine.dispose()
    return results


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pathway-scale-"))
    try:
        measured: dict[str, dict[str, tuple[float, float]]] = {}
        built: dict[str, float] = {}
        secret = os.urandom(16).hex() * 2
        for name, (patients, events) in SIZES.items():
            path = tmp / f"{name}.db"
            env = app_env(f"sqlite:///{path}", free_port(), tmp, SECRET_KEY=secret)
            flask(env, "migrate")
            output = flask(env, "demo")
            links = {
                k: "/" + v.split("/", 3)[3]
                for k, v in re.findall(r"^(GP link|Emergency link): (\S+)$", output, re.M)
            }
            started = time.monotonic()
            fill(path, patients, events)
            built[name] = time.monotonic() - started
            measured[name] = measure(env, links)
        table = Table()
        (small_p, small_e), (large_p, large_e) = SIZES["small"], SIZES["large"]
        big = f"{large_p:,} patients, {large_e:,} events"
        little = f"same, {small_p:,} patients, {small_e:,} events"
        for label in measured["small"]:
            small, large = measured["small"][label], measured["large"].get(label)
            if large is None:
                continue
            table.add(
                f"{label} p50 ({big})",
                f"{large[0]:.1f} ms",
                little,
                f"{small[0]:.1f} ms",
                large[0] / small[0],
                "<= 1.2",
            )
            table.add(
                f"{label} p99 ({big})",
                f"{large[1]:.1f} ms",
                little,
                f"{small[1]:.1f} ms",
                large[1] / small[1],
            )
        print(f"Machine: {machine()}")
        print(
            f"In-process requests: {REQUESTS} per view; bulk fill of the large database: "
            f"{built['large']:.0f} s\n"
        )
        print(table.render())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
