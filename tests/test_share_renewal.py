"""Withdrawing, replacing and renewing a link: each asks first and says what it does; a
link that no longer opens is renewed in one step (same person, content and duration)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from pathway.db import utcnow
from pathway.models import Share
from pathway.sharing import shares
from pathway.sharing.sections import Audience, Section
from tests.conftest import Client
from tests.factories import make_share, path_of, sign_in


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Share))


def test_withdrawing_asks_first_and_the_question_changes_nothing(
    client: Client, db, alice_signed_in
) -> None:
    share = make_share(alice_signed_in)
    db.commit()
    detail = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert f'href="/shares/{share.public_id}/revoke"' in detail
    assert f'action="/shares/{share.public_id}/revoke"' not in detail

    question = client.get(f"/shares/{share.public_id}/revoke")

    assert question.status_code == 200
    assert "cesse de fonctionner immédiatement" in question.get_data(as_text=True)
    assert client.get(path_of(share)).status_code == 200
    response = client.submit(
        f"/shares/{share.public_id}/revoke", {}, page=f"/shares/{share.public_id}/revoke"
    )
    assert response.status_code == 303
    assert client.get(path_of(share)).status_code == 410


def test_replacing_asks_first(client: Client, db, alice_signed_in) -> None:
    share = make_share(alice_signed_in)
    db.commit()
    question = client.get(f"/shares/{share.public_id}/rotate")
    assert question.status_code == 200
    assert "l'ancien lien et son QR code cessent" in question.get_data(as_text=True)
    db.refresh(share)
    assert share.token_version == 1


def test_an_expired_link_is_renewed_with_the_same_person_content_and_duration(
    client: Client, db, alice_signed_in
) -> None:
    sections = (Section.CONDITIONS, Section.TREATMENTS)
    old = make_share(
        alice_signed_in,
        Audience.PHARMACIST,
        sections,
        label="Pharmacie du Centre",
        expiry=shares.Expiry.WEEK,
        allow_replies=True,
    )
    old.created_at = utcnow() - dt.timedelta(days=8)
    old.expires_at = utcnow() - dt.timedelta(days=1)
    db.commit()
    detail = client.get(f"/shares/{old.public_id}").get_data(as_text=True)
    assert "Renouveler ce lien" in detail
    page = f"/shares/{old.public_id}/renew"
    assert "7 jours à partir d'aujourd'hui" in client.get(page).get_data(as_text=True)

    response = client.submit(page, {})

    assert response.status_code == 303
    new = db.scalars(select(Share).order_by(Share.id.desc())).first()
    assert new.id != old.id
    assert (new.label, new.audience, new.sections, new.allow_replies) == (
        "Pharmacie du Centre",
        Audience.PHARMACIST,
        [s.value for s in sections],
        True,
    )
    assert abs((new.expires_at - utcnow()) - dt.timedelta(days=7)) < dt.timedelta(minutes=1)
    assert client.get(path_of(new)).status_code == 200
    assert client.get(path_of(old)).status_code == 410


def test_a_locked_link_needs_a_new_passcode_to_be_renewed(
    client: Client, other_client: Client, db, alice_signed_in
) -> None:
    old = make_share(alice_signed_in, passcode="4821")
    db.commit()
    for _attempt in range(shares.MAX_PASSCODE_ATTEMPTS):
        other_client.submit(path_of(old), {"passcode": "0000"})
    db.refresh(old)
    assert old.locked_at is not None
    before = _count(db)
    page = f"/shares/{old.public_id}/renew"

    refused = client.submit(page, {"passcode": "  "})

    assert refused.status_code == 422
    assert "choisissez un nouveau code" in refused.get_data(as_text=True)
    assert _count(db) == before
    response = client.submit(page, {"passcode": " 7395 "})
    assert response.status_code == 303
    new = db.scalars(select(Share).order_by(Share.id.desc())).first()
    assert new.passcode_attempts_left == shares.MAX_PASSCODE_ATTEMPTS
    assert shares.check_passcode(new, "7395")
    assert not shares.check_passcode(new, "4821")


def test_a_withdrawn_link_keeps_its_passcode_when_renewed(
    client: Client, db, alice_signed_in
) -> None:
    old = make_share(alice_signed_in, passcode="4821")
    shares.revoke_share(old)
    db.commit()
    client.submit(f"/shares/{old.public_id}/renew", {})
    new = db.scalars(select(Share).order_by(Share.id.desc())).first()
    assert new.id != old.id
    assert new.passcode_hash == old.passcode_hash


def test_a_working_link_is_not_renewed_and_others_links_are_not_reachable(
    client: Client, other_client: Client, db, alice_signed_in, bob
) -> None:
    working = make_share(alice_signed_in)
    bobs = make_share(bob)
    shares.revoke_share(bobs)
    db.commit()
    before = _count(db)
    assert client.submit(f"/shares/{working.public_id}/renew", {}).status_code == 302
    assert client.submit(f"/shares/{bobs.public_id}/renew", {}).status_code == 404
    assert client.get(f"/shares/{bobs.public_id}/revoke").status_code == 404
    assert _count(db) == before
    sign_in(other_client, "bob@example.org")
    assert other_client.get(f"/shares/{working.public_id}/renew").status_code == 404


def test_renewing_without_the_form_token_is_refused(client: Client, db, alice_signed_in) -> None:
    old = make_share(alice_signed_in)
    shares.revoke_share(old)
    db.commit()
    before = _count(db)
    assert client.post(f"/shares/{old.public_id}/renew").status_code == 400
    assert _count(db) == before
