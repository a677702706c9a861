"""Routes of the site blueprint: /, /language, /healthz, /robots.txt."""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from pathway import LOCALES
from pathway.db import session
from pathway.extensions import limiter
from pathway.i18n import LANGUAGE_COOKIE
from pathway.site.navigation import home_for, safe_next

bp = Blueprint("site", __name__)


@bp.get("/")
def index() -> Response | str:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("site/index.html")


@bp.post("/language")
def set_language() -> Response:
    """Remember the chosen language: on the account when signed in, in a cookie always."""
    locale = request.form.get("locale", "")
    target = safe_next(request.form.get("next")) or url_for("site.index")
    response = redirect(target)
    if locale in LOCALES:
        if current_user.is_authenticated:
            current_user.locale = locale
            session.commit()
        response.set_cookie(
            LANGUAGE_COOKIE, locale, max_age=365 * 86400, samesite="Lax", httponly=True
        )
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        session.rollback()
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok"), 200


@bp.get("/robots.txt")
def robots() -> Response:
    response = make_response("User-agent: *\nDisallow: /s/\nDisallow: /e/\nDisallow: /auth/\n")
    response.mimetype = "text/plain"
    return response
