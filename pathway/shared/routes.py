"""Routes of the shared blueprint: /s/… (a share opened from its signed link; no account)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from pathway.db import session
from pathway.models import ShareKind
from pathway.sharing import access, shares
from pathway.sharing.sections import parse_sections
from pathway.sharing.view import build_view

bp = Blueprint("shared", __name__, url_prefix="/s")


@bp.after_request
def _private(response: Response) -> Response:
    # The URL is the credential: never send it on as a Referer, never cache, never index.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/<token>")
def view(token: str) -> str | tuple[str, int]:
    try:
        share = shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        return render_template("shared/gone.html", reason=gone.reason), 410
    sections = parse_sections(share.sections)
    view_data = build_view(share.patient, sections)
    access.record_access(
        share,
        view_data["shown"],
        summary_version=view_data["summary_version"],
        user_agent=request.headers.get("User-Agent", ""),
    )
    session.commit()
    return render_template("shared/view.html", view=view_data, share_label=share.label)
