"""The patient's card page /card/: create, sections, regenerate, withdraw, downloads, log."""

from __future__ import annotations

import io

import pypdf
import pytest
from PIL import Image
from pyzbar import pyzbar
from pyzbar.pyzbar import ZBarSymbol
from sqlalchemy import func, select

from pathway.cards.patient_routes import bp as card_bp
from pathway.cards.service import current_card
from pathway.models import AccessEvent, Share, ShareArtifact, ShareKind
from pathway.sharing.sections import EMERGENCY_SECTIONS, Audience, Section
from tests.factories import make_card, make_share, name_opening, path_of, sign_in, url_of

PRESET = [s.value for s in EMERGENCY_SECTIONS]


def test_patient_creates_a_card_for_responders_from_the_emergency_preset(
    app, client, db, alice
) -> None:
    sign_in(client, "alice@example.org")
    page = client.get("/card/").get_data(as_text=True)
    assert "Créer ma carte d'urgence" in page
    assert page.count("checked") == len(EMERGENCY_SECTIONS)  # the preset is ticked
    response = client.submit("/card/", {"sections": PRESET})
    assert response.status_code == 302
    card = current_card(alice)
    assert card.kind == ShareKind.EMERGENCY and card.audience == Audience.PARAMEDIC
    assert card.label == "Carte d'urgence"
    assert card.expires_at is None and card.passcode_hash is None
    assert set(card.sections) == set(PRESET)
    names = set(db.scalars(select(ShareArtifact.name).where(ShareArtifact.share_id == card.id)))
    assert {"qr.png", "qr.svg", "card.pdf", "lockscreen.png"} <= names
    page = client.get("/card/").get_data(as_text=True)
    assert "Votre carte d&#39;urgence est prête" in page
    assert f"/card/{card.public_id}/qr.svg" in page
    assert (
        f"/card/{card.public_id}/card.pdf" in page
        and f"/card/{card.public_id}/lockscreen.png" in page
    )


