"""Replies through a share, with the patient's consent at every step.

A professional who holds a link may reply (a Contribution). The reply goes to the
patient first, never straight to the team: only what the patient forwards reaches
the ETP team of the enrollment the patient picks (the team's side is in
pathway.team.replies). The team may answer (a Message), and the answer is shown on the
same link.

Text is stored as typed and always shown escaped by the templates; nothing here
produces HTML, and links in text are never turned into anchors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from pathway import audit
from pathway.db import session, utcnow
from pathway.mail_notices import is_email
from pathway.models import (
    Contribution,
    ContributionStatus,
    Enrollment,
    Message,
    Patient,
    Share,
    ShareKind,
    User,
)
from pathway.notifications import notify, notify_patient
from pathway.rules import RuleBroken
from pathway.sharing.sections import REPLYING_AUDIENCES
from pathway.sharing.shares import is_active

# One place for every limit: the forms take their maxlength from here, and the
# domain refuses anything longer whatever the client sent.
LIMITS: dict[str, int] = {
    "author_name": 120,
    "author_role": 80,
    "author_contact": 200,
    "rpps": 11,
    "life_situation": 2000,
    "comorbidities": 2000,
    "recent_events": 2000,
    "proposed_objective": 300,
    "message": 4000,
}
COMMENT_MAX = 2000
ANSWER_MAX = 4000
REQUIRED = ("author_name", "author_role", "author_contact")
CONTENT_FIELDS = (
    "life_situation",
    "comorbidities",
    "recent_events",
    "proposed_objective",
    "message",
)
RPPS_PATTERN = re.compile(r"\d{11}")

FIELD_LABELS = {
    "author_name": _l("Your name"),
    "author_role": _l("Your role"),
    "author_contact": _l("How to reach you"),
    "rpps": _l("RPPS number"),
    "life_situation": _l("Life situation"),
    "comorbidities": _l("Comorbidities"),
    "recent_events": _l("Recent significant events"),
    "proposed_objective": _l("Proposed complementary objective"),
    "message": _l("Message"),
}


class ExchangeError(RuleBroken):
    """A rule of the exchange was broken; the message is translated and names the field."""


class RepliesClosed(ExchangeError):
    """The share does not (or no longer) accept replies."""


# --- The professional's reply ------------------------------------------------------


def check_fields(fields: Mapping[str, str | None]) -> dict[str, str]:
    """Return the reply's fields stripped, or raise ExchangeError naming the first bad one."""
    cleaned = {name: (fields.get(name) or "").strip() for name in LIMITS}
    # Professionals often copy the RPPS number with spaces: drop them before checking.
    cleaned["rpps"] = re.sub(r"\s+", "", cleaned["rpps"])
    for name in REQUIRED:
        if not cleaned[name]:
            raise ExchangeError(_("This field is required."), name)
    for name, limit in LIMITS.items():
        if len(cleaned[name]) > limit:
            raise ExchangeError(
                _("This text is too long (%(max)d characters at most).", max=limit), name
            )
    if cleaned["rpps"] and not RPPS_PATTERN.fullmatch(cleaned["rpps"]):
        raise ExchangeError(_("The RPPS number has 11 digits."), "rpps")
    if not any(cleaned[name] for name in CONTENT_FIELDS):
        raise ExchangeError(_("Write at least one piece of information or a message."), "message")
    return cleaned


def check_open_for_replies(share: Share) -> None:
    """Refuse a reply unless the share allows replies and is active right now (DB state)."""
    if (
        share.kind != ShareKind.LINK
        or not share.allow_replies
        or share.audience not in REPLYING_AUDIENCES
    ):
        raise RepliesClosed(_("The patient has not opened this link to replies."))
    if not is_active(share):
        raise RepliesClosed(_("This link is no longer valid: replies are closed."))


def submit_contribution(share: Share, fields: Mapping[str, Any]) -> Contribution:
    """Store a professional's reply for the patient to read first, and tell the patient."""
    check_open_for_replies(share)
    cleaned = check_fields(fields)
    # Told of an answer by e-mail only at an address, and only if the professional asked.
    wants_mail = fields.get("wants_mail") in (True, "y", "on", "1", "true")
    if wants_mail and not is_email(cleaned["author_contact"]):
        raise ExchangeError(
            _("Give an e-mail address here to be told by e-mail of an answer."), "author_contact"
        )
    contribution = Contribution(
        share_id=share.id,
        patient_id=share.patient_id,
        status=ContributionStatus.PENDING,
        author_wants_mail=wants_mail,
        **cleaned,
    )
    audit.record_new(contribution, audit.Tag.SHARE_REPLY_RECEIVED, None, share=share)
    notify_patient(
        share.patient,
        "contribution_received",
        {"author": cleaned["author_name"], "label": share.label},
        link=f"/inbox/contributions/{contribution.id}",
    )
    return contribution


# --- The patient decides ---------------------------------------------------------


def contributions_of(patient: Patient) -> list[Contribution]:
    """The patient's contributions: pending first, then newest first."""
    items = session.scalars(
        select(Contribution)
        .where(Contribution.patient_id == patient.id)
        .order_by(Contribution.created_at.desc(), Contribution.id.desc())
    )
    return sorted(items, key=lambda c: c.status != ContributionStatus.PENDING)


def patient_contribution(patient: Patient, contribution_id: int) -> Contribution:
    """The access helper: the patient's own contribution, else 404."""
    contribution = session.scalar(
        select(Contribution).where(
            Contribution.id == contribution_id, Contribution.patient_id == patient.id
        )
    )
    if contribution is None:
        abort(404)
    return contribution


