"""Two-way exchange through a share: professionals' contributions, team messages, notifications."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, created_at, intpk, patient_fk

if TYPE_CHECKING:
    from pathway.models.programmes import Enrollment


class ContributionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the patient
    FORWARDED = "forwarded"  # the patient passed it on to the ETP team
    KEPT = "kept"  # the patient read it and kept it to themselves


class Contribution(Base):
    """A professional's reply through a share; the patient sees it first."""

    __tablename__ = "contributions"

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[patient_fk]
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL"), index=True
    )
    author_name: Mapped[str] = mapped_column(String(120))
    author_role: Mapped[str] = mapped_column(String(80))
    author_contact: Mapped[str] = mapped_column(String(200))
    # The professional agreed, when replying, to be told by e-mail (at author_contact) when
    # the patient or the team answers on the link.
    author_wants_mail: Mapped[bool] = mapped_column(default=False)
    rpps: Mapped[str] = mapped_column(String(11), default="")
    life_situation: Mapped[str] = mapped_column(Text, default="")
    comorbidities: Mapped[str] = mapped_column(Text, default="")
    recent_events: Mapped[str] = mapped_column(Text, default="")
    proposed_objective: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ContributionStatus] = mapped_column(default=ContributionStatus.PENDING)
    patient_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at]
    read_by_patient_at: Mapped[dt.datetime | None]
    forwarded_at: Mapped[dt.datetime | None]
    objective_adopted_at: Mapped[dt.datetime | None]

    enrollment: Mapped[Enrollment | None] = relationship(back_populates="contributions")


class Message(Base):
    """A message in the conversation on one share (from the team, or a professional)."""

    __tablename__ = "messages"

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(120))
    from_team: Mapped[bool] = mapped_column(default=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]


class Notification(Base):
    """An in-app notice for one user (new reply, emergency card opened, letter issued…)."""

    __tablename__ = "notifications"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Values for the translated text, chosen at display time in the reader's language.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[created_at]
    read_at: Mapped[dt.datetime | None]
    # The patient a notice to someone else (a team member) is about: when that patient
    # deletes their account, the notice's names are erased (see notifications.forget_patient).
    patient_id: Mapped[int | None] = mapped_column(index=True)
