"""E-mail notices: which events a person is told of by e-mail, and whether they chose to be.

A notice by e-mail says what happened and when, in the reader's language, and asks them to
open Pathway at a page that requires signing in. It never holds a share token nor any
health data (no disease, no treatment, no programme name that could name one).

The choices are stored per person (users.mail_choices: kind → on/off); a kind not chosen yet
takes its default below. Account security messages (password or e-mail changed) are not a
choice: they always go, to the old address too.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import force_locale, format_time, gettext, pgettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from pathway.db import session, utcnow
from pathway.i18n import agree, format_day
from pathway.mail import queue_mail, single_line
from pathway.models import Contribution, OutboxMessage, Patient, User

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class MailKind(enum.StrEnum):
    """What a patient can be told of by e-mail."""

    CARD_OPENED = "card_opened"  # the emergency card was opened (once per burst)
    LINK_LOCKED = "link_locked"  # a link locked after wrong passcodes
    REPLY_RECEIVED = "reply_received"  # a professional replied, or the team answered
    LINK_EXPIRING = "link_expiring"  # a link expires in 3 days, and when it did
    LETTER_SENT = "letter_sent"  # a letter was issued or sent to the GP


# Safety notices first; every kind is on until the person turns it off.
MAIL_DEFAULTS: dict[MailKind, bool] = {
    MailKind.CARD_OPENED: True,
    MailKind.LINK_LOCKED: True,
    MailKind.REPLY_RECEIVED: True,
    MailKind.LINK_EXPIRING: True,
    MailKind.LETTER_SENT: True,
}

MAIL_LABELS = {
    MailKind.CARD_OPENED: _l("My emergency card was opened"),
    MailKind.LINK_LOCKED: _l("One of my links was locked after wrong passcodes"),
    MailKind.REPLY_RECEIVED: _l("A professional replied, or my ETP team answered"),
    MailKind.LINK_EXPIRING: _l("One of my links expires in 3 days, or has expired"),
    MailKind.LETTER_SENT: _l("My ETP team sent a letter to my GP"),
}


def wants_mail(user: User, kind: MailKind) -> bool:
    """Whether this person is to be told of `kind` by e-mail (their choice, else the default)."""
    chosen = (user.mail_choices or {}).get(kind.value)
    return MAIL_DEFAULTS[kind] if chosen is None else bool(chosen)


def set_mail_choices(user: User, chosen: dict[MailKind, bool]) -> None:
    """Record the person's choices (a new dict, so the JSON column is seen as changed)."""
    user.mail_choices = {kind.value: bool(on) for kind, on in chosen.items()}


# What each in-app notice to a patient is told by e-mail as (the one place that knows).
NOTICE_MAIL: dict[str, MailKind] = {
    "emergency_opened": MailKind.CARD_OPENED,
    "share_locked": MailKind.LINK_LOCKED,
    "contribution_received": MailKind.REPLY_RECEIVED,
    "team_replied": MailKind.REPLY_RECEIVED,
    "letter_issued": MailKind.LETTER_SENT,
}


class MailText(NamedTuple):
    """One event's e-mail: its subject, its sentence (day, time and the link's label as
    values), and the signed-in page that tells more."""

    kind: MailKind
    subject: Any
    sentence: Any
    page: str


