"""Outgoing email: SMTP when configured, else .eml files in instance/outbox/ (development).

Two ways out:

- queue_mail() writes the message to the outbox (outbox_messages) in the transaction of the
  event it tells about, and the worker sends it right after the response has gone out. The
  mail server's conversation then never shows in the response time (a password reset for a
  known address answers as fast as for an unknown one), a mail server that is down costs a
  retry instead of an error page, and a request that rolls back sends nothing. Password
  resets and invitations go this way.
- transmit(compose(…)) sends at once, inside the request, for a caller that must tell its user
  whether the mail server took the message: a letter to the GP is recorded as sent only
  once the server accepted it, and the educator is told to try again if it did not.

Every sender (the worker after a response, `flask --app wsgi send-mail` from a timer, on
any host) claims a message with one UPDATE … RETURNING before talking to the mail server,
so no message is sent twice; one that fails is retried later, with a growing delay.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from flask import Flask, after_this_request, current_app, g, has_request_context
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response

from pathway.db import session, utcnow
from pathway.models import OutboxMessage

logger = logging.getLogger("pathway.mail")

# A claim older than this is taken to be a sender that died mid-way. Longer than any SMTP
# conversation: each step of one times out after 10 s, and a message takes a handful.
CLAIM_SECONDS = 120
# Delay before the next attempt after the n-th failure (the last one repeats).
RETRY_SECONDS = (15, 30, 60, 120, 300, 900, 1800, 3600)
# After this many attempts a message stays in the outbox, unsent, for someone to look at.
MAX_ATTEMPTS = 12
# What a worker sends after a response, at most: its own messages first, then any that are
# due again. The rest waits for the next response or `flask send-mail`.
AFTER_RESPONSE_LIMIT = 5
# Sent messages (their bodies already emptied) are deleted after this.
SENT_KEPT_DAYS = 7
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


class MailError(Exception):
    """The message could not be handed to the mail server."""


def single_line(text: str) -> str:
    """The text on one line: a header with CR or LF would be refused (or worse, split)."""
    return CONTROL.sub(" ", text).strip()


def compose(
    to: str,
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
    sender: str | None = None,
) -> EmailMessage:
    """The message, from `sender` when given (a service's own mailbox), else MAIL_FROM."""
    message = EmailMessage()
    message["From"] = (
        single_line(sender) if sender and sender.strip() else current_app.config["MAIL_FROM"]
    )
    message["To"] = single_line(to)
    message["Subject"] = single_line(subject)
    message.set_content(body)
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


def transmit(message: EmailMessage) -> None:
    """Hand the message to the mail server (or write it to OUTBOX_DIR); MailError if refused."""
    config = current_app.config
    if config["SMTP_HOST"]:
        try:
            with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
                if config["SMTP_STARTTLS"]:
                    smtp.starttls()
                if config["SMTP_USER"]:
                    smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(str(error)) from error
    else:
        outbox = Path(config["OUTBOX_DIR"])
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(message.as_bytes())
        except OSError as error:
            raise MailError(str(error)) from error


# The outbox ------------------------------------------------------------------------------


def queue_mail(to: str, subject: str, body: str) -> OutboxMessage:
    """Write a message to the outbox, in the current transaction; it is sent once that
    transaction is committed, right after the response (or by `flask send-mail`)."""
    message = OutboxMessage(
        recipient=to.strip()[:320], subject=single_line(subject)[:300], body=body
    )
    session.add(message)
    session.flush()
    if has_request_context():
        _send_after_response(message.id)
    return message


def _send_after_response(message_id: int) -> None:
    if "outbox_ids" in g:
        g.outbox_ids.append(message_id)
        return
    ids = g.outbox_ids = [message_id]
    app = cast("LocalProxy[Flask]", current_app)._get_current_object()

    @after_this_request
    def _after(response: Response) -> Response:
        # Called by the server once the response has been written to the client.
        response.call_on_close(lambda: _deliver_after_response(app, list(ids)))
        return response


def _deliver_after_response(app: Flask, ids: list[int]) -> None:
    try:
        with app.app_context():
            deliver(first=ids, limit=AFTER_RESPONSE_LIMIT)
    except Exception:
        # The messages stay in the outbox for the next sender; the client has its answer.
        logger.exception("sending mail after the response failed")


@dataclass(frozen=True)
class _Claim:
    id: int
    at: dt.datetime
    recipient: str
    subject: str
    body: str
    attempts: int


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        OutboxMessage.next_attempt_at <= now,
        or_(
            OutboxMessage.claimed_at.is_(None),
            OutboxMessage.claimed_at < now - dt.timedelta(seconds=CLAIM_SECONDS),
        ),
    )


