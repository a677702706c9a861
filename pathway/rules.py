"""The one domain error: a rule refused what was asked, and how a route shows it.

Domain functions raise RuleBroken (or a subclass naming their area) with a message already
in the user's language and, when one field is at fault, that field's name. Routes give the
error to refuse(), which undoes everything the request wrote and puts the message where the
person will read it: under the field, or at the top of the page.
"""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from pathway.db import session


class RuleBroken(Exception):
    """A rule refused the change; `message` is translated, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def messages(self) -> list[str]:
        """Everything to tell the person (one message, unless a subclass has several)."""
        return [self.message]


def refuse(error: RuleBroken, form: FlaskForm | None = None, field: str | None = None) -> None:
    """Roll back the request's writes and show the error: under the form's field it names
    (or under `field`, the one this form puts such errors under), else as a message at the
    top of the page."""
    session.rollback()
    name = error.field or field
    target = form._fields.get(name) if form is not None and name else None
    if target is None:
        for message in error.messages:
            flash(message, "error")
        return
    target.errors = [*target.errors, *error.messages]
