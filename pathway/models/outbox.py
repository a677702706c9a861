"""Mail waiting to be sent: written in the transaction of the event it tells about."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pathway.db import Base, created_at, intpk, utcnow


class OutboxMessage(Base):
    """One plain-text message; pathway.mail sends it after the response, or later on retry.

    A sender claims it (claimed_at) before talking to the mail server, so two workers or
    hosts never send it twice; a failure frees it for a later attempt (next_attempt_at).
    Once sent, its body (which may hold a sign-in link) is emptied.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
