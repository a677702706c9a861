"""Inputs of every form: how a field's input is described, and what no column can hold."""

from __future__ import annotations

import re
from typing import Any, cast

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from pathway.errors import render_error

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# C0 and C1 control characters (line breaks, tabs, escapes…) and Unicode's line and
# paragraph separators: nothing typed on one line holds them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def single_line_message() -> str:
    return _("Write this on one line, without line breaks, tabs or other control characters.")


def single_line(form: Any, field: Field) -> None:
    """A validator: a name, a label or a phone number is one line of plain text.

    Such values end up in mail headers, PDF letters and one-line layouts, where a line break
    is refused (a mail header) or splits what must stay whole.
    """
    if isinstance(field.data, str) and has_control_characters(field.data):
        raise ValidationError(single_line_message())


class Form(FlaskForm):
    """The base of every form: each single-line text field refuses control characters.

    Done here once, for every field of every form (present and future), rather than in
    each field's validators, where one would be forgotten.
    """

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            # WTForms builds the form's Meta with FlaskForm's (a DefaultMeta) after this one.
            field: Field = cast(Any, super()).bind_field(form, unbound_field, options)
            if isinstance(field, StringField) and not isinstance(
                field, TextAreaField | PasswordField
            ):
                # A new list: the one given in the field's declaration is shared by every
                # instance of the form.
                field.validators = [*field.validators, single_line]
            return field


def init_inputs(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.jinja_env.globals["input_attributes"] = input_attributes
    app.jinja_env.globals["length_limit"] = length_limit


def input_attributes(
    field: Field,
    autocomplete: str | None = None,
    inputmode: str | None = None,
    rows: int | None = None,
) -> dict[str, str | int | bool]:
    """The attributes of a field's input (the form macro's): the browser hints given, its
    hint and error read aloud with it, aria-invalid on error, the length it accepts."""
    attributes: dict[str, str | int | bool] = {}
    for name, value in (("autocomplete", autocomplete), ("inputmode", inputmode), ("rows", rows)):
        if value:
            attributes[name] = value
    described = [f"{field.id}-hint"] if field.description else []
    if length_limit(field):
        described.append(f"{field.id}-limit")
    if field.errors:
        described.append(f"{field.id}-error")
        attributes["aria-invalid"] = "true"
    if described:
        attributes["aria-describedby"] = " ".join(described)
    # No maxlength (WTForms would put one from the Length validator): a browser cuts a
    # pasted text there without a word. The server refuses a long text with a message.
    attributes["maxlength"] = False
    return attributes


def length_limit(field: Field) -> int | None:
    """The most characters a free text accepts, said under it (long texts only)."""
    if field.type != "TextAreaField":
        return None
    limits = [v.max for v in field.validators if isinstance(v, Length) and v.max and v.max > 0]
    return min(limits) if limits else None


def refuse_nul_characters() -> tuple[str, int] | None:
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
