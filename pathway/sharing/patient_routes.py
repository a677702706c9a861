"""Routes of the shares blueprint: /shares/… (the patient's links, who looked, their rights)."""

from __future__ import annotations

import base64
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from pathway.auth.sessions import current_patient, patient_only
from pathway.db import session, utcnow
from pathway.models import Patient, Share, ShareKind
from pathway.rules import refuse
from pathway.sharing import access, replies, shares
from pathway.sharing.forms import ActionForm, RenewForm, ShareForm
from pathway.sharing.sections import (
    AUDIENCE_LABELS,
    PRESETS,
    REPLYING_AUDIENCES,
    RESPONDER_AUDIENCES,
    Audience,
    Section,
    parse_sections,
    section_names,
)
from pathway.sharing.view import build_view

bp = Blueprint("shares", __name__, url_prefix="/shares")


def status_of(share: Share) -> str:
    """active, revoked, locked or expired: what the patient reads next to a link."""
    if share.revoked_at is not None:
        return "revoked"
    if share.locked_at is not None:
        return "locked"
    if share.expires_at is not None and share.expires_at <= utcnow():
        return "expired"
    return "active"


@bp.get("/")
@patient_only
def index() -> str:
    patient = current_patient()
    links = [share for share in reversed(patient.shares) if share.kind == ShareKind.LINK]
    active = [share for share in links if status_of(share) == "active"]
    past = [share for share in links if status_of(share) != "active"]
    recent = access.access_log(patient.id, limit=5)
    return render_template(
        "sharing/index.html",
        active=active,
        past=past,
        recent=recent,
        letter_links=shares.letter_links_of(patient),
        status_of=status_of,
        audience_labels=AUDIENCE_LABELS,
        section_labels=section_names,
        action_form=ActionForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@patient_only
def new() -> str | Response | tuple[str, int]:
    patient = current_patient()
    audience: Audience | None
    if request.method == "GET":
        try:
            audience = Audience(request.args.get("audience", ""))
        except ValueError:
            return render_template(
                "sharing/choose.html",
                audiences=list(Audience),
                labels=AUDIENCE_LABELS,
                responders=RESPONDER_AUDIENCES,
            )
        form = ShareForm(
            formdata=None,
            data={"audience": audience.value, "sections": [s.value for s in PRESETS[audience]]},
        )
        return _new_page(patient, form, audience)
    form = ShareForm()
    audience = form.audience_value()
    if audience is None:
        return redirect(url_for("shares.new"))
    wants_preview = request.form.get("action") == "preview"
    valid = form.validate_on_submit()
    if not valid and wants_preview and set(form.errors) == {"label"}:
        # A preview needs no recipient's name yet: only creating the link does.
        form.label.errors = []
        valid = True
    if not valid:
        return _new_page(patient, form, audience), 422
    sections = parse_sections(form.sections.data or [])
    expiry = shares.Expiry(form.expiry.data)
    if wants_preview:
        return _new_page(patient, form, audience, preview=(sections, expiry))
    try:
        share = shares.create_share(
            patient,
            audience=audience,
            label=form.label.data or "",
            sections=sections,
            expiry=expiry,
            passcode=form.passcode.data or None,
            allow_replies=bool(form.allow_replies.data) and audience in REPLYING_AUDIENCES,
            actor=current_user,
        )
    except shares.ShareError as error:
        refuse(error, form)
        return _new_page(patient, form, audience), 422
    session.commit()
    flash(_("Your link is ready."), "success")
    return redirect(url_for("shares.detail", public_id=share.public_id, created=1), code=303)


def _new_page(
    patient: Patient,
    form: ShareForm,
    audience: Audience,
    preview: tuple[tuple[Section, ...], shares.Expiry] | None = None,
) -> str:
    context: dict[str, Any] = {
        "form": form,
        "audience": audience,
        "audience_label": AUDIENCE_LABELS[audience],
        "can_reply": audience in REPLYING_AUDIENCES,
        "responder": audience in RESPONDER_AUDIENCES,
        "preset": [section.value for section in PRESETS[audience]],
    }
    if preview is not None:
        sections, expiry = preview
        now = utcnow()
        # The same template and the same builder as the recipient's page:
        # what you see is what they see.
        context["preview_view"] = build_view(patient.id, sections)
        context["preview_info"] = {
            "shared_on": now,
            "valid_until": now + expiry.delta if expiry.delta is not None else None,
            "label": form.label.data,
            "allow_replies": False,
        }
    return render_template("sharing/new.html", **context)


def _link_share(patient: Patient, public_id: str) -> Share:
    """The patient's own professional link; the emergency card is managed on its own page."""
    share = shares.patient_share(patient, public_id)
    if share.kind != ShareKind.LINK:
        abort(404)
    return share


@bp.get("/<public_id>")
@patient_only
def detail(public_id: str) -> str | Response:
    patient = current_patient()
    share = shares.patient_share(patient, public_id)
    if share.kind == ShareKind.EMERGENCY:
        return redirect(url_for("card.index"))
    status = status_of(share)
    url = shares.share_url(share) if status == "active" else ""
    qr = (
        "data:image/png;base64," + base64.b64encode(shares.link_qr_png(share)).decode()
        if url
        else ""
    )
    session.commit()
    return render_template(
        "sharing/detail.html",
        share=share,
        status=status,
        url=url,
        qr=qr,
        just_created=request.args.get("created") == "1",
        events=access.access_log(patient.id, share),
        replied_at=replies.first_reply_at(share),
        audience_label=AUDIENCE_LABELS[share.audience],
        section_labels=section_names,
        action_form=ActionForm(),
        info=shares.share_info(share),
        letter_link=shares.letter_link(share),
        has_letter_links=any(
            link.derived_from_id == share.id for link in shares.letter_links_of(patient).values()
        ),
    )


# Withdrawing, replacing and renewing each ask first, on a page that says what will happen
# (it works without JavaScript): the button of the link's page opens it, its form does it.


def _confirmation(
    share: Share, action: str, form: Any = None, status: int = 200
) -> tuple[str, int]:
    return (
        render_template(
            "sharing/confirm.html",
            share=share,
            action=action,
            status=status_of(share),
            form=form or ActionForm(formdata=None),
            section_labels=section_names,
            audience_label=AUDIENCE_LABELS[share.audience],
            has_letter_links=any(
                link.derived_from_id == share.id
                for link in shares.letter_links_of(current_patient()).values()
            ),
        ),
        status,
    )


@bp.get("/<public_id>/revoke")
@patient_only
def confirm_revoke(public_id: str) -> tuple[str, int] | Response:
    share = _link_share(current_patient(), public_id)
    if status_of(share) != "active":
        return redirect(url_for("shares.detail", public_id=share.public_id))
    return _confirmation(share, "revoke")


@bp.post("/<public_id>/revoke")
@patient_only
def revoke(public_id: str) -> Response:
    patient = current_patient()
    share = _link_share(patient, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    shares.revoke_share(share, actor=current_user)
    session.commit()
    flash(_("The link no longer works. Nobody can open it any more."), "success")
    return redirect(url_for("shares.detail", public_id=share.public_id), code=303)


def _refuse_rotation(share: Share) -> Response | None:
    if status_of(share) != "active":
        flash(_("Only a link that still works can be replaced. Renew it instead."), "error")
        return redirect(url_for("shares.detail", public_id=share.public_id), code=303)
    if shares.letter_link(share) is not None:
        # The link is printed on the letter: a new one would reach nobody.
        flash(
            _("A letter's link is printed on the letter: it cannot be replaced, only withdrawn."),
            "error",
        )
        return redirect(url_for("shares.detail", public_id=share.public_id), code=303)
    return None


@bp.get("/<public_id>/rotate")
@patient_only
def confirm_rotate(public_id: str) -> tuple[str, int] | Response:
    share = _link_share(current_patient(), public_id)
    return _refuse_rotation(share) or _confirmation(share, "rotate")


@bp.post("/<public_id>/rotate")
@patient_only
def rotate(public_id: str) -> Response:
    patient = current_patient()
    share = _link_share(patient, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    refused = _refuse_rotation(share)
    if refused is not None:
        return refused
    shares.rotate_share(share, actor=current_user)
    session.commit()
    flash(_("New link created. The old link no longer works: send the new one."), "success")
    return redirect(url_for("shares.detail", public_id=share.public_id, created=1), code=303)


@bp.route("/<public_id>/renew", methods=["GET", "POST"])
@patient_only
def renew(public_id: str) -> tuple[str, int] | Response:
    """A link that no longer opens, made again in one step: same recipient, sections,
    duration and replies; a new passcode for a locked one."""
    share = _link_share(current_patient(), public_id)
    if status_of(share) == "active" or shares.letter_link(share) is not None:
        return redirect(url_for("shares.detail", public_id=share.public_id))
    form = RenewForm()
    if request.method == "GET":
        return _confirmation(share, "renew", RenewForm(formdata=None))
    if not form.validate_on_submit():
        return _confirmation(share, "renew", form, 422)
    try:
        renewed = shares.renew_share(share, passcode=form.passcode.data or "", actor=current_user)
    except shares.ShareError as error:
        refuse(error, form)
        return _confirmation(share, "renew", form, 422)
    session.commit()
    flash(_("Your new link is ready. The old one still does not open."), "success")
    return redirect(url_for("shares.detail", public_id=renewed.public_id, created=1), code=303)


@bp.get("/log")
@patient_only
def log() -> str:
    patient = current_patient()
    return render_template(
        "sharing/log.html",
        events=access.access_log(patient.id, limit=500),
        section_labels=section_names,
    )
