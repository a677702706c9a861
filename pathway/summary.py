"""The patient's summary: who changed which section, and when."""

from __future__ import annotations

from sqlalchemy import select

from pathway.db import session, utcnow
from pathway.models import Patient, SectionUpdate
from pathway.sharing.sections import Section


def touch_section(patient: Patient, section: Section, updated_by: str) -> None:
    """Stamp a section as changed now by someone, and bump the summary's version.

    Call it in the same transaction as the change itself. The version lets the
    access log say exactly which state of the summary each recipient saw.
    """
    stamp = session.scalar(
        select(SectionUpdate).where(
            SectionUpdate.patient_id == patient.id, SectionUpdate.section == section.value
        )
    )
    if stamp is None:
        stamp = SectionUpdate(patient_id=patient.id, section=section.value, updated_by=updated_by)
        session.add(stamp)
    stamp.updated_at = utcnow()
    stamp.updated_by = updated_by[:120]
    patient.summary_version = (patient.summary_version or 1) + 1
