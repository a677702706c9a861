"""Retention: access and audit records are kept RETENTION_DAYS, then deleted (CNIL: 6-12 months).

Sign-in sessions past their limits (idle or old) are deleted by the same purge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app
from sqlalchemy import Delete, delete, func, select
from sqlalchemy.engine import CursorResult

from pathway import audit
from pathway.auth.sessions import ended_sessions
from pathway.db import session, utcnow
from pathway.models import AccessEvent, AuditEvent, SignInSession

MIN_DAYS = 30


class RetentionError(Exception):
    """The retention period is not acceptable."""


@dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    access_events: int
    audit_events: int
    sign_in_sessions: int = 0  # ended sessions (idle or old), whatever the retention period


def cutoff_for(days: int, now: dt.datetime | None = None) -> dt.datetime:
    if days < MIN_DAYS:
        # A typo such as --days 0 must not wipe the trail of who consulted what.
        raise RetentionError(f"the retention period must be at least {MIN_DAYS} days, not {days}")
    return (now or utcnow()) - dt.timedelta(days=days)


def purge(
    days: int | None = None, *, dry_run: bool = False, now: dt.datetime | None = None
) -> PurgeResult:
    """Delete access and audit events older than the retention period, and the sign-in
    sessions that have ended, in one transaction."""
    cutoff = cutoff_for(days if days is not None else current_app.config["RETENTION_DAYS"], now)
    ended = ended_sessions(now or utcnow())
    if dry_run:
        return PurgeResult(
            cutoff,
            session.scalar(select(func.count()).where(AccessEvent.occurred_at < cutoff)) or 0,
            session.scalar(select(func.count()).where(AuditEvent.occurred_at < cutoff)) or 0,
            session.scalar(select(func.count()).select_from(SignInSession).where(ended)) or 0,
        )
    access = _deleted(delete(AccessEvent).where(AccessEvent.occurred_at < cutoff))
    audited = _deleted(delete(AuditEvent).where(AuditEvent.occurred_at < cutoff))
    sign_ins = _deleted(delete(SignInSession).where(ended))
    # The purge itself is a security event, recorded after the deletion so it is kept.
    audit.record(
        audit.Tag.RETENTION_PURGED, count=access + audited, reason=f"before {cutoff:%Y-%m-%d}"
    )
    return PurgeResult(cutoff, access, audited, sign_ins)


def _deleted(statement: Delete) -> int:
    """Run a bulk DELETE and say how many rows it removed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount or 0)