def mark_read(contribution: Contribution) -> None:
    """Note that the patient has read the contribution (once)."""
    if contribution.read_by_patient_at is None:
        contribution.read_by_patient_at = utcnow()


def _check_comment(comment: str) -> str:
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise ExchangeError(
            _("This text is too long (%(max)d characters at most).", max=COMMENT_MAX), "comment"
        )
    return comment


def forward(
    contribution: Contribution,
    enrollment_id: int | None,
    comment: str = "",
    *,
    actor: User | None = None,
) -> Enrollment:
    """Pass the contribution on to the ETP team of one of the patient's enrollments."""
    patient = session.get(Patient, contribution.patient_id)
    assert patient is not None
    if contribution.status == ContributionStatus.FORWARDED:
        raise ExchangeError(_("You have already passed this reply on to your ETP team."))
    if not patient.enrollments:
        raise ExchangeError(_("You are not enrolled in a therapeutic education programme."))
    enrollment = next((e for e in patient.enrollments if e.id == enrollment_id), None)
    if enrollment is None:
        raise ExchangeError(_("Choose the programme whose team should receive it."), "enrollment")
    cleaned = _check_comment(comment)
    mark_read(contribution)
    contribution.patient_comment = cleaned
    contribution.status = ContributionStatus.FORWARDED
    contribution.forwarded_at = utcnow()
    contribution.enrollment_id = enrollment.id
    session.flush()
    audit.record(
        audit.Tag.SHARE_REPLY_FORWARDED, actor=actor, patient_id=patient.id, enrollment=enrollment
    )
    for educator in enrollment.programme.educators:
        notify(
            educator.id,
            "contribution_forwarded",
            {"patient": patient.full_name, "author": contribution.author_name},
            link=f"/team/replies/{contribution.id}",
            patient_id=patient.id,
        )
    return enrollment


def keep(contribution: Contribution) -> None:
    """Keep the contribution to oneself: the team never sees it."""
    if contribution.status == ContributionStatus.FORWARDED:
        raise ExchangeError(_("You have already passed this reply on to your ETP team."))
    mark_read(contribution)
    contribution.status = ContributionStatus.KEPT


def comment(contribution: Contribution, text: str) -> None:
    """Save the patient's comment (the team reads it with a forwarded contribution)."""
    contribution.patient_comment = _check_comment(text)
    mark_read(contribution)


def delete(contribution: Contribution, *, actor: User | None = None) -> None:
    """Delete the contribution everywhere (the patient's right over their summary)."""
    audit.record(audit.Tag.SHARE_REPLY_DELETED, actor=actor, patient_id=contribution.patient_id)
    session.delete(contribution)
    session.flush()


# --- Conversations as plain values ------------------------------------------------


def contribution_values(contribution: Contribution, *, for_team: bool = False) -> dict[str, Any]:
    """A contribution as plain values; the patient's comment only for the team and the patient."""
    values: dict[str, Any] = {
        "type": "contribution",
        "id": contribution.id,
        "author_name": contribution.author_name,
        "author_role": contribution.author_role,
        "author_contact": contribution.author_contact,
        "rpps": contribution.rpps,
        "created_at": contribution.created_at,
        "fields": [
            {"key": name, "label": str(FIELD_LABELS[name]), "text": getattr(contribution, name)}
            for name in CONTENT_FIELDS
            if getattr(contribution, name)
        ],
        "proposed_objective": contribution.proposed_objective,
    }
    if for_team:
        values.update(
            patient_comment=contribution.patient_comment,
            forwarded_at=contribution.forwarded_at,
            objective_adopted_at=contribution.objective_adopted_at,
            status=contribution.status.value,
        )
    return values


def message_values(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message.id,
        "author_name": message.author_name,
        "from_team": message.from_team,
        "body": message.body,
        "created_at": message.created_at,
    }


def ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["created_at"], e["type"], e["id"]))


def conversation_for(share_id: int) -> list[dict[str, Any]]:
    """What the link's holder sees: the replies written on this share and the team's answers.

    The patient's decisions (kept, forwarded) and comments stay with the patient and the team.
    """
    contributions = session.scalars(select(Contribution).where(Contribution.share_id == share_id))
    messages = session.scalars(select(Message).where(Message.share_id == share_id))
    return ordered(
        [contribution_values(c) for c in contributions] + [message_values(m) for m in messages]
    )


def patient_conversation(share: Share) -> list[dict[str, Any]]:
    """The full conversation of one share for its patient, with their own decisions."""
    contributions = session.scalars(select(Contribution).where(Contribution.share_id == share.id))
    messages = session.scalars(select(Message).where(Message.share_id == share.id))
    return ordered(
        [contribution_values(c, for_team=True) for c in contributions]
        + [message_values(m) for m in messages]
    )


def shares_with_conversation(patient: Patient) -> list[Share]:
    """The patient's shares on which someone replied or the team answered."""
    with_contributions = select(Contribution.share_id).where(Contribution.patient_id == patient.id)
    with_messages = (
        select(Message.share_id)
        .join(Share, Message.share_id == Share.id)
        .where(Share.patient_id == patient.id)
    )
    return list(
        session.scalars(
            select(Share)
            .where(Share.patient_id == patient.id)
            .where(Share.id.in_(with_contributions) | Share.id.in_(with_messages))
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
    )


def first_reply_at(share: Share) -> dt.datetime | None:
    """When the link's holder first replied (a reply proves an opening the log may have
    purged)."""
    return session.scalar(
        select(func.min(Contribution.created_at)).where(Contribution.share_id == share.id)
    )
