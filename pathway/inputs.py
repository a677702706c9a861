"""Input hygiene shared by every form: refuse what no database column can hold."""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _

from pathway.errors import render_error

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_inputs(app: Flask) -> None:
    app.before_request(refuse_nul_characters)


def refuse_nul_characters():  # type: ignore[no-untyped-def]
    """Refuse a NUL character in the address, the query or the form (PostgreSQL cannot store it)."""
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        abort(404)  # no page has such an address
    values = list(request.args.values())
    if request.method == "POST" and request.mimetype in FORM_TYPES:
        values += [value for _key, value in request.form.items(multi=True)]
    if any("\x00" in value for value in values):
        return render_error(
            400, message=_("The text sent contains an invalid character. Remove it and try again.")
        )
    return None
