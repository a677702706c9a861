"""The recipient's view at /s/<token>: scope, link states, headers, access log, letters."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from pathway import tokens
from pathway.models import AccessEvent, AuditEvent, ShareKind
from pathway.sharing import shares
from pathway.sharing.sections import PRESETS, Audience, Section
from tests.factories import PAYLOADS, assert_scope, events_of, make_share, path_of, sign_in

# Scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", list(Audience))
def test_each_preset_shows_its_sections_and_nothing_else(client, db, alice, audience) -> None:
    share = make_share(alice, audience)
    db.commit()
    html = client.get(path_of(share)).get_data(as_text=True)
    assert_scope(html, PRESETS[audience])
    # Always: whose summary this is.
    assert "Alice Martin" in html
    assert "2 janvier 1980" in html


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chosen=st.sets(st.sampled_from(list(Section)), min_size=1))
def test_random_section_subsets_never_leak_unshared_data(app, db, alice, chosen) -> None:
    client = app.test_client()
    share = make_share(alice, Audience.OTHER, sections=[s for s in Section if s in chosen])
    db.flush()
    html = client.get(path_of(share), base_url="https://pathway.test").get_data(as_text=True)
    assert_scope(html, chosen)


def test_recipient_sees_who_shared_and_until_when(client, db, alice) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC), tick=False):
        share = make_share(alice, expiry=shares.Expiry.MONTH)
        db.commit()
        html = client.get(path_of(share)).get_data(as_text=True)
    assert "Partagée par la patiente le 1er novembre 2026" in html
    assert "valable jusqu'au 1er décembre 2026" in html


def test_each_section_shows_when_it_was_last_updated(client, db, alice) -> None:
    from pathway.summary.editing import touch_section

    touch_section(alice, Section.ALLERGIES, "Alice Martin")
    share = make_share(alice)
    db.commit()
    html = client.get(path_of(share)).get_data(as_text=True)
    assert "Mis à jour le" in html and "par Alice Martin" in html


# Link states ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["nope", "a" * 200, "eyJpZCI6IngiLCJ2IjoxfQ.forged", "abc.def.ghi"],
)
def test_forged_or_garbled_token_answers_404(client, db, token) -> None:
    response = client.get(f"/s/{token}")
    assert response.status_code == 404
    assert "Lien non reconnu" in response.get_data(as_text=True)


def test_a_token_holding_a_nul_character_answers_404(client, db) -> None:
    # Refused before any route runs: no address may hold a NUL character.
    assert client.get("/s/%00").status_code == 404


def test_token_with_one_character_changed_answers_404(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    path = path_of(share)
    # Not the last character: its low bits may be base64 padding that decodes the same.
    flipped = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert client.get(flipped).status_code == 404


def test_emergency_token_on_a_share_link_answers_404(client, db, alice, bob) -> None:
    share = make_share(alice, Audience.PARAMEDIC, kind=ShareKind.EMERGENCY)
    db.commit()
    token = shares.share_token(share)
    assert client.get(f"/s/{token}").status_code == 404
    # And a share token for another purpose's salt never opens a link.
    link = make_share(bob)
    db.commit()
    other = tokens.sign(tokens.Purpose.INVITATION, link.public_id, link.token_version)
    assert client.get(f"/s/{other}").status_code == 404


def test_link_to_a_missing_share_answers_404(client, db) -> None:
    token = tokens.sign(tokens.Purpose.SHARE, "x" * 22, 1)
    assert client.get(f"/s/{token}").status_code == 404


def test_expired_link_answers_410_saying_so(client, db, alice) -> None:
    share = make_share(alice, expiry=shares.Expiry.DAY)
    db.commit()
    path = path_of(share)
    with time_machine.travel(share.expires_at + dt.timedelta(seconds=1), tick=False):
        response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Ce lien a expiré" in html
    assert "Demandez à la personne qui vous a transmis ce lien" in html
    # Holding a dead link proves nothing: the ETP team's contact is not shown.
    assert "Coordinator of Programme A" not in html
    assert "02 41 00 00 00" not in html
    assert "Alice allergen" not in html
    with time_machine.travel(share.expires_at - dt.timedelta(seconds=1), tick=False):
        assert client.get(path).status_code == 200


def test_revoked_link_answers_410_at_once(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    path = path_of(share)
    assert client.get(path).status_code == 200
    shares.revoke_share(share)
    db.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "Ce lien a été retiré" in response.get_data(as_text=True)
    assert "Alice allergen" not in response.get_data(as_text=True)


def test_rotated_link_answers_410_and_the_new_one_opens(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    old = path_of(share)
    shares.rotate_share(share)
    db.commit()
    response = client.get(old)
    assert response.status_code == 410
    assert "Ce lien a été remplacé" in response.get_data(as_text=True)
    assert client.get(path_of(share)).status_code == 200


def test_refused_openings_are_recorded_with_their_outcome(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    path = path_of(share)
    shares.revoke_share(share)
    db.commit()
    client.get(path)
    event = db.scalar(select(AccessEvent).where(AccessEvent.share_id == share.id))
    assert event.outcome == "denied_revoked"
    assert event.sections == []


def test_old_links_stay_valid_after_key_rotation(app, client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    old_path = path_of(share)
    old_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-brand-new-key-0123456789abcdef0123456789"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get(old_path).status_code == 200
    new_path = path_of(share)
    assert new_path != old_path
    # Once the old key is dropped, only links minted with the new key open.
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200


def test_token_payload_holds_only_an_opaque_id_and_version(db, alice) -> None:
    share = make_share(alice)
    token = shares.share_token(share)
    payload = token.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(decoded) == {"id", "v"}
    assert decoded["id"] == share.public_id
    assert "Alice" not in json.dumps(decoded)
    # At least 128 bits of randomness: 16 bytes -> 22 base64url characters.
    assert len(base64.urlsafe_b64decode(share.public_id + "==")) >= 16
    assert re.fullmatch(r"[A-Za-z0-9_-]+", share.public_id)
    assert len("https://pathway.test" + path_of(share)) <= 120


def test_public_ids_are_unique_and_random(db, alice) -> None:
    ids = {make_share(alice, label=f"L{i}").public_id for i in range(200)}
    assert len(ids) == 200


# Headers and resources -----------------------------------------------------------------


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_styles = 0
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action") and value:
                self.urls.append(value)
            if name == "style" or name.startswith("on"):
                self.inline_styles += 1
        if tag in ("script", "style"):
            self.scripts += 1


def test_recipient_page_has_private_headers_and_no_external_resources(client, db, alice) -> None:
    share = make_share(alice)
    db.commit()
    response = client.get(path_of(share))
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    parser = _Resources()
    parser.feed(response.get_data(as_text=True))
    assert parser.scripts == 0 and parser.inline_styles == 0
    for url in parser.urls:
        # Links the reader may follow (Orphanet, tel:, mailto:) are not resources; no
        # resource is loaded from elsewhere: stylesheets and images are same-origin.
        assert url.startswith(("/", "#", "tel:", "mailto:", "https://www.orpha.net/", "data:")), url
    html = response.get_data(as_text=True)
    assert re.search(r'<link rel="stylesheet" href="/static/', html)
    assert "@media print" in Path("static/css/pathway.css").read_text()


@pytest.mark.parametrize("state", ["revoked", "forged"])
def test_error_pages_of_links_carry_the_private_headers(client, db, alice, state) -> None:
    share = make_share(alice)
    db.commit()
    path = path_of(share)
    if state == "revoked":
        shares.revoke_share(share)
        db.commit()
    else:
        path = path + "x"
    response = client.get(path)
    assert response.status_code in (404, 410)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_token_never_appears_in_the_logs(client, db, alice, caplog) -> None:
    share = make_share(alice, passcode="1234")
    db.commit()
    path = path_of(share)
    token = path.rsplit("/", 1)[1]
    caplog.set_level("DEBUG")
    client.get(path)
    client.submit(path, {"passcode": "0000"})
    shares.revoke_share(share)
    db.commit()
    client.get(path)
    assert token[:12] not in caplog.text


# Access log ----------------------------------------------------------------------------


def test_each_view_records_exactly_one_access_event(client, db, alice) -> None:
    share = make_share(alice, Audience.PHARMACIST)
    db.commit()
    path = path_of(share)
    client.get(
        path, headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari/604.1"}
    )
    assert events_of(share) == 1
    client.get(path)
    assert events_of(share) == 2
    event = db.scalars(
        select(AccessEvent).where(AccessEvent.share_id == share.id).order_by(AccessEvent.id)
    ).first()
    assert event.outcome == "shown"
    assert event.audience == "pharmacist"
    assert event.sections == [s.value for s in PRESETS[Audience.PHARMACIST]]
    assert event.summary_version == share.patient.summary_version
    assert event.client == "phone · Safari"
    assert "Mozilla" not in event.client


# Passcode ------------------------------------------------------------------------------


def test_passcode_link_shows_only_the_form_on_get(client, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    response = client.get(path_of(share))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="passcode"' in html
    assert "Alice allergen" not in html and "Alice Martin" not in html
    assert events_of(share) == 0


def test_right_passcode_shows_the_summary_in_the_post_response(client, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    response = client.submit(path_of(share), {"passcode": "4321", "viewer": "Dr Martin, GP"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Alice allergen" in html
    event = db.scalar(select(AccessEvent).where(AccessEvent.share_id == share.id))
    assert event.outcome == "shown" and event.viewer == "Dr Martin, GP"


def test_wrong_passcodes_show_attempts_left_then_lock_and_tell_the_patient(
    client, db, alice
) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    path = path_of(share)
    for left in (4, 3, 2, 1):
        response = client.submit(path, {"passcode": "0000"})
        assert response.status_code == 401
        assert f"Tentatives restantes avant le verrouillage du lien : {left}" in response.get_data(
            as_text=True
        )
    response = client.submit(path, {"passcode": "0000"})
    assert response.status_code == 410
    assert "Ce lien est verrouillé" in response.get_data(as_text=True)
    # Locked for good: even the right passcode no longer opens it.
    response = client.get(path)
    assert response.status_code == 410
    from pathway.models import Notification

    notice = db.scalar(select(Notification).where(Notification.user_id == alice.user_id))
    assert notice is not None and notice.kind == "share_locked"
    outcomes = db.scalars(select(AccessEvent.outcome).where(AccessEvent.share_id == share.id)).all()
    assert outcomes.count("denied_passcode") == 5
    assert (
        db.scalar(select(AuditEvent).where(AuditEvent.tag == "share:passcode:locked")) is not None
    )


def test_right_passcode_after_the_budget_is_spent_still_fails(client, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    path = path_of(share)
    for _ in range(5):
        client.submit(path, {"passcode": "nope"})
    token = client.csrf_token("/auth/login")
    response = client.post(path, data={"passcode": "4321", "csrf_token": token})
    assert response.status_code == 410
    assert "Alice allergen" not in response.get_data(as_text=True)


def test_passcode_post_without_csrf_is_refused(client, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    db.commit()
    response = client.post(path_of(share), data={"passcode": "4321"})
    assert response.status_code == 400
    assert "Alice allergen" not in response.get_data(as_text=True)


# XSS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_free_text_comes_out_escaped_in_the_recipient_view(client, db, alice, payload) -> None:
    from pathway.models import CareRole, CareTeamMember, EmergencyContact

    alice.first_name = payload
    alice.life_context = payload
    alice.phone = payload
    condition = alice.conditions[0]
    condition.label = condition.notes = payload
    condition.emergency_guideline_url = "javascript:alert(1)"
    for medication in alice.medications:
        medication.name = medication.dosage = medication.instructions = payload
    alice.allergies[0].substance = alice.allergies[0].reaction = payload
    protocol = alice.emergency_protocol
    for name in (
        "situations",
        "what_to_do",
        "immediate_drug",
        "immediate_dose",
        "immediate_routes",
        "then_treatment",
        "fluids",
        "checks",
        "what_to_avoid",
        "contraindicated_drugs",
        "anaesthesia",
        "orientation",
        "vital_treatment",
        "treating_physician",
        "treating_physician_phone",
        "reference_centre",
        "reference_centre_phone",
    ):
        setattr(protocol, name, payload)
    alice.emergency_contacts.append(
        EmergencyContact(name=payload, relationship_label=payload, phone=payload)
    )
    alice.care_team.append(
        CareTeamMember(
            role=CareRole.NURSE,
            name=payload,
            organisation=payload,
            phone=payload,
            email=payload,
            secure_email=payload,
        )
    )
    share = make_share(alice, label=payload)
    db.commit()
    html = client.get(path_of(share)).get_data(as_text=True)
    assert payload not in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert str(escape(payload)) in html


# Letters and replies -------------------------------------------------------------------


def _letter(db, enrollment):
    import hashlib

    from pathway.models import Consent, Letter, LetterKind

    pdf = b"%PDF-1.4 test letter"
    educator = enrollment.programme.educators[0].display_name
    enrollment.consents.append(Consent(method="oral", recorded_by_name=educator))
    letter = Letter(
        enrollment=enrollment,
        kind=LetterKind.START,
        version=1,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        # Issued without a link: the reader copy is the same page.
        reader_pdf=pdf,
        reader_sha256=hashlib.sha256(pdf).hexdigest(),
        snapshot={},
        issued_by_name=educator,
    )
    db.add(letter)
    db.flush()
    return letter


def test_gp_share_lists_letters_and_serves_the_stored_pdf(
    client, db, alice, alice_enrollment
) -> None:
    letter = _letter(db, alice_enrollment)
    share = make_share(alice, Audience.GP)
    db.commit()
    path = path_of(share)
    html = client.get(path).get_data(as_text=True)
    url = f"{path}/letters/{letter.public_id}"
    assert url in html
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == letter.pdf
    assert response.headers["Content-Type"] == "application/pdf"
    # A capability path: the file is never kept in a cache nor indexed, like the page.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    outcomes = db.scalars(select(AccessEvent.outcome).where(AccessEvent.share_id == share.id)).all()
    assert sorted(outcomes) == ["letter_downloaded", "shown"]


def test_letters_are_not_served_without_the_letters_section_or_to_others(
    client, db, alice, alice_enrollment, bob, bob_enrollment
) -> None:
    letter = _letter(db, alice_enrollment)
    bob_letter = _letter(db, bob_enrollment)
    pharmacist = make_share(alice, Audience.PHARMACIST)
    gp = make_share(alice, Audience.GP)
    db.commit()
    assert client.get(f"{path_of(pharmacist)}/letters/{letter.public_id}").status_code == 404
    assert client.get(f"{path_of(gp)}/letters/{bob_letter.public_id}").status_code == 404
    assert client.get(f"{path_of(gp)}/letters/nope").status_code == 404
    shares.revoke_share(gp)
    db.commit()
    assert client.get(f"{path_of(gp)}/letters/{letter.public_id}").status_code == 410


def test_letters_of_a_passcode_share_need_the_passcode_first(
    client, db, alice, alice_enrollment
) -> None:
    letter = _letter(db, alice_enrollment)
    share = make_share(alice, Audience.GP, passcode="4321")
    db.commit()
    url = f"{path_of(share)}/letters/{letter.public_id}"
    assert client.get(url).status_code == 303
    client.submit(path_of(share), {"passcode": "4321"})
    assert client.get(url).data == letter.pdf


def test_reply_panel_appears_only_when_replies_are_allowed(client, db, alice) -> None:
    open_share = make_share(alice, Audience.GP, allow_replies=True)
    closed = make_share(alice, Audience.GP, label="Other")
    db.commit()
    assert 'id="conversation"' in client.get(path_of(open_share)).get_data(as_text=True)
    assert 'id="conversation"' not in client.get(path_of(closed)).get_data(as_text=True)


def test_demo_prints_a_gp_link_that_opens_every_section(app, client, db) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    links = re.findall(r"^GP link: (https://pathway\.test/s/\S+)$", first.output, re.M)
    assert len(links) == 1
    second = runner.invoke(args=["demo"])
    assert re.findall(r"^GP link: (\S+)$", second.output, re.M) == links  # idempotent
    response = client.get(links[0].replace("https://pathway.test", ""))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Camille Lefèvre" in html
    text = unescape(html)
    assert "Hydrocortisone 100 mg IV, ou IM/SC si pas d'abord veineux, immédiatement" in text
    # The ETP sections are the team's, never signed with the patient's name.
    assert "par l'équipe d'ETP — Claire Dubois" in text
    assert 'id="conversation"' in html


def test_link_routes_take_opaque_tokens_never_integer_or_uuid_ids(app) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/s/")]
    assert rules
    for rule in rules:
        assert "<int:" not in rule.rule and "<uuid:" not in rule.rule, rule.rule
        assert "<token>" in rule.rule


def test_patient_page_letters_link_to_the_patients_own_download(
    client, db, alice, alice_enrollment
) -> None:
    letter = _letter(db, alice_enrollment)
    db.commit()
    sign_in(client, "alice@example.org")
    html = client.get("/patient/").get_data(as_text=True)
    assert f"/programme/letters/{letter.public_id}.pdf" in html
    assert "/s/" not in html
