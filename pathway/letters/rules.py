"""The recommendation's rules for the two letters to the GP, checked before anything is issued.

Each broken rule gives a message naming exactly what to shorten or fill. The last rule,
one A4 page at most, is checked on the rendered document (see service.issue_letter).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

# "Une synthèse du Bilan qui ne dépasse pas une dizaine de lignes": about 95 characters
# per printed line in the letter's layout.
BEP_MAX_LINES = 10
BEP_MAX_CHARS = 900
MAX_OBJECTIVES = 3
GP_TOPICS_MAX_CHARS = 600

FIELD_LABELS = {
    "bep_synthesis": _l("the BEP synthesis"),
    "objectives": _l("the objectives"),
    "workshops": _l("the planned workshops"),
    "attended": _l("the workshops attended"),
    "competencies": _l("the competencies"),
    "remaining_objectives": _l("the objectives still to work on"),
    "gp_topics": _l("what the patient wants to discuss with their GP"),
}


def check_letter(values: dict[str, Any]) -> list[str]:
    """Every rule the letter's values break, as messages for the educator (empty when fine)."""
    problems = _common(values)
    if values["kind"] == "start":
        problems += _start(values)
    else:
        problems += _end(values)
    return problems


def _common(values: dict[str, Any]) -> list[str]:
    problems = []
    coordinator = values["coordinator"]
    missing = [
        label
        for key, label in (
            ("name", _("the coordinator's name")),
            ("phone", _("the coordinator's direct phone number")),
            ("email", _("the coordinator's email address")),
        )
        if not coordinator[key].strip()
    ]
    if missing:
        problems.append(
            _("Fill in the programme's contact details: %(missing)s.", missing=", ".join(missing))
        )
    if not values["programme"]["hospital"].strip():
        problems.append(_("Fill in the programme's hospital (letter header)."))
    patient = values["patient"]
    if patient["sex"] is None:
        problems.append(
            _(
                "Fill in the patient's sex in their identity: the letter prints it, as the "
                "identity rules ask, and agrees with it."
            )
        )
    if not patient["birth_date"]:
        problems.append(_("Fill in the patient's date of birth: the letter prints it."))
    if values["gp"] is None or not values["gp"]["name"].strip():
        problems.append(
            _(
                "Add the patient's GP (médecin traitant) to their care team: "
                "the letter is addressed to them by name."
            )
        )
    return problems


def _start(values: dict[str, Any]) -> list[str]:
    problems = []
    bep = values["bep_synthesis"].strip()
    lines = len(bep.splitlines())
    if not bep:
        problems.append(_("Write the BEP synthesis (about ten lines at most)."))
    elif len(bep) > BEP_MAX_CHARS or lines > BEP_MAX_LINES:
        has = ngettext(
            "it has %(n)d characters and %(num)d line",
            "it has %(n)d characters and %(num)d lines",
            lines,
            n=len(bep),
        )
        problems.append(
            _(
                "Shorten the BEP synthesis to about ten lines: at most %(max)d characters "
                "and %(lines)d lines (%(has)s).",
                max=BEP_MAX_CHARS,
                lines=BEP_MAX_LINES,
                has=has,
            )
        )
    objectives = values["objectives"]
    if not objectives:
        problems.append(_("Add the personalised objectives elaborated with the patient (2 or 3)."))
    elif len(objectives) > MAX_OBJECTIVES:
        problems.append(
            _(
                "Keep %(max)d personalised objectives at most (there are %(n)d): remove %(extra)d.",
                max=MAX_OBJECTIVES,
                n=len(objectives),
                extra=len(objectives) - MAX_OBJECTIVES,
            )
        )
    if not values["workshops"]:
        problems.append(_("Plan at least one workshop for the patient."))
    return problems


def _end(values: dict[str, Any]) -> list[str]:
    problems = []
    if not values["attended"]:
        problems.append(_("Mark the workshops the patient actually attended."))
    if not values["competencies"]:
        problems.append(
            _("Add the competencies acquired or developed, one personalised line each.")
        )
    topics = values["gp_topics"].strip()
    if not topics:
        problems.append(_("Write what the patient wants to discuss with their GP."))
    elif len(topics) > GP_TOPICS_MAX_CHARS:
        problems.append(
            _(
                "Shorten what the patient wants to discuss with their GP to %(max)d characters "
                "(it has %(n)d).",
                max=GP_TOPICS_MAX_CHARS,
                n=len(topics),
            )
        )
    return problems


def too_long_message(values: dict[str, Any], pages: int) -> str:
    """Name the longest texts to shorten when the letter does not fit on one page."""
    sizes = []
    for key, label in FIELD_LABELS.items():
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, str):
            size = len(value)
        else:
            size = sum(
                len(item if isinstance(item, str) else item.get("title") or item.get("text") or "")
                for item in value
            )
        if size:
            sizes.append((size, str(label), value))
    sizes.sort(key=lambda item: item[0], reverse=True)
    parts = []
    for size, label, value in sizes[:3]:
        if isinstance(value, str):
            parts.append(_("%(what)s (%(n)d characters)", what=label, n=size))
        else:
            parts.append(
                ngettext(
                    "%(what)s (%(num)d item, %(n)d characters)",
                    "%(what)s (%(num)d items, %(n)d characters)",
                    len(value),
                    what=label,
                    n=size,
                )
            )
    return _(
        "The letter takes %(pages)d pages; it must fit on one A4 page. Shorten %(parts)s.",
        pages=pages,
        parts=", ".join(parts),
    )
