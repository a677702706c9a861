"""Signed tokens, one serializer per purpose.

A token's payload is readable by anyone who holds it, so it carries only an
opaque random id and a version: {"id": ..., "v": ...}. The signature rejects
forgeries without touching the database; the database then decides whether the
thing the token points at still exists, is current, and is not revoked.
"""

from __future__ import annotations

import enum
from typing import Any

from flask import current_app
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    Signer,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)


class Purpose(enum.StrEnum):
    SHARE = "pathway.share-link"
    EMERGENCY = "pathway.emergency-card"
    INVITATION = "pathway.invitation"
    PASSWORD_RESET = "pathway.password-reset"  # noqa: S105 (a salt name, not a secret)
    OPENING = "pathway.emergency-opening"
    # A change of e-mail address, confirmed from the new address: the token's id is
    # "<user public id>:<new address>", its version a fingerprint of the current address.
    EMAIL_CHANGE = "pathway.email-change"


# Purposes whose tokens also carry a signing time, checked against a maximum age.
TIMED = {Purpose.INVITATION, Purpose.PASSWORD_RESET, Purpose.EMAIL_CHANGE}


class TokenInvalid(Exception):
    """Forged, garbled, or minted for another purpose."""


class TokenExpired(TokenInvalid):
    """Genuine but older than the maximum age."""


def _made_once(kind: type[Any], purpose: Purpose) -> Any:
    """The app's `kind` (a serializer or a signer) for this purpose and the current keys,
    made once per key set. itsdangerous tries every key and signs with the last: newest last."""
    config = current_app.config
    keys = (*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"])
    cache: dict[tuple[Any, ...], Any] = current_app.extensions.setdefault("pathway.signing", {})
    cache_key = (kind, purpose, keys)
    if cache_key not in cache:
        cache[cache_key] = kind(list(keys), salt=purpose.value)
    return cache[cache_key]


def _serializer(purpose: Purpose) -> URLSafeSerializer:
    kind = URLSafeTimedSerializer if purpose in TIMED else URLSafeSerializer
    serializer: URLSafeSerializer = _made_once(kind, purpose)
    return serializer


def sign(purpose: Purpose, public_id: str, version: int | None = None) -> str:
    """Return a token for the object with this public id (and version)."""
    payload: dict[str, Any] = {"id": public_id}
    if version is not None:
        payload["v"] = version
    return _serializer(purpose).dumps(payload)


def unsign(purpose: Purpose, token: str, max_age: int | None = None) -> tuple[str, int | None]:
    """Return (public_id, version) from a token, or raise TokenInvalid / TokenExpired."""
    serializer = _serializer(purpose)
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            payload = serializer.loads(token, max_age=max_age)
        else:
            payload = serializer.loads(token)
    except SignatureExpired:
        raise TokenExpired from None
    except (BadSignature, UnicodeError, ValueError):
        raise TokenInvalid from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise TokenInvalid
    version = payload.get("v")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise TokenInvalid
    return payload["id"], version


def _signer(purpose: Purpose) -> Signer:
    signer: Signer = _made_once(Signer, purpose)
    return signer


def sign_ids(purpose: Purpose, *ids: int | None) -> str:
    """Return a token for a few row ids, each an integer or None (an opening of the
    emergency card: its access event and its notice), as "12-7.<signature>".

    A plain signature of the ids, without the serializers' JSON and compression: it is made
    on every opening of the card."""
    value = "-".join("" if i is None else str(i) for i in ids)
    return _signer(purpose).sign(value).decode()


def unsign_ids(purpose: Purpose, token: str, count: int) -> tuple[int | None, ...]:
    """Return the `count` ids of a sign_ids token, or raise TokenInvalid."""
    try:
        value = _signer(purpose).unsign(token).decode()
    except (BadSignature, UnicodeError, ValueError):
        raise TokenInvalid from None
    parts = value.split("-")
    if len(parts) != count or not all(
        part == "" or (part.isascii() and part.isdigit()) for part in parts
    ):
        raise TokenInvalid
    return tuple(int(part) if part else None for part in parts)
