"""Notifications: the one writer of in-app notices, and how they read in each language.

Each notice stores its kind and plain values; the sentence is chosen in the reader's
language when the list is shown. No HTML, and links point inside the site only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.engine import CursorResult

from pathway import mail_notices
from pathway.db import session, utcnow
from pathway.models import Notification, Patient, User


def init_app(app: Flask) -> None:
    """Give every page the unread badge of the signed-in user."""
    app.context_processor(lambda: {"unread_notifications": _unread_of_current_user})


def _unread_of_current_user() -> int:
    """The signed-in user's unread notifications (0 for visitors, without a query)."""
    if not current_user.is_authenticated:
        return 0
    return unread_count(current_user)


# Each kind's sentences, most specific first: the first whose values are all present
# (and match) is used. Stored values are formatted into the sentence of the reader's
# language when the list is shown. Other modules write these kinds too (the emergency
# card, letters, the sharing core) through notify(); their params are listed here.
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
            _l("The ETP team of %(programme)s issued the start-of-programme letter to your GP."),
        ),
        (
            {"letter_kind": "end", "programme": None},
            _l("The ETP team of %(programme)s issued the end-of-programme letter to your GP."),
        ),
        ({}, _l("A new letter to your GP was issued by your ETP team.")),
    ],
    "programme_invitation": [  # programme, hospital, educator
        (
            {"educator": None, "programme": None, "hospital": None},
            _l(
                "%(educator)s invites you to join the therapeutic education programme "
                "“%(programme)s” (%(hospital)s). Nothing is shared with the team unless you "
                "accept: answer on your programme page."
            ),
        ),
        (
            {"educator": None, "programme": None},
            _l(
                "%(educator)s invites you to join the therapeutic education programme "
                "“%(programme)s”. Nothing is shared with the team unless you accept: answer on "
                "your programme page."
            ),
        ),
    ],
    "invitation_accepted": [  # patient, programme (to the educator who invited)
        (
            {"erased": "1", "programme": None},
            _l(
                "A patient who has since deleted their account accepted your invitation to "
                "join “%(programme)s”."
            ),
        ),
        (
            {"patient": None, "programme": None},
            _l("%(patient)s accepted your invitation to join “%(programme)s”."),
        ),
    ],
    "invitation_declined": [  # email, programme (to the educator who invited)
        (
            {"erased": "1", "programme": None},
            _l(
                "An invitation to join “%(programme)s” was declined by a patient who has since "
                "deleted their account."
            ),
        ),
        (
            {"email": None, "programme": None},
            _l("The invitation sent to %(email)s to join “%(programme)s” was declined."),
        ),
    ],
    "consent_recorded": [  # educator, date, programme
        (
            {"educator": None, "date": None, "programme": None},
            _l(
                "%(educator)s recorded that on %(date)s you agreed orally that your GP is "
                "informed about your programme “%(programme)s”. If that is not right, withdraw "
                "it on your programme page."
            ),
        ),
    ],
    "consent_withdrawn_for_you": [  # educator, programme
        (
            {"educator": None, "programme": None},
            _l(
                "%(educator)s recorded that you withdrew your agreement that your GP is "
                "informed about your programme “%(programme)s”."
            ),
        ),
    ],
    "share_locked": [  # label
        ({"label": None}, _l("The link “%(label)s” was locked after too many wrong passcodes.")),
        ({}, _l("One of your links was locked after too many wrong passcodes.")),
    ],
    "contribution_forwarded": [  # patient, author
        (
            {"erased": "1"},
            _l("A patient who has since deleted their account passed on a reply."),
        ),
        ({"patient": None, "author": None}, _l("%(patient)s passed on a reply from %(author)s.")),
    ],
    "team_replied": [  # programme, label
        ({"label": None}, _l("Your ETP team answered on the link “%(label)s”.")),
    ],
}
NOTIFICATION_FALLBACK = _l("You have a new notification.")
# What a notice about a patient keeps once that patient has deleted their account: values
# that name nobody. Every other value (the patient's name or address, the GP's name) goes.
KEPT_WHEN_ERASED = frozenset({"programme", "letter_kind", "version"})


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _values(kind: str, params: Mapping[str, Any] | None, link: str) -> dict[str, Any]:
    """A notice's stored values: plain strings only, and a link inside the site or none."""
    return {
        "kind": kind[:40],
        "params": {str(k): str(v) for k, v in (params or {}).items()},
        "link": link if _is_local(link) else "",
    }


def notify(
    user_id: int,
    kind: str,
    params: Mapping[str, Any] | None = None,
    link: str = "",
    *,
    patient_id: int | None = None,
) -> Notification:
    """Add an in-app notification for one user (plain values only, no HTML).

    A notice to someone other than the patient it is about (a team member) gives that
    patient's id, so that deleting the account erases the names it holds.
    """
    notification = Notification(
        user_id=user_id, patient_id=patient_id, **_values(kind, params, link)
    )
    session.add(notification)
    return notification


def notify_patient(
    patient: Patient, kind: str, params: Mapping[str, Any] | None = None, link: str = ""
) -> Notification | None:
    """Notify a patient in the app, and by e-mail if they chose to be told of this kind
    (mail_notices.NOTICE_MAIL); none for a patient without an account yet (their pages show
    the same facts once they have one)."""
    if patient.user_id is None:
        return None
    notification = notify(patient.user_id, kind, params, link)
    mail_notices.mail_of_notice(patient, kind, params or {})
    return notification


def forget_patient(patient_id: int) -> int:
    """Erase what other people's notices say of a patient who deletes their account: the
    patient's name and address and the names of the people in them; the link, which leads
    to what is deleted; and the patient's id. Returns how many notices were erased."""
    notices = session.scalars(select(Notification).where(Notification.patient_id == patient_id))
    erased = 0
    for notice in notices:
        kept = {k: v for k, v in (notice.params or {}).items() if k in KEPT_WHEN_ERASED}
        notice.params = {**kept, "erased": "1"}
        notice.link = ""
        notice.patient_id = None
        erased += 1
    session.flush()
    return erased


_NOTICES = Notification.__table__
_INSERT = insert(_NOTICES).returning(_NOTICES.c.id)


def notify_now(
    connection: Connection,
    user_id: int,
    kind: str,
    params: Mapping[str, Any] | None = None,
    link: str = "",
    *,
    at: dt.datetime,
) -> int:
    """notify() for a lean path that writes through a Core connection (the emergency
    opening): the same stored values in one INSERT … RETURNING, without the ORM's unit of
    work. Returns the notice's id."""
    values = {"user_id": user_id, "created_at": at, **_values(kind, params, link)}
    return int(connection.execute(_INSERT, values).scalar_one())


def add_params(notice_id: int, user_id: int, kind: str, params: Mapping[str, Any]) -> None:
    """Complete a user's notice of this kind with more values (a responder who names
    themselves after the opening was told): nothing happens for another user's notice."""
    notification = session.scalar(
        select(Notification).where(
            Notification.id == notice_id,
            Notification.user_id == user_id,
            Notification.kind == kind,
        )
    )
    if notification is not None:
        extra = {str(k): str(v) for k, v in params.items()}
        notification.params = {**notification.params, **extra}


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
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=now or utcnow())
        ),
    )
    return result.rowcount or 0
