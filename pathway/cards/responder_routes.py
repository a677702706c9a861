"""Routes of the emergency blueprint: /e/… (the QR wallet card, opened by responders)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import force_locale
from werkzeug.exceptions import NotFound

from pathway import LOCALES, tokens
from pathway.cards.forms import ViewerForm
from pathway.cards.openings import (
    Card,
    card_view,
    declare_viewer,
    open_card,
    opening_reference,
    read_card,
    refuse_opening,
    remembered_opening,
    view_updated_at,
)
from pathway.cards.pages import (
    LANGUAGE_LINK,
    NAMING_LINK,
    card_and_page,
    store_page,
    with_opening_links,
)
from pathway.db import reading, session
from pathway.extensions import limiter
from pathway.i18n import current_locale
from pathway.sharing import shares

bp = Blueprint("emergency", __name__, url_prefix="/e")

# Generous: a crew may reload often in a real emergency; enumeration still hits the wall.
RATE_LIMIT = "30 per minute"


@bp.app_template_filter("tel")
def tel_href(phone: str) -> str:
    """A tap-to-call href: digits and a leading +, nothing else."""
    digits = re.sub(r"[^\d+]", "", phone or "")
    return "tel:" + digits[:1] + digits[1:].replace("+", "")


class _Gone(Exception):
    def __init__(self, gone: shares.LinkGone) -> None:
        self.gone = gone


_Read = TypeVar("_Read")


def _opened(read: Callable[[], _Read]) -> _Read:
    """What `read` finds for the card's token, else 404 (no such card) or 410 (a card that
    no longer opens, whose scan the patient is told of)."""
    try:
        return read()
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        raise _Gone(gone) from None


def _asked_language() -> str | None:
    """The language the page's switch asked for (?lang=), if any."""
    asked = request.args.get("lang", "")
    return asked if asked in LOCALES else None


@contextmanager
def _in_asked_language() -> Iterator[None]:
    """The page in the language its switch asked for, else in the viewer's: a link that
    works without a cookie, without JavaScript and without an account."""
    asked = _asked_language()
    if asked is None:
        yield
        return
    with force_locale(asked):
        yield


@bp.errorhandler(_Gone)
def _gone(error: _Gone) -> tuple[str, int]:
    # The patient learns that a replaced or withdrawn card is still being scanned.
    refuse_opening(error.gone.link, error.gone.reason, request.headers.get("User-Agent", ""))
    session.commit()
    with _in_asked_language():
        return render_template("cards/responder/gone.html", reason=error.gone.reason), 410


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> tuple[str, int]:
    """No such card (garbled, forged, or its patient's account is gone): nothing about
    anyone, and the numbers to call."""
    with _in_asked_language():
        return render_template("cards/responder/unknown.html"), 404


@bp.get("/<token>")
@limiter.limit(RATE_LIMIT)
def view(token: str) -> str:
    with _in_asked_language():
        return _view(token)


def _view(token: str) -> str:
    """The card's page. Each opening is recorded and told to the patient; the page read in
    the other language, through its switch, is that same opening (its reference in the
    link), not another."""
    locale = current_locale()
    asked = request.args.get("opening", "")
    with reading():
        card, stored = _opened(lambda: card_and_page(token, locale))
        same_opening = _same_opening(card, asked)
        view_data = card_view(card) if stored is None else None
    html = stored if stored is not None else _render(view_data)
    if same_opening:
        reference = asked
    else:
        reference = opening_reference(open_card(card, request.headers.get("User-Agent", "")))
    if stored is None:
        store_page(card, locale, html)
    session.commit()
    other = next(code for code in LOCALES if code != locale)
    return with_opening_links(
        html,
        url_for("emergency.who", token=token, opening=reference, lang=_asked_language()),
        url_for("emergency.view", token=token, lang=other, opening=reference),
    )


def _same_opening(card: Card, reference: str) -> bool:
    """Whether `reference` is of a recent opening of this card (a forged, garbled,
    foreign or old one is not: the request is then an opening of its own)."""
    if not reference:
        return False
    try:
        return remembered_opening(card, reference) is not None
    except tokens.TokenInvalid:
        return False


def _render(view_data: Any) -> str:
    """The card's page, with a mark where each opening's own links go."""
    return render_template(
        "cards/responder/view.html",
        view=view_data,
        data={section["key"]: section["data"] for section in view_data["sections"]},
        updated_at=view_updated_at(view_data),
        naming_url=NAMING_LINK,
        language_url=LANGUAGE_LINK,
    )


@bp.route("/<token>/who/<opening>", methods=["GET", "POST"])
@limiter.limit(RATE_LIMIT)
def who(token: str, opening: str) -> str | tuple[str, int]:
    """The responder says who they are, naming the opening the card's page linked from."""
    with _in_asked_language():
        return _who(token, opening)


def _who(token: str, opening: str) -> str | tuple[str, int]:
    card, _extra = _opened(lambda: read_card(token))
    try:
        remembered = remembered_opening(card, opening)
    except tokens.TokenInvalid:
        abort(404)
    back = url_for("emergency.view", token=token, lang=_asked_language())
    if remembered is None:
        return render_template("cards/responder/who.html", form=None, back=back), 410
    form = ViewerForm()
    if not form.is_submitted():
        return render_template("cards/responder/who.html", form=form, back=back)
    if not form.validate():
        return render_template("cards/responder/who.html", form=form, back=back), 400
    event, notice_id = remembered
    declare_viewer(card, event, notice_id, form.viewer.data or "")
    session.commit()
    return render_template("cards/responder/who.html", form=None, named=True, back=back)
