"""ETP programmes, their workshops, and a patient's path through one (enrollment)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import (
    Base,
    Owned,
    created_at,
    enrollment_fk,
    intpk,
    patient_fk,
    programme_fk,
    utcnow,
)
from pathway.models.patients import Sex

if TYPE_CHECKING:
    from pathway.models.accounts import User
    from pathway.models.exchanges import Contribution
    from pathway.models.letters import Letter
    from pathway.models.patients import Patient

_owned: Owned = {"cascade": "all, delete-orphan", "passive_deletes": True}

programme_members = Table(
    "programme_members",
    Base.metadata,
    Column("programme_id", ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    hospital: Mapped[str] = mapped_column(String(200), default="")
    service: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    coordinator_name: Mapped[str] = mapped_column(String(120), default="")
    coordinator_phone: Mapped[str] = mapped_column(String(40), default="")
    coordinator_email: Mapped[str] = mapped_column(String(254), default="")
    # The coordinator's function agrees with their sex (« Coordinatrice du programme »).
    coordinator_sex: Mapped[Sex | None]
    coordinator_profession: Mapped[str] = mapped_column(String(120), default="")
    # The letterhead: the establishment's FINESS number (its Luhn key checked), the ARS's
    # reference of the programme, the place letters are written in, the service's own
    # secure mailbox (MSSanté) that letters are sent from, and a logo re-encoded by
    # pathway.images (PNG or JPEG), read only to print a letter.
    finess: Mapped[str] = mapped_column(String(9), default="")
    ars_reference: Mapped[str] = mapped_column(String(80), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    sender_email: Mapped[str] = mapped_column(String(254), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[created_at]

    educators: Mapped[list[User]] = relationship(
        secondary=programme_members, back_populates="programmes"
    )
    workshops: Mapped[list[Workshop]] = relationship(
        back_populates="programme", order_by="Workshop.id", **_owned
    )
    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="programme", **_owned)


class Workshop(Base):
    __tablename__ = "workshops"

    id: Mapped[intpk]
    programme_id: Mapped[programme_fk]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_collective: Mapped[bool] = mapped_column(default=True)
    # How long one session lasts, when the catalogue says (« atelier collectif, 2 h »).
    duration_minutes: Mapped[int | None]

    programme: Mapped[Programme] = relationship(back_populates="workshops")


class Enrollment(Base):
    """A patient's path through one programme: BEP, objectives, workshops, evaluation."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("patient_id", "programme_id"),)

    id: Mapped[intpk]
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    programme_id: Mapped[programme_fk]
    started_on: Mapped[dt.date | None]
    ended_on: Mapped[dt.date | None]
    # Synthèse du Bilan Éducatif Partagé: about ten lines at most.
    bep_synthesis: Mapped[str] = mapped_column(Text, default="")
    # What the patient wishes to discuss with their GP (end letter).
    gp_topics: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: a second educator saving a stale form gets a conflict.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship(back_populates="enrollments")
    programme: Mapped[Programme] = relationship(back_populates="enrollments")
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="enrollment", order_by="Objective.id", **_owned
    )
    attendances: Mapped[list[WorkshopAttendance]] = relationship(
        back_populates="enrollment", order_by="WorkshopAttendance.id", **_owned
    )
    competencies: Mapped[list[Competency]] = relationship(
        back_populates="enrollment", order_by="Competency.id", **_owned
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="enrollment", order_by="Consent.id", **_owned
    )
    letters: Mapped[list[Letter]] = relationship(
        back_populates="enrollment", order_by="Letter.id", **_owned
    )
    contributions: Mapped[list[Contribution]] = relationship(back_populates="enrollment")


class ObjectiveStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    TO_CONTINUE = "to_continue"


class Objective(Base):
    """A personalised objective elaborated with the patient (2 or 3 per enrollment)."""

    __tablename__ = "objectives"

    id: Mapped[intpk]
    enrollment_id: Mapped[enrollment_fk]
    text: Mapped[str] = mapped_column(String(300))
    status: Mapped[ObjectiveStatus] = mapped_column(default=ObjectiveStatus.IN_PROGRESS)
    # Shown to the pharmacist preset.
    is_treatment_related: Mapped[bool] = mapped_column(default=False)
    # Who proposed it: the team, or a professional through a shared link.
    proposed_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[created_at]

    enrollment: Mapped[Enrollment] = relationship(back_populates="objectives")


class AttendanceStatus(enum.StrEnum):
    PLANNED = "planned"
    ATTENDED = "attended"
    MISSED = "missed"


class WorkshopAttendance(Base):
    __tablename__ = "workshop_attendances"
    __table_args__ = (UniqueConstraint("enrollment_id", "workshop_id"),)

    id: Mapped[intpk]
    # The unique constraint's index serves lookups by enrollment.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    scheduled_on: Mapped[dt.date | None]
    status: Mapped[AttendanceStatus] = mapped_column(default=AttendanceStatus.PLANNED)

    enrollment: Mapped[Enrollment] = relationship(back_populates="attendances")
    workshop: Mapped[Workshop] = relationship()


class CompetencyStatus(enum.StrEnum):
    """Where the patient stands on a competency, as an ETP evaluation records it."""

    ACQUIRED = "acquired"  # acquise
    IN_PROGRESS = "in_progress"  # en cours d'acquisition
    NOT_ACQUIRED = "not_acquired"  # non acquise


class Competency(Base):
    """A competency the patient works on, in one personalised line, and its status."""

    __tablename__ = "competencies"

    id: Mapped[intpk]
    enrollment_id: Mapped[enrollment_fk]
    text: Mapped[str] = mapped_column(String(300))
    status: Mapped[CompetencyStatus] = mapped_column(default=CompetencyStatus.ACQUIRED)
    created_at: Mapped[created_at]

    enrollment: Mapped[Enrollment] = relationship(back_populates="competencies")

    @property
    def is_acquired(self) -> bool:
        return self.status == CompetencyStatus.ACQUIRED

    @is_acquired.setter
    def is_acquired(self, acquired: bool) -> None:
        # The two levels a team could record before the status existed.
        self.status = CompetencyStatus.ACQUIRED if acquired else CompetencyStatus.IN_PROGRESS


class Consent(Base):
    """The patient's agreement that their GP is informed. Rows are never deleted."""

    __tablename__ = "consents"

    id: Mapped[intpk]
    enrollment_id: Mapped[enrollment_fk]
    given_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # "app" when the patient gave it in the app, "oral" when an educator recorded it.
    method: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(String(120))
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by_name: Mapped[str | None] = mapped_column(String(120))

    enrollment: Mapped[Enrollment] = relationship(back_populates="consents")

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class InvitationAnswer(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ProgrammeInvitation(Base):
    """A team's invitation to a patient who already has an account to join its programme.

    The enrollment is created only when the patient, signed in, accepts: until then the team
    holds nothing of the patient but the address it typed, so attaching someone's account to
    a programme is never in a team's hands alone.
    """

    __tablename__ = "programme_invitations"

    id: Mapped[intpk]
    programme_id: Mapped[programme_fk]
    patient_id: Mapped[patient_fk]
    # The address as the team typed it: all the team's page shows until the patient answers.
    email: Mapped[str] = mapped_column(String(254))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_by_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[created_at]
    answer: Mapped[InvitationAnswer | None]
    answered_at: Mapped[dt.datetime | None]

    programme: Mapped[Programme] = relationship()
    patient: Mapped[Patient] = relationship()
