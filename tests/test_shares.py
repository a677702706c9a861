"""The patient's shares: create with a preview, the link and its QR, revoke, rotate, access log."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from pathway.models import AccessEvent, Share
from pathway.sharing import shares
from pathway.sharing.sections import PRESETS, Audience, Section
from tests.factories import PAYLOADS, assert_scope, make_share, path_of, sign_in

# These are Alice's own pages: in every test, `client` is her browser, signed in.
pytestmark = pytest.mark.usefixtures("alice_signed_in")


def share_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Share))


def form(audience: Audience, **overrides: Any) -> dict[str, Any]:
    data = {
        "audience": audience.value,
        "label": "Dr Martin, cabinet de Trélazé",
        "sections": [s.value for s in PRESETS[audience]],
        "expiry": "30d",
        "passcode": "",
        "action": "create",
    }
    data.update(overrides)
    return data


def test_patient_chooses_an_audience_then_sees_its_preset(client, alice) -> None:
    page = client.get("/shares/new").get_data(as_text=True)
    assert "Avec qui voulez-vous partager" in page
    assert "/shares/new?audience=pharmacist" in page
    page = client.get("/shares/new?audience=pharmacist").get_data(as_text=True)
    checked = set(re.findall(r'name="sections" value="(\w+)" checked', page))
    assert checked == {s.value for s in PRESETS[Audience.PHARMACIST]}
    checked = re.findall(r'<input checked[^>]*name="expiry"[^>]*value="(\w+)"', page)
    assert checked == ["30d"]
    # Replies are offered to a GP, a pharmacist or a nurse, not to a firefighter.
    assert 'name="allow_replies"' in page
    assert 'name="allow_replies"' not in client.get("/shares/new?audience=firefighter").get_data(
        as_text=True
    )


def test_emergency_services_are_pointed_to_the_emergency_card(client, alice) -> None:
    page = client.get("/shares/new").get_data(as_text=True)
    choices = page[page.index('class="audience-choices"') : page.index("</ul>")]
    assert "audience=paramedic" not in choices and "audience=firefighter" not in choices
    responders = page[page.index('id="responders-title"') :]
    assert "Pour les secours (SAMU, ambulanciers, sapeurs-pompiers)" in responders
    assert 'href="/card/"' in responders
    # A link for one service stays possible, and its page recalls the card first.
    assert "/shares/new?audience=paramedic" in responders
    form = client.get("/shares/new?audience=paramedic").get_data(as_text=True)
    assert "votre carte d'urgence convient mieux" in form and 'href="/card/"' in form
    assert "convient mieux" not in client.get("/shares/new?audience=gp").get_data(as_text=True)


def test_patient_creates_a_share_with_a_changed_selection(client, db, alice) -> None:
    chosen = ["identity", "allergies", "life_context"]
    response = client.submit(
        "/shares/new",
        form(Audience.NURSE, sections=chosen, expiry="7d", allow_replies="y"),
        page="/shares/new?audience=nurse",
    )
    assert response.status_code == 303
    share = db.scalars(select(Share).where(Share.patient_id == alice.id)).one()
    assert share.sections == chosen
    assert share.audience == Audience.NURSE and share.allow_replies
    assert share.label == "Dr Martin, cabinet de Trélazé"
    assert (
        share.expires_at is not None
        and 6.9 < (share.expires_at - share.created_at).total_seconds() / 86400 < 7.1
    )
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    url = shares_url_in(detail)
    assert url.startswith("https://pathway.test/s/")
    # The QR code decodes to exactly the link.
    src = re.search(r'class="share-qr" src="data:image/png;base64,([^"]+)"', detail).group(1)
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(src)))
    assert decode(image)[0].data.decode() == url
    # The link opens exactly the chosen sections.
    html = client.get(url.replace("https://pathway.test", "")).get_data(as_text=True)
    assert_scope(html, [Section(s) for s in chosen])


def shares_url_in(html: str) -> str:
    return re.search(
        r'id="share-url" class="link-field" rows="3" readonly>([^<]+)</textarea>', html
    ).group(1)


def test_passcode_share_reminds_to_give_the_passcode_separately(client, db, alice) -> None:
    response = client.submit(
        "/shares/new", form(Audience.GP, passcode="7391"), page="/shares/new?audience=gp"
    )
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Donnez le code séparément" in detail
    share = db.scalars(select(Share).where(Share.patient_id == alice.id)).one()
    assert share.passcode_hash and "7391" not in share.passcode_hash


def test_preview_shows_exactly_what_the_recipient_sees_and_creates_nothing(
    client, db, alice
) -> None:
    data = form(Audience.PHARMACIST, action="preview")
    response = client.submit("/shares/new", data, page="/shares/new?audience=pharmacist")
    preview = response.get_data(as_text=True)
    assert response.status_code == 200
    assert share_count(db) == 0
    article = re.search(r'<article class="shared-summary">.*?</article>', preview, re.S).group(0)
    assert_scope(article, PRESETS[Audience.PHARMACIST])
    # Same template, same builder: the recipient's page holds the very same document.
    share = make_share(alice, Audience.PHARMACIST)
    db.commit()
    recipient = client.get(path_of(share)).get_data(as_text=True)
    assert (
        re.search(r'<article class="shared-summary">.*?</article>', recipient, re.S).group(0)
        == article
    )
    # The preview keeps the form as typed.
    assert 'value="Dr Martin, cabinet de Trélazé"' in preview


def test_preview_needs_no_recipient_name_but_creating_does(client, db, alice) -> None:
    preview = client.submit(
        "/shares/new", form(Audience.GP, label="", action="preview"), page="/shares/new?audience=gp"
    )
    assert preview.status_code == 200
    assert "Alice allergen" in preview.get_data(as_text=True)
    created = client.submit(
        "/shares/new", form(Audience.GP, label=""), page="/shares/new?audience=gp"
    )
    assert created.status_code == 422
    assert share_count(db) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sections": []}, "Choisissez au moins une rubrique à partager."),
        ({"expiry": "365d"}, "pas un choix valide"),
        ({"expiry": "-1d"}, "pas un choix valide"),
        ({"expiry": "2020-01-01"}, "pas un choix valide"),
        ({"expiry": ""}, "Choisissez la durée de validité du lien."),
        ({"label": ""}, "Indiquez à qui ce lien est destiné."),
        ({"label": "x" * 121}, "Trop long : 120 caractères au maximum."),
        ({"passcode": "12"}, "Le code d&#39;accès doit comporter entre 4 et 64 caractères."),
        ({"passcode": "1" * 65}, "Trop long : 64 caractères au maximum."),
        ({"sections": ["identity", "bank_account"]}, "pas un choix valide"),
    ],
)
def test_bad_share_requests_are_refused_with_a_message(
    client, db, alice, overrides, message
) -> None:
    response = client.submit(
        "/shares/new", form(Audience.GP, **overrides), page="/shares/new?audience=gp"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html, re.findall(r'class="error"[^>]*>([^<]*)', html)
    assert share_count(db) == 0


def test_replies_cannot_be_allowed_for_emergency_audiences(client, db, alice) -> None:
    client.submit(
        "/shares/new",
        form(Audience.FIREFIGHTER, allow_replies="y"),
        page="/shares/new?audience=firefighter",
    )
    share = db.scalars(select(Share).where(Share.patient_id == alice.id)).one()
    assert share.allow_replies is False


def test_revoke_makes_the_link_answer_410(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    path = path_of(share)
    response = client.submit(f"/shares/{share.public_id}/revoke", {}, page="/shares/")
    assert response.status_code == 303
    assert client.get(path).status_code == 410
    page = client.get("/shares/").get_data(as_text=True)
    assert "Anciens liens" in page and "retiré" in page


def test_rotate_gives_a_new_link_and_the_old_one_answers_410(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    old = path_of(share)
    response = client.submit(
        f"/shares/{share.public_id}/rotate", {}, page=f"/shares/{share.public_id}"
    )
    assert response.status_code == 303
    new_url = shares_url_in(client.get(response.headers["Location"]).get_data(as_text=True))
    assert client.get(old).status_code == 410
    assert client.get(new_url.replace("https://pathway.test", "")).status_code == 200


def test_a_revoked_link_cannot_be_rotated_back_to_life(client, db, alice) -> None:
    share = make_share(alice)
    shares.revoke_share(share)
    db.commit()
    client.submit(f"/shares/{share.public_id}/rotate", {}, page="/shares/")
    db.refresh(share)
    assert share.token_version == 1
    assert client.get(path_of(share)).status_code == 410


def test_actions_without_csrf_are_refused(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    assert client.post("/shares/new", data=form(Audience.GP)).status_code == 400
    assert client.post(f"/shares/{share.public_id}/revoke").status_code == 400
    assert client.post(f"/shares/{share.public_id}/rotate").status_code == 400
    assert client.post("/account/my-data").status_code == 400
    assert (
        client.post("/account/delete-account", data={"password": "x", "confirm": "y"}).status_code
        == 400
    )
    db.refresh(share)
    assert share.revoked_at is None and share.token_version == 1
    assert share_count(db) == 1


def test_alice_cannot_reach_bobs_shares_or_their_log(client, db, alice, bob) -> None:
    bob_share = make_share(bob, label="Bob's GP")
    db.commit()
    bob_path = path_of(bob_share)
    # Someone opened Bob's link: Alice must not see it anywhere.
    client.get(bob_path, headers={"User-Agent": "Firefox/120"})
    for url in (f"/shares/{bob_share.public_id}",):
        assert client.get(url).status_code == 404
    assert (
        client.submit(f"/shares/{bob_share.public_id}/revoke", {}, page="/shares/").status_code
        == 404
    )
    assert (
        client.submit(f"/shares/{bob_share.public_id}/rotate", {}, page="/shares/").status_code
        == 404
    )
    db.refresh(bob_share)
    assert bob_share.revoked_at is None and bob_share.token_version == 1
    for url in ("/shares/", "/shares/log"):
        assert "Bob" not in client.get(url).get_data(as_text=True)


def test_access_log_says_who_saw_what_and_when(client, stranger, db, alice) -> None:
    share = make_share(alice, Audience.PHARMACIST, passcode="4321", label="Pharmacie du Centre")
    db.commit()
    stranger.submit(
        path_of(share),
        {"passcode": "4321", "viewer": "M. Durand, pharmacien"},
        headers={"User-Agent": "Mozilla/5.0 (Android 14; Mobile) Firefox/120.0"},
    )
    stranger.submit(path_of(share), {"passcode": "0000"})
    detail = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    overall = client.get("/shares/log").get_data(as_text=True)
    for page in (detail, overall):
        assert "M. Durand, pharmacien" in page
        assert "Allergies et intolérances" in page  # a section shown
        assert "Refusé : code d'accès incorrect" in page
        assert "Votre synthèse telle qu'elle est aujourd'hui" in page
        assert "téléphone · Firefox" in page
    assert "Pharmacie du Centre" in overall
    event = db.scalars(
        select(AccessEvent).where(AccessEvent.share_id == share.id, AccessEvent.outcome == "shown")
    ).one()
    assert event.summary_version == alice.summary_version


def test_locked_share_is_flagged_to_the_patient(client, stranger, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    for _ in range(5):
        stranger.submit(path_of(share), {"passcode": "nope"})
    page = client.get("/shares/").get_data(as_text=True)
    assert "Verrouillé après 5 codes d'accès erronés" in page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_label_and_declared_viewer_are_escaped(client, stranger, db, alice, payload) -> None:
    share = make_share(alice, label=payload, passcode="4321")
    db.commit()
    stranger.submit(path_of(share), {"passcode": "4321", "viewer": payload})
    for url in ("/shares/", f"/shares/{share.public_id}", "/shares/log"):
        html = client.get(url).get_data(as_text=True)
        assert payload not in html and "<img src=x" not in html and "<script>alert" not in html
    recipient = stranger.submit(path_of(share), {"passcode": "4321"}).get_data(as_text=True)
    assert payload not in recipient


def test_signed_out_visitor_and_educator_cannot_open_share_pages(other_client, db, eve) -> None:
    assert other_client.get("/shares/").status_code in (302, 404)
    sign_in(other_client, "eve@example.org")
    assert other_client.get("/shares/").status_code == 404
    assert other_client.get("/shares/new").status_code == 404


def test_emergency_card_is_managed_on_its_own_page_not_as_a_link(client, db, alice) -> None:
    from pathway.models import ShareKind

    card = make_share(alice, Audience.PARAMEDIC, kind=ShareKind.EMERGENCY, label="Carte d'urgence")
    db.commit()
    assert client.get(f"/shares/{card.public_id}").headers["Location"].endswith("/card/")
    assert client.submit(f"/shares/{card.public_id}/rotate", {}, page="/shares/").status_code == 404
    assert client.submit(f"/shares/{card.public_id}/revoke", {}, page="/shares/").status_code == 404
    assert "Carte d&#39;urgence" not in client.get("/shares/").get_data(as_text=True)


def test_extending_the_expiry_in_the_database_reopens_an_old_link(client, db, alice) -> None:
    import datetime as dt

    import time_machine

    share = make_share(alice, expiry=shares.Expiry.DAY)
    db.commit()
    path = path_of(share)
    later = share.expires_at + dt.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        assert client.get(path).status_code == 410
        # The database is the only truth: the same token opens again once the expiry moves.
        share.expires_at = later + dt.timedelta(days=1)
        db.commit()
        assert client.get(path).status_code == 200


def test_link_qr_code_is_made_once_per_link_version(client, db, alice) -> None:
    from pathway.models import ShareArtifact

    share = make_share(alice)
    db.commit()
    first = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    second = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    stored = db.scalars(select(ShareArtifact).where(ShareArtifact.share_id == share.id)).all()
    assert len(stored) == 1 and stored[0].token_version == 1
    qr = lambda html: re.search(r'class="share-qr" src="([^"]+)"', html).group(1)  # noqa: E731
    assert qr(first) == qr(second)
    client.submit(f"/shares/{share.public_id}/rotate", {}, page=f"/shares/{share.public_id}")
    rotated = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert qr(rotated) != qr(first)
    assert (
        len(db.scalars(select(ShareArtifact).where(ShareArtifact.share_id == share.id)).all()) == 2
    )