# Every event a patient is e-mailed of. The values filled in are the moment, the label the
# patient gave a link and the name a crew gave itself: nothing of the summary, no token.
MAIL_TEXTS: dict[str, MailText] = {
    "emergency_opened": MailText(
        MailKind.CARD_OPENED,
        _l("Your emergency card was opened"),
        _l("Your emergency card was opened on %(day)s at %(time)s."),
        "/card/",
    ),
    "emergency_named": MailText(
        MailKind.CARD_OPENED,
        _l("Who opened your emergency card"),
        _l(
            "Your emergency card was opened on %(day)s at %(time)s by %(viewer)s, "
            "as they named themselves."
        ),
        "/card/",
    ),
    "share_locked": MailText(
        MailKind.LINK_LOCKED,
        _l("One of your links was locked"),
        _l(
            "Your link “%(label)s” was locked on %(day)s at %(time)s after too many wrong "
            "passcodes: it no longer opens."
        ),
        "/shares/",
    ),
    "contribution_received": MailText(
        MailKind.REPLY_RECEIVED,
        _l("A professional replied through one of your links"),
        _l(
            "A professional replied through your link “%(label)s” on %(day)s at %(time)s. "
            "Read the reply first, then decide whether to pass it on to your ETP team."
        ),
        "/inbox/",
    ),
    "team_replied": MailText(
        MailKind.REPLY_RECEIVED,
        _l("Your ETP team answered"),
        _l("Your ETP team answered on your link “%(label)s” on %(day)s at %(time)s."),
        "/inbox/",
    ),
    "letter_issued": MailText(
        MailKind.LETTER_SENT,
        _l("A letter to your GP was issued"),
        _l("Your ETP team issued a letter to your GP on %(day)s at %(time)s."),
        "/programme/",
    ),
    "share_expiring": MailText(
        MailKind.LINK_EXPIRING,
        _l("One of your links expires soon"),
        _l("Your link “%(label)s” expires on %(day)s at %(time)s: after that, it no longer opens."),
        "/shares/",
    ),
    "share_expired": MailText(
        MailKind.LINK_EXPIRING,
        _l("One of your links has expired"),
        _l(
            "Your link “%(label)s” expired on %(day)s at %(time)s: it no longer opens. You "
            "can renew it from your links page."
        ),
        "/shares/",
    ),
}


def moment_values(moment: dt.datetime) -> dict[str, str]:
    """The day (« 4 décembre 2026 », through the one date formatter) and the time
    (« 15:30 ») of a moment, in the user's time zone and the language in use."""
    time: str = format_time(moment, "HH:mm")
    return {"day": format_day(moment, "d MMMM y"), "time": time}


def page_url(path: str) -> str:
    """The absolute address of a page of the site, on PUBLIC_BASE_URL."""
    base: str = current_app.config["PUBLIC_BASE_URL"]
    return base.rstrip("/") + path


def mail_patient(
    user: User,
    event: str,
    *,
    at: dt.datetime,
    label: str = "",
    viewer: str = "",
) -> OutboxMessage | None:
    """Queue the e-mail telling a patient of one event (a key of MAIL_TEXTS) that happened
    `at`, in their language, if they want that kind by e-mail (wants_mail); in the current
    transaction, so it goes only if the event is committed."""
    text = MAIL_TEXTS[event]
    if not user.is_active or not user.email or not wants_mail(user, text.kind):
        return None
    values = {"label": single_line(label), "viewer": single_line(viewer)}
    with force_locale(user.locale or "fr"):
        values.update(moment_values(at))
        body = "\n\n".join(
            (
                str(_l("Hello,")),
                str(text.sentence) % values,
                str(_l("Open Pathway to find out more: %(link)s")) % {"link": page_url(text.page)},
                str(
                    _l(
                        "You receive this e-mail because these notices are on for your "
                        "account: you can turn them off in your account settings. Pathway's "
                        "e-mails never hold your health data."
                    )
                ),
            )
        )
        return queue_mail(user.email, str(text.subject), body + "\n")


def mail_of_notice(patient: Patient, notice: str, params: Mapping[str, Any]) -> None:
    """The e-mail, if any, that goes with an in-app notice to a patient (NOTICE_MAIL)."""
    if notice not in NOTICE_MAIL or notice == "emergency_opened":
        # The card's opening tells by e-mail from its own path (card_opened): once per
        # burst of openings, with the GP told if the patient asked.
        return
    user = patient.user
    if user is None:
        return
    mail_patient(user, notice, at=utcnow(), label=str(params.get("label") or ""))


