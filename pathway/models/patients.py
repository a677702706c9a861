"""The patient and the sections of their personal summary."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, Owned, created_at, intpk, patient_fk, utcnow

if TYPE_CHECKING:
    from pathway.models.accounts import Invitation, User
    from pathway.models.programmes import Enrollment
    from pathway.models.shares import Share

_owned: Owned = {"cascade": "all, delete-orphan", "passive_deletes": True}


def full_name(first_name: str, last_name: str) -> str:
    """How a patient is named on every page and document: first name, then last name."""
    return f"{first_name} {last_name}"


class Sex(enum.StrEnum):
    """A person's sex as the identity rules record it (the INS's); letters agree with it."""

    FEMALE = "F"
    MALE = "M"


class IdentityStatus(enum.StrEnum):
    """How far the patient's identity was checked, as the French identity rules (RNIV) grade
    it: with a high-trust identity document (validated), through the INSi teleservice
    (retrieved), or both (qualified). Only a qualified identity's INS may be shared."""

    PROVISIONAL = "provisional"  # identité provisoire
    RETRIEVED = "retrieved"  # identité récupérée
    VALIDATED = "validated"  # identité validée
    QUALIFIED = "qualified"  # identité qualifiée


class Patient(Base):
    """The person a summary is about; owns every section and share."""

    __tablename__ = "patients"

    id: Mapped[intpk]
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    # The first name and the name the person uses (« nom utilisé »), on every page.
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[dt.date | None]
    # The identity the team checked, as letters print it (the identity rules' strict
    # traits): sex, birth name and birth first names (empty: the same as the used ones),
    # and the INS with its OID, stored only once its key has been checked.
    sex: Mapped[Sex | None]
    birth_name: Mapped[str] = mapped_column(String(80), default="")
    birth_first_names: Mapped[str] = mapped_column(String(200), default="")
    ins: Mapped[str | None] = mapped_column(String(15))
    ins_oid: Mapped[str | None] = mapped_column(String(40))
    # The INS is printed (with its OID) only once the identity is qualified.
    identity_status: Mapped[IdentityStatus] = mapped_column(default=IdentityStatus.PROVISIONAL)
    # The patient's choice that their GP is told by e-mail of each opening of the emergency
    # card, as Mon Espace Santé tells after an emergency access (off unless turned on).
    tell_gp_of_card_openings: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(String(40))
    # "What I want my professionals to know", in the patient's own words.
    life_context: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every edit of any section: an access event records which version was shown.
    summary_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]

    user: Mapped[User | None] = relationship(back_populates="patient")
    conditions: Mapped[list[Condition]] = relationship(
        back_populates="patient", order_by="Condition.id", **_owned
    )
    medications: Mapped[list[Medication]] = relationship(
        back_populates="patient", order_by="Medication.id", **_owned
    )
    allergies: Mapped[list[Allergy]] = relationship(
        back_populates="patient", order_by="Allergy.id", **_owned
    )
    emergency_protocol: Mapped[EmergencyProtocol | None] = relationship(
        back_populates="patient", **_owned
    )
    emergency_contacts: Mapped[list[EmergencyContact]] = relationship(
        back_populates="patient", order_by="EmergencyContact.id", **_owned
    )
    care_team: Mapped[list[CareTeamMember]] = relationship(
        back_populates="patient", order_by="CareTeamMember.id", **_owned
    )
    section_updates: Mapped[list[SectionUpdate]] = relationship(back_populates="patient", **_owned)
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="patient", order_by="Enrollment.id", **_owned
    )
    shares: Mapped[list[Share]] = relationship(
        back_populates="patient", order_by="Share.id", **_owned
    )
    invitations: Mapped[list[Invitation]] = relationship(back_populates="patient", **_owned)

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    @property
    def gp(self) -> CareTeamMember | None:
        return next((m for m in self.care_team if m.role == CareRole.GP), None)


class SectionAuthor(enum.StrEnum):
    """Who wrote a section: the patient, or their therapeutic education team."""

    PATIENT = "patient"
    TEAM = "team"


class SectionUpdate(Base):
    """When, and by whom, one section of one patient's summary was last changed."""

    __tablename__ = "section_updates"
    __table_args__ = (UniqueConstraint("patient_id", "section"),)

    id: Mapped[intpk]
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120))
    # The team's sections say « by the ETP team — <educator> », never the patient's name.
    author_kind: Mapped[SectionAuthor] = mapped_column(default=SectionAuthor.PATIENT)

    patient: Mapped[Patient] = relationship(back_populates="section_updates")


class Condition(Base):
    __tablename__ = "conditions"

    id: Mapped[intpk]
    patient_id: Mapped[patient_fk]
    label: Mapped[str] = mapped_column(String(200))
    is_rare: Mapped[bool] = mapped_column(default=False)
    orphacode: Mapped[str | None] = mapped_column(String(12))
    # An https link to the Orphanet emergency guideline for this disease, when one exists.
    emergency_guideline_url: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship(back_populates="conditions")


class Medication(Base):
    __tablename__ = "medications"

    id: Mapped[intpk]
    patient_id: Mapped[patient_fk]
    name: Mapped[str] = mapped_column(String(200))
    dosage: Mapped[str] = mapped_column(String(200), default="")
    instructions: Mapped[str] = mapped_column(String(500), default="")
    # A daily treatment that must never be stopped ("vital"): first on the emergency view.
    is_critical: Mapped[bool] = mapped_column(default=False)
    # An emergency treatment (the injectable kit): given in a crisis, not every day.
    is_emergency: Mapped[bool] = mapped_column(default=False)

    patient: Mapped[Patient] = relationship(back_populates="medications")


