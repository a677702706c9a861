"""The recipient's view: built from the shared sections alone.

`build_view(patient_id, sections)` reads only the sections it is given and returns plain
values (strings, dates, lists, dicts). Templates of recipient pages and documents get
this dict and nothing else, so a section that is not shared cannot leak through a
template: its data was never loaded into the view.

The emergency view is the hottest page of the platform, so the sections are read with
statements built once at import, each one indexed query on the request's connection,
rather than through the ORM's relationship loading (one query per relationship, and per
workshop). Only the letters, which depend on consent, go through the letters package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, select

from pathway.db import session
from pathway.models import (
    Allergy,
    AttendanceStatus,
    CareRole,
    CareTeamMember,
    Competency,
    CompetencyStatus,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Enrollment,
    Medication,
    Objective,
    ObjectiveStatus,
    Patient,
    Programme,
    SectionUpdate,
    Workshop,
    WorkshopAttendance,
)
from pathway.models.patients import PROTOCOL_TEXTS, full_name, immediate_action
from pathway.orphanet import disease_url, urgences_url
from pathway.sharing.sections import SECTION_LABELS, TEAM_SECTIONS, Section


def _owned(*columns: Any) -> Select[Any]:
    """The patient's rows of one summary table, in the order they were added."""
    table = columns[0].class_
    return select(*columns).where(table.patient_id == bindparam("patient_id")).order_by(table.id)


# Whose summary it is and its version, read in the same snapshot as the sections (the
# patient object a caller holds may come from an earlier transaction).
HEADER = select(
    Patient.summary_version,
    Patient.first_name,
    Patient.last_name,
    Patient.birth_date,
    Patient.sex,
    Patient.phone,
    Patient.life_context,
).where(Patient.id == bindparam("patient_id"))
STAMPS = _owned(
    SectionUpdate.section,
    SectionUpdate.updated_at,
    SectionUpdate.updated_by,
    SectionUpdate.author_kind,
)
CONDITIONS = _owned(
    Condition.label,
    Condition.is_rare,
    Condition.orphacode,
    Condition.emergency_guideline_url,
    Condition.notes,
)
MEDICATIONS = _owned(
    Medication.id,
    Medication.name,
    Medication.dosage,
    Medication.instructions,
    Medication.is_critical,
    Medication.is_emergency,
)
ALLERGIES = _owned(Allergy.substance, Allergy.reaction, Allergy.is_intolerance, Allergy.is_severe)
PROTOCOL = _owned(
    *(getattr(EmergencyProtocol, name) for name in PROTOCOL_TEXTS),
    EmergencyProtocol.reference_centre_kind,
    EmergencyProtocol.reference_centre_24h,
)
CONTACTS = _owned(
    EmergencyContact.name, EmergencyContact.relationship_label, EmergencyContact.phone
)
CARE_TEAM = _owned(
    CareTeamMember.role,
    CareTeamMember.name,
    CareTeamMember.organisation,
    CareTeamMember.phone,
    CareTeamMember.email,
    CareTeamMember.secure_email,
)


# The ETP sections: the patient's enrollments with their programme, then each list of all
# their enrollments in one query, grouped by enrollment.
ENROLLMENTS = (
    select(
        Enrollment.id,
        Enrollment.started_on,
        Enrollment.ended_on,
        Enrollment.bep_synthesis,
        Enrollment.gp_topics,
        Programme.name,
        Programme.hospital,
        Programme.service,
        Programme.coordinator_name,
        Programme.coordinator_phone,
        Programme.coordinator_email,
    )
    .join(Programme, Programme.id == Enrollment.programme_id)
    .where(Enrollment.patient_id == bindparam("patient_id"))
    .order_by(Enrollment.id)
)


def _enrolled(*columns: Any) -> Select[Any]:
    """Rows of one list of every enrollment of the patient, in the order they were added."""
    table = columns[0].class_
    return (
        select(table.enrollment_id, *columns)
        .join(Enrollment, Enrollment.id == table.enrollment_id)
        .where(Enrollment.patient_id == bindparam("patient_id"))
        .order_by(table.id)
    )


