"""The one domain error and the one way a route shows it: the request's writes are undone and
the message is where the person reads it."""

from __future__ import annotations

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from pathway.letters import LetterError
from pathway.models import Programme
from pathway.rules import RuleBroken, refuse
from pathway.sharing.replies import ExchangeError
from pathway.sharing.shares import ShareError
from pathway.summary.editing import SummaryError


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    note = StringField()


def written_then_refused(app, db, error: RuleBroken, field: str | None = None):
    with app.test_request_context("/"):
        form = NameForm(formdata=None)
        db.add(Programme(name="Half-written programme"))
        db.flush()
        refuse(error, form, field)
        return form, get_flashed_messages(with_categories=True)


def test_every_domain_error_is_a_broken_rule() -> None:
    for error in (
        ShareError("x"),
        SummaryError("x"),
        ExchangeError("x"),
        LetterError(["x"]),
    ):
        assert isinstance(error, RuleBroken)


def test_the_error_goes_under_the_field_it_names(app, db) -> None:
    form, flashed = written_then_refused(app, db, RuleBroken("Too long.", field="note"))

    assert form.note.errors == ["Too long."]
    assert not form.name.errors
    assert flashed == []


def test_an_error_naming_no_field_goes_under_the_forms_own_field(app, db) -> None:
    form, flashed = written_then_refused(app, db, RuleBroken("Taken."), field="name")

    assert form.name.errors == ["Taken."]
    assert flashed == []


def test_an_error_for_no_field_of_the_form_is_said_at_the_top(app, db) -> None:
    form, flashed = written_then_refused(app, db, RuleBroken("Closed.", field="elsewhere"))

    assert flashed == [("error", "Closed.")]
    assert form.errors == {}


def test_every_problem_of_a_letter_is_said(app, db) -> None:
    _form, flashed = written_then_refused(app, db, LetterError(["First.", "Second."]))

    assert flashed == [("error", "First."), ("error", "Second.")]


def test_nothing_the_request_wrote_is_kept(app, db) -> None:
    written_then_refused(app, db, RuleBroken("No."))

    names = db.scalars(select(Programme.name)).all()
    assert "Half-written programme" not in names
