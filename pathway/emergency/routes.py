"""Routes of the emergency blueprint: /e/… (the QR wallet card, opened by responders)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask import session as cookie

from pathway.cards.openings import (
    card_view,
    declare_viewer,
    open_card,
    refuse_opening,
    reopen,
    view_updated_at,
)
from pathway.db import reading, session
from pathway.emergency.forms import ViewerForm
from pathway.extensions import limiter
from pathway.models import Share, ShareKind
from pathway.sharing import shares

bp = Blueprint("emergency", __name__, url_prefix="/e")

# Generous: a crew may reload often in a real emergency; enumeration still hits the wall.
RATE_LIMIT = "30 per minute"
OPENING_KEY = "emergency_opening"


@bp.app_template_filter("tel")
def tel_href(phone: str) -> str:
    """A tap-to-call href: digits and a leading +, nothing else."""
    digits = re.sub(r"[^\d+]", "", phone or "")
    return "tel:" + digits[:1] + digits[1:].replace("+", "")


class _Gone(Exception):
    def __init__(self, reason: str, share: Share) -> None:
        self.reason = reason
        self.share = share


def _card(token: str) -> Share:
    try:
        return shares.resolve(token, ShareKind.EMERGENCY)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        raise _Gone(gone.reason, gone.share) from None


@bp.errorhandler(_Gone)
def _gone(error: _Gone) -> tuple[str, int]:
    # The patient learns that a replaced or withdrawn card is still being scanned.
    refuse_opening(error.share, error.reason, request.headers.get("User-Agent", ""))
    session.commit()
    return render_template("emergency/gone.html", reason=error.reason), 410


def _page(token: str, view: dict[str, Any], form: ViewerForm, named: bool = False) -> str:
    return render_template(
        "emergency/view.html",
        view=view,
        data={section["key"]: section["data"] for section in view["sections"]},
        updated_at=view_updated_at(view),
        form=form,
        token=token,
        named=named,
    )


@bp.get("/<token>")
@limiter.limit(RATE_LIMIT)
def view(token: str) -> str:
    with reading():
        share = _card(token)
        view_data = card_view(share)
    opening = open_card(share, view_data, request.headers.get("User-Agent", ""))
    session.commit()
    cookie[OPENING_KEY] = opening
    return _page(token, view_data, ViewerForm())


@bp.post("/<token>")
@limiter.limit(RATE_LIMIT)
def name(token: str) -> str | tuple[str, int]:
    share = _card(token)
    form = ViewerForm()
    agent = request.headers.get("User-Agent", "")
    if not form.validate():
        view_data, opening = reopen(share, cookie.get(OPENING_KEY), agent)
        session.commit()
        cookie[OPENING_KEY] = opening
        return _page(token, view_data, form), 400
    view_data, named = declare_viewer(share, cookie.get(OPENING_KEY), form.viewer.data or "", agent)
    session.commit()
    cookie.pop(OPENING_KEY, None)
    return _page(token, view_data, ViewerForm(formdata=None), named=named)
