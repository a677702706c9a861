"""The emergency view /e/<token>: what a responder sees, what the patient is told, refusals."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from pathway.cards.openings import NOTICE_WINDOW
from pathway.cards.pages import LANGUAGE_LINK, NAMING_LINK
from pathway.cards.responder_routes import tel_href
from pathway.cards.service import change_sections, regenerate_card, withdraw_card
from pathway.db import utcnow
from pathway.models import AccessEvent, CardPage, Notification
from pathway.sharing import shares
from pathway.sharing.sections import EMERGENCY_SECTIONS, Section
from pathway.summary import editing as summary
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import XSS, count, make_card, make_share, naming_path, path_of

PAGE_BUDGET = 30 * 1024
# An address of the form Orphanet Urgences sheets have (made up for the tests).
URGENCES_SHEET = "https://www.orpha.net/pdfs/data/patho/Emg/Int/fr/Exemple_FR_fr_EMG_ORPHA1.pdf"


class Links(HTMLParser):
    """Collect the elements and the src/href attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href"):
                self.urls.append((tag, value or ""))
            if name.startswith("on"):
                self.handlers.append(name)


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def test_responder_reads_the_critical_facts_first_without_an_account(app, client, alice) -> None:
    card_path = path_of(make_card(alice))
    response = client.get(card_path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The immediate action, the allergies and the person to call come first, then what to
    # do and what to avoid, in this order.
    in_order = (
        "Alice critical action",
        "Alice allergen",
        "Alice contact",
        "Alice what to do",
        "Alice what to avoid",
        "Alice situations",
        "Alice critical drug",
    )
    also = ("Alice Martin", "Alice condition", "ORPHA:85138")
    for fact in (*in_order, *also, "Alice reference centre"):
        assert fact in html, fact
    order = [html.index(text) for text in in_order]
    assert order == sorted(order)
    assert "À faire" in html and "À éviter" in html and "Allergies" in html
    assert "<script" not in html


def test_phone_numbers_are_tap_to_call_links(app, client, alice) -> None:
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    assert 'href="tel:0600000001"' in html  # emergency contact
    assert 'href="tel:0102030405"' in html  # reference centre, 24/7


@pytest.mark.parametrize(
    ("phone", "href"),
    [
        ("06 98 76 54 32", "tel:0698765432"),
        ("+33 6 98 76 54 32", "tel:+33698765432"),
        ("02.41.35.36.37", "tel:0241353637"),
        ("javascript:alert(1)", "tel:1"),
        ("", "tel:"),
    ],
)
def test_tel_links_keep_only_digits_and_a_leading_plus(phone: str, href: str) -> None:
    assert tel_href(phone) == href


def test_emergency_view_shows_no_etp_details_life_context_or_unshared_care_team(
    app, client, db, alice
) -> None:
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    for secret in (
        "Alice life context",
        "Alice BEP synthesis",
        "Alice GP topics",
        "Alice treatment objective",
        "Alice life objective",
        "Programme A",
        "Dr Alice GP",
        "gp-alice@example.org",
        "02 00 00 00 01",
    ):
        assert secret not in html, secret


def test_gp_contact_is_shown_when_the_care_team_is_on_the_card(app, client, alice) -> None:
    card_path = path_of(make_card(alice, (*EMERGENCY_SECTIONS, Section.CARE_TEAM)))
    html = client.get(card_path).get_data(as_text=True)
    assert "Médecin traitant" in html and "Dr Alice GP" in html
    assert 'href="tel:0200000001"' in html
    assert "Alice life context" not in html


def test_unshared_sections_are_absent_from_the_view(app, client, alice) -> None:
    card_path = path_of(make_card(alice, (Section.IDENTITY, Section.EMERGENCY_PROTOCOL)))
    html = client.get(card_path).get_data(as_text=True)
    assert "Alice critical action" in html
    for absent in ("Alice allergen", "Alice critical drug", "Alice contact", "Alice condition"):
        assert absent not in html, absent
    assert "Aucune allergie connue" not in html


def test_orphanet_emergency_guideline_is_linked_only_when_set_and_https(
    app, client, db, alice
) -> None:
    alice.conditions[0].emergency_guideline_url = URGENCES_SHEET
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    assert f'href="{URGENCES_SHEET}"' in html
    assert "Fiche Orphanet Urgences" in html
    alice.conditions[0].emergency_guideline_url = "javascript:alert(1)"
    db.flush()
    html = client.get(card_path).get_data(as_text=True)
    assert "javascript:" not in html


def test_whole_page_with_its_css_stays_within_30_kb(app, client, alice) -> None:
    alice.conditions[0].emergency_guideline_url = URGENCES_SHEET
    card_path = path_of(make_card(alice, (*EMERGENCY_SECTIONS, Section.CARE_TEAM)))
    page = client.get(card_path)
    html = page.get_data()
    links = parse(html.decode("utf-8"))
    stylesheets = [value for tag, value in links.urls if tag == "link"]
    assert stylesheets == ["/static/css/emergency.css"]
    css = b""
    for href in stylesheets:
        response = client.get(href)
        css += response.get_data()
        response.close()
    assert len(html) + len(css) <= PAGE_BUDGET
    # Nothing is fetched from elsewhere: every resource is same-origin (the guideline is a link).
    for tag, value in links.urls:
        if tag != "a":
            assert value.startswith("/"), value
        else:
            assert value.startswith(("tel:", "https://www.orpha.net/", "/e/")), value


def test_emergency_view_answers_with_private_headers(app, client, alice) -> None:
    card_path = path_of(make_card(alice))
    for response in (client.get(card_path), client.get("/e/garbage")):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "noindex" in response.headers["X-Robots-Tag"]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_every_opening_is_one_access_event_and_a_burst_of_openings_one_notice(
    app, client, stranger, db, alice
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    client.get(card_path, headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604"})
    stranger.get(card_path)
    events = db.scalars(select(AccessEvent).where(AccessEvent.share_id == card.id)).all()
    assert len(events) == 2
    assert {e.client for e in events} >= {"phone · Safari"}
    assert all(set(e.sections) == {s.value for s in EMERGENCY_SECTIONS} for e in events)
    # A crew reloading the card during an intervention: one notice, not one per reload.
    notices = db.scalars(select(Notification).where(Notification.user_id == alice.user_id)).all()
    assert len(notices) == 1
    notice = notices[0]
    assert notice.kind == "emergency_opened" and notice.link == "/card/"
    assert notice.params["when"] == events[0].occurred_at.isoformat()


def test_an_opening_after_the_notice_was_read_or_long_after_makes_a_new_notice(
    app, client, db, alice
) -> None:
    card_path = path_of(make_card(alice))

    def notices() -> list[Notification]:
        query = select(Notification).where(Notification.user_id == alice.user_id)
        return list(db.scalars(query.order_by(Notification.id)))

    client.get(card_path)
    first = notices()[0]
    first.read_at = utcnow()
    db.flush()
    client.get(card_path)
    assert len(notices()) == 2
    second = notices()[1]
    second.created_at = utcnow() - NOTICE_WINDOW - dt.timedelta(minutes=1)
    db.flush()
    client.get(card_path)
    assert len(notices()) == 3
    assert count(AccessEvent) == 3


def test_declared_viewer_names_that_opening_without_counting_another(
    app, client, db, alice
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    path = naming_path(client, card_path)
    form = client.get(path).get_data(as_text=True)
    assert "Qui êtes-vous ? (ex. : SAMU 49, VSAV Angers)" in form
    assert "Alice critical action" not in form  # the naming page shows no health data
    response = client.submit(path, {"viewer": "  SAMU  49  "})
    assert response.status_code == 200
    assert "Merci" in response.get_data(as_text=True)
    events = db.scalars(select(AccessEvent).where(AccessEvent.share_id == card.id)).all()
    assert [e.viewer for e in events] == ["SAMU 49"]
    notice = db.scalar(select(Notification).where(Notification.user_id == alice.user_id))
    assert notice.params["viewer"] == "SAMU 49"
    assert count(Notification) == 1


def test_naming_oneself_is_never_required(app, client, db, alice) -> None:
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    assert "Indiquer à la patiente qui a ouvert sa carte" in html
    assert "<form" not in html and "required" not in html
    assert "Set-Cookie" not in client.get(card_path).headers  # nothing kept in the browser
    assert "Alice critical action" in html


@pytest.mark.parametrize("typed", ["V" * 121, "   "])
def test_a_bad_viewer_name_is_refused_with_a_message_and_nothing_named(
    app, client, db, alice, typed: str
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    path = naming_path(client, card_path)
    response = client.submit(path, {"viewer": typed})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = "120 caractères au maximum." if typed.strip() else "Dites qui vous êtes"
    assert message in html
    if typed.strip():
        assert typed in html  # what was typed is kept
    events = db.scalars(select(AccessEvent).where(AccessEvent.share_id == card.id)).all()
    assert len(events) == 1 and events[0].viewer == ""


def test_viewer_form_without_csrf_token_is_refused(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    response = client.post(naming_path(client, card_path), data={"viewer": "SAMU 49"})
    assert response.status_code == 400
    assert db.scalar(select(AccessEvent.viewer).where(AccessEvent.share_id == card.id)) == ""


def test_a_naming_link_names_only_its_own_recent_opening_of_that_card(
    app, client, db, alice, bob
) -> None:
    card = make_card(alice)
    path = naming_path(client, path_of(card))
    token, reference = path.removeprefix("/e/").split("/who/")
    other_token = path_of(make_card(bob)).removeprefix("/e/")
    # Another card's link with this opening's reference: not an opening of that card.
    assert client.get(f"/e/{other_token}/who/{reference}").status_code == 410
    # A forged or garbled reference: no such page.
    assert client.get(f"/e/{token}/who/{reference[:-3]}xyz").status_code == 404
    assert client.get(f"/e/{token}/who/not-a-reference").status_code == 404
    # The crew waited too long: the opening can no longer be named.
    csrf_token = client.csrf_token(path)
    event = db.scalar(select(AccessEvent).where(AccessEvent.share_id == card.id))
    event.occurred_at = utcnow() - dt.timedelta(hours=3)
    db.flush()
    late = client.post(path, data={"viewer": "SAMU 49", "csrf_token": csrf_token})
    assert late.status_code == 410
    assert "trop tard" in late.get_data(as_text=True)
    assert db.scalars(select(AccessEvent.viewer)).all() == [""]


def test_rate_limit_answers_429_after_30_openings_a_minute(app, client, alice) -> None:
    card_path = path_of(make_card(alice))
    statuses = [client.get(card_path).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


def test_forged_or_other_purpose_tokens_answer_404(app, client, db, alice) -> None:
    card_token = shares.share_token(make_card(alice))
    link_token = shares.share_token(make_share(alice, sections=(Section.IDENTITY,)))
    assert client.get(f"/e/{link_token}").status_code == 404
    assert client.get(f"/s/{card_token}").status_code == 404
    assert (
        client.get(
            "/e/" + card_token[:-2] + ("AA" if not card_token.endswith("AA") else "BB")
        ).status_code
        == 404
    )
    assert client.get("/e/not-a-token").status_code == 404
    assert count(AccessEvent) == 0


def test_regenerated_card_old_link_answers_410_saying_it_was_replaced(app, client, alice) -> None:
    card = make_card(alice)
    old_path = path_of(card)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        regenerate_card(card, actor=alice.user)
    new_path = path_of(card)
    assert new_path != old_path
    old = client.get(old_path)
    assert old.status_code == 410
    assert "a été remplacée par une nouvelle" in old.get_data(as_text=True)
    assert "Alice" not in old.get_data(as_text=True)
    assert client.get(new_path).status_code == 200


def test_withdrawn_card_answers_410_saying_it_was_withdrawn(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        withdraw_card(card, actor=alice.user)
    db.flush()
    response = client.get(card_path)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "Cette carte a été retirée" in html
    assert 'href="tel:15"' in html and 'href="tel:112"' in html  # the numbers to call, tappable
    assert "Alice" not in html and "Martin" not in html
    assert client.get(card_path + "/who/anything").status_code == 410


def test_markup_in_patient_fields_is_escaped_on_the_emergency_view(app, client, alice) -> None:
    alice.first_name = XSS
    alice.conditions[0].label = XSS
    alice.allergies[0].substance = XSS
    alice.emergency_protocol.what_to_do = XSS
    alice.emergency_protocol.immediate_drug = XSS
    alice.emergency_contacts[0].name = XSS
    alice.emergency_contacts[0].phone = '"><script>alert(1)</script>'
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    links = parse(html)
    assert "script" not in links.tags and "img" not in links.tags
    assert links.handlers == []
    assert "&lt;script&gt;" in html
    assert re.search(r'href="tel:[^"]*"', html)


def test_view_says_when_the_information_was_last_updated(app, client, db, alice) -> None:
    from pathway.summary.editing import touch_section

    touch_section(alice, Section.ALLERGIES, "Alice Martin")
    db.flush()
    card_path = path_of(make_card(alice))
    html = client.get(card_path).get_data(as_text=True)
    assert "Informations mises à jour le" in html


# The page stored per state of the card --------------------------------------------------


def stored_pages(db, card) -> int:
    return db.scalar(select(func.count()).select_from(CardPage).where(CardPage.share_id == card.id))


def test_a_second_opening_is_served_from_the_stored_page_and_still_recorded(
    app, client, db, alice, monkeypatch
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    first = client.get(card_path).get_data(as_text=True)
    assert stored_pages(db, card) == 1

    def no_rendering(*args, **kwargs):
        raise AssertionError("the stored page should have been used")

    monkeypatch.setattr("pathway.cards.responder_routes.render_template", no_rendering)
    second = client.get(card_path)
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert "Alice critical action" in html and "Alice allergen" in html
    # Each opening has its own naming and language links; the rest is the same page.
    for mark in (NAMING_LINK, LANGUAGE_LINK):
        assert mark not in html and mark not in first
    assert naming_refs(first) != naming_refs(html)

    def without_references(page: str) -> str:
        return re.sub(r"opening=[^\"]+", "", re.sub(r"/who/[^\"]+", "", page))

    assert without_references(first) == without_references(html)
    assert count(AccessEvent) == 2


def naming_refs(html: str) -> list[str]:
    return re.findall(r'/who/([^"]+)"', html)


def test_the_naming_link_of_a_stored_page_names_its_own_opening(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    client.get(card_path)
    path = naming_path(client, card_path)  # the second opening, from the stored page
    client.submit(path, {"viewer": "VSAV Angers"})
    viewers = db.scalars(
        select(AccessEvent.viewer).where(AccessEvent.share_id == card.id).order_by(AccessEvent.id)
    ).all()
    assert viewers == ["", "VSAV Angers"]


def test_a_change_of_the_summary_shows_at_the_next_opening(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    assert "Latex" not in client.get(card_path).get_data(as_text=True)
    with app.test_request_context("/"):
        summary.save_item(
            alice, Section.ALLERGIES, None, {"substance": "Latex", "is_severe": True}, "Alice"
        )
    assert "Latex" in client.get(card_path).get_data(as_text=True)
    assert stored_pages(db, card) == 1  # the earlier state's page was dropped
    # Even a change made without the summary's functions moves the version.
    alice.allergies[0].substance = "Arachide"
    db.flush()
    assert "Arachide" in client.get(card_path).get_data(as_text=True)
    alice.first_name = "Alicia"
    db.flush()
    assert "<h1>Alicia Martin</h1>" in client.get(card_path).get_data(as_text=True)


def test_the_cards_sections_and_the_viewers_language_each_have_their_page(
    app, client, db, alice
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    assert "Alice allergen" in client.get(card_path).get_data(as_text=True)
    client.set_cookie("lang", "en", domain="pathway.test")
    english = client.get(card_path).get_data(as_text=True)
    assert '<html lang="en">' in english and "Allergies" in english
    assert "Indiquer au patient" not in english
    assert stored_pages(db, card) == 2  # one per language, both current
    with app.test_request_context("/"):
        change_sections(card, (Section.IDENTITY, Section.EMERGENCY_PROTOCOL), actor=alice.user)
    db.flush()
    fewer = client.get(card_path).get_data(as_text=True)
    assert "Alice critical action" in fewer and "Alice allergen" not in fewer


def test_a_stored_page_never_opens_a_replaced_or_withdrawn_card(app, client, db, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    assert client.get(card_path).status_code == 200
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        regenerate_card(card, actor=alice.user)
    db.flush()
    new_path = path_of(card)
    assert stored_pages(db, card) == 0  # nothing kept for a link that no longer opens
    assert client.get(card_path).status_code == 410
    assert client.get(new_path).status_code == 200
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        withdraw_card(card, actor=alice.user)
    db.flush()
    assert stored_pages(db, card) == 0
    gone = client.get(new_path)
    assert gone.status_code == 410 and "Alice" not in gone.get_data(as_text=True)
    assert stored_pages(db, card) == 0


def test_the_naming_mark_typed_by_a_patient_stays_text(app, client, db, alice) -> None:
    alice.allergies[0].substance = str(NAMING_LINK)
    alice.allergies[0].reaction = str(LANGUAGE_LINK)
    db.flush()
    card_path = path_of(make_card(alice))
    for _ in range(2):  # rendered, then stored
        html = client.get(card_path).get_data(as_text=True)
        assert "&lt;naming-link&gt;" in html and "&lt;language-link&gt;" in html
        assert len(naming_refs(html)) == 1
        assert len(re.findall(r"[?&;]opening=", html)) == 1  # the language switch


def test_naming_references_are_signed_for_their_purpose_and_survive_key_rotation(app) -> None:
    from pathway import tokens

    with app.test_request_context("/"):
        reference = tokens.sign_ids(tokens.Purpose.OPENING, 12, None)
        assert tokens.unsign_ids(tokens.Purpose.OPENING, reference, 2) == (12, None)
        for forged in (
            tokens.sign_ids(tokens.Purpose.SHARE, 12, None),  # another purpose's signature
            reference.replace("12-", "13-", 1),  # another opening, same signature
            tokens.sign_ids(tokens.Purpose.OPENING, 12),  # not the expected shape
            "12-.",
        ):
            with pytest.raises(tokens.TokenInvalid):
                tokens.unsign_ids(tokens.Purpose.OPENING, forged, 2)
        old_key = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "another-secret-key-0123456789abcdef0123"
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        try:
            assert tokens.unsign_ids(tokens.Purpose.OPENING, reference, 2) == (12, None)
        finally:
            app.config["SECRET_KEY"] = old_key
            app.config["SECRET_KEY_FALLBACKS"] = []
