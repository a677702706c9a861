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

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from pathway import orphanet
from pathway.cards.card import action_size, vital_treatment_fits
from pathway.db import Base, session, utcnow
from pathway.inputs import has_control_characters, single_line_message
from pathway.models import (
    Allergy,
    CareRole,
    CareTeamMember,
    CentreKind,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Medication,
    Patient,
    SectionAuthor,
    SectionUpdate,
)
from pathway.models.patients import PROTOCOL_TEXTS, immediate_action
from pathway.rules import RuleBroken
from pathway.sharing.sections import Section

ORPHACODE = re.compile(r"\d{1,7}")
LONG_TEXT = 2000


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
        Medication,
        "medications",
        ("name", "dosage", "instructions", "is_critical", "is_emergency"),
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
# Fields written as paragraphs; every other one is typed on one line (printed on one line of
# the card, or dialled).
PROTOCOL_MULTILINE = frozenset(
    {"situations", "what_to_do", "what_to_avoid", "contraindicated_drugs", "anaesthesia"}
)
# The longest text each field holds (its column's length; long texts are capped like the
# summary's other long texts).
PROTOCOL_LIMITS = {
    name: getattr(EmergencyProtocol.__table__.c, name).type.length or LONG_TEXT
    for name in PROTOCOL_TEXTS
}
PHONE_CHARACTERS = re.compile(r"[0-9+().\s-]*")


def touch_section(
    patient: Patient,
    section: Section,
    updated_by: str,
    author_kind: SectionAuthor = SectionAuthor.PATIENT,
) -> None:
    """Stamp a section as changed now by someone (the patient, or a member of the ETP team),
    and bump the summary's version.

    Call it in the same transaction as the change itself. The version lets the
    access log say exactly which state of the summary each recipient saw.
    """
    # The change, its stamp and the version are flushed together (one flush, one version).
    with session.no_autoflush:
        # The patient's stamps, with those of this transaction not flushed yet (two changes
        # of one section in one transaction stamp it once).
        stamp = next((s for s in patient.section_updates if s.section == section.value), None)
        if stamp is None:
            stamp = SectionUpdate(
                patient_id=patient.id, section=section.value, updated_by=updated_by
            )
            session.add(stamp)
            patient.section_updates.append(stamp)
        stamp.updated_at = utcnow()
        stamp.updated_by = updated_by[:120]
        stamp.author_kind = author_kind
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


def check_orphanet_urgences_url(value: str, field: str = "emergency_guideline_url") -> str:
    """Return the address of an Orphanet Urgences sheet (https on orpha.net, not the
    disease's own page), or raise SummaryError."""
    value = value.strip()
    if not value:
        return ""
    if not orphanet.is_on_orphanet(value):
        raise SummaryError(
            field=field,
            message=str(
                _l(
                    "Enter the address of the Orphanet Urgences sheet: a secure address "
                    "starting with https://www.orpha.net/."
                )
            ),
        )
    if orphanet.is_disease_page(value):
        raise SummaryError(
            field=field,
            message=str(
                _l(
                    "This is the disease's Orphanet page, not its Orphanet Urgences sheet. "
                    "The disease page is already linked from the ORPHAcode: leave this "
                    "field empty unless the disease has an Orphanet Urgences sheet."
                )
            ),
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
            "is_emergency",
            "is_intolerance",
            "is_severe",
            "role",
        ):
            cleaned[name] = ""
    if section == Section.CONDITIONS:
        cleaned["orphacode"] = check_orphacode(cleaned["orphacode"] or "") or None
        cleaned["emergency_guideline_url"] = (
            check_orphanet_urgences_url(cleaned["emergency_guideline_url"] or "") or None
        )
        cleaned["is_rare"] = bool(cleaned["is_rare"])
    if section == Section.CARE_TEAM:
        cleaned["role"] = CareRole(cleaned["role"])
    for flag in ("is_critical", "is_emergency", "is_intolerance", "is_severe"):
        if flag in cleaned:
            cleaned[flag] = bool(cleaned[flag])
    if section == Section.TREATMENTS and cleaned["is_critical"] and cleaned["is_emergency"]:
        raise SummaryError(
            field="is_emergency",
            message=str(
                _l(
                    "A treatment is either taken every day and never stopped, or kept for "
                    "emergencies: not both. Enter the emergency injection as a treatment of "
                    "its own."
                )
            ),
        )
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


def clean_protocol(values: dict[str, Any]) -> dict[str, Any]:
    """The protocol's values as they are stored, or SummaryError naming the field at fault.

    Nothing is guessed: a field left empty stays empty and is not printed."""
    cleaned: dict[str, Any] = {}
    for name in PROTOCOL_TEXTS:
        value = values.get(name) or ""
        if not isinstance(value, str):
            raise SummaryError(field=name, message=str(_l("Enter text.")))
        value = value.strip()
        maximum = PROTOCOL_LIMITS[name]
        if len(value) > maximum:
            raise SummaryError(
                field=name,
                message=str(_l("Too long: %(max)d characters at most.", max=maximum)),
            )
        if name not in PROTOCOL_MULTILINE and has_control_characters(value):
            raise SummaryError(field=name, message=single_line_message())
        if name.endswith("_phone") and not PHONE_CHARACTERS.fullmatch(value):
            raise SummaryError(
                field=name, message=str(_l("A phone number holds digits, spaces and + only."))
            )
        cleaned[name] = value
    kind = values.get("reference_centre_kind") or None
    try:
        cleaned["reference_centre_kind"] = CentreKind(kind) if kind else None
    except ValueError:
        raise SummaryError(
            field="reference_centre_kind", message=str(_l("Choose one of the choices."))
        ) from None
    cleaned["reference_centre_24h"] = bool(values.get("reference_centre_24h"))
    action = immediate_action(
        cleaned["immediate_drug"], cleaned["immediate_dose"], cleaned["immediate_routes"]
    )
    if action and action_size(action) is None:
        raise SummaryError(
            field="immediate_routes",
            message=str(
                _l(
                    "The immediate action does not fit on the wallet card, even in small "
                    "type. Shorten the drug, dose or routes: put the rest under what follows."
                )
            ),
        )
    if action and not cleaned["immediate_drug"]:
        raise SummaryError(
            field="immediate_drug",
            message=str(
                _l("Name the drug of the immediate action, or leave its dose and routes empty.")
            ),
        )
    if not vital_treatment_fits(cleaned["vital_treatment"]):
        raise SummaryError(
            field="vital_treatment",
            message=str(
                _l(
                    "The daily vital treatment does not fit on the wallet card. Name the "
                    "treatments and their doses only: the details are in the treatments."
                )
            ),
        )
    if cleaned["reference_centre_24h"] and not cleaned["reference_centre_phone"]:
        raise SummaryError(
            field="reference_centre_phone",
            message=str(_l("Enter the number that answers 24 h/24, or untick the box.")),
        )
    return cleaned


def update_protocol(
    patient: Patient,
    values: dict[str, Any],
    updated_by: str,
    author_kind: SectionAuthor = SectionAuthor.PATIENT,
) -> EmergencyProtocol:
    """Write the emergency protocol (created on first save); nothing is written if a value
    breaks a rule (SummaryError)."""
    cleaned = clean_protocol(values)
    protocol = patient.emergency_protocol
    if protocol is None:
        protocol = EmergencyProtocol()
        patient.emergency_protocol = protocol
    for name, value in cleaned.items():
        setattr(protocol, name, value)
    touch_section(patient, Section.EMERGENCY_PROTOCOL, updated_by, author_kind)
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
