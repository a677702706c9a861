"""The append-only audit trail of security events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pathway.db import Base, created_at, intpk


class AuditEvent(Base):
    """One security event (sign-in, share revoked, letter issued…): no health data, no token."""

    __tablename__ = "audit_events"

    id: Mapped[intpk]
    occurred_at: Mapped[created_at] = mapped_column(index=True)
    tag: Mapped[str] = mapped_column(String(60), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    patient_id: Mapped[int | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
