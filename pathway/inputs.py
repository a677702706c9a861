"""Inputs of every form: how a field's input is described, and what no column can hold."""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _
from wtforms import Field
from wtforms.validators import Length

from pathway.errors import render_error

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_inputs(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.jinja_env.globals["input_attributes"] = input_attributes


def input_attributes(
    field: Field,
    autocomplete: str | None = None,
    inputmode: str | None = None,
    rows: int | None = None,
) -> dict[str, str | int]:
    """The attributes of a field's input (the form macro's): the browser hints given, its
    hint and error read aloud with it, aria-invalid on error, the length it accepts."""
    attributes: dict[str, str | int] = {}
    for name, value in (("autocomplete", autocomplete), ("inputmode", inputmode), ("rows", rows)):
        if value:
            attributes[name] = value
    described = [f"{field.id}-hint"] if field.description else []
    if field.errors:
        described.append(f"{field.id}-error")
        attributes["aria-invalid"] = "true"
    if described:
        attributes["aria-describedby"] = " ".join(described)
    for validator in field.validators:
        if isinstance(validator, Length) and validator.max and validator.max > 0:
            attributes["maxlength"] = validator.max
    return attributes


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
