"""Parallel wrong passcodes: the lifetime budget of 5 holds across concurrent sessions.

Runs on real commits (no per-test rollback): each guess is its own transaction on its
own connection, as on several workers, then the test removes what it created.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, select

from pathway import create_app
from pathway.db import session
from pathway.models import AccessEvent, AuditEvent, Patient, Share, User
from pathway.sharing import shares
from pathway.sharing.sections import Audience
from tests.conftest import make_config
from tests.factories import make_patient, make_share

GUESSES = 64


class CountingHasher:
    """The real hasher, counting how many passcodes were actually compared."""

    def __init__(self, real) -> None:
        self.real = real
        self.verified = 0
        self.lock = threading.Lock()

    def hash(self, secret: str) -> str:
        return self.real.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        with self.lock:
            self.verified += 1
        return self.real.verify(hashed, secret)


def test_64_parallel_wrong_guesses_evaluate_exactly_5_then_lock(
    database_url_for_tests, tmp_path, monkeypatch
) -> None:
    app = create_app(make_config(database_url_for_tests, tmp_path))
    counting = CountingHasher(shares._hasher)
    monkeypatch.setattr(shares, "_hasher", counting)
    with app.app_context():
        patient = make_patient("Paula", email="paula-concurrency@example.org")
        share = make_share(patient, Audience.GP, passcode="right-passcode")
        session.commit()
        share_id, patient_id, user_id = share.id, patient.id, patient.user_id
    counting.verified = 0

    def guess(number: int) -> bool:
        with app.app_context():
            current = session.get(Share, share_id)
            if current.locked_at is not None:
                return False
            ok = shares.check_passcode(current, f"wrong-{number}")
            session.commit()
            return ok

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(guess, range(GUESSES)))
        assert not any(results)
        assert counting.verified == shares.MAX_PASSCODE_ATTEMPTS
        with app.app_context():
            current = session.get(Share, share_id)
            assert current.passcode_attempts_left == 0
            assert current.locked_at is not None
            # The right passcode, sent after the budget is spent, still fails.
            assert shares.check_passcode(current, "right-passcode") is False
            assert counting.verified == shares.MAX_PASSCODE_ATTEMPTS
            session.rollback()
    finally:
        with app.app_context():
            session.execute(delete(AuditEvent).where(AuditEvent.patient_id == patient_id))
            session.execute(delete(AccessEvent).where(AccessEvent.share_id == share_id))
            session.execute(delete(Share).where(Share.id == share_id))
            session.execute(delete(Patient).where(Patient.id == patient_id))
            session.execute(delete(User).where(User.id == user_id))
            session.commit()
            assert session.scalar(select(User).where(User.id == user_id)) is None
        app.extensions["pathway.db"].engine.dispose()
