"""Two-way exchange through a share, with the patient's consent at every step.

A professional who holds a link may reply (a Contribution). The reply goes to the
patient first, never straight to the team: only what the patient forwards reaches
the ETP team of the enrollment the patient picks. The team may answer (a Message),
and the answer is shown on the same link. Notifications tell each side, in the
reader's language, chosen at display time.

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
from sqlalchemy import func, select, update

from pathway import audit
from pathway.db import session, utcnow
from pathway.models import (
    Contribution,
    ContributionStatus,
    Enrollment,
    Message,
    Notification,
    Objective,
    Patient,
    Share,
    ShareKind,
    User,
)
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


class ExchangeError(Exception):
    """A rule of the exchange was broken; the message is translated and names the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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


def submit_contribution(share: Share, fields: Mapping[str, str | None]) -> Contribution:
    """Store a professional's reply for the patient to read first, and tell the patient."""
    check_open_for_replies(share)
    cleaned = check_fields(fields)
    contribution = Contribution(
        share_id=share.id,
        patient_id=share.patient_id,
        status=ContributionStatus.PENDING,
        **cleaned,
    )
    session.add(contribution)
    session.flush()
    audit.record("share:reply:received", patient_id=share.patient_id, share=share.public_id)
    user_id = share.patient.user_id
    if user_id is not None:
        notify(
            user_id,
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
        "share:reply:forwarded", actor=actor, patient_id=patient.id, enrollment=enrollment.id
    )
    for educator in enrollment.programme.educators:
        notify(
            educator.id,
            "contribution_forwarded",
            {"patient": patient.full_name, "author": contribution.author_name},
            link=f"/inbox/team/contributions/{contribution.id}",
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
    audit.record("share:reply:deleted", actor=actor, patient_id=contribution.patient_id)
    session.delete(contribution)
    session.flush()


# --- The team ---------------------------------------------------------------------


def forwarded_to(educator: User) -> list[Contribution]:
    """Contributions forwarded to the educator's programmes, newest first."""
    from pathway.enrollments import programmes_of

    programme_ids = [p.id for p in programmes_of(educator)]
    if not programme_ids:
        return []
    return list(
        session.scalars(
            select(Contribution)
            .join(Enrollment, Contribution.enrollment_id == Enrollment.id)
            .where(
                Contribution.status == ContributionStatus.FORWARDED,
                Enrollment.programme_id.in_(programme_ids),
            )
            .order_by(Contribution.forwarded_at.desc(), Contribution.id.desc())
        )
    )


def team_contribution(educator: User, contribution_id: int) -> Contribution:
    """The access helper: a contribution forwarded to one of the educator's programmes, else 404."""
    from pathway.enrollments import get_enrollment

    contribution = session.get(Contribution, contribution_id)
    if (
        contribution is None
        or contribution.status != ContributionStatus.FORWARDED
        or contribution.enrollment_id is None
    ):
        abort(404)
    get_enrollment(educator, contribution.enrollment_id)
    return contribution


def forwarded_for_enrollment(enrollment: Enrollment) -> list[dict[str, Any]]:
    """Plain values of the contributions forwarded to this enrollment, newest first."""
    items = session.scalars(
        select(Contribution)
        .where(
            Contribution.enrollment_id == enrollment.id,
            Contribution.status == ContributionStatus.FORWARDED,
        )
        .order_by(Contribution.forwarded_at.desc(), Contribution.id.desc())
    )
    return [contribution_values(c, for_team=True) for c in items]


def adopt_objective(contribution: Contribution, educator: User) -> Objective:
    """Make the proposed objective one of the enrollment's objectives (at most three hold)."""
    from pathway.enrollments import EnrollmentError, add_objective, get_enrollment

    if contribution.status != ContributionStatus.FORWARDED or contribution.enrollment_id is None:
        abort(404)
    enrollment = get_enrollment(educator, contribution.enrollment_id)
    text = contribution.proposed_objective.strip()
    if not text:
        raise ExchangeError(_("This reply proposes no objective."))
    if contribution.objective_adopted_at is not None:
        raise ExchangeError(_("This objective has already been adopted."))
    proposed_by = f"{contribution.author_name} ({contribution.author_role})"[:200]
    try:
        # The team's own rule (at most three objectives) applies unchanged.
        objective = add_objective(
            enrollment,
            enrollment.version,
            text[:300],
            treatment_related=False,
            proposed_by=proposed_by,
        )
    except EnrollmentError as error:
        raise ExchangeError(str(error)) from None
    contribution.objective_adopted_at = utcnow()
    session.flush()
    audit.record(
        "enrollment:objective:adopted",
        actor=educator,
        patient_id=enrollment.patient_id,
        enrollment=enrollment.id,
    )
    return objective


def team_reply(contribution: Contribution, educator: User, body: str) -> Message:
    """Post the team's answer on the contribution's share, where the professional reads it."""
    body = body.strip()
    if not body:
        raise ExchangeError(_("Write your answer."), "body")
    if len(body) > ANSWER_MAX:
        raise ExchangeError(
            _("This text is too long (%(max)d characters at most).", max=ANSWER_MAX), "body"
        )
    share = session.get(Share, contribution.share_id)
    if share is None or not is_active(share):
        raise ExchangeError(
            _(
                "The link this reply came through is no longer valid: "
                "the professional could not read an answer there."
            )
        )
    enrollment = contribution.enrollment
    programme = enrollment.programme.name if enrollment is not None else ""
    name = educator.display_name or educator.email
    message = Message(
        share_id=share.id,
        author_user_id=educator.id,
        author_name=name[:120],
        from_team=True,
        body=body,
    )
    session.add(message)
    session.flush()
    audit.record(
        "share:reply:answered", actor=educator, patient_id=share.patient_id, share=share.public_id
    )
    user_id = share.patient.user_id
    if user_id is not None:
        notify(
            user_id,
            "team_replied",
            {"programme": programme, "label": share.label},
            link=f"/inbox/shares/{share.public_id}",
        )
    return message


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


def _message_values(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message.id,
        "author_name": message.author_name,
        "from_team": message.from_team,
        "body": message.body,
        "created_at": message.created_at,
    }


def _ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["created_at"], e["type"], e["id"]))