class Allergy(Base):
    __tablename__ = "allergies"

    id: Mapped[intpk]
    patient_id: Mapped[patient_fk]
    substance: Mapped[str] = mapped_column(String(200))
    reaction: Mapped[str] = mapped_column(String(300), default="")
    # An intolerance is not an allergy; responders treat them differently.
    is_intolerance: Mapped[bool] = mapped_column(default=False)
    is_severe: Mapped[bool] = mapped_column(default=False)

    patient: Mapped[Patient] = relationship(back_populates="allergies")


class CentreKind(enum.StrEnum):
    """The label of the rare-disease centre that follows the patient."""

    REFERENCE = "reference"  # centre de référence maladies rares (CRMR)
    COMPETENCE = "competence"  # centre de compétence maladies rares (CCMR)


# The protocol's text fields, in the order a responder reads them; each one is shown and
# printed only when entered.
PROTOCOL_TEXTS = (
    "situations",
    "immediate_drug",
    "immediate_dose",
    "immediate_routes",
    "then_treatment",
    "fluids",
    "checks",
    "what_to_do",
    "what_to_avoid",
    "contraindicated_drugs",
    "anaesthesia",
    "orientation",
    "vital_treatment",
    "treating_physician",
    "treating_physician_phone",
    "reference_centre",
    "reference_centre_phone",
)


class EmergencyProtocol(Base):
    """What to do in a crisis, as on the French rare-disease emergency card.

    Every field is optional and printed only when entered: what is not known is left to the
    team that follows the patient, never filled with a default.
    """

    __tablename__ = "emergency_protocols"

    id: Mapped[intpk]
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), unique=True
    )
    situations: Mapped[str] = mapped_column(Text, default="")
    # The immediate action, printed on the wallet card in the largest type that fits:
    # drug, dose and routes, e.g. "Hydrocortisone" "100 mg" "IV, ou IM/SC si pas d'abord
    # veineux, immédiatement".
    immediate_drug: Mapped[str] = mapped_column(String(200), default="")
    immediate_dose: Mapped[str] = mapped_column(String(80), default="")
    immediate_routes: Mapped[str] = mapped_column(String(200), default="")
    # What follows: the next doses ("puis … / 24 h"), fluids, checks.
    then_treatment: Mapped[str] = mapped_column(String(300), default="")
    fluids: Mapped[str] = mapped_column(String(300), default="")
    checks: Mapped[str] = mapped_column(String(300), default="")
    what_to_do: Mapped[str] = mapped_column(Text, default="")
    what_to_avoid: Mapped[str] = mapped_column(Text, default="")
    contraindicated_drugs: Mapped[str] = mapped_column(Text, default="")
    anaesthesia: Mapped[str] = mapped_column(Text, default="")
    # Where to take the patient ("Orientation").
    orientation: Mapped[str] = mapped_column(String(300), default="")
    # The daily treatment that must never stop, printed with « Ne jamais arrêter ».
    vital_treatment: Mapped[str] = mapped_column(String(200), default="")
    treating_physician: Mapped[str] = mapped_column(String(200), default="")
    treating_physician_phone: Mapped[str] = mapped_column(String(40), default="")
    reference_centre: Mapped[str] = mapped_column(String(200), default="")
    reference_centre_kind: Mapped[CentreKind | None]
    reference_centre_phone: Mapped[str] = mapped_column(String(40), default="")
    # Whether that number answers day and night: "24 h/24" is printed only when it does.
    reference_centre_24h: Mapped[bool] = mapped_column(default=False)

    patient: Mapped[Patient] = relationship(back_populates="emergency_protocol")

    @property
    def immediate_action(self) -> str:
        """The immediate action in one line: drug, dose, routes."""
        return immediate_action(self.immediate_drug, self.immediate_dose, self.immediate_routes)


def immediate_action(drug: str, dose: str, routes: str) -> str:
    """The immediate action's line, from the parts entered (e.g. « Hydrocortisone 100 mg IV,
    ou IM/SC si pas d'abord veineux, immédiatement »)."""
    return " ".join(part.strip() for part in (drug, dose, routes) if part and part.strip())


class EmergencyContact(Base):
    __tablename__ = "emergency_contacts"

    id: Mapped[intpk]
    patient_id: Mapped[patient_fk]
    name: Mapped[str] = mapped_column(String(120))
    relationship_label: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str] = mapped_column(String(40))

    patient: Mapped[Patient] = relationship(back_populates="emergency_contacts")


class CareRole(enum.StrEnum):
    GP = "gp"
    PHARMACIST = "pharmacist"
    NURSE = "nurse"
    SPECIALIST = "specialist"
    OTHER = "other"


class CareTeamMember(Base):
    __tablename__ = "care_team_members"

    id: Mapped[intpk]
    patient_id: Mapped[patient_fk]
    role: Mapped[CareRole]
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # MSSanté address: an ordinary email address on a dedicated server.
    secure_email: Mapped[str] = mapped_column(String(254), default="")

    patient: Mapped[Patient] = relationship(back_populates="care_team")
