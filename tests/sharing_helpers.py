"""Helpers shared by the sharing tests: make a share, open its link, read the access log."""

from __future__ import annotations

from sqlalchemy import func, select

from pathway.models import AccessEvent, Patient, Share
from pathway.sharing import shares
from pathway.sharing.sections import PRESETS, Audience, Section

# One sentinel string per section of tests.factories.make_patient("Alice") (+ enroll()).
SENTINELS: dict[Section, tuple[str, ...]] = {
    Section.CONDITIONS: ("Alice condition",),
    Section.TREATMENTS: ("Alice critical drug", "Alice daily drug"),
    Section.ALLERGIES: ("Alice allergen",),
    Section.EMERGENCY_PROTOCOL: (
        "Alice situations",
        "Alice what to do",
        "Alice critical action",
        "Alice what to avoid",
        "Alice reference centre",
    ),
    Section.EMERGENCY_CONTACTS: ("Alice contact",),
    Section.CARE_TEAM: ("Dr Alice GP", "gp-alice@medecin.mssante.fr"),
    Section.ETP_PROGRESS: (
        "Alice life objective",
        "Alice treatment objective",
        "Coordinator of Programme A",
    ),
    Section.TREATMENT_OBJECTIVES: ("Alice treatment objective",),
    Section.LIFE_CONTEXT: ("Alice life context",),
}


def assert_scope(html: str, chosen) -> None:  # type: ignore[no-untyped-def]
    """Every sentinel of a shared section is in the page; no sentinel of only unshared ones is."""
    for sentinels in SENTINELS.values():
        for sentinel in sentinels:
            owners = {section for section, owned in SENTINELS.items() if sentinel in owned}
            assert (sentinel in html) == bool(owners & set(chosen)), (sentinel, owners, chosen)


def make_share(
    patient: Patient, audience: Audience = Audience.GP, sections=None, **options
) -> Share:  # type: ignore[no-untyped-def]
    """A share created through the domain function, as the patient's page would."""
    return shares.create_share(
        patient,
        audience=audience,
        label=options.pop("label", "Dr Martin, cabinet de Trélazé"),
        sections=tuple(sections) if sections is not None else PRESETS[audience],
        **options,
    )


def path_of(share: Share) -> str:
    """The link's path (/s/<token>), without the configured origin."""
    return f"/s/{shares.share_token(share)}"


def events_of(db, share: Share) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(
        select(func.count()).select_from(AccessEvent).where(AccessEvent.share_id == share.id)
    )
