"""Shares: one recipient's window on the summary, reached through a signed link.

The token proves the link was minted here (no database query for forgeries); the
database then decides, on every request, whether the share still exists, is current,
not revoked, not expired and not locked. Nothing about a share is cached in process.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from pathway import audit, notifications, tokens
from pathway.auth.accounts import external_url
from pathway.db import session, utcnow
from pathway.models import LetterLink, Patient, Share, ShareArtifact, ShareKind, User
from pathway.rules import RuleBroken
from pathway.sharing.sections import REPLYING_AUDIENCES, Audience, Section

MAX_PASSCODE_ATTEMPTS = 5
PASSCODE_LENGTHS = (4, 64)
LABEL_MAX = 120


class Expiry(enum.StrEnum):
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"
    QUARTER = "90d"
    NEVER = "none"

    @property
    def delta(self) -> dt.timedelta | None:
        return EXPIRY_DELTAS[self]

    @property
    def label(self) -> str:
        return str(EXPIRY_LABELS[self])


EXPIRY_DELTAS = {
    Expiry.DAY: dt.timedelta(hours=24),
    Expiry.WEEK: dt.timedelta(days=7),
    Expiry.MONTH: dt.timedelta(days=30),
    Expiry.QUARTER: dt.timedelta(days=90),
    Expiry.NEVER: None,
}
EXPIRY_LABELS = {
    Expiry.DAY: _l("24 hours"),
    Expiry.WEEK: _l("7 days"),
    Expiry.MONTH: _l("30 days"),
    Expiry.QUARTER: _l("90 days"),
    Expiry.NEVER: _l("No expiry"),
}
# Professionals get 30 days by default; the emergency card does not expire by default.
DEFAULT_EXPIRY = Expiry.MONTH

_hasher = PasswordHasher()


class ShareError(RuleBroken):
    """The share request breaks a rule; the message is translated and names the field."""


class LinkInvalid(Exception):
    """Forged, garbled, for another purpose, or pointing at nothing: answer 404."""


class LinkState(NamedTuple):
    """A link as every opening reads it: what decides whether it opens (version,
    revocation, expiry, lock), what it shows, and its patient's account (LINK_ROW)."""

    id: int
    public_id: str
    patient_id: int
    audience: Audience
    sections: list[str]
    token_version: int
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    locked_at: dt.datetime | None
    label: str
    created_at: dt.datetime
    allow_replies: bool
    has_passcode: bool
    passcode_attempts_left: int
    user_id: int | None
    summary_version: int


class LinkGone(Exception):
    """A genuine link that no longer opens: answer 410 with the reason."""

    def __init__(self, reason: str, link: LinkState) -> None:
        super().__init__(reason)
        self.reason = reason  # "revoked", "expired", "rotated" or "locked"
        self.link = link


def _purpose(kind: ShareKind) -> tokens.Purpose:
    return tokens.Purpose.EMERGENCY if kind == ShareKind.EMERGENCY else tokens.Purpose.SHARE


def share_token(share: Share) -> str:
    """The signed token of the share's current version: {"id": public id, "v": version}."""
    return tokens.sign(_purpose(share.kind), share.public_id, share.token_version)


def share_url(share: Share) -> str:
    """The absolute link, on PUBLIC_BASE_URL: /s/<token>, or /e/<token> for the emergency card."""
    endpoint = "emergency.view" if share.kind == ShareKind.EMERGENCY else "recipient.view"
    return external_url(endpoint, token=share_token(share))


