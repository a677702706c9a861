"""The patient's rights: download all their data as JSON, delete their account."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader
from sqlalchemy import func, select

from pathway.models import AccessEvent, Condition, Patient, Share, User
from pathway.sharing.sections import Audience
from tests.factories import PASSWORD, SENTINELS, make_share, path_of, sign_in


def test_export_holds_all_of_alices_data_and_nothing_of_bobs(
    client, stranger, db, alice, bob
) -> None:
    share = make_share(alice, Audience.PHARMACIST, passcode="4321", label="Pharmacie du Centre")
    make_share(bob, label="Bob's GP")
    db.commit()
    stranger.submit(path_of(share), {"passcode": "4321", "viewer": "M. Durand"})
    sign_in(client, "alice@example.org")
    response = client.submit("/account/my-data", {})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    data = json.loads(text)
    assert data["format"] == "pathway.patient-export" and data["version"] == 1
    assert data["patient"]["first_name"] == "Alice"
    assert data["account"]["email"] == "alice@example.org"
    every_section = [sentinel for sentinels in SENTINELS.values() for sentinel in sentinels]
    for sentinel in (*every_section, "Alice BEP synthesis", "Pharmacie du Centre", "M. Durand"):
        assert sentinel in text, sentinel
    assert data["conditions"][0]["orphacode"] == "85138"
    assert data["shares"][0]["has_passcode"] is True
    assert data["access_events"][0]["share_public_id"] == share.public_id
    assert "Bob" not in text
    # Secrets protect the patient; they are not exported.
    for secret in ("password_hash", "passcode_hash", "totp_secret", "$argon2"):
        assert secret not in text


def test_export_needs_the_patient_signed_in(stranger, db) -> None:
    assert stranger.post("/account/my-data").status_code == 400  # no CSRF token
    assert stranger.get("/account/my-data").status_code in (302, 404)


def test_wrong_password_deletes_nothing(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    response = client.submit(
        "/account/delete-account", {"password": "not my password", "confirm": "y"}
    )
    assert response.status_code == 422
    assert "Mot de passe incorrect : rien n'a été supprimé." in response.get_data(
        as_text=True
    ).replace("&#39;", "'")
    assert db.get(Patient, alice.id) is not None


def test_deletion_needs_the_confirmation_box(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    response = client.submit("/account/delete-account", {"password": PASSWORD})
    assert response.status_code == 422
    assert "Cochez la case pour confirmer." in response.get_data(as_text=True)
    assert db.get(Patient, alice.id) is not None


def test_deleting_the_account_removes_the_data_and_kills_every_link(
    client, stranger, db, alice, bob
) -> None:
    first = make_share(alice)
    second = make_share(alice, Audience.PHARMACIST, passcode="4321")
    bob_share = make_share(bob)
    db.commit()
    links = [path_of(first), path_of(second)]
    bob_link = path_of(bob_share)
    stranger.get(links[0])
    alice_id, user_id = alice.id, alice.user_id
    sign_in(client, "alice@example.org")
    response = client.submit("/account/delete-account", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    db.expunge_all()
    assert db.get(Patient, alice_id) is None
    assert db.get(User, user_id) is None
    assert (
        db.scalar(select(func.count()).select_from(Share).where(Share.patient_id == alice_id)) == 0
    )
    assert (
        db.scalar(
            select(func.count()).select_from(Condition).where(Condition.patient_id == alice_id)
        )
        == 0
    )
    assert db.scalar(select(func.count()).select_from(AccessEvent)) == 0
    for link in links:
        assert stranger.get(link).status_code in (404, 410)
    # Signed out, and cannot sign in again.
    assert client.get("/patient/").status_code in (302, 404)
    # Bob is untouched.
    assert stranger.get(bob_link).status_code == 200


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_summary_pdf_holds_every_section_and_the_years_openings_and_nothing_of_bobs(
    client, stranger, db, alice, alice_enrollment, bob
) -> None:
    share = make_share(alice, label="Pharmacie du Centre")
    stranger.get(path_of(share))
    make_share(bob, label="Bob's GP")
    db.commit()
    sign_in(client, "alice@example.org")
    assert "/account/my-data.pdf" in client.get("/account/my-data").get_data(as_text=True)
    response = client.submit("/account/my-data.pdf", {}, page="/account/my-data")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = " ".join(pdf_text(response.get_data()).split())
    assert "Alice Martin" in text and "Ma synthèse de santé" in text
    for sentinel in ("Alice condition", "Alice allergen", "Alice critical action", "Dr Alice GP"):
        assert sentinel in text, sentinel
    assert "Qui a ouvert ma synthèse ces 12 derniers mois" in text
    assert "Pharmacie du Centre" in text  # the opening of this link, in the access log
    assert "Bob" not in text


def test_the_summary_pdf_is_in_the_patients_language(client, db, alice) -> None:
    alice.user.locale = "en"
    db.commit()
    sign_in(client, "alice@example.org")
    response = client.submit("/account/my-data.pdf", {}, page="/account/my-data")
    text = " ".join(pdf_text(response.get_data()).split())
    assert "My health summary" in text and "Ma synthèse" not in text


def test_the_summary_pdf_needs_the_patient_and_the_form(client, stranger, db, claire) -> None:
    assert stranger.post("/account/my-data.pdf").status_code == 400  # no CSRF token
    sign_in(client, "claire@example.org")
    assert client.submit("/account/my-data.pdf", {}, page="/account/").status_code == 404
