"""The one writer of security events: an audit row, and a structured log line.

Events never carry health data or tokens: details are filtered through an allowlist. The
log line names a link or a letter by a keyed reference, not by its public id: the log filter
masks anything shaped like an id or a token, and the reference still lets an operator see
which lines concern the same link (`flask log-reference <public id>` gives it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from enum import StrEnum
from typing import Any, TypeVar, cast

from flask import current_app
from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from pathway.db import Base, session
from pathway.models import AuditEvent, User

logger = logging.getLogger("pathway.audit")

_Row = TypeVar("_Row", bound=Base)


class Tag(StrEnum):
    """Every kind of security event, named domain:object:action (the value is what is
    stored and logged)."""

    ACCOUNT_DELETED = "account:deleted"
    AUTH_2FA_ENABLED = "auth:2fa:enabled"
    AUTH_2FA_ENROLMENT_FAILED = "auth:2fa:enrolment-failed"
    AUTH_2FA_FAILED = "auth:2fa:failed"
    AUTH_2FA_RECOVERY_CODES_REPLACED = "auth:2fa:recovery-codes-replaced"
    AUTH_2FA_RESET = "auth:2fa:reset"
    AUTH_2FA_SUCCEEDED = "auth:2fa:succeeded"
    AUTH_INVITATION_ACCEPTED = "auth:invitation:accepted"
    AUTH_INVITATION_CREATED = "auth:invitation:created"
    AUTH_EMAIL_CHANGED = "auth:email:changed"
    AUTH_PASSWORD_CHANGED = "auth:password:changed"  # noqa: S105 (an event, not a secret)
    AUTH_PASSWORD_RESET = "auth:password:reset"  # noqa: S105 (an event, not a secret)
    AUTH_RESET_REQUESTED = "auth:reset:requested"
    AUTH_SIGNIN_FAILED = "auth:signin:failed"
    AUTH_SIGNIN_LOCKED = "auth:signin:locked"
    AUTH_SIGNIN_SUCCEEDED = "auth:signin:succeeded"
    CONSENT_GIVEN = "consent:given"
    CONSENT_WITHDRAWN = "consent:withdrawn"
    ENROLLMENT_CREATED = "enrollment:created"
    ENROLLMENT_INVITATION_CREATED = "enrollment:invitation:created"
    ENROLLMENT_INVITATION_DECLINED = "enrollment:invitation:declined"
    ENROLLMENT_OBJECTIVE_ADOPTED = "enrollment:objective:adopted"
    LETTER_ISSUED = "letter:issued"
    LETTER_REFUSED = "letter:refused"
    LETTER_SENT = "letter:sent"
    RETENTION_PURGED = "retention:purged"
    SHARE_LINK_CREATED = "share:link:created"
    SHARE_LINK_REFUSED = "share:link:refused"
    SHARE_LINK_REVOKED = "share:link:revoked"
    SHARE_LINK_ROTATED = "share:link:rotated"
    SHARE_PASSCODE_FAILED = "share:passcode:failed"
    SHARE_PASSCODE_LOCKED = "share:passcode:locked"
    SHARE_REPLY_ANSWERED = "share:reply:answered"
    SHARE_REPLY_DELETED = "share:reply:deleted"
    SHARE_REPLY_FORWARDED = "share:reply:forwarded"
    SHARE_REPLY_RECEIVED = "share:reply:received"
    SHARE_SECTIONS_CHANGED = "share:sections:changed"


ALLOWED_DETAILS = frozenset(
    {
        "share",
        "audience",
        "outcome",
        "reason",
        "letter",
        "kind",
        "version",
        "enrollment",
        "invitation",
        "recipient_domain",
        "method",
        "ip_prefix",
        "email_domain",
        "count",
    }
)
# Details holding a public id, shown in the log line as a reference.
REFERENCED = frozenset({"share", "letter"})


def _detail(value: Any) -> Any:
    """What a detail stores: a record by its public id (else its id), an enum by its value."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Base):
        return getattr(value, "public_id", None) or getattr(value, "id", None)
    return value


def record(
    tag: Tag, actor: User | None = None, patient_id: int | None = None, **details: Any
) -> AuditEvent:
    """Record one security event in the current transaction and log it.

    A detail may be given as the record it names (`share=share`) or an enum member."""
    kept = {
        key: _detail(value)
        for key, value in details.items()
        if key in ALLOWED_DETAILS and value is not None
    }
    event = AuditEvent(
        tag=tag.value,
        actor_id=actor.id if actor is not None else None,
        patient_id=patient_id,
        details=kept,
    )
    session.add(event)
    logged = {
        key: log_reference(value) if key in REFERENCED and isinstance(value, str) else value
        for key, value in kept.items()
    }
    logger.info(
        "audit %s",
        json.dumps({"tag": tag.value, "actor": event.actor_id, "patient": patient_id, **logged}),
    )
    return event


def record_new(
    row: _Row, tag: Tag, actor: User | None, patient_id: int | None = None, **details: Any
) -> _Row:
    """Add a new record and the event that created it, in the current transaction.

    The record is flushed first, so the details can name it (`share=share`); the patient
    is the record's own when not given."""
    session.add(row)
    session.flush()
    if patient_id is None:
        patient_id = getattr(row, "patient_id", None)
    record(tag, actor, patient_id, **details)
    return row


def forget_patient(patient_id: int) -> int:
    """Detach a deleted patient's events from them: the trail keeps what happened, and
    when, but no longer whose account it was. Returns how many events were detached."""
    detached = cast(
        CursorResult[Any],
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.patient_id == patient_id)
            .values(patient_id=None)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    return int(detached or 0)


def log_reference(public_id: str) -> str:
    """A short keyed digest of a public id: the same for every line about it, and telling
    nothing of the id to whoever reads the logs without the key."""
    key = current_app.config["SECRET_KEY"]
    digest = hmac.new(
        f"pathway.log-reference:{key}".encode(), public_id.encode(), hashlib.sha256
    ).hexdigest()
    return f"ref-{digest[:12]}"
