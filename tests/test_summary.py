"""The patient's summary pages: view, add, edit and delete, section by section."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pathway.models import (
    Allergy,
    CareTeamMember,
    Condition,
    EmergencyContact,
    Medication,
    SectionUpdate,
)
from pathway.sharing.sections import Section
from pathway.summary.editing import touch_section
from tests.factories import PAYLOADS, SENTINELS, sign_in

ITEM_FORMS = {
    "conditions": (
        Condition,
        {"label": "Syndrome de Cushing", "is_rare": "y", "orphacode": "553", "notes": "suivi CHU"},
    ),
    "treatments": (
        Medication,
        {
            "name": "Hydrocortisone 10 mg",
            "dosage": "20 mg",
            "instructions": "matin",
            "is_critical": "y",
        },
    ),
    "allergies": (Allergy, {"substance": "Iode", "reaction": "œdème", "is_severe": "y"}),
    "emergency-contacts": (
        EmergencyContact,
        {"name": "Julien", "relationship_label": "Conjoint", "phone": "06 98 76 54 32"},
    ),
    "care-team": (
        CareTeamMember,
        {
            "name": "Pharmacie du Centre",
            "role": "pharmacist",
            "phone": "02 41 00 00 02",
            "email": "pharma@example.org",
        },
    ),
}


# These are Alice's own pages: in every test, `client` is her browser, signed in.
pytestmark = pytest.mark.usefixtures("alice_signed_in")


def test_summary_page_shows_every_section_with_its_last_update(client, db, alice) -> None:
    touch_section(alice, Section.ALLERGIES, "Alice Martin")
    db.flush()
    html = client.get("/patient/").get_data(as_text=True)
    for section, sentinels in SENTINELS.items():
        for sentinel in sentinels:
            assert sentinel in html, (section, sentinel)
    assert "Mis à jour le" in html and "par Alice Martin" in html
    assert "Pas encore mis à jour" in html


def test_signed_out_visitor_is_sent_to_sign_in(stranger, db) -> None:
    response = stranger.get("/patient/conditions")
    assert response.status_code in (302, 404)
    assert "Alice" not in response.get_data(as_text=True)


@pytest.mark.parametrize("slug", list(ITEM_FORMS))
def test_patient_adds_edits_and_deletes_an_item(client, db, alice, slug) -> None:
    model, data = ITEM_FORMS[slug]
    version = alice.summary_version
    response = client.submit(f"/patient/{slug}/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    item = db.scalars(
        select(model).where(model.patient_id == alice.id).order_by(model.id.desc())
    ).first()
    first_field = next(iter(data))
    assert getattr(item, first_field) == data[first_field]
    db.refresh(alice)
    assert alice.summary_version == version + 1
    stamp = db.scalar(select(SectionUpdate).where(SectionUpdate.patient_id == alice.id))
    assert stamp is not None and stamp.updated_by
    page = client.get(f"/patient/{slug}").get_data(as_text=True)
    assert str(data[first_field]) in page

    changed = dict(data, **{first_field: "Changé"})
    assert client.submit(f"/patient/{slug}/{item.id}", changed).status_code == 302
    db.refresh(item)
    assert getattr(item, first_field) == "Changé"

    item_id = item.id
    response = client.submit(f"/patient/{slug}/{item_id}/delete", {}, page=f"/patient/{slug}")
    assert response.status_code == 302
    db.expunge_all()
    assert db.get(model, item_id) is None


def test_identity_protocol_and_life_context_are_saved(client, db, alice) -> None:
    response = client.submit(
        "/patient/identity",
        {
            "first_name": "Alicia",
            "last_name": "Martin",
            "birth_date": "1980-01-02",
            "phone": "06 11 22 33 44",
        },
    )
    assert response.status_code == 302
    protocol = {
        "situations": "Vomissements",
        "what_to_do": "Injecter",
        "immediate_drug": "Hydrocortisone",
        "immediate_dose": "100 mg",
        "immediate_routes": "IM",
        "what_to_avoid": "Étomidate",
        "reference_centre": "CRMR Angers",
        "reference_centre_kind": "reference",
        "reference_centre_phone": "02 41 35 36 37",
        "reference_centre_24h": "y",
    }
    assert client.submit("/patient/emergency-protocol", protocol).status_code == 302
    assert (
        client.submit("/patient/life-context", {"text": "Je suis enseignante."}).status_code == 302
    )
    db.refresh(alice)
    assert alice.first_name == "Alicia" and alice.phone == "06 11 22 33 44"
    assert alice.emergency_protocol.immediate_action == "Hydrocortisone 100 mg IM"
    assert alice.emergency_protocol.reference_centre_24h
    assert alice.life_context == "Je suis enseignante."
    html = client.get("/patient/").get_data(as_text=True)
    assert "Hydrocortisone 100 mg IM" in html and "Je suis enseignante." in html


def test_etp_progress_is_read_only_for_the_patient(client, alice) -> None:
    page = client.get("/patient/etp-progress")
    assert page.status_code == 200
    assert "Alice life objective" in page.get_data(as_text=True)
    assert client.post("/patient/etp-progress/new", data={}).status_code in (400, 404)
    assert (
        client.submit("/patient/etp-progress", {"text": "x"}, page="/patient/").status_code == 405
    )


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        (
            "/patient/conditions/new",
            {"label": "X", "orphacode": "ORPHA-12a"},
            "L&#39;ORPHAcode est un nombre",
        ),
        (
            "/patient/conditions/new",
            {"label": "X", "emergency_guideline_url": "javascript:alert(1)"},
            "https://",
        ),
        (
            "/patient/conditions/new",
            {"label": "X", "emergency_guideline_url": "http://www.orpha.net/x"},
            "https://",
        ),
        ("/patient/conditions/new", {"label": ""}, "Indiquez le nom de la maladie."),
        ("/patient/conditions/new", {"label": "x" * 201}, "Trop long : 200 caractères au maximum."),
        (
            "/patient/treatments/new",
            {"name": "x", "instructions": "y" * 501},
            "Trop long : 500 caractères au maximum.",
        ),
        (
            "/patient/emergency-contacts/new",
            {"name": "Julien", "phone": "call me"},
            "Un numéro de téléphone",
        ),
        ("/patient/care-team/new", {"role": "wizard", "name": "X"}, "pas un choix valide"),
        (
            "/patient/care-team/new",
            {"role": "gp", "name": "X", "email": "not-an-email"},
            "adresse e-mail valide",
        ),
        ("/patient/life-context", {"text": "z" * 4001}, "Trop long : 4000 caractères au maximum."),
        ("/patient/identity", {"first_name": "", "last_name": "Martin"}, "Saisissez votre prénom."),
        (
            "/patient/identity",
            {"first_name": "A", "last_name": "M", "birth_date": "2999-01-01"},
            "date de naissance valide",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_saved(
    client, db, alice, url, data, message
) -> None:
    version = alice.summary_version
    counts = {
        m: db.scalar(select(func.count()).select_from(m))
        for m in (Condition, Medication, EmergencyContact, CareTeamMember)
    }
    response = client.submit(url, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html, html[html.find("error") :][:600]
    # The form keeps what was typed (except the oversized text, which is shown as typed too).
    typed = [v for k, v in data.items() if v and k != "role"]
    assert all(str(v)[:50] in html for v in typed)
    db.refresh(alice)
    assert alice.summary_version == version
    assert counts == {m: db.scalar(select(func.count()).select_from(m)) for m in counts}


def test_orphacode_prefix_is_accepted_and_stored_as_digits(client, db, alice) -> None:
    client.submit(
        "/patient/conditions/new",
        {
            "label": "Addison",
            "orphacode": "ORPHA:85138",
            "emergency_guideline_url": "https://www.orpha.net/fr/emergency/85138",
        },
    )
    condition = db.scalars(select(Condition).where(Condition.label == "Addison")).one()
    assert condition.orphacode == "85138"
    assert condition.emergency_guideline_url == "https://www.orpha.net/fr/emergency/85138"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_free_text_is_escaped_in_the_patient_pages(client, db, alice, payload) -> None:
    for slug, (_model, data) in ITEM_FORMS.items():
        hostile = {
            k: (
                payload
                if k not in ("role", "phone", "email", "orphacode") and not k.startswith("is_")
                else v
            )
            for k, v in data.items()
        }
        response = client.submit(f"/patient/{slug}/new", hostile)
        assert response.status_code == 302, (slug, response.get_data(as_text=True)[:500])
    client.submit("/patient/life-context", {"text": payload})
    assert (
        client.submit(
            "/patient/identity", {"first_name": payload, "last_name": payload, "phone": ""}
        ).status_code
        == 302
    )
    client.submit(
        "/patient/emergency-protocol",
        {
            "situations": payload,
            "what_to_do": payload,
            "immediate_drug": payload[:120],
            "what_to_avoid": payload,
            "reference_centre": payload,
        },
    )
    for url in [
        "/patient/",
        *(f"/patient/{slug}" for slug in ITEM_FORMS),
        "/patient/emergency-protocol",
        "/patient/life-context",
        "/patient/identity",
        "/shares/new?audience=gp",
    ]:
        html = client.get(url).get_data(as_text=True)
        assert payload not in html, url
        assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_javascript_url_is_refused_in_the_guideline_field(client, db, alice) -> None:
    response = client.submit(
        "/patient/conditions/new", {"label": "X", "emergency_guideline_url": " javascript:alert(1)"}
    )
    assert response.status_code == 422
    assert db.scalar(select(Condition).where(Condition.label == "X")) is None


# Access: other patients' items and CSRF -------------------------------------------------


def test_alice_cannot_view_edit_or_delete_bobs_items(client, db, alice, bob) -> None:
    targets = {
        "conditions": bob.conditions[0],
        "treatments": bob.medications[0],
        "allergies": bob.allergies[0],
        "emergency-contacts": bob.emergency_contacts[0],
        "care-team": bob.care_team[0],
    }
    db.commit()
    for slug, item in targets.items():
        assert client.get(f"/patient/{slug}/{item.id}").status_code == 404
        assert (
            client.submit(
                f"/patient/{slug}/{item.id}",
                {
                    "label": "pwned",
                    "name": "pwned",
                    "substance": "pwned",
                    "phone": "1",
                    "role": "gp",
                },
                page="/patient/",
            ).status_code
            == 404
        )
        assert (
            client.submit(f"/patient/{slug}/{item.id}/delete", {}, page="/patient/").status_code
            == 404
        )
        assert db.get(type(item), item.id) is not None
    html = client.get("/patient/").get_data(as_text=True)
    assert "Bob" not in html


def test_educator_cannot_open_patient_pages(other_client, db, eve) -> None:
    sign_in(other_client, "eve@example.org")
    assert other_client.get("/patient/conditions").status_code == 404


def test_edits_and_deletes_without_csrf_are_refused(client, db, alice) -> None:
    item = alice.conditions[0]
    db.commit()
    assert (
        client.post(f"/patient/conditions/{item.id}", data={"label": "changed"}).status_code == 400
    )
    assert client.post(f"/patient/conditions/{item.id}/delete").status_code == 400
    assert client.post("/patient/conditions/new", data={"label": "new"}).status_code == 400
    assert client.post("/patient/life-context", data={"text": "changed"}).status_code == 400
    db.refresh(item)
    assert item.label == "Alice condition"


def test_unknown_section_answers_404(client, alice) -> None:
    assert client.get("/patient/nonsense").status_code == 404
    assert client.get("/patient/letters/new").status_code == 404


def test_any_change_of_a_summarys_rows_moves_its_version_once_per_flush(db, alice) -> None:
    version = alice.summary_version
    with db.no_autoflush:  # two rows written without the summary's functions, one flush
        alice.allergies[0].reaction = "Anaphylaxie"
        alice.medications[0].dosage = "2 mg"
    db.flush()
    assert alice.summary_version == version + 1
    alice.phone = "0611223344"
    db.flush()
    assert alice.summary_version == version + 2
    db.delete(alice.emergency_contacts[0])
    db.flush()
    assert alice.summary_version == version + 3
    # Nothing changed, nothing moves: an attribute set to its own value, or another table.
    alice.allergies[0].reaction = "Anaphylaxie"
    alice.user.locale = "en"
    db.flush()
    assert alice.summary_version == version + 3
    # The summary's functions stamp the section and move the version once.
    with db.no_autoflush:
        alice.allergies[0].reaction = "Urticaire"
        touch_section(alice, Section.ALLERGIES, "Alice Martin")
    db.flush()
    assert alice.summary_version == version + 4


def test_a_new_summary_starts_at_version_one(db, bob) -> None:
    db.flush()
    assert bob.summary_version == 1


def test_deleting_an_item_asks_first_and_warns_for_a_vital_treatment(
    app, client, db, alice
) -> None:
    from pathway.models import Medication

    sign_in(client, "alice@example.org")
    vital = db.scalars(select(Medication).where(Medication.patient_id == alice.id)).first()
    vital.is_critical = True
    db.commit()
    page = client.get("/patient/treatments").get_data(as_text=True)
    assert f'href="/patient/treatments/{vital.id}/delete"' in page
    assert f'action="/patient/treatments/{vital.id}/delete"' not in page

    question = client.get(f"/patient/treatments/{vital.id}/delete")

    assert question.status_code == 200
    body = question.get_data(as_text=True)
    assert "C'est un traitement vital" in body
    assert f"Supprimer « {vital.name} » ?" in body
    db.expunge_all()
    assert db.get(Medication, vital.id) is not None
    assert client.get("/patient/treatments/999999/delete").status_code == 404
