"""Build the plain values a letter is made from (its snapshot), and render them.

Templates receive only these strings and lists, never ORM objects; the snapshot stored
with an issued letter is exactly this dict, so what was sent can always be explained.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale, ngettext, pgettext
from flask_babel import gettext as _

from pathway import ROOT, identifiers
from pathway.i18n import format_day
from pathway.models import (
    AttendanceStatus,
    Consent,
    Enrollment,
    LetterKind,
    ObjectiveStatus,
    Patient,
    Sex,
    User,
    Workshop,
    WorkshopAttendance,
)
from pathway.models.patients import IdentityStatus

LETTER_CSS = ROOT / "static" / "css" / "letter.css"


@cache
def letter_css() -> str:
    """The letter's stylesheet, read once from the app's own files (passed as a string)."""
    return Path(LETTER_CSS).read_text(encoding="utf-8")


def _date(value: dt.date | dt.datetime | None) -> str:
    return format_day(value, "long")


def workshop_format(workshop: Workshop) -> str:
    """The catalogue's format of a workshop: « atelier collectif, 2 h », « atelier individuel »."""
    kind = _("collective workshop") if workshop.is_collective else _("individual workshop")
    minutes = workshop.duration_minutes
    if not minutes:
        return kind
    hours, rest = divmod(minutes, 60)
    if not hours:
        length = _("%(minutes)d min", minutes=rest)
    elif not rest:
        length = _("%(hours)d h", hours=hours)
    else:
        length = _("%(hours)d h %(minutes)02d", hours=hours, minutes=rest)
    return _("%(kind)s, %(length)s", kind=kind, length=length)


def _status(attendance: WorkshopAttendance, today: dt.date) -> str:
    """A session as the start letter lists it: planned ahead, or what became of it."""
    if attendance.status == AttendanceStatus.ATTENDED:
        return "attended"
    if attendance.status == AttendanceStatus.MISSED:
        return "missed"
    if attendance.scheduled_on is not None and attendance.scheduled_on < today:
        return "unrecorded"  # its date has passed and nobody said whether it was attended
    return "planned"


def _patient(patient: Patient) -> dict[str, Any]:
    """The patient as the identity rules print them: the used name in sentences, and the
    strict traits (birth name, first names at birth, sex, birth date), with the INS and its
    OID only when the identity is qualified and they check (pathway.identifiers): an INS
    may be shared only once the identity was both checked on an identity document and
    retrieved or verified through the INSi teleservice."""
    sex = patient.sex.value if patient.sex is not None else None
    civility = ""
    if patient.sex == Sex.FEMALE:
        civility = pgettext("civility", "Ms")
    elif patient.sex == Sex.MALE:
        civility = pgettext("civility", "Mr")
    ins = None
    if (
        patient.identity_status == IdentityStatus.QUALIFIED
        and patient.ins
        and patient.ins_oid in identifiers.INS_OIDS
    ):
        checked = identifiers.check_ins(patient.ins, sex=sex, birth_date=patient.birth_date)
        if isinstance(checked, str):
            ins = {
                "number": identifiers.format_ins(checked),
                "oid": patient.ins_oid,
                "kind": "NIR" if patient.ins_oid == identifiers.INS_OID_NIR else "NIA",
            }
    birth_name = (patient.birth_name or patient.last_name).strip()
    return {
        "name": " ".join(part for part in (civility, patient.full_name) if part),
        "civility": civility,
        "sex": sex,
        "birth_date": _date(patient.birth_date),
        "birth_name": birth_name.upper(),
        "used_name": (
            patient.last_name.upper()
            if patient.last_name.strip().upper() != birth_name.upper()
            else ""
        ),
        "first_names": patient.birth_first_names.strip() or patient.first_name,
        "ins": ins,
    }


def compose(
    enrollment: Enrollment,
    kind: LetterKind,
    *,
    locale: str,
    issued_on: dt.date,
    consent: Consent | None,
    copy_given_to_patient: bool,
    has_link: bool,
    educator: User | None = None,
    reference: str = "",
    link_expires_on: dt.date | None = None,
    link_takes_replies: bool = False,
) -> dict[str, Any]:
    """The letter's values, as JSON-ready strings and lists, formatted in the letter's language.

    `has_link` says whether the letter carries a link to the summary for its addressee; the
    link itself is never among the values (nor in the stored snapshot): it is made at issue
    for the GP alone and printed only on their copy (render_letter_html's `link`), as a QR
    code with the letter's short `reference`, never spelled out. `educator` signs it."""
    programme = enrollment.programme
    patient = enrollment.patient
    gp = patient.gp
    with force_locale(locale):
        attendances = list(enrollment.attendances)
        values: dict[str, Any] = {
            "kind": kind.value,
            "locale": locale,
            "date": _date(issued_on),
            "place": programme.city,
            "reference": reference,
            "programme": {
                "name": programme.name,
                "hospital": programme.hospital,
                "service": programme.service,
                "address": programme.address,
                "finess": programme.finess,
                "ars_reference": programme.ars_reference,
                "has_logo": programme.logo_type is not None,
            },
            "coordinator": {
                "name": programme.coordinator_name,
                "phone": programme.coordinator_phone,
                "email": programme.coordinator_email,
                "sex": (
                    programme.coordinator_sex.value
                    if programme.coordinator_sex is not None
                    else None
                ),
                "profession": programme.coordinator_profession,
            },
            "signer": (
                {
                    "name": educator.display_name or educator.email,
                    "profession": educator.profession,
                    "rpps": educator.rpps or "",
                }
                if educator is not None
                else None
            ),
            "gp": ({"name": gp.name, "organisation": gp.organisation} if gp is not None else None),
            "patient": _patient(patient),
            "started_on": _date(enrollment.started_on),
            "consent": (
                {"date": _date(consent.given_at), "method": consent.method}
                if consent is not None
                else None
            ),
            "has_link": has_link,
            "link": (
                {"expires_on": _date(link_expires_on), "replies": link_takes_replies}
                if has_link
                else None
            ),
        }
        if kind == LetterKind.START:
            values["bep_synthesis"] = enrollment.bep_synthesis
            values["objectives"] = [o.text for o in enrollment.objectives]
            values["workshops"] = [
                {
                    "title": a.workshop.title,
                    "format": workshop_format(a.workshop),
                    "date": format_day(a.scheduled_on, "medium"),
                    "status": _status(a, issued_on),
                }
                for a in attendances
            ]
        else:
            values["attended"] = [
                {
                    "title": a.workshop.title,
                    "format": workshop_format(a.workshop),
                    "date": format_day(a.scheduled_on, "medium"),
                }
                for a in attendances
                if a.status == AttendanceStatus.ATTENDED
            ]
            values["competencies"] = [
                {"text": c.text, "status": c.status.value} for c in enrollment.competencies
            ]
            values["remaining_objectives"] = [
                o.text for o in enrollment.objectives if o.status != ObjectiveStatus.ACHIEVED
            ]
            values["gp_topics"] = enrollment.gp_topics
            values["copy_given_to_patient"] = copy_given_to_patient
    return values