def _claim(only: Sequence[int] | None) -> _Claim | None:
    """Take the oldest due message (of `only` if given) for this sender, in its own commit."""
    now = utcnow()
    due = _due(now)
    if only is not None:
        due = and_(due, OutboxMessage.id.in_(only))
    pick = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        # Two senders at once each take a different message instead of queueing.
        pick = pick.with_for_update(skip_locked=True)
    # The conditions again on the row itself: under READ COMMITTED, a row another sender
    # claimed meanwhile is re-read after its commit and no longer matches.
    row = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == pick.scalar_subquery(), due)
        .values(claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(
            OutboxMessage.id,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.body,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    ).first()
    session.commit()
    if row is None:
        return None
    return _Claim(row.id, now, row.recipient, row.subject, row.body, row.attempts)


def _sent(claim: _Claim) -> None:
    # The body may hold a sign-in link: it has been delivered, it is not kept.
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claim.id)
        .values(sent_at=utcnow(), claimed_at=None, body="", last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _failed(claim: _Claim, error: MailError) -> None:
    delay = RETRY_SECONDS[min(claim.attempts, len(RETRY_SECONDS)) - 1]
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claim.id, OutboxMessage.claimed_at == claim.at)
        .values(
            claimed_at=None,
            last_error=str(error)[:300],
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claim.attempts >= MAX_ATTEMPTS:
        logger.error(
            "mail %s not sent after %d attempts, left in the outbox: %s",
            claim.id,
            claim.attempts,
            str(error)[:200],
        )
    else:
        logger.warning(
            "mail %s not sent (attempt %d), retried in %d s: %s",
            claim.id,
            claim.attempts,
            delay,
            str(error)[:200],
        )


def deliver(first: Sequence[int] = (), limit: int | None = None) -> Delivery:
    """Send due messages from the outbox: those of `first`, then the oldest, up to `limit`.

    Commits as it goes (one claim, one outcome per message): call it outside any request's
    own transaction. Stops at the first failure, which most often means the mail server is
    unreachable: the next sender tries again.
    """
    result = Delivery()
    groups: list[Sequence[int] | None] = [list(first)] if first else []
    groups.append(None)
    for only in groups:
        while limit is None or result.sent + result.failed < limit:
            claim = _claim(only)
            if claim is None:
                break
            try:
                transmit(compose(claim.recipient, claim.subject, claim.body))
            except MailError as error:
                _failed(claim, error)
                result.failed += 1
                return result
            _sent(claim)
            result.sent += 1
    return result


def waiting() -> int:
    """How many messages are not sent yet (given up on included)."""
    return (
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        or 0
    )


def forget_recipient(address: str) -> int:
    """Delete every outbox message to an address (an account being deleted): nothing more
    is sent to it, and its messages' texts, which name the person, are not kept."""
    return cast(
        CursorResult[Any],
        session.execute(
            delete(OutboxMessage)
            .where(func.lower(OutboxMessage.recipient) == address.strip().lower())
            .execution_options(synchronize_session=False)
        ),
    ).rowcount


def forget_sent(now: dt.datetime | None = None) -> int:
    """Delete the records of messages sent more than SENT_KEPT_DAYS ago."""
    cutoff = (now or utcnow()) - dt.timedelta(days=SENT_KEPT_DAYS)
    deleted = cast(
        CursorResult[Any],
        session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.commit()
    return deleted
