"""The patient's summary: editing its sections, and who changed which section, when.

Every change goes through these functions, which stamp the section and bump the
summary's version in the same transaction, so the access log can say exactly which
state of the summary each recipient saw. Under them, a flush that changes a summary's
rows any other way moves its version too: nothing keyed by the version (the emergency
card's stored page) can outlive the state it was made from.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from pathway.db import Base, session, utcnow
from pathway.inputs import has_control_characters, single_line_message
from pathway.models import (
    Allergy,
    CareRole,
    CareTeamMember,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Medication,
    Patient,
    SectionUpdate,
)
from pathway.rules import RuleBroken
from pathway.sharing.sections import Section

ORPHACODE = re.compile(r"\d{1,7}")


class SummaryError(RuleBroken):
    """An edit breaks a rule; the message is translated and names the field."""


@dataclass(frozen=True)
class ItemKind:
    """A section made of a list of items: its model, the patient's relation, the editable fields."""

    model: type[Base]
    relation: str
    fields: tuple[str, ...]


ITEM_SECTIONS: dict[Section, ItemKind] = {
    Section.CONDITIONS: ItemKind(
        Condition,
        "conditions",
        ("label", "is_rare", "orphacode", "emergency_guideline_url", "notes"),
    ),
    Section.TREATMENTS: ItemKind(
        Medication, "medications", ("name", "dosage", "instructions", "is_critical")
    ),
    Section.ALLERGIES: ItemKind(
        Allergy, "allergies", ("substance", "reaction", "is_intolerance", "is_severe")
    ),
    Section.EMERGENCY_CONTACTS: ItemKind(
        EmergencyContact, "emergency_contacts", ("name", "relationship_label", "phone")
    ),
    Section.CARE_TEAM: ItemKind(
        CareTeamMember,
        "care_team",
        ("role", "name", "organisation", "phone", "email", "secure_email"),
    ),
}
IDENTITY_FIELDS = ("first_name", "last_name", "birth_date", "phone")
PROTOCOL_FIELDS = (
    "situations",
    "what_to_do",
    "critical_action",
    "what_to_avoid",
    "reference_centre",
    "reference_centre_phone",
)


def touch_section(patient: Patient, section: Section, updated_by: str) -> None:
    """Stamp a section as changed now by someone, and bump the summary's version.

    Call it in the same transaction as the change itself. The version lets the
    access log say exactly which state of the summary each recipient saw.
    """
    # The change, its stamp and the version are flushed together (one flush, one version).
    with session.no_autoflush:
        stamp = session.scalar(
            select(SectionUpdate).where(
                SectionUpdate.patient_id == patient.id, SectionUpdate.section == section.value
            )
        )
        if stamp is None:
            stamp = SectionUpdate(
                patient_id=patient.id, section=section.value, updated_by=updated_by
            )
            session.add(stamp)
            patient.section_updates.append(stamp)
        stamp.updated_at = utcnow()
        stamp.updated_by = updated_by[:120]
        patient.summary_version = (patient.summary_version or 1) + 1


# The rows a summary is made of (and the sections' stamps), besides the patient's own
# columns below.
SUMMARY_MODELS = (
    Condition,
    Medication,
    Allergy,
    EmergencyProtocol,
    EmergencyContact,
    CareTeamMember,
    SectionUpdate,
)
PATIENT_COLUMNS = ("first_name", "last_name", "birth_date", "phone", "life_context")


@event.listens_for(Session, "before_flush")
def _version_every_change(db_session: Session, _context: Any, _instances: Any) -> None:
    """Bump the version of every summary this flush changes, unless it already moves."""
    changed: set[Patient] = set()
    for instance in itertools.chain(db_session.new, db_session.dirty, db_session.deleted):
        if isinstance(instance, SUMMARY_MODELS):
            if instance in db_session.dirty and not db_session.is_modified(instance):
                continue
            patient = instance.patient or db_session.get(Patient, instance.patient_id)
        elif isinstance(instance, Patient) and instance in db_session.dirty:
            state = inspect(instance)
            if not any(state.attrs[name].history.has_changes() for name in PATIENT_COLUMNS):
                continue
            patient = instance
        else:
            continue
        if patient is not None and patient not in db_session.new:
            changed.add(patient)
    for patient in changed:
        if patient in db_session.deleted:
            continue
        if not inspect(patient).attrs.summary_version.history.has_changes():
            patient.summary_version = (patient.summary_version or 1) + 1


def check_orphacode(value: str) -> str:
    """Return the ORPHAcode (digits only, as Orphanet numbers diseases), or raise SummaryError."""
    value = value.strip()
    if value.upper().startswith("ORPHA:"):
        value = value[6:].strip()
    if value and not ORPHACODE.fullmatch(value):
        raise SummaryError(
            field="orphacode",
            message=str(_l("The ORPHAcode is a number of 1 to 7 digits, e.g. 85138.")),
        )
    return value


