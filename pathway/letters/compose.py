"""Build the plain values a letter is made from (its snapshot), and render them.

Templates receive only these strings and lists, never ORM objects; the snapshot stored
with an issued letter is exactly this dict, so what was sent can always be explained.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale, format_date

from pathway import ROOT
from pathway.models import (
    AttendanceStatus,
    Consent,
    Enrollment,
    LetterKind,
    ObjectiveStatus,
)

LETTER_CSS = ROOT / "static" / "css" / "letter.css"


@cache
def letter_css() -> str:
    """The letter's stylesheet, read once from the app's own files (passed as a string)."""
    return Path(LETTER_CSS).read_text(encoding="utf-8")


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    text: str = format_date(value, format="long")
    return text


def compose(
    enrollment: Enrollment,
    kind: LetterKind,
    *,
    locale: str,
    issued_on: dt.date,
    consent: Consent | None,
    copy_given_to_patient: bool,
    has_link: bool,
) -> dict[str, Any]:
    """The letter's values, as JSON-ready strings and lists, formatted in the letter's language.

    `has_link` says whether the letter carries a link to the summary for its addressee; the
    link itself is never among the values (nor in the stored snapshot): it is made at issue
    for the GP alone and printed only on their copy (render_letter_html's `link`)."""
    programme = enrollment.programme
    patient = enrollment.patient
    gp = patient.gp
    with force_locale(locale):
        attendances = [a for a in enrollment.attendances if a.status != AttendanceStatus.MISSED]
        values: dict[str, Any] = {
            "kind": kind.value,
            "locale": locale,
            "date": _date(issued_on),
            "programme": {
                "name": programme.name,
                "hospital": programme.hospital,
                "service": programme.service,
                "address": programme.address,
            },
            "coordinator": {
                "name": programme.coordinator_name,
                "phone": programme.coordinator_phone,
                "email": programme.coordinator_email,
            },
            "gp": ({"name": gp.name, "organisation": gp.organisation} if gp is not None else None),
            "patient": {
                "name": patient.full_name,
                "birth_date": _date(patient.birth_date),
            },
            "started_on": _date(enrollment.started_on),
            "consent": (
                {"date": _date(consent.given_at), "method": consent.method}
                if consent is not None
                else None
            ),
            "has_link": has_link,
        }
        if kind == LetterKind.START:
            values["bep_synthesis"] = enrollment.bep_synthesis
            values["objectives"] = [o.text for o in enrollment.objectives]
            values["workshops"] = [
                {"title": a.workshop.title, "date": _date(a.scheduled_on)} for a in attendances
            ]
        else:
            values["attended"] = [
                {"title": a.workshop.title, "date": _date(a.scheduled_on)}
                for a in attendances
                if a.status == AttendanceStatus.ATTENDED
            ]
            values["competencies"] = [
                {"text": c.text, "acquired": c.is_acquired} for c in enrollment.competencies
            ]
            values["remaining_objectives"] = [
                o.text for o in enrollment.objectives if o.status != ObjectiveStatus.ACHIEVED
            ]
            values["gp_topics"] = enrollment.gp_topics
            values["copy_given_to_patient"] = copy_given_to_patient
    return values


def render_letter_html(
    values: dict[str, Any],
    *,
    standalone: bool,
    link: str | None = None,
    qr_data_uri: str | None = None,
) -> str:
    """The letter as HTML in its own language: a whole document for the PDF, or a fragment.

    With `link` (and its QR code), the copy for the addressee; without, the same page with a
    placeholder of the same size where the link would be, for every other reader."""
    template = "letters/letter.html" if standalone else "letters/_letter.html"
    with force_locale(values["locale"]):
        return render_template(template, letter=values, link=link, qr=qr_data_uri)
