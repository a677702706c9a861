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
from typing import Any

from flask import current_app

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
# Details holding a public id, shown in the log line as a reference.
REFERENCED = frozenset({"share", "letter"})


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
    logged = {
        key: log_reference(value) if key in REFERENCED and isinstance(value, str) else value
        for key, value in kept.items()
    }
    logger.info(
        "audit %s",
        json.dumps({"tag": tag, "actor": event.actor_id, "patient": patient_id, **logged}),
    )
    return event


def log_reference(public_id: str) -> str:
    """A short keyed digest of a public id: the same for every line about it, and telling
    nothing of the id to whoever reads the logs without the key."""
    key = current_app.config["SECRET_KEY"]
    digest = hmac.new(
        f"pathway.log-reference:{key}".encode(), public_id.encode(), hashlib.sha256
    ).hexdigest()
    return f"ref-{digest[:12]}"
