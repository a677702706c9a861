"""Routes of the card blueprint: /card/… (the patient's own emergency card)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from pathway.auth.sessions import current_patient, patient_only
from pathway.cards import artifacts, service
from pathway.cards.forms import CardActionForm, CardSectionsForm
from pathway.db import session
from pathway.documents import DocumentError
from pathway.i18n import format_day
from pathway.rules import refuse
from pathway.sharing.sections import EMERGENCY_SECTIONS, parse_sections
from pathway.sharing.shares import ShareError

bp = Blueprint("card", __name__, url_prefix="/card")
LOCAL_TIME = ZoneInfo("Europe/Paris")
DOWNLOAD_NAMES = {
    artifacts.QR_PNG: "qr-code-carte-urgence.png",
    artifacts.QR_SVG: "qr-code-carte-urgence.svg",
    artifacts.CARD_PDF: "carte-urgence.pdf",
    artifacts.LOCKSCREEN_PNG: "ecran-verrouillage-urgence.png",
}


@bp.errorhandler(DocumentError)
def _documents_failed(error: DocumentError) -> BaseResponse:
    # Nothing half-made: the card and its documents change together or not at all.
    session.rollback()
    flash(
        _("Your card could not be made just now. Nothing was changed: try again in a moment."),
        "error",
    )
    return redirect(url_for("card.index"))


# The card page lists the latest openings after the QR code and the downloads; the access
# log has them all.
OPENINGS_SHOWN = 5


def local_time(moment: dt.datetime) -> str:
    """The day (through the one date formatter: « 1er décembre 2026 ») and the time, in
    the user's time zone."""
    local = moment.astimezone(LOCAL_TIME)
    time: str = format_time(local, "HH:mm")
    return f"{format_day(local, 'd MMMM y')}, {time}"


def _render(form: CardSectionsForm | None = None, status: int = 200) -> tuple[str, int]:
    patient = current_patient()
    card = service.current_card(patient)
    if form is None:
        form = CardSectionsForm(
            formdata=None,
            sections=list(card.sections) if card else [s.value for s in EMERGENCY_SECTIONS],
        )
    return (
        render_template(
            "cards/index.html",
            card=card,
            stale=artifacts.is_stale(card) if card else False,
            openings=service.card_openings(patient, limit=OPENINGS_SHOWN + 1),
            openings_shown=OPENINGS_SHOWN,
            form=form,
            action_form=CardActionForm(),
            local_time=local_time,
        ),
        status,
    )


@bp.get("/")
@patient_only
def index() -> tuple[str, int]:
    return _render()


@bp.post("/")
@patient_only
def create() -> BaseResponse | tuple[str, int]:
    form = CardSectionsForm()
    if not form.validate():
        return _render(form, 400)
    sections = parse_sections(form.sections.data or [])
    if not sections:
        form.sections.errors = [_("Choose at least one section to share.")]
        return _render(form, 400)
    service.create_card(current_patient(), sections, actor=current_user)
    session.commit()
    flash(_("Your emergency card is ready. Print it and keep it with your ID."), "success")
    return redirect(url_for("card.index"))


@bp.post("/<public_id>/sections")
@patient_only
def change_sections(public_id: str) -> BaseResponse | tuple[str, int]:
    card = service.patient_card(current_patient(), public_id)
    form = CardSectionsForm()
    if not form.validate():
        return _render(form, 400)
    try:
        service.change_sections(card, parse_sections(form.sections.data or []), actor=current_user)
    except ShareError as error:
        refuse(error, form, "sections")
        return _render(form, 400)
    session.commit()
    flash(
        _("Saved. Your printed card and lock-screen image were updated: print the new card."),
        "success",
    )
    return redirect(url_for("card.index"))


@bp.post("/<public_id>/update")
@patient_only
def update(public_id: str) -> BaseResponse:
    card = service.patient_card(current_patient(), public_id)
    if not CardActionForm().validate():
        abort(400)
    service.update_card(card)
    session.commit()
    flash(
        _(
            "Your card was updated with your current summary. Print it again; the QR code has not changed."  # noqa: E501
        ),
        "success",
    )
    return redirect(url_for("card.index"))


# Replacing the QR code and withdrawing the card each ask first, on a page that says what
# will happen (every printed card stops working): the card page's button opens it.


@bp.get("/<public_id>/<any(regenerate, withdraw):action>", endpoint="confirm")
@patient_only
def confirm(public_id: str, action: str) -> str:
    card = service.patient_card(current_patient(), public_id)
    return render_template(
        "cards/confirm.html", card=card, action=action, action_form=CardActionForm()
    )


@bp.post("/<public_id>/regenerate")
@patient_only
def regenerate(public_id: str) -> BaseResponse:
    card = service.patient_card(current_patient(), public_id)
    if not CardActionForm().validate():
        abort(400)
    service.regenerate_card(card, actor=current_user)
    session.commit()
    flash(
        _(
            "New QR code created. The old one no longer works: replace your printed cards and lock-screen image."  # noqa: E501
        ),
        "success",
    )
    return redirect(url_for("card.index"))


@bp.post("/<public_id>/withdraw")
@patient_only
def withdraw(public_id: str) -> BaseResponse:
    card = service.patient_card(current_patient(), public_id)
    if not CardActionForm().validate():
        abort(400)
    service.withdraw_card(card, actor=current_user)
    session.commit()
    flash(_("Your emergency card was withdrawn. Its QR code no longer works."), "success")
    return redirect(url_for("card.index"))


@bp.get("/<public_id>/<name>")
@patient_only
def download(public_id: str, name: str) -> Response:
    card = service.patient_card(current_patient(), public_id)
    if name not in artifacts.DOWNLOADS or card.revoked_at is not None:
        abort(404)
    stored = artifacts.artifact(card, name)
    session.commit()  # documents made just now (first download) are kept
    response = Response(stored.data, mimetype=stored.content_type)
    # The SVG is shown on the card page; the rest are files to keep or print.
    disposition = "inline" if name == artifacts.QR_SVG else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{DOWNLOAD_NAMES[name]}"'
    return response
