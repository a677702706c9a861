"""Names, labels and every other single-line text field refuse line breaks and other control
characters, with a message; multi-line texts keep their line breaks."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select

import pathway
from pathway.inputs import Form
from pathway.models import Invitation
from pathway.summary import editing
from tests.factories import sign_in

REFUSED = "sur une seule ligne"
HOSTILE = ["Alice\r\nBcc: x@evil.example", "Alice\nMartin", "Al\tice", "Al\x1bice", "Al\u2028ice"]


def every_form_class() -> set[type]:
    for module in pkgutil.walk_packages(pathway.__path__, "pathway."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    found: set[type] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending += cls.__subclasses__()
    return {cls for cls in found if cls.__module__.startswith("pathway.")}


def test_every_form_of_the_app_derives_from_the_one_that_checks_single_lines() -> None:
    classes = every_form_class() - {Form}
    assert len(classes) > 20
    assert [cls.__qualname__ for cls in classes if not issubclass(cls, Form)] == []


@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_with_a_control_character_is_refused_and_nothing_saved(
    client, db, alice_signed_in, name
) -> None:
    before = (alice_signed_in.first_name, alice_signed_in.summary_version)
    response = client.submit(
        "/patient/identity", {"first_name": name, "last_name": "Martin", "phone": ""}
    )
    assert response.status_code == 422
    assert REFUSED in response.get_data(as_text=True)
    db.refresh(alice_signed_in)
    assert (alice_signed_in.first_name, alice_signed_in.summary_version) == before


def test_other_single_line_fields_are_refused_too(client, db, alice_signed_in) -> None:
    response = client.submit("/patient/allergies/new", {"substance": "Pénicilline\r\nX"})
    assert response.status_code == 422
    assert REFUSED in response.get_data(as_text=True)


def test_a_multi_line_text_keeps_its_line_breaks(client, db, alice_signed_in) -> None:
    text = "Je suis enseignante.\r\nJe voyage souvent."
    assert client.submit("/patient/life-context", {"text": text}).status_code == 302
    db.refresh(alice_signed_in)
    assert "\n" in alice_signed_in.life_context


def test_the_domain_refuses_it_whatever_the_caller(app, db, alice) -> None:
    with app.test_request_context(), pytest.raises(editing.SummaryError) as refused:
        editing.update_identity(
            alice, {"first_name": "Alice", "last_name": "Mar\rtin"}, updated_by="test"
        )
    assert refused.value.field == "last_name"
    assert alice.last_name != "Mar\rtin"


def test_a_team_cannot_invite_a_patient_whose_name_holds_a_line_break(
    client, db, claire, programme_a
) -> None:
    sign_in(client, "claire@example.org")
    response = client.submit(
        "/team/patients/new",
        {
            "programme_id": str(programme_a.id),
            "first_name": "Chloé\r\nBcc: x@evil.example",
            "last_name": "Petit",
            "email": "chloe@example.org",
        },
    )
    assert response.status_code in (200, 400, 422)
    assert REFUSED in response.get_data(as_text=True)
    assert db.scalar(select(Invitation).where(Invitation.email == "chloe@example.org")) is None


# Every name a person types, over HTTP: the break sent as a browser sends it (%0d%0a in the
# form body), refused with the message, and stored nowhere.

BROKEN_NAME = "Dr%20Paul%0d%0aBcc:%20x@evil.example"  # as it travels in the form's body


def stored_anywhere(db, needle: str) -> list[str]:
    """The tables holding `needle` in any of their values."""
    from pathway.db import Base

    return [
        table.name
        for table in Base.metadata.sorted_tables
        if any(needle in str(value) for row in db.execute(select(table)) for value in row)
    ]


def name_forms(alice, programme_a) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    """name: (who signs in, the form's page, the name field, the form's other fields)."""
    from pathway.sharing import shares
    from tests.factories import make_share

    gp = next(member for member in alice.care_team if member.name == "Dr Alice GP")
    reply_link = shares.share_token(make_share(alice, allow_replies=True))
    return {
        "new patient (team)": (
            "claire@example.org",
            "/team/patients/new",
            "last_name",
            {
                "programme_id": str(programme_a.id),
                "first_name": "Chloé",
                "email": "chloe@example.org",
            },
        ),
        "new GP (summary)": (
            "alice@example.org",
            "/patient/care-team/new",
            "name",
            {"role": "gp", "organisation": "Cabinet", "phone": "0241000000"},
        ),
        "GP edited (summary)": (
            "alice@example.org",
            f"/patient/care-team/{gp.id}",
            "name",
            {"role": "gp", "phone": "0241000000"},
        ),
        "emergency contact (summary)": (
            "alice@example.org",
            "/patient/emergency-contacts/new",
            "name",
            {"relationship_label": "Mère", "phone": "0600000000"},
        ),
        "share label": (
            "alice@example.org",
            "/shares/new",
            "label",
            {"audience": "gp", "sections": "conditions", "expiry": "30d"},
        ),
        "programme coordinator (team)": (
            "claire@example.org",
            f"/team/programmes/{programme_a.id}",
            "programme-coordinator_name",
            {
                "programme-hospital": "CHU Angers",
                "programme-coordinator_phone": "0241000000",
                "programme-coordinator_email": "coord@example.org",
            },
        ),
        "author of a reply (link)": (
            "",
            f"/s/{reply_link}/reply",
            "author_name",
            {"message": "Bonjour", "author_role": "médecin", "author_contact": "a@example.org"},
        ),
    }


def test_every_name_field_refuses_a_line_break_sent_over_http(
    client, other_client, stranger, db, alice, claire, programme_a
) -> None:
    """One browser per persona (signed in once), each name form in turn."""
    from urllib.parse import urlencode

    browsers = {"alice@example.org": client, "claire@example.org": other_client, "": stranger}
    for email, browser in browsers.items():
        if email:
            sign_in(browser, email)
    forms = name_forms(alice, programme_a)
    assert len(forms) >= 7
    for name, (who, url, field, fields) in forms.items():
        browser = browsers[who]
        body = urlencode({**fields, "csrf_token": browser.csrf_token(url)})
        response = browser.post(
            url,
            data=f"{body}&{field}={BROKEN_NAME}",
            content_type="application/x-www-form-urlencoded",
        )
        # The team's invitation form answers its errors with 200 (see the test above).
        assert response.status_code in (200, 400, 422), (name, response.status_code)
        assert REFUSED in response.get_data(as_text=True), name
        assert "\n" not in "".join(f"{k}{v}" for k, v in response.headers.items()), name
        assert stored_anywhere(db, "evil.example") == [], name
