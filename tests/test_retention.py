"""The purge command deletes access and audit records older than the retention period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from pathway.db import session, utcnow
from pathway.models import AccessEvent, AuditEvent, Patient, Share
from pathway.sharing.sections import Section
from tests.factories import make_share


def seed(patient: Patient, days_ago: list[int]) -> Share:
    """A link of the patient's opened, and audited, that many days ago each."""
    share = make_share(patient, sections=(Section.ALLERGIES,))
    now = utcnow()
    for age in days_ago:
        when = now - dt.timedelta(days=age)
        session.add(
            AccessEvent(
                share_id=share.id, occurred_at=when, audience="gp", sections=[], summary_version=1
            )
        )
        session.add(
            AuditEvent(tag=f"test:age:{age}", occurred_at=when, patient_id=patient.id, details={})
        )
    session.flush()
    return share


def ages(db, model) -> list[int]:
    now = utcnow()
    return sorted((now - row.occurred_at).days for row in db.scalars(select(model)))


def test_purge_deletes_only_rows_past_retention(app, db, alice) -> None:
    app.config["RETENTION_DAYS"] = 180
    seed(alice, [400, 181, 179, 10, 0])
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 2 access events and 2 audit events" in result.output
    assert ages(db, AccessEvent) == [0, 10, 179]
    tags = db.scalars(select(AuditEvent.tag)).all()
    assert "test:age:400" not in tags and "test:age:181" not in tags
    assert {"test:age:179", "test:age:10", "test:age:0", "retention:purged"} <= set(tags)
    purge_event = db.scalar(select(AuditEvent).where(AuditEvent.tag == "retention:purged"))
    assert purge_event.details["count"] == 4


def test_purge_days_option_and_dry_run(app, db, alice) -> None:
    seed(alice, [100, 50, 5])
    dry = app.test_cli_runner().invoke(args=["purge", "--days", "30", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would delete 2 access events and 2 audit events" in dry.output
    assert db.scalar(select(func.count()).select_from(AccessEvent)) == 3
    done = app.test_cli_runner().invoke(args=["purge", "--days", "60"])
    assert "Deleted 1 access events" in done.output
    assert ages(db, AccessEvent) == [5, 50]


def test_purge_refuses_a_dangerously_short_period(app, db, alice) -> None:
    seed(alice, [20, 1])
    result = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert result.exit_code != 0
    assert "at least 30 days" in result.output
    assert db.scalar(select(func.count()).select_from(AccessEvent)) == 2
