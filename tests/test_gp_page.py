"""The GP's page of a link open to replies: the reply form is reached from the top, and the
team's answer to a GP's reply is read on the same link."""

from __future__ import annotations

import re
from html import unescape

from pathway.sharing import replies, shares
from pathway.team import replies as team_replies
from tests.factories import make_share, post_reply, reply_data


def page_of(client, token: str) -> str:
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def test_the_top_of_the_page_jumps_to_the_reply_form(stranger, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    html = page_of(stranger, token)

    jump = html.index('href="#conversation"')
    assert jump < html.index("<h2")  # before the first section of the summary
    assert re.search(r'href="#conversation">Répondre à la patiente<', html)
    assert 'id="conversation"' in html
    assert "échange sur ce lien" not in html  # nothing exchanged yet


def test_no_jump_when_the_link_takes_no_reply(stranger, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=False))

    html = page_of(stranger, token)

    assert 'href="#conversation"' not in html and 'id="conversation"' not in html


def test_the_team_s_answer_is_read_on_the_gp_s_link(
    stranger, db, alice, alice_enrollment, claire
) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    assert post_reply(stranger, token, reply_data(message="How is she doing?")).status_code == 303
    contribution = replies.submit_contribution(share, reply_data(message="Second reply"))
    replies.forward(contribution, alice_enrollment.id)
    team_replies.team_reply(contribution, claire, "We will see her at the next workshop.")
    db.commit()

    html = page_of(stranger, token)

    assert "3 échanges sur ce lien" in html
    answer = html.index("We will see her at the next workshop.")
    assert html.index("How is she doing?") < answer  # in the order they were written
    assert "Claire Dubois" in html[html.index('id="conversation"') :]


def test_a_revoked_link_shows_no_exchange(stranger, db, alice, alice_enrollment, claire) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    contribution = replies.submit_contribution(share, reply_data())
    replies.forward(contribution, alice_enrollment.id)
    team_replies.team_reply(contribution, claire, "Private answer")
    shares.revoke_share(share)
    db.commit()

    response = stranger.get(f"/s/{token}")

    assert response.status_code == 410
    assert "Private answer" not in response.get_data(as_text=True)
