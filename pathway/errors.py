"""Error pages: a plain, translated message; never a stack trace; 503 when the database is down."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from pathway.db import session
from pathway.extensions import login_manager

logger = logging.getLogger("pathway.errors")


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("Request not understood"),
            _("The request could not be read. Go back and try again."),
        ),
        403: (_("Access refused"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("This page does not exist, or you do not have access to it.")),
        405: (_("Action not allowed"), _("This action is not possible on this page.")),
        410: (_("Link no longer valid"), _("This link is no longer valid.")),
        413: (
            _("Too much data"),
            _("What you sent is too large. Shorten the text or send a smaller file."),
        ),
        429: (
            _("Too many attempts"),
            _("Too many requests in a short time. Wait a minute, then try again."),
        ),
        500: (_("Something went wrong"), _("An unexpected error occurred. Nothing was saved.")),
        503: (
            _("Service temporarily unavailable"),
            _("The service cannot reach its data right now. Try again in a few minutes."),
        ),
    }


def render_error(
    status: int, incident: str | None = None, message: str | None = None
) -> tuple[str, int]:
    title, default_message = _messages().get(status, _messages()[500])
    if request_ctx.url_adapter is None:
        # The request was refused before routing (untrusted Host): no URL can be built.
        return _plain_page(title, message or default_message), status
    try:
        response = render_template(
            "errors/error.html",
            status=status,
            title=title,
            message=message or default_message,
            incident=incident,
        )
    except Exception:  # the error page itself failed (e.g. the database is down): say it plainly
        logger.exception("error page failed to render")
        response = _plain_page(title, message or default_message)
    return response, status


def _plain_page(title: str, message: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            message=_(
                "The form has expired or was not sent from this site. Reload the page and try again."  # noqa: E501
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
        status = error.code or 500
        if status == 429:
            response, status = render_error(429)
            return response, 429, {"Retry-After": "60"}
        return render_error(status)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(
        error: OperationalError | InterfaceError,
    ) -> tuple[str, int, dict[str, str]]:
        _rollback_quietly()
        # The driver's first line ("database is locked", "connection refused"): no SQL, no values.
        reason = str(error.orig).splitlines()[0][:120] if str(error.orig) else ""
        logger.error(
            "database unavailable on %s: %s %s", request.endpoint, type(error.orig).__name__, reason
        )
        # The page is shown as to a visitor: the signed-in user (their language, the
        # navigation) would be loaded from the database that just failed.
        g._login_user = login_manager.anonymous_user()
        response, status = render_error(503)
        return response, status, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        _rollback_quietly()
        incident = uuid.uuid4().hex[:12]
        logger.exception("incident %s on %s", incident, request.endpoint)
        return render_error(500, incident=incident)


def _rollback_quietly() -> None:
    try:
        session.rollback()
    except SQLAlchemyError:
        logger.warning("rollback failed after an error")
