"""The backup procedure of docs/deploy.md on PostgreSQL: purge, pg_dump -Fc, pg_restore into a
fresh database, and the demo's GP and emergency links served from the restored copy.

Runs where DATABASE_URL names a PostgreSQL server (CI's PostgreSQL run), on two databases of
its own on that server, created and dropped here; skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from pathway import ROOT, create_app
from pathway.config import database_url
from tests.conftest import PUBLIC_BASE_URL, TEST_SECRET, make_config
from tests.servers import BIN, load_demo

pytestmark = pytest.mark.slow

RETENTION_DAYS = 365


def server_url() -> str:
    """The PostgreSQL server of DATABASE_URL, as postgresql://user@host:port (no database)."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgresql", "postgres:")):
        pytest.skip("DATABASE_URL does not name a PostgreSQL server")
    parts = urlsplit(configured.replace("postgresql+psycopg://", "postgresql://", 1))
    return urlunsplit(("postgresql", parts.netloc, "", "", ""))


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (PostgreSQL client)")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two new databases on the server: the one backed up, the one restored into."""
    import psycopg

    server = server_url()
    admin_db = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") or "postgres"
    try:
        admin = psycopg.connect(f"{server}/{admin_db}", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL is not reachable: {error}")
    tag = uuid.uuid4().hex[:10]
    names = (f"pathway_backup_{tag}", f"pathway_restored_{tag}")
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{server}/{names[0]}", f"{server}/{names[1]}"
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def flask_env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATHWAY_ENV": "development",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "RETENTION_DAYS": str(RETENTION_DAYS),
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_restored_dump_serves_the_demo_links(databases, tmp_path: Path) -> None:
    import psycopg

    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    source, restored = databases
    env = flask_env(source, tmp_path)
    printed = load_demo(env)
    links = {
        label: urlsplit(url).path
        for label, url in re.findall(r"^(GP link|Emergency link): (\S+)$", printed, re.M)
    }
    assert set(links) == {"GP link", "Emergency link"}, printed
    # An opening older than the retention period: the purge before the dump must drop it.
    with psycopg.connect(source, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO access_events (share_id, occurred_at, outcome, audience, sections,"
            " summary_version, client, viewer)"
            " SELECT id, now() - interval '400 days', 'shown', 'gp', '[]', 1, '', ''"
            " FROM shares LIMIT 1"
        )

    # The procedure of docs/deploy.md: purge, dump, restore into a new database.
    purged = run(str(BIN / "flask"), "--app", "wsgi", "purge", env=env)
    assert purged.startswith("Deleted 1 access events"), purged
    dump = tmp_path / "pathway.dump"
    run(pg_dump, "--format=custom", "--no-owner", "--file", str(dump), "--dbname", source)
    run(pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", restored,
        str(dump))  # fmt: skip
    with psycopg.connect(restored) as connection:
        old = connection.execute(
            "SELECT count(*) FROM access_events WHERE occurred_at < now() - %s * interval '1 day'",
            (RETENTION_DAYS,),
        ).fetchone()
    assert old == (0,), "a purged opening lives on in the backup"

    url = database_url(tmp_path, {"DATABASE_URL": restored})
    app = create_app(make_config(url, tmp_path, RATELIMIT_STORAGE_URI="memory://"))
    try:
        client = app.test_client()
        assert client.get("/healthz", base_url=PUBLIC_BASE_URL).status_code == 200
        gp = client.get(links["GP link"], base_url=PUBLIC_BASE_URL)
        emergency = client.get(links["Emergency link"], base_url=PUBLIC_BASE_URL)
        assert gp.status_code == 200, gp.get_data(as_text=True)[:500]
        assert emergency.status_code == 200, emergency.get_data(as_text=True)[:500]
    finally:
        app.extensions["pathway.db"].engine.dispose()
