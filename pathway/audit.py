"""The one writer of security events: an audit row, and a structured log line.

Events never carry health data or tokens: details are filtered through an allowlist.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pathway.db import session
from pathway.models import AuditEvent, User

logger = logging.getLogger("pathway.audit")

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
        "recipient_domain",
        "method",
        "ip_prefix",
        "email_domain",
        "count",
    }
)


def record(
    tag: str, *, actor: User | None = None, patient_id: int | None = None, **details: Any
) -> AuditEvent:
    """Record one security event in the current transaction and log it."""
    kept = {key: value for key, value in details.items() if key in ALLOWED_DETAILS}
    event = AuditEvent(
        tag=tag,
        actor_id=actor.id if actor is not None else None,
        patient_id=patient_id,
        details=kept,
    )
    session.add(event)
    logger.info(
        "audit %s",
        json.dumps({"tag": tag, "actor": event.actor_id, "patient": patient_id, **kept}),
    )
    return event
