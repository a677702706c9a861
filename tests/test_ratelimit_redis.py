"""Rate limits stored in Redis hold across app instances (gunicorn workers, app hosts)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from pathway import ROOT
from pathway.migrate import upgrade
from tests.conftest import REDIS_URL

# One app instance, in its own process: N bad sign-ins, print the statuses.
INSTANCE = """
import json, sys
from pathway import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
statuses = []
for i in range(int(sys.argv[2])):
    response = client.post(
        "/auth/login",
        data={"email": f"nobody{i}@example.org", "password": "not the password"},
        base_url="https://pathway.test",
    )
    statuses.append(response.status_code)
print(json.dumps(statuses))
"""


def run_instance(config: dict[str, object], attempts: int) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", INSTANCE, json.dumps(config), str(attempts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def instance_config(tmp_path: Path, storage: str, prefix: str) -> dict[str, object]:
    return {
        "PATHWAY_ENV": "development",
        "SECRET_KEY": "redis-test-secret-0123456789abcdef0123456789",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'instances.db'}",
        "PUBLIC_BASE_URL": "https://pathway.test",
        "TRUSTED_HOSTS": ["pathway.test"],
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": prefix},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }


def test_two_app_instances_count_sign_in_attempts_together(shared_redis, tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'instances.db'}")
    prefix = f"pathway-test-{uuid.uuid4().hex}"
    config = instance_config(tmp_path, REDIS_URL, prefix)
    try:
        first = run_instance(config, 6)
        second = run_instance(config, 6)
        assert first == [401] * 6
        # The limit is 10 per minute per address: the second instance sees the first's 6.
        assert second == [401] * 4 + [429] * 2
        assert shared_redis.keys(f"{prefix}:*"), "the counters live in Redis"
    finally:
        keys = shared_redis.keys(f"{prefix}:*")
        if keys:
            shared_redis.delete(*keys)


def test_in_memory_storage_does_not_count_across_instances(tmp_path: Path) -> None:
    """Control: without a shared store each instance counts alone (why production needs Redis)."""
    upgrade(f"sqlite:///{tmp_path / 'instances.db'}")
    config = instance_config(tmp_path, "memory://", "unused")
    assert run_instance(config, 6) == [401] * 6
    assert run_instance(config, 6) == [401] * 6
