"""How pages are rendered: each rendering's language, and the attributes of form inputs."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from pathway.inputs import input_attributes

PAGE = (
    '{% from "_form.html" import field %}'
    '{{ _("Send") }}|{{ ngettext("%(num)d unused recovery code left.",'
    ' "%(num)d unused recovery codes left.", 2) }}|{{ field(form.name) }}'
)


class NameForm(FlaskForm):
    name = StringField("Send", validators=[Length(max=12)], description="Allergies")


def render(app: Flask, locale: str | None = None, language: str = "fr") -> str:
    # A request of its own (the test's app context would keep the first one's language).
    with app.app_context(), app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
        form = NameForm(meta={"csrf": False})
        if locale is None:
            return render_template_string(PAGE, form=form)
        with force_locale(locale):
            return render_template_string(PAGE, form=form)


def test_a_page_is_translated_in_the_visitors_language(app: Flask) -> None:
    assert render(app).startswith("Envoyer|2 codes de secours inutilisés restants.|")
    assert render(app, language="en").startswith("Send|2 unused recovery codes left.|")


def test_a_rendering_in_a_forced_language_is_wholly_in_that_language(app: Flask) -> None:
    # Letters and cards are rendered in their own language within someone else's request.
    assert render(app, locale="en").startswith("Send|2 unused recovery codes left.|")
    assert render(app, locale="fr", language="en").startswith("Envoyer|2 codes de secours")
    with app.app_context(), app.test_request_context("/", headers={"Cookie": "lang=en"}):
        with force_locale("fr"):
            assert render_template_string("{{ _('Send') }}") == "Envoyer"
        assert render_template_string("{{ _('Send') }}") == "Send"


def test_translated_strings_fill_their_values_escaped(app: Flask) -> None:
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        page = render_template_string(
            "{{ _('Born on %(date)s', date=value) }}|{{ _('At most 120 characters.') }}|"
            "{{ ngettext('%(num)d new', '%(num)d new', 3) }}|{{ _('100%%') }}",
            value="<script>alert(1)</script>",
        )
    escaped = "Born on &lt;script&gt;alert(1)&lt;/script&gt;"
    assert page == f"{escaped}|At most 120 characters.|3 new|100%"
    with app.test_request_context("/"), force_locale("fr"):
        assert render_template_string("{{ ngettext('%(num)d new', '%(num)d new', 1) }}") == (
            "1 nouvelle"
        )


def test_the_form_macro_ties_hint_and_error_to_the_input(app: Flask) -> None:
    with app.test_request_context("/"):
        form = NameForm(meta={"csrf": False})
        assert input_attributes(form.name, autocomplete="name") == {
            "autocomplete": "name",
            "aria-describedby": "name-hint",
            "maxlength": False,
        }
        form.name.errors = ["Too long"]
        attributes = input_attributes(form.name, inputmode="text", rows=3)
        assert attributes["aria-describedby"] == "name-hint name-error"
        assert attributes["aria-invalid"] == "true"
        assert (attributes["inputmode"], attributes["rows"]) == ("text", 3)
        form.name.description = ""
        assert input_attributes(form.name)["aria-describedby"] == "name-error"
    page = render(app)
    assert 'id="name-hint"' in page and 'aria-describedby="name-hint"' in page
    # No maxlength: a browser would cut a pasted text there without a word; the server
    # refuses it with a message instead.
    assert "maxlength" not in page
