"""The team's side of replies: what patients passed on to their programme's team, adopting a
proposed objective, answering on the link the reply came through."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from pathway import audit
from pathway.db import session, utcnow
from pathway.mail_notices import mail_professionals_of_answer
from pathway.models import (
    Contribution,
    ContributionStatus,
    Enrollment,
    Message,
    Objective,
    Share,
    User,
)
from pathway.notifications import notify_patient
from pathway.programme.enrollments import (
    EnrollmentError,
    add_objective,
    get_enrollment,
    programmes_of,
)
from pathway.sharing.replies import (
    ANSWER_MAX,
    ExchangeError,
    contribution_values,
    message_values,
    ordered,
)
from pathway.sharing.shares import is_active


def forwarded_to(educator: User) -> list[Contribution]:
    """Contributions forwarded to the educator's programmes, newest first."""
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
        audit.Tag.ENROLLMENT_OBJECTIVE_ADOPTED,
        educator,
        enrollment.patient_id,
        enrollment=enrollment,
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
    audit.record_new(
        message, audit.Tag.SHARE_REPLY_ANSWERED, educator, share.patient_id, share=share
    )
    mail_professionals_of_answer(share.id, share.label, utcnow())
    notify_patient(
        share.patient,
        "team_replied",
        {"programme": programme, "label": share.label},
        link=f"/inbox/shares/{share.public_id}",
    )
    return message


def team_conversation(share_id: int) -> list[dict[str, Any]]:
    """The team's view of a share's conversation: forwarded contributions and answers only."""
    contributions = session.scalars(
        select(Contribution).where(
            Contribution.share_id == share_id,
            Contribution.status == ContributionStatus.FORWARDED,
        )
    )
    messages = session.scalars(select(Message).where(Message.share_id == share_id))
    return ordered(
        [contribution_values(c, for_team=True) for c in contributions]
        + [message_values(m) for m in messages]
    )