OBJECTIVES = _enrolled(Objective.text, Objective.status, Objective.is_treatment_related)
ATTENDANCES = _enrolled(
    WorkshopAttendance.status, WorkshopAttendance.scheduled_on, Workshop.title
).join(Workshop, Workshop.id == WorkshopAttendance.workshop_id)
COMPETENCIES = _enrolled(Competency.text, Competency.status)
# How the GP reads the competencies: acquired first, then in progress, then not acquired.
COMPETENCY_ORDER = (
    CompetencyStatus.ACQUIRED,
    CompetencyStatus.IN_PROGRESS,
    CompetencyStatus.NOT_ACQUIRED,
)


class _Rows:
    """One patient's rows for one view: each statement runs at most once (two sections may
    need the same list, as the ETP progress and the treatment-related objectives do)."""

    def __init__(self, patient_id: int) -> None:
        self.patient_id = patient_id
        self._read: dict[int, Sequence[Row[Any]]] = {}
        self.header = self(HEADER)[0]

    def __call__(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        if id(statement) not in self._read:
            self._read[id(statement)] = (
                session.connection().execute(statement, {"patient_id": self.patient_id}).all()
            )
        return self._read[id(statement)]


def build_view(patient_id: int, sections: tuple[Section, ...] | list[Section]) -> dict[str, Any]:
    """Return the header and, in canonical order, the data of each given section only, of
    the patient with this id."""
    session.flush()  # the statements below read the database: pending changes first
    wanted = [section for section in Section if section in set(sections)]
    rows = _Rows(patient_id)
    header = rows.header
    stamps = {stamp.section: stamp for stamp in rows(STAMPS)}
    built = []
    for section in wanted:
        stamp = stamps.get(section.value)
        built.append(
            {
                "key": section.value,
                "label": SECTION_LABELS[section],  # translated if a page shows it
                "updated_at": stamp.updated_at if stamp else None,
                "updated_by": stamp.updated_by if stamp else None,
                # The ETP team writes its sections, whatever a stamp says.
                "by_team": section in TEAM_SECTIONS
                or (stamp is not None and stamp.author_kind.value == "team"),
                "data": BUILDERS[section](rows),
            }
        )
    return {
        # Whose summary this is: always shown, so nobody reads the wrong patient's data.
        "patient": {
            "first_name": header.first_name,
            "last_name": header.last_name,
            "full_name": full_name(header.first_name, header.last_name),
            "birth_date": header.birth_date,
            # What the pages about them agree with (« partagée par la patiente »).
            "sex": header.sex.value if header.sex else None,
        },
        "sections": built,
        "shown": [section.value for section in wanted],
        "summary_version": header.summary_version,
    }


def _identity(rows: _Rows) -> dict[str, Any]:
    header = rows.header
    return {
        "full_name": full_name(header.first_name, header.last_name),
        "birth_date": header.birth_date,
        "phone": header.phone or "",
    }


def _conditions(rows: _Rows) -> list[dict[str, Any]]:
    return [
        {
            "label": condition.label,
            "is_rare": condition.is_rare,
            "orphacode": condition.orphacode or "",
            "orphanet_url": disease_url(condition.orphacode),
            # Only an Orphanet Urgences sheet entered by the team, checked again here: an
            # address stored before the rule (another host, the disease page) is not shown.
            "guideline_url": urgences_url(condition.emergency_guideline_url),
            "notes": condition.notes,
        }
        for condition in rows(CONDITIONS)
    ]


def _treatments(rows: _Rows) -> list[dict[str, Any]]:
    # Vital treatments first, then the emergency ones: they matter most to whoever reads in
    # a hurry.
    medications = sorted(
        rows(MEDICATIONS), key=lambda m: (not m.is_critical, not m.is_emergency, m.id)
    )
    return [
        {
            "name": medication.name,
            "dosage": medication.dosage,
            "instructions": medication.instructions,
            "is_critical": medication.is_critical,
            "is_emergency": medication.is_emergency,
        }
        for medication in medications
    ]


def _allergies(rows: _Rows) -> list[dict[str, Any]]:
    return [
        {
            "substance": allergy.substance,
            "reaction": allergy.reaction,
            "is_intolerance": allergy.is_intolerance,
            "is_severe": allergy.is_severe,
        }
        for allergy in rows(ALLERGIES)
    ]


def _emergency_protocol(rows: _Rows) -> dict[str, Any] | None:
    protocol = next(iter(rows(PROTOCOL)), None)
    if protocol is None:
        return None
    values: dict[str, Any] = {name: getattr(protocol, name) or "" for name in PROTOCOL_TEXTS}
    values["immediate_action"] = immediate_action(
        values["immediate_drug"], values["immediate_dose"], values["immediate_routes"]
    )
    kind = protocol.reference_centre_kind
    values["reference_centre_kind"] = kind.value if kind is not None else ""
    values["reference_centre_24h"] = bool(protocol.reference_centre_24h)
    return values


def _emergency_contacts(rows: _Rows) -> list[dict[str, str]]:
    return [
        {"name": contact.name, "relationship": contact.relationship_label, "phone": contact.phone}
        for contact in rows(CONTACTS)
    ]


def _care_team(rows: _Rows) -> list[dict[str, str]]:
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
        for member in rows(CARE_TEAM)
    ]


