"""The critical facts printed on the wallet card and the lock-screen image.

Printed documents cannot be updated once in a wallet, so they carry only the few facts
a responder needs without a network. They are taken from the emergency view dict
(built from the card's shared sections alone) and shortened to fit an ID-1 card.
"""

from __future__ import annotations

from typing import Any

from pathway.models import Patient, Share
from pathway.sharing.sections import parse_sections
from pathway.sharing.view import build_view

MAX_CONDITIONS = 2
MAX_ALLERGIES = 4
MAX_TEXT = 90
MAX_ACTION = 200


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Shorten a text to the limit, on one line, marking the cut with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def patient_locale(patient: Patient) -> str:
    return patient.user.locale if patient.user is not None and patient.user.locale else "fr"


def _substances(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"substance": clip(a["substance"], 40), "is_severe": a["is_severe"]}
        for a in items[:MAX_ALLERGIES]
    ]


def card_facts(share: Share) -> dict[str, Any]:
    """The printed facts of an emergency card, as plain JSON-ready values."""
    view = build_view(share.patient_id, parse_sections(share.sections))
    data = {section["key"]: section["data"] for section in view["sections"]}
    birth_date = view["patient"]["birth_date"]
    protocol = data.get("emergency_protocol") or {}
    shared_allergies = "allergies" in data
    # Allergies and intolerances are two lists: an intolerance is never printed as an
    # allergy (responders treat them differently). Severe allergies first.
    allergies = sorted(
        (a for a in data.get("allergies") or [] if not a["is_intolerance"]),
        key=lambda a: not a["is_severe"],
    )
    intolerances = [a for a in data.get("allergies") or [] if a["is_intolerance"]]
    return {
        "locale": patient_locale(share.patient),
        "full_name": clip(view["patient"]["full_name"], 60),
        "birth_date": birth_date.isoformat() if birth_date else "",
        "conditions": [
            {"label": clip(c["label"], 80), "orphacode": c["orphacode"], "is_rare": c["is_rare"]}
            for c in (data.get("conditions") or [])[:MAX_CONDITIONS]
        ],
        "more_conditions": max(0, len(data.get("conditions") or []) - MAX_CONDITIONS),
        # None when the section is not on the card: "none known" would be a dangerous claim.
        "allergies": _substances(allergies) if shared_allergies else None,
        "more_allergies": max(0, len(allergies) - MAX_ALLERGIES),
        "intolerances": _substances(intolerances) if shared_allergies else None,
        "more_intolerances": max(0, len(intolerances) - MAX_ALLERGIES),
        # Printed whole: the summary refuses an immediate action or a vital treatment that
        # would not fit the card (pathway.cards.card); the limit only guards older rows.
        "immediate_action": clip(protocol.get("immediate_action", ""), MAX_ACTION),
        "vital_treatment": clip(protocol.get("vital_treatment", ""), MAX_ACTION),
        "contraindicated": clip(protocol.get("contraindicated_drugs", ""), MAX_TEXT),
        "treating_physician": clip(protocol.get("treating_physician", ""), 60),
        "treating_physician_phone": clip(protocol.get("treating_physician_phone", ""), 25),
        "reference_centre": clip(protocol.get("reference_centre", ""), 110),
        "reference_centre_kind": protocol.get("reference_centre_kind", ""),
        "reference_centre_phone": clip(protocol.get("reference_centre_phone", ""), 25),
        "reference_centre_24h": bool(protocol.get("reference_centre_24h", False)),
        "contacts": [
            {
                "name": clip(c["name"], 40),
                "relationship": clip(c["relationship"], 25),
                "phone": clip(c["phone"], 25),
            }
            for c in (data.get("emergency_contacts") or [])[:1]
        ],
    }
