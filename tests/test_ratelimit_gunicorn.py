"""Behind one proxy, several gunicorn workers share one Redis count per client address."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import uuid
from pathlib import Path

from pathway import ROOT
from pathway.migrate import upgrade
from tests.conftest import REDIS_URL
from tests.servers import BIN, free_port, request, wait_until_serving

LINK_LIMIT = 120  # GET /s/<token>: 120 per minute per client address


def test_random_tokens_from_one_client_hit_the_limit_across_workers(
    shared_redis, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    upgrade(url)
    port, prefix = free_port(), f"pathway-test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "PATHWAY_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "WEB_CONCURRENCY": "3",
    }
    access_log = tmp_path / "access.log"
    with (tmp_path / "server.log").open("wb") as server_log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config", str(ROOT / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}",
                "--access-logfile", str(access_log),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until_serving(port, process)
            statuses = [
                # The client forges its own X-Forwarded-For entry each time; the proxy appends
                # the real address, which is the one the limit counts.
                request(port, "GET", f"/s/{secrets.token_urlsafe(32)}",
                        {"X-Forwarded-For": f"10.1.{i // 250}.{i % 250}, 203.0.113.9"})
                for i in range(LINK_LIMIT + 10)
            ]  # fmt: skip
            another_address = request(
                port, "GET", f"/s/{secrets.token_urlsafe(32)}", {"X-Forwarded-For": "198.51.100.4"}
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            keys = shared_redis.keys(f"{prefix}:*")
            if keys:
                shared_redis.delete(*keys)
    assert statuses[:LINK_LIMIT] == [404] * LINK_LIMIT
    assert statuses[LINK_LIMIT:] == [429] * 10
    assert another_address == 404
    workers = set(re.findall(r"<(\d+)>$", access_log.read_text(), re.M))
    assert len(workers) >= 2, "the requests were served by several workers"