def check_https_url(value: str, field: str = "emergency_guideline_url") -> str:
    """Return the URL if it is a plain https address, else raise SummaryError (no javascript:)."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme.lower() != "https"
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
        or parts.username
        or parts.password
    ):
        raise SummaryError(
            field=field, message=str(_l("Enter a secure web address starting with https://."))
        )
    return value


def _clean(section: Section, values: dict[str, Any]) -> dict[str, Any]:
    kind = ITEM_SECTIONS[section]
    cleaned: dict[str, Any] = {name: values.get(name) for name in kind.fields}
    for name, value in cleaned.items():
        if isinstance(value, str):
            cleaned[name] = value.strip()
        elif value is None and name not in (
            "is_rare",
            "is_critical",
            "is_intolerance",
            "is_severe",
            "role",
        ):
            cleaned[name] = ""
    if section == Section.CONDITIONS:
        cleaned["orphacode"] = check_orphacode(cleaned["orphacode"] or "") or None
        cleaned["emergency_guideline_url"] = (
            check_https_url(cleaned["emergency_guideline_url"] or "") or None
        )
        cleaned["is_rare"] = bool(cleaned["is_rare"])
    if section == Section.CARE_TEAM:
        cleaned["role"] = CareRole(cleaned["role"])
    for flag in ("is_critical", "is_intolerance", "is_severe"):
        if flag in cleaned:
            cleaned[flag] = bool(cleaned[flag])
    return cleaned


def get_item(patient: Patient, section: Section, item_id: int) -> Any:
    """The access helper: the patient's own item of this section, else 404."""
    kind = ITEM_SECTIONS.get(section)
    if kind is None:
        abort(404)
    model: Any = kind.model
    item = session.scalar(select(model).where(model.id == item_id, model.patient_id == patient.id))
    if item is None:
        abort(404)
    return item


def save_item(
    patient: Patient, section: Section, item: Any | None, values: dict[str, Any], updated_by: str
) -> Any:
    """Create (item None) or update one item of a list section, and stamp the section."""
    kind = ITEM_SECTIONS[section]
    cleaned = _clean(section, values)
    if item is None:
        item = kind.model(**cleaned)
        getattr(patient, kind.relation).append(item)
    else:
        if item.patient_id != patient.id:  # never trust a caller with someone else's item
            abort(404)
        for name, value in cleaned.items():
            setattr(item, name, value)
    touch_section(patient, section, updated_by)
    session.flush()
    return item


def delete_item(patient: Patient, section: Section, item: Any, updated_by: str) -> None:
    """Delete one item of a list section, and stamp the section."""
    if item.patient_id != patient.id:
        abort(404)
    getattr(patient, ITEM_SECTIONS[section].relation).remove(item)
    session.delete(item)
    touch_section(patient, section, updated_by)
    session.flush()


def update_identity(patient: Patient, values: dict[str, Any], updated_by: str) -> None:
    """Change the patient's name, date of birth and phone."""
    first_name = (values.get("first_name") or "").strip()
    last_name = (values.get("last_name") or "").strip()
    if not first_name:
        raise SummaryError(field="first_name", message=str(_l("Enter your first name.")))
    if not last_name:
        raise SummaryError(field="last_name", message=str(_l("Enter your last name.")))
    phone = (values.get("phone") or "").strip()
    # The name is printed in letters and in the subject of the mail that carries them.
    for field, value in (("first_name", first_name), ("last_name", last_name), ("phone", phone)):
        if has_control_characters(value):
            raise SummaryError(field=field, message=single_line_message())
    birth_date = values.get("birth_date")
    if birth_date is not None and (
        birth_date > utcnow().date() or birth_date < dt.date(1900, 1, 1)
    ):
        raise SummaryError(field="birth_date", message=str(_l("Enter a real date of birth.")))
    patient.first_name = first_name
    patient.last_name = last_name
    patient.birth_date = birth_date
    patient.phone = phone or None
    touch_section(patient, Section.IDENTITY, updated_by)
    session.flush()


def update_protocol(patient: Patient, values: dict[str, Any], updated_by: str) -> EmergencyProtocol:
    """Write the emergency protocol (created on first save)."""
    protocol = patient.emergency_protocol
    if protocol is None:
        protocol = EmergencyProtocol()
        patient.emergency_protocol = protocol
    for name in PROTOCOL_FIELDS:
        setattr(protocol, name, (values.get(name) or "").strip())
    touch_section(patient, Section.EMERGENCY_PROTOCOL, updated_by)
    session.flush()
    return protocol


def update_life_context(patient: Patient, text: str, updated_by: str) -> None:
    """Write "what I want my professionals to know", in the patient's own words."""
    patient.life_context = (text or "").strip()
    touch_section(patient, Section.LIFE_CONTEXT, updated_by)
    session.flush()


def last_updates(patient: Patient) -> dict[str, SectionUpdate]:
    """Each section's stamp, by section value."""
    return {stamp.section: stamp for stamp in patient.section_updates}
