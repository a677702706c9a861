"""Reminders by e-mail: a professional link expires within 3 days, or has just expired.

`flask --app wsgi send-reminders` runs every few minutes, on any number of hosts at once.
Each reminder is claimed with one UPDATE … RETURNING that sets the share's
expiry_reminded_at (or expired_reminded_at) only where it is still empty, and its e-mail is
queued in that same transaction: a share another run claimed first is not returned here,
so each reminder is written once, and the outbox sends it once (`flask send-mail`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute

from pathway import mail_notices
from pathway.db import session, utcnow
from pathway.models import LetterLink, Patient, Share, ShareKind, User

# A link is reminded of this long before it expires...
REMIND_BEFORE = dt.timedelta(days=3)
# ...and told it expired if it did within this time (older ones were before reminders).
EXPIRED_TOLD_WITHIN = dt.timedelta(days=7)


@dataclass(frozen=True)
class Reminders:
    """How many reminders this run claimed and queued (to those who want them by e-mail)."""

    expiring: int
    expired: int


def _open_link() -> ColumnElement[bool]:
    """A professional link still standing: not withdrawn, not locked, not a letter's own
    (it ends with the link it was made from, which is the one reminded)."""
    return and_(
        Share.kind == ShareKind.LINK,
        Share.revoked_at.is_(None),
        Share.locked_at.is_(None),
        Share.expires_at.is_not(None),
        ~exists().where(LetterLink.share_id == Share.id),
    )


def _claim(
    stamp: InstrumentedAttribute[dt.datetime | None],
    window: ColumnElement[bool],
    now: dt.datetime,
    *,
    long_lived_only: bool = False,
) -> list[int]:
    """Claim the reminders due in `window` whose `stamp` is still empty: one UPDATE …
    RETURNING, which only this run's claims come back from."""
    due = and_(_open_link(), window, stamp.is_(None))
    rows = session.execute(
        select(Share.id, Share.created_at, Share.expires_at)
        .join(Patient, Patient.id == Share.patient_id)
        .join(User, User.id == Patient.user_id)
        .where(due, User.is_active.is_(True))
    ).all()
    # A link made to live 3 days or less is not "about to expire": its patient just chose so.
    ids = [
        row.id
        for row in rows
        if not long_lived_only or row.expires_at - row.created_at > REMIND_BEFORE
    ]
    if not ids:
        return []
    claimed = session.execute(
        update(Share)
        .where(Share.id.in_(ids), due)
        .values({stamp: now})
        .returning(Share.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


def _queue(ids: list[int], event: str) -> int:
    if not ids:
        return 0
    rows: Any = session.execute(
        select(Share.label, Share.expires_at, User)
        .join(Patient, Patient.id == Share.patient_id)
        .join(User, User.id == Patient.user_id)
        .where(Share.id.in_(ids))
        .order_by(Share.id)
    ).all()
    queued = 0
    for label, expires_at, user in rows:
        if mail_notices.mail_patient(user, event, at=expires_at, label=label) is not None:
            queued += 1
    return queued


def send_reminders(now: dt.datetime | None = None) -> Reminders:
    """Claim and queue the reminders due now, in the current transaction (the caller
    commits). Emergency cards are never reminded: they are not professional links."""
    now = now or utcnow()
    expiring = _claim(
        Share.expiry_reminded_at,
        and_(Share.expires_at > now, Share.expires_at <= now + REMIND_BEFORE),
        now,
        long_lived_only=True,
    )
    expired = _claim(
        Share.expired_reminded_at,
        and_(Share.expires_at <= now, Share.expires_at > now - EXPIRED_TOLD_WITHIN),
        now,
    )
    return Reminders(_queue(expiring, "share_expiring"), _queue(expired, "share_expired"))