def warnings_before_issue(enrollment: Enrollment, kind: LetterKind, today: dt.date) -> list[str]:
    """What the educator should look at before issuing, though the letter may be issued:
    sessions whose date has passed still planned; for the end letter, sessions still
    planned and objectives never evaluated (still « in progress »)."""
    warnings = []
    planned = [a for a in enrollment.attendances if a.status == AttendanceStatus.PLANNED]
    past = [a for a in planned if a.scheduled_on is not None and a.scheduled_on < today]
    if kind == LetterKind.END and planned:
        warnings.append(
            ngettext(
                "%(num)d workshop session is still planned (%(titles)s): mark it attended or "
                "missed, or remove it, before the end letter.",
                "%(num)d workshop sessions are still planned (%(titles)s): mark them attended "
                "or missed, or remove them, before the end letter.",
                len(planned),
                titles=", ".join(a.workshop.title for a in planned),
            )
        )
    elif past:
        warnings.append(
            ngettext(
                "The date of %(num)d planned session has passed (%(titles)s): say whether it "
                "was attended.",
                "The dates of %(num)d planned sessions have passed (%(titles)s): say whether "
                "they were attended.",
                len(past),
                titles=", ".join(a.workshop.title for a in past),
            )
        )
    if kind == LetterKind.END:
        unrated = [o for o in enrollment.objectives if o.status == ObjectiveStatus.IN_PROGRESS]
        if unrated:
            warnings.append(
                ngettext(
                    "%(num)d objective has no status after the programme (%(titles)s): say "
                    "whether it is achieved or still to work on.",
                    "%(num)d objectives have no status after the programme (%(titles)s): say "
                    "whether they are achieved or still to work on.",
                    len(unrated),
                    titles=", ".join(f"« {o.text} »" for o in unrated),
                )
            )
    return warnings


# French puts a no-break space before « : », and a narrow one before « ; ? ! »; a letter's
# text (from the catalogue and from what the team typed) gets them, tags and URLs untouched.
_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]*:(?=[\s<]|$)")
_BEFORE_PUNCTUATION = re.compile(r"(?<=\w|[»)\]])[ \u00a0\u202f]*([;?!])(?=\s|$)")
_TEXT = re.compile(r">([^<]+)<")
_ENTITY = re.compile(r"(&#?\w+;)")


def french_spacing(html: str) -> str:
    """The letter's text nodes with the no-break spaces French typography puts before
    « : ; ? ! » and inside guillemets (a line never begins with one of them); character
    references (&#39;) and tags are left as they are."""

    def words(part: str) -> str:
        if _ENTITY.fullmatch(part):
            return part
        part = _BEFORE_COLON.sub("\u00a0:", part)
        part = _BEFORE_PUNCTUATION.sub("\u202f\\1", part)
        # Guillemets hold their words: « Programme A » never breaks inside.
        return part.replace("« ", "«\u00a0").replace(" »", "\u00a0»")

    def text(match: re.Match[str]) -> str:
        return ">" + "".join(words(part) for part in _ENTITY.split(match.group(1))) + "<"

    return _TEXT.sub(text, html)


def render_letter_html(
    values: dict[str, Any],
    *,
    standalone: bool,
    link: str | None = None,
    qr_data_uri: str | None = None,
    logo: str | None = None,
) -> str:
    """The letter as HTML in its own language: a whole document for the PDF, or a fragment.

    With `link` (and its QR code), the copy for the addressee; without, the same page with a
    placeholder of the same size where the link would be, for every other reader."""
    template = "letters/letter.html" if standalone else "letters/_letter.html"
    with force_locale(values["locale"]):
        html = render_template(template, letter=values, link=link, qr=qr_data_uri, logo=logo)
    return french_spacing(html) if values["locale"] == "fr" else html