def _by_enrollment(found: Sequence[Row[Any]]) -> dict[int, list[Row[Any]]]:
    grouped: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in found:
        grouped[row.enrollment_id].append(row)
    return grouped


def _etp_progress(rows: _Rows) -> list[dict[str, Any]]:
    objectives = _by_enrollment(rows(OBJECTIVES))
    attendances = _by_enrollment(rows(ATTENDANCES))
    competencies = _by_enrollment(rows(COMPETENCIES))
    return [
        {
            "programme": enrollment.name,
            "hospital": enrollment.hospital,
            "service": enrollment.service,
            "coordinator": {
                "name": enrollment.coordinator_name,
                "phone": enrollment.coordinator_phone,
                "email": enrollment.coordinator_email,
            },
            "started_on": enrollment.started_on,
            "ended_on": enrollment.ended_on,
            "bep_synthesis": enrollment.bep_synthesis,
            "gp_topics": enrollment.gp_topics,
            "objectives": [
                {"text": o.text, "status": o.status.value} for o in objectives[enrollment.id]
            ],
            "remaining_objectives": [
                o.text for o in objectives[enrollment.id] if o.status != ObjectiveStatus.ACHIEVED
            ],
            "workshops": [
                {
                    "title": a.title,
                    "status": a.status.value,
                    "scheduled_on": a.scheduled_on,
                    "attended": a.status == AttendanceStatus.ATTENDED,
                }
                for a in attendances[enrollment.id]
            ],
            "competencies": [
                {"text": c.text, "status": c.status.value} for c in competencies[enrollment.id]
            ],
            "competencies_by_status": _competencies_by_status(competencies[enrollment.id]),
        }
        for enrollment in rows(ENROLLMENTS)
    ]


def _competencies_by_status(found: list[Row[Any]]) -> list[dict[str, Any]]:
    """The competencies grouped by status, in COMPETENCY_ORDER, empty groups left out."""
    return [
        {"status": status.value, "texts": [c.text for c in found if c.status == status]}
        for status in COMPETENCY_ORDER
        if any(c.status == status for c in found)
    ]


def _treatment_objectives(rows: _Rows) -> list[dict[str, str]]:
    objectives = _by_enrollment(rows(OBJECTIVES))
    return [
        {"text": objective.text, "status": objective.status.value, "programme": enrollment.name}
        for enrollment in rows(ENROLLMENTS)
        for objective in objectives[enrollment.id]
        if objective.is_treatment_related
    ]


def _life_context(rows: _Rows) -> dict[str, str]:
    return {"text": rows.header.life_context}


def _letters(rows: _Rows) -> list[dict[str, Any]]:
    # Imported here: the letters package itself reads shares (its GP link) at import.
    from pathway.letters import shared_letters

    return [
        {
            "public_id": letter.public_id,
            "kind": letter.kind.value,
            "version": letter.version,
            "issued_at": letter.issued_at,
            "programme": letter.enrollment.programme.name,
        }
        # The patient is in the session already wherever letters are shown (no query).
        for letter in shared_letters(session.get_one(Patient, rows.patient_id))
    ]


BUILDERS: dict[Section, Callable[[_Rows], Any]] = {
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
