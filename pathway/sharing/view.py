"""The recipient's view: built from the shared sections alone.

`build_view(patient, sections)` reads only the sections it is given and returns plain
values (strings, dates, lists, dicts). Templates of recipient pages and documents get
this dict and nothing else, so a section that is not shared cannot leak through a
template: its data was never loaded into the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pathway.models import AttendanceStatus, CareRole, ObjectiveStatus, Patient
from pathway.sharing.sections import Section

ORPHANET_URL = "https://www.orpha.net/fr/disease/detail/{code}"


def build_view(patient: Patient, sections: tuple[Section, ...] | list[Section]) -> dict[str, Any]:
    """Return the header and, in canonical order, the data of each given section only."""
    wanted = [section for section in Section if section in set(sections)]
    stamps = {stamp.section: stamp for stamp in patient.section_updates}
    built = []
    for section in wanted:
        stamp = stamps.get(section.value)
        built.append(
            {
                "key": section.value,
                "label": section.label,
                "updated_at": stamp.updated_at if stamp else None,
                "updated_by": stamp.updated_by if stamp else None,
                "data": BUILDERS[section](patient),
            }
        )
    return {
        # Whose summary this is: always shown, so nobody reads the wrong patient's data.
        "patient": {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "full_name": patient.full_name,
            "birth_date": patient.birth_date,
        },
        "sections": built,
        "shown": [section.value for section in wanted],
        "summary_version": patient.summary_version,
    }


def _identity(patient: Patient) -> dict[str, Any]:
    return {
        "full_name": patient.full_name,
        "birth_date": patient.birth_date,
        "phone": patient.phone or "",
    }


def _conditions(patient: Patient) -> list[dict[str, Any]]:
    return [
        {
            "label": condition.label,
            "is_rare": condition.is_rare,
            "orphacode": condition.orphacode or "",
            "orphanet_url": ORPHANET_URL.format(code=condition.orphacode)
            if condition.orphacode
            else "",
            "guideline_url": condition.emergency_guideline_url or "",
            "notes": condition.notes,
        }
        for condition in patient.conditions
    ]


def _treatments(patient: Patient) -> list[dict[str, Any]]:
    # Critical treatments first: they matter most to whoever reads in a hurry.
    medications = sorted(patient.medications, key=lambda m: (not m.is_critical, m.id))
    return [
        {
            "name": medication.name,
            "dosage": medication.dosage,
            "instructions": medication.instructions,
            "is_critical": medication.is_critical,
        }
        for medication in medications
    ]


def _allergies(patient: Patient) -> list[dict[str, Any]]:
    return [
        {
            "substance": allergy.substance,
            "reaction": allergy.reaction,
            "is_intolerance": allergy.is_intolerance,
            "is_severe": allergy.is_severe,
        }
        for allergy in patient.allergies
    ]


def _emergency_protocol(patient: Patient) -> dict[str, str] | None:
    protocol = patient.emergency_protocol
    if protocol is None:
        return None
    return {
        "situations": protocol.situations,
        "what_to_do": protocol.what_to_do,
        "critical_action": protocol.critical_action,
        "what_to_avoid": protocol.what_to_avoid,
        "reference_centre": protocol.reference_centre,
        "reference_centre_phone": protocol.reference_centre_phone,
    }


def _emergency_contacts(patient: Patient) -> list[dict[str, str]]:
    return [
        {"name": contact.name, "relationship": contact.relationship_label, "phone": contact.phone}
        for contact in patient.emergency_contacts
    ]


def _care_team(patient: Patient) -> list[dict[str, str]]:
    return [
        {
            "role": member.role.value,
            "is_gp": member.role == CareRole.GP,
            "name": member.name,
            "organisation": member.organisation,
            "phone": member.phone,
            "email": member.email,
            "secure_email": member.secure_email,
        }
        for member in patient.care_team
    ]


def _etp_progress(patient: Patient) -> list[dict[str, Any]]:
    programmes = []
    for enrollment in patient.enrollments:
        programme = enrollment.programme
        programmes.append(
            {
                "programme": programme.name,
                "hospital": programme.hospital,
                "service": programme.service,
                "coordinator": {
                    "name": programme.coordinator_name,
                    "phone": programme.coordinator_phone,
                    "email": programme.coordinator_email,
                },
                "started_on": enrollment.started_on,
                "ended_on": enrollment.ended_on,
                "objectives": [
                    {"text": o.text, "status": o.status.value} for o in enrollment.objectives
                ],
                "remaining_objectives": [
                    o.text for o in enrollment.objectives if o.status != ObjectiveStatus.ACHIEVED
                ],
                "workshops": [
                    {
                        "title": a.workshop.title,
                        "status": a.status.value,
                        "scheduled_on": a.scheduled_on,
                        "attended": a.status == AttendanceStatus.ATTENDED,
                    }
                    for a in enrollment.attendances
                ],
                "competencies": [
                    {"text": c.text, "is_acquired": c.is_acquired} for c in enrollment.competencies
                ],
            }
        )
    return programmes


def _treatment_objectives(patient: Patient) -> list[dict[str, str]]:
    return [
        {"text": objective.text, "status": objective.status.value, "programme": e.programme.name}
        for e in patient.enrollments
        for objective in e.objectives
        if objective.is_treatment_related
    ]


def _life_context(patient: Patient) -> dict[str, str]:
    return {"text": patient.life_context}


def _letters(patient: Patient) -> list[dict[str, Any]]:
    try:
        from pathway.letters import shared_letters
    except ImportError:  # the letters package lands separately
        return []
    return [
        {
            "public_id": letter.public_id,
            "kind": letter.kind.value,
            "version": letter.version,
            "issued_at": letter.issued_at,
            "programme": letter.enrollment.programme.name,
        }
        for letter in shared_letters(patient)
    ]


BUILDERS: dict[Section, Callable[[Patient], Any]] = {
    Section.IDENTITY: _identity,
    Section.CONDITIONS: _conditions,
    Section.TREATMENTS: _treatments,
    Section.ALLERGIES: _allergies,
    Section.EMERGENCY_PROTOCOL: _emergency_protocol,
    Section.EMERGENCY_CONTACTS: _emergency_contacts,
    Section.CARE_TEAM: _care_team,
    Section.ETP_PROGRESS: _etp_progress,
    Section.TREATMENT_OBJECTIVES: _treatment_objectives,
    Section.LIFE_CONTEXT: _life_context,
    Section.LETTERS: _letters,
}
assert set(BUILDERS) == set(Section), "every section needs a builder"