def create_share(
    patient: Patient,
    *,
    audience: Audience,
    label: str,
    sections: tuple[Section, ...],
    expiry: Expiry = DEFAULT_EXPIRY,
    passcode: str | None = None,
    allow_replies: bool = False,
    kind: ShareKind = ShareKind.LINK,
    actor: User | None = None,
) -> Share:
    """Create a share after checking every rule (raises ShareError naming the field)."""
    label = label.strip()
    if not label:
        raise ShareError(field="label", message=str(_l("Say who this link is for.")))
    if len(label) > LABEL_MAX:
        raise ShareError(
            field="label",
            message=str(_l("The recipient's name is too long (120 characters at most).")),
        )
    if not sections:
        raise ShareError(field="sections", message=str(_l("Choose at least one section to share.")))
    if passcode:
        _check_passcode_length(passcode)
    if allow_replies and audience not in REPLYING_AUDIENCES:
        raise ShareError(
            field="allow_replies",
            message=str(_l("Replies are possible only for a GP, a pharmacist or a nurse.")),
        )
    delta = expiry.delta
    share = Share(
        patient=patient,
        kind=kind,
        audience=audience,
        label=label,
        sections=[section.value for section in sections],
        expires_at=utcnow() + delta if delta is not None else None,
        passcode_hash=_hasher.hash(passcode) if passcode else None,
        passcode_attempts_left=MAX_PASSCODE_ATTEMPTS,
        allow_replies=allow_replies,
        token_version=1,
    )
    return _added(share, actor)


def _added(share: Share, actor: User | None, reason: str | None = None) -> Share:
    """Store a new link, audited with its recipient kind (and why it was made from another)."""
    return audit.record_new(
        share,
        audit.Tag.SHARE_LINK_CREATED,
        actor,
        share=share,
        audience=share.audience,
        kind=share.kind,
        reason=reason,
    )


def _check_passcode_length(passcode: str) -> None:
    low, high = PASSCODE_LENGTHS
    if not low <= len(passcode) <= high:
        raise ShareError(
            field="passcode",
            message=str(_l("The passcode must have between 4 and 64 characters.")),
        )


def renew_share(origin: Share, *, passcode: str = "", actor: User | None = None) -> Share:
    """A new link in place of one that no longer opens (withdrawn, expired or locked): the
    same recipient, sections, duration and replies. A locked link's passcode was being
    guessed: the new link needs a new one. Otherwise it keeps its passcode unless a new
    one is given. The old link stays as it is, in the list, with its access log."""
    if is_active(origin) or origin.kind != ShareKind.LINK or letter_link(origin) is not None:
        raise ShareError(_l("Only a link that no longer opens can be renewed."))
    passcode = passcode.strip()
    if origin.locked_at is not None and origin.passcode_hash and not passcode:
        raise ShareError(
            field="passcode",
            message=str(
                _l("This link locked itself after wrong passcodes: choose a new passcode.")
            ),
        )
    if passcode:
        _check_passcode_length(passcode)
    return _made_from(
        origin,
        label=origin.label,
        expires_at=utcnow() + (origin.expires_at - origin.created_at)
        if origin.expires_at
        else None,
        passcode_hash=_hasher.hash(passcode) if passcode else origin.passcode_hash,
        attempts_left=MAX_PASSCODE_ATTEMPTS,
        actor=actor,
        reason="renewed",
    )


def revoke_share(share: Share, actor: User | None = None) -> None:
    """Revoke at once: the very next request on any worker answers 410. The links made
    from this one for a letter's addressee stop with it: they never outlive their origin."""
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        audit.record(audit.Tag.SHARE_LINK_REVOKED, actor, share.patient_id, share=share.public_id)
    derived = session.scalars(
        select(Share)
        .join(LetterLink, LetterLink.share_id == Share.id)
        .where(LetterLink.derived_from_id == share.id, Share.revoked_at.is_(None))
    )
    for made_from_it in derived:
        revoke_share(made_from_it, actor)


def derive_share(origin: Share, *, label: str, actor: User | None = None) -> Share:
    """A link of its own for one document's addressee, made from the link the patient gave
    that person and never broader than it: the same sections, the same expiry, replies only
    if the origin takes them, the same passcode and no more attempts than it has left.

    The document holds this link alone, so the patient can withdraw it by itself, and its
    readers through other links never get the origin. The caller records what it is for
    (a LetterLink)."""
    return _made_from(
        origin,
        label=label.strip()[:LABEL_MAX],
        expires_at=origin.expires_at,
        passcode_hash=origin.passcode_hash,
        attempts_left=min(origin.passcode_attempts_left, MAX_PASSCODE_ATTEMPTS),
        actor=actor,
        reason="letter",
    )


