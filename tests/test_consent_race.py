"""A withdrawal racing the issuing of a letter: no letter may be committed after the withdrawal.

Runs on its own database (a fresh SQLite file, or a throwaway PostgreSQL database next to the
test one) because the two sides must really commit, from two connections at once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from sqlalchemy import select

from pathway import create_app, letters
from pathway.db import session
from pathway.models import (
    AttendanceStatus,
    Consent,
    Enrollment,
    Letter,
    LetterKind,
    Sex,
    WorkshopAttendance,
)
from pathway.programme import consent
from tests.conftest import make_config
from tests.factories import enroll, make_educator, make_patient

ROUNDS = 4


def test_no_letter_is_committed_after_the_withdrawal_commits(
    own_database: str, tmp_path: Path
) -> None:
    app = create_app(make_config(own_database, tmp_path))
    with app.test_request_context():
        claire = make_educator("Claire Dubois", "Programme A")
        programme = claire.programmes[0]
        enrollment = enroll(make_patient("Alice", sex=Sex.FEMALE), programme)
        enrollment.attendances = [
            WorkshopAttendance(workshop=programme.workshops[0], status=AttendanceStatus.PLANNED)
        ]
        session.commit()
        ids = (enrollment.id, claire.id)

    outcomes: list[tuple[float | None, float]] = []
    for _round in range(ROUNDS):
        with app.test_request_context():
            enrollment = session.get(Enrollment, ids[0])
            consent.record_oral_consent(
                enrollment, session.get(type(claire), ids[1]), dt.date.today()
            )
            session.commit()
        barrier = threading.Barrier(2)
        times: dict[str, float | None] = {}

        def issue(barrier: threading.Barrier = barrier, times: dict = times) -> None:
            with app.test_request_context():
                barrier.wait()
                enrollment = session.get(Enrollment, ids[0])
                try:
                    letters.issue_letter(
                        enrollment, LetterKind.START, session.get(type(claire), ids[1])
                    )
                    # The letter is written (after its PDF rendering), not yet committed:
                    # taken before the commit, so the other thread's wake-up when the commit
                    # frees the database cannot be mistaken for an earlier withdrawal.
                    times["issued"] = time.monotonic()
                    session.commit()
                except letters.ConsentRequired:
                    session.rollback()
                    times["issued"] = None

        def withdraw(barrier: threading.Barrier = barrier, times: dict = times) -> None:
            with app.test_request_context():
                barrier.wait()
                time.sleep(0.01)  # let the issuer start first in most rounds
                enrollment = session.get(Enrollment, ids[0])
                consent.withdraw_consent(enrollment, session.get(type(claire), ids[1]))
                session.commit()
                times["withdrawn"] = time.monotonic()

        threads = [threading.Thread(target=issue), threading.Thread(target=withdraw)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        outcomes.append((times["issued"], times["withdrawn"]))

    # A letter either was refused, or was committed before the withdrawal was.
    issued_rounds = [(issued, withdrawn) for issued, withdrawn in outcomes if issued is not None]
    assert all(issued < withdrawn for issued, withdrawn in issued_rounds), outcomes
    with app.test_request_context():
        stored = list(session.scalars(select(Letter)))
        consents = list(session.scalars(select(Consent).order_by(Consent.id)))
        # Every stored letter was issued while a consent was still in force.
        for letter in stored:
            assert any(c.given_at <= letter.issued_at <= c.withdrawn_at for c in consents), (
                letter.issued_at
            )
        assert len(stored) == sum(1 for issued, _ in outcomes if issued is not None)
    app.extensions["pathway.db"].engine.dispose()