def test_creating_a_card_needs_at_least_one_section(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    response = client.submit("/card/", {})
    assert response.status_code == 400
    assert "Choisissez au moins une rubrique à partager." in response.get_data(as_text=True)
    assert current_card(alice) is None


def test_downloads_serve_the_stored_documents(app, client, db, alice) -> None:
    card = make_card(alice)
    url = url_of(card)
    sign_in(client, "alice@example.org")
    pdf = client.get(f"/card/{card.public_id}/card.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert len(pypdf.PdfReader(io.BytesIO(pdf.data)).pages) == 2
    png = client.get(f"/card/{card.public_id}/qr.png")
    assert png.mimetype == "image/png"
    assert [
        s.data.decode()
        for s in pyzbar.decode(Image.open(io.BytesIO(png.data)), symbols=[ZBarSymbol.QRCODE])
    ] == [url]
    lock = client.get(f"/card/{card.public_id}/lockscreen.png")
    assert Image.open(io.BytesIO(lock.data)).size == (1170, 2532)
    svg = client.get(f"/card/{card.public_id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"/card/{card.public_id}/facts.json").status_code == 404
    assert client.get(f"/card/{card.public_id}/other.txt").status_code == 404


def test_patient_sees_every_opening_prominently_with_who_opened(
    app, client, stranger, db, alice
) -> None:
    card_path = path_of(make_card(alice))
    name_opening(stranger, card_path, "SAMU 49")
    stranger.get(card_path)
    sign_in(client, "alice@example.org")
    page = client.get("/card/").get_data(as_text=True)
    assert page.count("Votre carte d'urgence a été ouverte le") == 2
    assert "par SAMU 49." in page
    assert "par une personne qui n'a pas donné son nom." in page
    # The QR code and the downloads first (what the patient comes for), the openings after.
    assert page.index("Votre QR code") < page.index("Ouvertures de votre carte d")
    assert "(téléphone" in page or "(ordinateur" in page
    assert "(computer" not in page and "(phone" not in page


def test_the_card_page_lists_the_latest_openings_with_a_link_to_all(
    app, client, stranger, db, alice
) -> None:
    card_path = path_of(make_card(alice))
    for _opening in range(7):
        stranger.get(card_path)
    sign_in(client, "alice@example.org")
    page = client.get("/card/").get_data(as_text=True)
    assert page.count("Votre carte d'urgence a été ouverte le") == 5
    assert 'href="/shares/log"' in page


def test_replacing_the_qr_code_or_withdrawing_the_card_asks_first(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    sign_in(client, "alice@example.org")
    page = client.get("/card/").get_data(as_text=True)
    assert f'action="/card/{card.public_id}/regenerate"' not in page
    assert f'action="/card/{card.public_id}/withdraw"' not in page
    for action, says in (
        ("regenerate", "cesse de fonctionner immédiatement"),
        ("withdraw", "Plus personne ne pourra ouvrir vos informations d'urgence"),
    ):
        question = client.get(f"/card/{card.public_id}/{action}")
        assert question.status_code == 200
        assert says in question.get_data(as_text=True)
    db.refresh(card)
    assert card.revoked_at is None and card.token_version == 1
    assert stranger.get(path_of(card)).status_code == 200


def test_changing_sections_changes_what_responders_see_and_reprints(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    old_pdf = db.scalar(
        select(ShareArtifact.data).where(
            ShareArtifact.share_id == card.id, ShareArtifact.name == "card.pdf"
        )
    )
    sign_in(client, "alice@example.org")
    sections = [s for s in PRESET if s != Section.ALLERGIES.value] + [Section.CARE_TEAM.value]
    response = client.submit(
        f"/card/{card.public_id}/sections", {"sections": sections}, page="/card/"
    )
    assert response.status_code == 302
    db.refresh(card)
    assert set(card.sections) == set(sections)
    html = client.get(card_path).get_data(as_text=True)  # same link
    assert "Alice allergen" not in html and "Dr Alice GP" in html
    new_pdf = db.scalar(
        select(ShareArtifact.data).where(
            ShareArtifact.share_id == card.id, ShareArtifact.name == "card.pdf"
        )
    )
    assert new_pdf != old_pdf
    assert "Alice allergen" not in "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(new_pdf)).pages
    )


def test_sections_outside_the_card_choices_are_refused(app, client, db, alice) -> None:
    card = make_card(alice)
    sign_in(client, "alice@example.org")
    response = client.submit(
        f"/card/{card.public_id}/sections",
        {"sections": [Section.LIFE_CONTEXT.value]},
        page="/card/",
    )
    assert response.status_code == 400
    db.refresh(card)
    assert set(card.sections) == set(PRESET)
    empty = client.submit(f"/card/{card.public_id}/sections", {}, page="/card/")
    assert empty.status_code == 400
    assert "Choisissez au moins une rubrique à partager." in empty.get_data(as_text=True)


def test_regenerating_warns_and_makes_the_old_qr_code_answer_410(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    old_path = path_of(card)
    sign_in(client, "alice@example.org")
    page = client.get("/card/").get_data(as_text=True)
    assert "L'ancien QR code cessera aussitôt de fonctionner" in page
    old_png = client.get(f"/card/{card.public_id}/qr.png").data
    response = client.submit(f"/card/{card.public_id}/regenerate", {}, page="/card/")
    assert response.status_code == 302
    assert "remplacez vos cartes imprimées" in client.get("/card/").get_data(as_text=True)
    db.refresh(card)
    new_url = url_of(card)
    assert stranger.get(old_path).status_code == 410
    assert stranger.get(path_of(card)).status_code == 200
    new_png = client.get(f"/card/{card.public_id}/qr.png").data
    assert new_png != old_png
    assert [
        s.data.decode()
        for s in pyzbar.decode(Image.open(io.BytesIO(new_png)), symbols=[ZBarSymbol.QRCODE])
    ] == [new_url]


def test_withdrawing_the_card_stops_its_link_and_allows_a_new_card(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    sign_in(client, "alice@example.org")
    assert client.submit(f"/card/{card.public_id}/withdraw", {}, page="/card/").status_code == 302
    assert stranger.get(card_path).status_code == 410
    assert client.get(f"/card/{card.public_id}/card.pdf").status_code == 404
    assert current_card(alice) is None
    assert "Créer ma carte d'urgence" in client.get("/card/").get_data(as_text=True)


def test_out_of_date_card_offers_an_update_that_keeps_the_link(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    sign_in(client, "alice@example.org")
    assert "Mettre à jour ma carte" not in client.get("/card/").get_data(as_text=True)
    alice.allergies[0].substance = "Alice new allergen"
    db.flush()
    page = client.get("/card/").get_data(as_text=True)
    assert "Votre carte imprimée n'est plus à jour" in page
    qr_before = client.get(f"/card/{card.public_id}/qr.png").data
    assert client.submit(f"/card/{card.public_id}/update", {}, page="/card/").status_code == 302
    assert "Mettre à jour ma carte" not in client.get("/card/").get_data(as_text=True)
    pdf = client.get(f"/card/{card.public_id}/card.pdf").data
    assert "Alice new allergen" in "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages
    )
    assert client.get(f"/card/{card.public_id}/qr.png").data == qr_before
    assert stranger.get(path_of(card)).status_code == 200


CARD_ROUTES = [
    ("get", "/card/{id}/card.pdf"),
    ("get", "/card/{id}/qr.png"),
    ("get", "/card/{id}/qr.svg"),
    ("get", "/card/{id}/lockscreen.png"),
    ("get", "/card/{id}/regenerate"),
    ("get", "/card/{id}/withdraw"),
    ("post", "/card/{id}/sections"),
    ("post", "/card/{id}/update"),
    ("post", "/card/{id}/regenerate"),
    ("post", "/card/{id}/withdraw"),
]


@pytest.mark.parametrize(("method", "route"), CARD_ROUTES)
def test_another_patient_never_reaches_alices_card(
    app, client, db, alice, bob, method: str, route: str
) -> None:
    card = make_card(alice)
    version = card.token_version
    sign_in(client, "bob@example.org")
    path = route.format(id=card.public_id)
    if method == "get":
        response = client.get(path)
    else:
        response = client.submit(path, {"sections": PRESET}, page="/card/")
    assert response.status_code == 404
    db.refresh(card)
    assert (
        card.revoked_at is None
        and card.token_version == version
        and set(card.sections) == set(PRESET)
    )


@pytest.mark.parametrize(("method", "route"), CARD_ROUTES)
def test_an_educator_never_reaches_a_card(
    app, client, db, alice, eve, method: str, route: str
) -> None:
    card = make_card(alice)
    sign_in(client, "eve@example.org")
    path = route.format(id=card.public_id)
    response = client.get(path) if method == "get" else client.submit(path, {}, page="/auth/login")
    assert response.status_code == 404
    assert client.get("/card/").status_code == 404


def test_a_stranger_is_sent_to_sign_in(app, stranger, db, alice) -> None:
    card = make_card(alice)
    for path in ("/card/", f"/card/{card.public_id}/card.pdf"):
        response = stranger.get(path)
        assert response.status_code in (302, 401)
        assert b"%PDF" not in response.data


def test_a_professional_link_is_not_reachable_as_a_card(app, client, db, alice) -> None:
    link = make_share(alice, sections=(Section.IDENTITY,))
    sign_in(client, "alice@example.org")
    assert client.get(f"/card/{link.public_id}/qr.png").status_code == 404
    assert client.submit(f"/card/{link.public_id}/regenerate", {}, page="/card/").status_code == 404
    db.refresh(link)
    assert link.token_version == 1


def test_every_card_form_refuses_a_post_without_csrf_token(app, client, db, alice) -> None:
    card = make_card(alice)
    sign_in(client, "alice@example.org")
    posts = [
        rule.rule.replace("<public_id>", card.public_id)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(card_bp.name + ".") and "POST" in rule.methods
    ]
    assert len(posts) == 5
    for path in posts:
        response = client.post(path, data={"sections": PRESET})
        assert response.status_code == 400, path
    db.refresh(card)
    assert card.revoked_at is None and card.token_version == 1
    assert db.scalar(select(func.count()).select_from(Share)) == 1


def test_openings_of_another_patients_card_are_not_in_the_log(
    app, client, stranger, db, alice, bob
) -> None:
    alices_card = make_card(alice)
    make_card(bob)
    name_opening(stranger, path_of(alices_card), "VSAV Angers")
    sign_in(client, "bob@example.org")
    assert "VSAV Angers" not in client.get("/card/").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(AccessEvent)) == 1


def test_scan_of_a_replaced_card_is_refused_and_shown_to_the_patient(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    old_path = path_of(card)
    sign_in(client, "alice@example.org")
    client.submit(f"/card/{card.public_id}/regenerate", {}, page="/card/")
    assert stranger.get(old_path).status_code == 410
    refused = db.scalars(select(AccessEvent).where(AccessEvent.share_id == card.id)).all()
    assert [(e.outcome, e.sections) for e in refused] == [("denied_rotated", [])]
    page = client.get("/card/").get_data(as_text=True)
    assert "quelqu'un a scanné une carte que vous avez remplacée" in page
    # No notice of an opening: nothing was shown.
    from pathway.models import Notification

    assert (
        db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "emergency_opened")
        )
        == 0
    )


def test_a_document_failure_changes_nothing_and_says_so(
    app, client, db, alice, monkeypatch
) -> None:
    from pathway.cards import artifacts
    from pathway.documents import DocumentError

    def broken(*args):
        raise DocumentError("renderer down")

    monkeypatch.setattr(artifacts, "render_card", broken)
    sign_in(client, "alice@example.org")
    response = client.submit("/card/", {"sections": PRESET})
    assert response.status_code == 302
    assert current_card(alice) is None
    page = client.get("/card/").get_data(as_text=True)
    assert "Votre carte n&#39;a pas pu être créée" in page