def _made_from(
    origin: Share,
    *,
    label: str,
    expires_at: dt.datetime | None,
    passcode_hash: str | None,
    attempts_left: int,
    actor: User | None,
    reason: str,
) -> Share:
    """A new link with the origin's recipient kind, sections and replies (renewed, or made
    for a letter's addressee), recorded with why it was made."""
    share = Share(
        patient=origin.patient,
        kind=ShareKind.LINK,
        audience=origin.audience,
        label=label,
        sections=list(origin.sections),
        expires_at=expires_at,
        passcode_hash=passcode_hash,
        passcode_attempts_left=attempts_left,
        allow_replies=origin.allow_replies,
        token_version=1,
    )
    return _added(share, actor, reason)


def letter_links_of(patient: Patient) -> dict[int, LetterLink]:
    """The patient's letters' own links, by share id (one query for their list of links)."""
    found = session.scalars(
        select(LetterLink)
        .join(Share, Share.id == LetterLink.share_id)
        .where(Share.patient_id == patient.id)
    )
    return {link.share_id: link for link in found}


def letter_link(share: Share) -> LetterLink | None:
    """The record that makes a share a letter's own link (its letter, the link it was made
    from), or None for any other link."""
    return session.get(LetterLink, share.id)


def rotate_share(share: Share, actor: User | None = None) -> None:
    """Mint a new token version: the previous link (and its QR code) answers 410."""
    share.token_version += 1
    audit.record(
        audit.Tag.SHARE_LINK_ROTATED,
        actor,
        share.patient_id,
        share=share.public_id,
        version=share.token_version,
    )


def is_active(share: Share, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        share.revoked_at is None
        and share.locked_at is None
        and (share.expires_at is None or share.expires_at > now)
    )


def share_info(share: Share | LinkState) -> dict[str, Any]:
    """The share's own facts shown above the summary (plain values)."""
    return {
        "shared_on": share.created_at,
        "valid_until": share.expires_at,
        "label": share.label,
        "allow_replies": share.allow_replies,
    }


def patient_share(patient: Patient, public_id: str) -> Share:
    """The access helper: the patient's own share with this public id, else 404."""
    share = session.scalar(
        select(Share).where(Share.public_id == public_id, Share.patient_id == patient.id)
    )
    if share is None:
        abort(404)
    return share


def active_gp_share(patient: Patient) -> Share | None:
    """The patient's most recent active link for their GP, if any (a letter's own link
    is not one)."""
    candidates = session.scalars(
        select(Share)
        .where(
            Share.patient_id == patient.id,
            Share.audience == Audience.GP,
            Share.kind == ShareKind.LINK,
            Share.revoked_at.is_(None),
            # A letter's own link is for that letter only, never the GP link itself.
            ~select(LetterLink.share_id).where(LetterLink.share_id == Share.id).exists(),
        )
        .order_by(Share.created_at.desc(), Share.id.desc())
    )
    return next((share for share in candidates if is_active(share)), None)


# Built once: every opening of a link runs it, as one plain row (LinkState): the share's
# columns and its patient's account, no ORM objects to build (a caller may add columns).
LINK_ROW = (
    select(
        Share.id,
        Share.public_id,
        Share.patient_id,
        Share.audience,
        Share.sections,
        Share.token_version,
        Share.revoked_at,
        Share.expires_at,
        Share.locked_at,
        Share.label,
        Share.created_at,
        Share.allow_replies,
        Share.passcode_hash.is_not(None).label("has_passcode"),
        Share.passcode_attempts_left,
        Patient.user_id,
        Patient.summary_version,
    )
    .join(Patient, Patient.id == Share.patient_id)
    .where(Share.public_id == bindparam("public_id"), Share.kind == bindparam("kind"))
)
_LINK_COLUMNS = len(LinkState._fields)


def open_link(token: str) -> LinkState:
    """The professional link a token opens, checked in the order: signature, existence,
    version, revocation, expiry, lock. Raises LinkInvalid (404) or LinkGone (410)."""
    link, _extra = read_link(token, ShareKind.LINK)
    return link