def card_opened(user_id: int, patient_id: int, at: dt.datetime) -> None:
    """Tell of an opening of the emergency card that starts a burst (the one that makes a
    new in-app notice): the patient if they want it by e-mail, their GP if they asked."""
    user = session.get(User, user_id)
    if user is not None:
        mail_patient(user, "emergency_opened", at=at)
    patient = session.get(Patient, patient_id)
    if patient is not None and patient.tell_gp_of_card_openings:
        mail_gp_of_opening(patient, at)


def card_named(user_id: int, at: dt.datetime, viewer: str) -> None:
    """Tell the patient who opened their card, once the crew has named itself."""
    user = session.get(User, user_id)
    if user is not None and viewer.strip():
        mail_patient(user, "emergency_named", at=at, viewer=viewer)


def gp_address(patient: Patient) -> str:
    """Where the patient's GP is written to: their secure (MSSanté) address, else their
    e-mail, as letters are sent; empty when the care team has no GP with an address."""
    gp = patient.gp
    return (gp.secure_email or gp.email).strip() if gp is not None else ""


def mail_gp_of_opening(patient: Patient, at: dt.datetime) -> OutboxMessage | None:
    """Tell the patient's GP that the patient's emergency card was opened: who the patient
    is (name, date of birth) and when, nothing else of their health, no link."""
    address = gp_address(patient)
    if not address:
        return None
    sex = patient.sex.value if patient.sex is not None else None
    with force_locale("fr"):
        values = moment_values(at)
        if patient.birth_date is not None:
            born = agree(
                sex,
                pgettext("feminine", "born on %(date)s"),
                pgettext("masculine", "born on %(date)s"),
            ) % {"date": format_day(patient.birth_date, "d MMMM y")}
        else:
            born = gettext("date of birth not recorded")
        sentence = agree(
            sex,
            pgettext(
                "feminine",
                "Your patient %(name)s (%(born)s) asked that you be told of each opening of "
                "her emergency card: it was opened on %(day)s at %(time)s.",
            ),
            pgettext(
                "masculine",
                "Your patient %(name)s (%(born)s) asked that you be told of each opening of "
                "his emergency card: it was opened on %(day)s at %(time)s.",
            ),
        ) % {**values, "name": single_line(patient.full_name), "born": born}
        body = "\n\n".join(
            (
                gettext("Hello,"),
                sentence,
                agree(
                    sex,
                    pgettext(
                        "feminine",
                        "This message holds no other information. The patient can stop "
                        "these messages in Pathway.",
                    ),
                    pgettext(
                        "masculine",
                        "This message holds no other information. The patient can stop "
                        "these messages in Pathway.",
                    ),
                ),
            )
        )
        return queue_mail(address, gettext("Pathway: an emergency card was opened"), body + "\n")


def mail_professionals_of_answer(share_id: int, label: str, at: dt.datetime) -> int:
    """Tell each professional who replied through this link, and asked to be told, that an
    answer is posted there: when, on which link (its label), nothing of its content nor of
    the patient, and no link (they open the one they hold). Returns how many were told."""
    addresses = session.scalars(
        select(Contribution.author_contact)
        .where(Contribution.share_id == share_id, Contribution.author_wants_mail.is_(True))
        .distinct()
    )
    told = 0
    with force_locale("fr"):
        values = {**moment_values(at), "label": single_line(label)}
        body = "\n\n".join(
            (
                gettext("Hello,"),
                gettext(
                    "An answer was posted on %(day)s at %(time)s on the Pathway link through "
                    "which you replied (« %(label)s »). Open that link, or scan its QR code, to "
                    "read it: it is not copied here.",
                )
                % values,
                gettext("You receive this e-mail because you asked for it when you replied."),
            )
        )
        subject = gettext("Pathway: an answer to your reply")
        for address in addresses:
            if is_email(address):
                queue_mail(address.strip(), subject, body + "\n")
                told += 1
    return told


def is_email(text: str) -> bool:
    """Whether a contact given by a professional is an e-mail address (one, on one line)."""
    return EMAIL.fullmatch((text or "").strip()) is not None
