"""The patient's rights: download all their data, and delete their account.

The export is machine-readable JSON, documented field by field in docs/data-export.md.
Deleting the account deletes the patient and everything they own in one transaction
(the database cascades), so every link of theirs answers 404 on the very next request.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select

from pathway import ROOT, audit, mail, notifications
from pathway.auth import accounts
from pathway.db import session, utcnow
from pathway.documents import DocumentError, render_pdf
from pathway.models import (
    AccessEvent,
    Contribution,
    LetterLink,
    Message,
    Notification,
    Patient,
    ProgrammeInvitation,
    User,
)
from pathway.rules import RuleBroken
from pathway.sharing.access import access_log
from pathway.sharing.sections import Section, section_names
from pathway.sharing.view import build_view

EXPORT_FORMAT = "pathway.patient-export"
EXPORT_VERSION = 1

# Secrets and internal keys: never exported (they protect the patient, they are not about them).
SECRET_COLUMNS = frozenset(
    {"password_hash", "passcode_hash", "totp_secret", "totp_last_step", "pdf"}
)


class PrivacyError(RuleBroken):
    """The request cannot be honoured; the message is translated."""


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _row(obj: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of a row, as JSON values (keys are the column names)."""
    columns = inspect(obj).mapper.column_attrs
    return {
        attr.key: _value(getattr(obj, attr.key))
        for attr in columns
        if attr.key not in SECRET_COLUMNS and attr.key not in skip
    }


# The access log printed in the summary's PDF: the last 12 months.
PDF_LOG_DAYS = 365
SUMMARY_CSS = ROOT / "static" / "css" / "summary-pdf.css"


def summary_pdf(patient: Patient) -> bytes:
    """The patient's whole summary as a PDF in their language — the sections a recipient
    sees, then who opened what in the last 12 months —, the document they bring to a new
    doctor. Raises PrivacyError when it cannot be rendered."""
    locale = patient.user.locale if patient.user is not None and patient.user.locale else "fr"
    since = utcnow() - dt.timedelta(days=PDF_LOG_DAYS)
    with force_locale(locale):
        view = build_view(patient.id, tuple(Section))
        entries = [e for e in access_log(patient.id, limit=2000) if e.event.occurred_at >= since]
        html = render_template(
            "account/summary_pdf.html",
            view=view,
            entries=entries,
            section_labels=section_names,
            printed_on=utcnow(),
            locale=locale,
        )
        try:
            return render_pdf(html, SUMMARY_CSS.read_text(encoding="utf-8")).data
        except DocumentError:
            raise PrivacyError(
                _("Your summary could not be made into a PDF. Try again in a moment.")
            ) from None


def export_patient_data(patient: Patient) -> dict[str, Any]:
    """Return all the patient's data as plain JSON values."""
    user = patient.user
    shares = list(patient.shares)
    share_ids = [share.id for share in shares]
    events = (
        session.scalars(
            select(AccessEvent).where(AccessEvent.share_id.in_(share_ids)).order_by(AccessEvent.id)
        ).all()
        if share_ids
        else []
    )
    share_public = {share.id: share.public_id for share in shares}
    letter_links = {
        link.share_id: link
        for link in (
            session.scalars(select(LetterLink).where(LetterLink.share_id.in_(share_ids)))
            if share_ids
            else []
        )
    }
    invitations = session.scalars(
        select(ProgrammeInvitation)
        .where(ProgrammeInvitation.patient_id == patient.id)
        .order_by(ProgrammeInvitation.id)
    ).all()
    enrollments = []
    for enrollment in patient.enrollments:
        record = _row(enrollment)
        record["programme"] = _row(enrollment.programme)
        record["objectives"] = [_row(o) for o in enrollment.objectives]
        record["workshops"] = [
            {**_row(a), "workshop_title": a.workshop.title} for a in enrollment.attendances
        ]
        record["competencies"] = [_row(c) for c in enrollment.competencies]
        record["consents"] = [_row(c) for c in enrollment.consents]
        record["letters"] = [
            # The patient's copy (the GP's, with its link); the reader copy is the same page
            # without the link.
            {
                **_row(letter, skip=frozenset({"reader_pdf"})),
                "pdf_base64": base64.b64encode(letter.pdf).decode("ascii"),
            }
            for letter in enrollment.letters
        ]
        enrollments.append(record)
    contributions = session.scalars(
        select(Contribution).where(Contribution.patient_id == patient.id).order_by(Contribution.id)
    ).all()
    messages = (
        session.scalars(
            select(Message).where(Message.share_id.in_(share_ids)).order_by(Message.id)
        ).all()
        if share_ids
        else []
    )
    notifications = (
        session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        ).all()
        if user is not None
        else []
    )
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _value(utcnow()),
        "account": _row(user, skip=frozenset({"failed_logins", "locked_until", "session_version"}))
        if user is not None
        else None,
        "patient": _row(patient),
        "section_updates": [_row(stamp) for stamp in patient.section_updates],
        "conditions": [_row(item) for item in patient.conditions],
        "treatments": [_row(item) for item in patient.medications],
        "allergies": [_row(item) for item in patient.allergies],
        "emergency_protocol": _row(patient.emergency_protocol)
        if patient.emergency_protocol
        else None,
        "emergency_contacts": [_row(item) for item in patient.emergency_contacts],
        "care_team": [_row(item) for item in patient.care_team],
        "enrollments": enrollments,
        "shares": [
            {
                **_row(share),
                "has_passcode": share.passcode_hash is not None,
                **_letter_link_of(letter_links.get(share.id), share_public),
            }
            for share in shares
        ],
        "access_events": [
            {**_row(event), "share_public_id": share_public[event.share_id]} for event in events
        ],
        "contributions": [_row(item) for item in contributions],
        "messages": [_row(item) for item in messages],
        # patient_id names the patient a team member's notice is about: none of the patient's own.
        "notifications": [_row(item, skip=frozenset({"patient_id"})) for item in notifications],
        "programme_invitations": [
            {**_row(item), "programme_name": item.programme.name} for item in invitations
        ],
    }


def _letter_link_of(link: LetterLink | None, share_public: dict[int, str]) -> dict[str, Any]:
    """For a letter's own link: which letter it is printed on, and which link it was made from."""
    if link is None:
        return {"letter_public_id": None, "made_from_share_public_id": None}
    return {
        "letter_public_id": link.letter.public_id if link.letter is not None else None,
        "made_from_share_public_id": share_public.get(link.derived_from_id or 0),
    }


def delete_account(user: User, checked: accounts.SignInResult) -> None:
    """Delete the patient's account and all their data, once their password has been typed
    again: `checked` is what accounts.check_password_again() said of it (the one check of
    a password, counted towards the lockout; the caller commits it before calling this)."""
    if checked.user is None or checked.user.id != user.id:
        raise PrivacyError(
            field="password", message=str(_l("Wrong password: nothing was deleted."))
        )
    patient = user.patient
    if patient is None:
        raise PrivacyError(
            field="password", message=str(_l("This account has no personal summary."))
        )
    # What other people keep about the patient says nothing of them any more: the team's
    # notices lose the patient's and the GP's names, the security trail the patient's id,
    # and mail not yet sent to the patient is dropped.
    notifications.forget_patient(patient.id)
    detached = audit.forget_patient(patient.id)
    mail.forget_recipient(user.email)
    # Shares, sections, enrollments, letters, access events… go with the patient
    # (ON DELETE CASCADE).
    session.delete(patient)
    session.flush()
    session.delete(user)
    session.flush()
    audit.record(audit.Tag.ACCOUNT_DELETED, count=detached)