def conversation_for(share: Share) -> list[dict[str, Any]]:
    """What the link's holder sees: the replies written on this share and the team's answers.

    The patient's decisions (kept, forwarded) and comments stay with the patient and the team.
    """
    contributions = session.scalars(select(Contribution).where(Contribution.share_id == share.id))
    messages = session.scalars(select(Message).where(Message.share_id == share.id))
    return _ordered(
        [contribution_values(c) for c in contributions] + [_message_values(m) for m in messages]
    )


def patient_conversation(share: Share) -> list[dict[str, Any]]:
    """The full conversation of one share for its patient, with their own decisions."""
    contributions = session.scalars(select(Contribution).where(Contribution.share_id == share.id))
    messages = session.scalars(select(Message).where(Message.share_id == share.id))
    return _ordered(
        [contribution_values(c, for_team=True) for c in contributions]
        + [_message_values(m) for m in messages]
    )


def team_conversation(share_id: int) -> list[dict[str, Any]]:
    """The team's view of a share's conversation: forwarded contributions and answers only."""
    contributions = session.scalars(
        select(Contribution).where(
            Contribution.share_id == share_id,
            Contribution.status == ContributionStatus.FORWARDED,
        )
    )
    messages = session.scalars(select(Message).where(Message.share_id == share_id))
    return _ordered(
        [contribution_values(c, for_team=True) for c in contributions]
        + [_message_values(m) for m in messages]
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


# --- Notifications ---------------------------------------------------------------

# Each kind's sentences, most specific first: the first whose values are all present
# (and match) is used. Stored values are formatted into the sentence of the reader's
# language when the list is shown. Other modules write these kinds too (the emergency
# card, letters, the sharing core); their params are listed here.
NOTIFICATION_TEXTS: dict[str, list[tuple[dict[str, str | None], Any]]] = {
    "contribution_received": [  # author, label
        (
            {"author": None, "label": None},
            _l(
                "%(author)s replied through your link “%(label)s”. Read it first, "
                "then decide whether to pass it on to your ETP team."
            ),
        ),
    ],
    "emergency_opened": [  # when, viewer (named later by the responder, may be empty)
        ({"viewer": None}, _l("Your emergency card was opened by %(viewer)s.")),
        ({}, _l("Your emergency card was opened.")),
    ],
    "letter_issued": [  # letter_kind (start|end), programme, version, copy_given_to_patient
        (
            {"letter_kind": "start", "programme": None},
            _l("%(programme)s issued the start-of-programme letter to your GP."),
        ),
        (
            {"letter_kind": "end", "programme": None},
            _l("%(programme)s issued the end-of-programme letter to your GP."),
        ),
        ({}, _l("A new letter to your GP was issued by your ETP team.")),
    ],
    "share_locked": [  # label
        ({"label": None}, _l("The link “%(label)s” was locked after too many wrong passcodes.")),
        ({}, _l("One of your links was locked after too many wrong passcodes.")),
    ],
    "contribution_forwarded": [  # patient, author
        ({"patient": None, "author": None}, _l("%(patient)s passed on a reply from %(author)s.")),
    ],
    "team_replied": [  # programme, label
        ({"label": None}, _l("Your ETP team answered on the link “%(label)s”.")),
    ],
}
NOTIFICATION_FALLBACK = _l("You have a new notification.")


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def notify(
    user_id: int, kind: str, params: Mapping[str, Any] | None = None, link: str = ""
) -> Notification:
    """Add an in-app notification for one user (plain values only, no HTML)."""
    notification = Notification(
        user_id=user_id,
        kind=kind[:40],
        params={str(k): str(v) for k, v in (params or {}).items()},
        link=link if _is_local(link) else "",
    )
    session.add(notification)
    return notification


def _is_local(link: str) -> bool:
    # Notifications point inside the site only: never another origin or a script URL.
    return (
        link.startswith("/") and not link.startswith("//") and "\\" not in link and len(link) <= 200
    )


def notification_text(notification: Notification) -> str:
    """The notification's sentence in the current language, from its stored values."""
    params = _Params({key: str(value) for key, value in (notification.params or {}).items()})
    for needs, template in NOTIFICATION_TEXTS.get(notification.kind, []):
        if all(
            params[key] and (wanted is None or params[key] == wanted)
            for key, wanted in needs.items()
        ):
            return str(template) % params
    return str(NOTIFICATION_FALLBACK)


def unread_count(user: User) -> int:
    """How many of the user's notifications are unread."""
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def notifications_for(user: User, limit: int = 50) -> list[dict[str, Any]]:
    """The user's latest notifications as plain values, newest first."""
    items = session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "text": notification_text(n),
            "link": n.link if _is_local(n.link) else "",
            "created_at": n.created_at,
            "unread": n.read_at is None,
        }
        for n in items
    ]


def mark_notifications_read(user: User, now: dt.datetime | None = None) -> int:
    """Mark all the user's notifications read; return how many were unread."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    return result.rowcount or 0
