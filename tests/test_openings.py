"""One opening path per kind of link: what it returns, how it refuses, and the card's own
rule on what it may show."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select

from pathway.cards import openings, service
from pathway.models import AccessEvent, AuditEvent, Share
from pathway.sharing import shares
from pathway.sharing.sections import EMERGENCY_SECTIONS, Section
from tests.factories import make_card, make_share, path_of, reply_data


def test_a_professional_link_opens_as_a_plain_typed_value(app, db, alice) -> None:
    share = make_share(alice)
    db.commit()

    link = shares.open_link(shares.share_token(share))

    assert isinstance(link, shares.LinkState)
    assert not isinstance(link, Share)
    assert (link.id, link.patient_id, link.label) == (share.id, alice.id, share.label)
    assert link.has_passcode is False


def test_an_emergency_card_opens_as_a_plain_typed_value(app, db, alice) -> None:
    card = make_card(alice)
    db.commit()

    opened, extra = openings.read_card(shares.share_token(card))

    assert isinstance(opened, openings.Card)
    assert isinstance(opened.link, shares.LinkState)
    assert opened.link.id == card.id
    assert extra == ()


def test_a_card_refuses_a_section_a_responder_has_no_use_for(app, db, alice) -> None:
    with current_app.test_request_context(), pytest.raises(shares.ShareError) as refused:
        service.create_card(alice, (*EMERGENCY_SECTIONS, Section.LIFE_CONTEXT))

    assert refused.value.field == "sections"
    assert service.current_card(alice) is None


def test_changing_a_cards_sections_keeps_to_the_cards_own_list(app, db, alice) -> None:
    card = make_card(alice)
    before = list(card.sections)

    with current_app.test_request_context(), pytest.raises(shares.ShareError):
        service.change_sections(card, (Section.ALLERGIES, Section.TREATMENT_OBJECTIVES))

    assert card.sections == before


def test_a_reply_through_a_withdrawn_link_is_refused_and_recorded(client, db, alice) -> None:
    share = make_share(alice, allow_replies=True)
    db.commit()
    token_path = path_of(share)
    client.get(token_path)  # the recipient's page, for the CSRF token of the form
    shares.revoke_share(share)
    db.commit()

    response = client.submit(f"{token_path}/reply", reply_data(), page="/auth/login")

    assert response.status_code == 410
    outcomes = db.scalars(select(AccessEvent.outcome).where(AccessEvent.share_id == share.id))
    assert "denied_revoked" in list(outcomes)
    refusals = db.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "share:link:refused", AuditEvent.patient_id == alice.id
        )
    ).all()
    assert len(refusals) == 1
