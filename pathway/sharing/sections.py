"""The closed list of summary sections, and each audience's default preset.

One enum, one module: every place that asks "which parts of the summary?" uses
these values, so a section cannot exist in one place and be missing in another.
"""

from __future__ import annotations

import enum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class Section(enum.StrEnum):
    IDENTITY = "identity"
    CONDITIONS = "conditions"
    TREATMENTS = "treatments"
    ALLERGIES = "allergies"
    EMERGENCY_PROTOCOL = "emergency_protocol"
    EMERGENCY_CONTACTS = "emergency_contacts"
    CARE_TEAM = "care_team"
    ETP_PROGRESS = "etp_progress"
    TREATMENT_OBJECTIVES = "treatment_objectives"
    LIFE_CONTEXT = "life_context"
    LETTERS = "letters"

    @property
    def label(self) -> str:
        return str(SECTION_LABELS[self])


SECTION_LABELS = {
    Section.IDENTITY: _l("Identity"),
    Section.CONDITIONS: _l("Conditions"),
    Section.TREATMENTS: _l("Treatments"),
    Section.ALLERGIES: _l("Allergies and intolerances"),
    Section.EMERGENCY_PROTOCOL: _l("Emergency protocol"),
    Section.EMERGENCY_CONTACTS: _l("Emergency contacts"),
    Section.CARE_TEAM: _l("Care team"),
    Section.ETP_PROGRESS: _l("Therapeutic education programme"),
    Section.TREATMENT_OBJECTIVES: _l("Treatment-related objectives"),
    Section.LIFE_CONTEXT: _l("What I want my professionals to know"),
    Section.LETTERS: _l("Letters to the GP"),
}


class Audience(enum.StrEnum):
    GP = "gp"
    PHARMACIST = "pharmacist"
    NURSE = "nurse"
    PARAMEDIC = "paramedic"
    FIREFIGHTER = "firefighter"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(AUDIENCE_LABELS[self])


AUDIENCE_LABELS = {
    Audience.GP: _l("General practitioner (médecin traitant)"),
    Audience.PHARMACIST: _l("Pharmacist"),
    Audience.NURSE: _l("Nurse"),
    Audience.PARAMEDIC: _l("Paramedics (SAMU, ambulance)"),
    Audience.FIREFIGHTER: _l("Firefighters"),
    Audience.OTHER: _l("Other professional"),
}

# Sections an emergency responder needs, and nothing more.
EMERGENCY_SECTIONS: tuple[Section, ...] = (
    Section.IDENTITY,
    Section.CONDITIONS,
    Section.ALLERGIES,
    Section.TREATMENTS,
    Section.EMERGENCY_PROTOCOL,
    Section.EMERGENCY_CONTACTS,
)

PRESETS: dict[Audience, tuple[Section, ...]] = {
    Audience.GP: tuple(Section),
    Audience.PHARMACIST: (
        Section.IDENTITY,
        Section.CONDITIONS,
        Section.TREATMENTS,
        Section.ALLERGIES,
        Section.TREATMENT_OBJECTIVES,
    ),
    Audience.PARAMEDIC: EMERGENCY_SECTIONS,
    Audience.FIREFIGHTER: EMERGENCY_SECTIONS,
    # For these the patient picks; identity is the only sensible starting point.
    Audience.NURSE: (Section.IDENTITY,),
    Audience.OTHER: (Section.IDENTITY,),
}

# Sections the ETP team writes (the patient reads them, never edits them): their author is
# always the team.
TEAM_SECTIONS = frozenset({Section.ETP_PROGRESS, Section.TREATMENT_OBJECTIVES, Section.LETTERS})

# Emergency services: the patient's emergency card serves them (no account, no code).
RESPONDER_AUDIENCES = (Audience.PARAMEDIC, Audience.FIREFIGHTER)

# Audiences that may be offered the reply form (two-way exchange).
REPLYING_AUDIENCES = frozenset({Audience.GP, Audience.PHARMACIST, Audience.NURSE})


def parse_sections(values: list[str] | tuple[str, ...]) -> tuple[Section, ...]:
    """Return the known sections among values, in the canonical order; ignore the rest."""
    wanted = set(values)
    return tuple(section for section in Section if section.value in wanted)


def section_names(values: list[str]) -> list[str]:
    """The sections' names, or one "All sections" when nothing is left out."""
    sections = parse_sections(values)
    if len(sections) == len(Section):
        return [_("All sections")]
    return [str(SECTION_LABELS[section]) for section in sections]