def read_link(
    token: str, kind: ShareKind, statement: Select[Any] = LINK_ROW, **values: Any
) -> tuple[LinkState, tuple[Any, ...]]:
    """The link a token of this kind opens, read with LINK_ROW or a statement built on it
    (with its extra values), and the columns that statement adds. The same checks as
    open_link(); LinkGone carries the link's state."""
    public_id, version = _signed(token, kind)
    values.update(public_id=public_id, kind=kind)
    row = session.connection().execute(statement, values).one_or_none()
    if row is None:
        raise LinkInvalid
    return _current(LinkState._make(row[:_LINK_COLUMNS]), version), tuple(row[_LINK_COLUMNS:])


def link_share(link: LinkState) -> Share:
    """The share of a link just opened, as an ORM object, for the changes it may undergo
    (a passcode attempt, a reply)."""
    return session.get_one(Share, link.id)


def _signed(token: str, kind: ShareKind) -> tuple[str, int]:
    """The public id and version a genuine token of this kind carries, else LinkInvalid."""
    try:
        public_id, version = tokens.unsign(_purpose(kind), token)
    except tokens.TokenInvalid:
        raise LinkInvalid from None
    if version is None:
        raise LinkInvalid
    return public_id, version


def _current(found: LinkState, version: int) -> LinkState:
    """The link if it still opens, checked in order: version, revocation, expiry, lock."""
    if version != found.token_version:
        raise LinkGone("rotated", found)
    if found.revoked_at is not None:
        raise LinkGone("revoked", found)
    if found.expires_at is not None and found.expires_at <= utcnow():
        raise LinkGone("expired", found)
    if found.locked_at is not None:
        raise LinkGone("locked", found)
    return found


def check_passcode(share: Share, passcode: str) -> bool:
    """Check a passcode against the share's lifetime budget of wrong attempts.

    An attempt is reserved with one atomic UPDATE … RETURNING before comparing, so
    parallel guesses on several workers can never evaluate more than the budget;
    a right passcode gives its attempt back. At zero the share locks.
    """
    if share.passcode_hash is None:
        return True
    left = session.execute(
        update(Share)
        .where(Share.id == share.id, Share.passcode_attempts_left > 0, Share.locked_at.is_(None))
        .values(passcode_attempts_left=Share.passcode_attempts_left - 1)
        .returning(Share.passcode_attempts_left)
    ).scalar_one_or_none()
    if left is None:
        _lock(share)
        return False
    try:
        matches: bool = _hasher.verify(share.passcode_hash, passcode)
    except (VerificationError, InvalidHashError):
        matches = False
    if matches:
        session.execute(
            update(Share)
            .where(Share.id == share.id)
            .values(passcode_attempts_left=Share.passcode_attempts_left + 1)
        )
        session.refresh(share)
        return True
    session.refresh(share)
    audit.record(
        audit.Tag.SHARE_PASSCODE_FAILED,
        patient_id=share.patient_id,
        share=share.public_id,
        count=left,
    )
    if left == 0:
        _lock(share)
    return False


def _lock(share: Share) -> None:
    if share.locked_at is not None:
        return
    share.locked_at = utcnow()
    audit.record(
        audit.Tag.SHARE_PASSCODE_LOCKED, patient_id=share.patient_id, share=share.public_id
    )
    notifications.notify_patient(
        share.patient, "share_locked", {"label": share.label}, link=f"/shares/{share.public_id}"
    )


LINK_QR = "link-qr.png"


def link_qr_png(share: Share) -> bytes:
    """The QR code of the current link: made once per token version, then read from storage."""
    from pathway.cards.qr import qr_png

    stored = session.scalar(
        select(ShareArtifact).where(
            ShareArtifact.share_id == share.id,
            ShareArtifact.token_version == share.token_version,
            ShareArtifact.name == LINK_QR,
        )
    )
    if stored is not None:
        return stored.data
    data = qr_png(share_url(share))
    try:
        with session.begin_nested():
            session.add(
                ShareArtifact(
                    share_id=share.id,
                    token_version=share.token_version,
                    name=LINK_QR,
                    content_type="image/png",
                    data=data,
                )
            )
    except IntegrityError:  # another request stored the same code first: same bytes
        pass
    return data
