"""The public reply form on a shared link: /s/<token>/reply (no account)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from pathway.db import utcnow
from pathway.models import Contribution, Message, Notification
from pathway.sharing import shares
from pathway.sharing.sections import Audience
from tests.factories import XSS, count, make_share, post_reply, reply_data, reply_panel_html


def test_reply_goes_to_the_patient_and_says_so(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)

    response = post_reply(client, token, reply_data())

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/s/{token}/reply/sent")
    contribution = db.scalar(select(Contribution).where(Contribution.share_id == share.id))
    assert contribution is not None
    assert contribution.patient_id == alice.id
    assert contribution.status.value == "pending"
    assert contribution.enrollment_id is None  # nothing reaches a team before the patient decides
    assert contribution.rpps == "10001234567"
    assert contribution.author_name == "Dr Paul Martin"
    confirmation = client.get(response.headers["Location"])
    page = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    assert "lit d'abord" in page
    notice = db.scalar(select(Notification).where(Notification.user_id == alice.user_id))
    assert notice is not None and notice.kind == "contribution_received"


def test_reply_responses_carry_private_headers(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    for response in (
        post_reply(client, token, reply_data()),
        client.get(f"/s/{token}/reply/sent"),
        post_reply(client, token, reply_data(author_name="")),
    ):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "noindex" in response.headers["X-Robots-Tag"]


def test_reply_without_csrf_token_answers_400_and_saves_nothing(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    response = client.post(f"/s/{token}/reply", data=reply_data())

    assert response.status_code == 400
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert count(Contribution) == 0


def test_reply_with_forged_token_answers_404(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = post_reply(client, forged, reply_data())

    assert response.status_code == 404
    assert count(Contribution) == 0


def test_emergency_card_token_cannot_reply(app, db, client, alice) -> None:
    from pathway import tokens

    share = make_share(alice, allow_replies=True)
    emergency_token = tokens.sign(tokens.Purpose.EMERGENCY, share.public_id, share.token_version)

    assert post_reply(client, emergency_token, reply_data()).status_code == 404
    assert count(Contribution) == 0


def test_reply_refused_when_the_share_does_not_allow_replies(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice))

    response = post_reply(client, token, reply_data())

    assert response.status_code == 403
    assert "réponses" in response.get_data(as_text=True)
    assert count(Contribution) == 0


def test_reply_on_revoked_share_answers_410_and_saves_nothing(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    client.csrf_token()  # the visitor opened the page before the patient revoked
    shares.revoke_share(share)
    db.commit()

    response = post_reply(client, token, reply_data())

    assert response.status_code == 410
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert count(Contribution) == 0


def test_reply_on_expired_share_answers_410(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    expires_at = share.expires_at
    assert expires_at is not None
    db.commit()

    with time_machine.travel(expires_at + dt.timedelta(seconds=1), tick=False):
        response = post_reply(client, token, reply_data())

    assert response.status_code == 410
    assert count(Contribution) == 0


def test_reply_on_rotated_link_answers_410(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    old_token = shares.share_token(share)
    shares.rotate_share(share)
    db.commit()

    assert post_reply(client, old_token, reply_data()).status_code == 410
    assert count(Contribution) == 0


@pytest.mark.parametrize(
    ("field", "size"),
    [
        ("message", 4001),
        ("life_situation", 2001),
        ("proposed_objective", 301),
        ("author_name", 121),
        ("author_contact", 201),
    ],
)
def test_oversized_reply_is_refused_with_a_message_and_keeps_the_text(
    app, db, client, alice, field, size
) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    data = reply_data(**{field: "x" * size})

    response = post_reply(client, token, data)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "trop long" in page
    assert "x" * size in page  # what was typed is kept
    assert count(Contribution) == 0


def test_reply_without_author_is_refused(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    response = post_reply(client, token, reply_data(author_contact="  "))

    assert response.status_code == 422
    assert 'id="author_contact-error"' in response.get_data(as_text=True)
    assert count(Contribution) == 0


def test_reply_with_nothing_to_say_is_refused(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    empty = {
        name: ""
        for name in (
            "life_situation",
            "comorbidities",
            "recent_events",
            "proposed_objective",
            "message",
        )
    }

    response = post_reply(client, token, reply_data(**empty))

    assert response.status_code == 422
    assert count(Contribution) == 0


def test_rpps_must_have_eleven_digits(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    refused = post_reply(client, token, reply_data(rpps="12345"))
    accepted = post_reply(client, token, reply_data(rpps=""))

    assert refused.status_code == 422
    assert 'id="rpps-error"' in refused.get_data(as_text=True)
    assert accepted.status_code == 303
    assert count(Contribution) == 1


def test_replies_are_rate_limited_per_share(app, db, client, other_client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    for _ in range(5):
        assert post_reply(client, token, reply_data()).status_code == 303

    # Another browser (another client) on the same link is refused too: the limit is the share's.
    refused = post_reply(other_client, token, reply_data())

    assert refused.status_code == 429
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    assert count(Contribution) == 5


def test_rate_limit_of_one_share_leaves_other_shares_open(app, db, client, alice) -> None:
    first = shares.share_token(make_share(alice, allow_replies=True))
    second = shares.share_token(make_share(alice, allow_replies=True))
    for _ in range(5):
        post_reply(client, first, reply_data())

    assert post_reply(client, first, reply_data()).status_code == 429
    assert post_reply(client, second, reply_data()).status_code == 303


def test_refused_replies_do_not_use_up_the_share_limit(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    for _ in range(6):
        assert post_reply(client, token, reply_data(author_name="")).status_code == 422

    assert post_reply(client, token, reply_data()).status_code == 303


def test_replies_are_rate_limited_per_client(app, db, client, alice) -> None:
    tokens_ = [shares.share_token(make_share(alice, allow_replies=True)) for _ in range(5)]
    statuses = [
        post_reply(client, token, reply_data()).status_code for token in tokens_ for _ in range(4)
    ]
    assert statuses == [303] * 20

    assert post_reply(client, tokens_[0], reply_data()).status_code == 429


def test_passcode_share_needs_the_passcode_to_reply(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")
    token = shares.share_token(share)

    wrong = post_reply(client, token, reply_data(passcode="0000"))
    right = post_reply(client, token, reply_data(passcode="4321"))

    assert wrong.status_code == 422
    assert 'id="passcode-error"' in wrong.get_data(as_text=True)
    assert right.status_code == 303
    db.refresh(share)
    assert share.passcode_attempts_left == 4  # the wrong guess counts against the link's budget
    assert count(Contribution) == 1


def test_a_browser_that_opened_the_protected_link_replies_without_typing_it_again(
    app, db, client, other_client, alice
) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")
    token = shares.share_token(share)

    opened = client.submit(f"/s/{token}", {"passcode": "4321"})
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    assert 'action="/s/' in html and "/reply" in html  # the reply panel is on the page
    assert 'name="passcode"' not in html  # and it does not ask again

    assert post_reply(client, token, reply_data()).status_code == 303
    assert count(Contribution) == 1
    # Another browser, which never gave the passcode, still has to.
    refused = post_reply(other_client, token, reply_data())
    assert refused.status_code == 422
    assert 'id="passcode-error"' in refused.get_data(as_text=True)
    assert count(Contribution) == 1


def test_a_regenerated_link_asks_for_the_passcode_again(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")
    client.submit(f"/s/{shares.share_token(share)}", {"passcode": "4321"})
    shares.rotate_share(share)
    db.flush()
    token = shares.share_token(share)

    response = post_reply(client, token, reply_data())

    assert response.status_code == 422
    assert count(Contribution) == 0


def test_xss_in_a_reply_is_escaped_in_the_panel(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    post_reply(
        client,
        token,
        reply_data(message=XSS, author_name=XSS, life_situation="see https://evil.example/x"),
    )

    html = reply_panel_html(share)

    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://evil.example' not in html  # links are never turned into anchors
    assert "https://evil.example/x" in html


def test_xss_in_a_refused_reply_is_escaped_on_the_error_page(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    response = post_reply(client, token, reply_data(author_name="", message=XSS))

    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_panel_shows_the_conversation_and_the_form(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    post_reply(client, token, reply_data(message="First reply"))
    db.add(
        Message(share_id=share.id, author_name="Claire, IDE", from_team=True, body="Team answer")
    )
    db.commit()

    html = reply_panel_html(share)

    assert 'id="conversation"' in html
    assert html.index("First reply") < html.index("Team answer")  # oldest first
    assert f'action="/s/{token}/reply"' in html
    assert 'name="csrf_token"' in html
    for label_for in (
        "life_situation",
        "comorbidities",
        "recent_events",
        "proposed_objective",
        "message",
        "author_name",
        "author_role",
        "author_contact",
        "rpps",
    ):
        assert f'<label for="{label_for}"' in html
    assert 'name="passcode"' not in html


def test_panel_hides_the_patients_decisions_and_comments(app, db, client, alice) -> None:
    from pathway.sharing import replies as exchanges

    share = make_share(alice, allow_replies=True)
    token = shares.share_token(share)
    post_reply(client, token, reply_data())
    contribution = db.scalar(select(Contribution))
    exchanges.comment(contribution, "Alice private comment")
    exchanges.keep(contribution)
    db.commit()

    html = reply_panel_html(share)

    assert "Alice private comment" not in html
    assert "Lives alone since September." in html


def test_panel_shows_nothing_for_a_share_without_replies_or_a_dead_link(
    app, db, client, alice
) -> None:
    closed = make_share(alice)
    revoked = make_share(alice, allow_replies=True)
    shares.revoke_share(revoked)
    db.commit()

    assert "<form" not in reply_panel_html(closed)
    # A dead link's page is refused before anything of it, the panel included, is shown.
    for path, status in ((f"/s/{shares.share_token(revoked)}", 410), ("/s/garbage", 404)):
        response = client.get(path)
        assert response.status_code == status
        assert 'name="message"' not in response.get_data(as_text=True)


def test_panel_carries_nothing_of_unshared_sections(app, db, client, alice) -> None:
    share = make_share(alice, Audience.PHARMACIST, allow_replies=True)

    html = reply_panel_html(share)

    for sentinel in (
        "Alice life context",
        "Alice allergen",
        "Alice critical drug",
        "Alice situations",
    ):
        assert sentinel not in html


def test_panel_asks_for_the_passcode_of_a_protected_link(app, db, alice) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")

    html = reply_panel_html(share)

    assert 'name="passcode"' in html
    assert "4321" not in html


def test_no_reply_is_possible_through_get(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    assert client.get(f"/s/{token}/reply").status_code == 405
    assert count(Contribution) == 0


def test_reply_page_is_in_french_by_default(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    response = post_reply(client, token, reply_data(author_name=""))

    assert "Ce champ est obligatoire." in response.get_data(as_text=True)


def test_token_never_appears_in_the_reply_pages_logs(app, db, client, alice, caplog) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))
    caplog.set_level("DEBUG")

    post_reply(client, token, reply_data())
    post_reply(client, token, reply_data(author_name=""))

    assert token not in caplog.text
    assert token[:12] not in caplog.text
    assert re.search(r"share:reply:received", caplog.text)


def test_recipient_view_offers_the_form_and_the_reply_goes_through(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice, allow_replies=True))

    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert f'action="/s/{token}/reply"' in page
    response = client.submit(
        f"/s/{token}/reply", reply_data(message="Through the real page"), page=f"/s/{token}"
    )

    assert response.status_code == 303
    assert "Through the real page" in client.get(f"/s/{token}").get_data(as_text=True)


def test_recipient_view_without_replies_has_no_form(app, db, client, alice) -> None:
    token = shares.share_token(make_share(alice))

    page = client.get(f"/s/{token}").get_data(as_text=True)

    assert "/reply" not in page


def test_reply_on_locked_share_answers_410(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")
    token = shares.share_token(share)
    share.locked_at = utcnow()
    db.commit()

    response = post_reply(client, token, reply_data(passcode="4321"))

    assert response.status_code == 410
    assert count(Contribution) == 0


def test_wrong_passcodes_on_the_reply_form_lock_the_link(app, db, client, alice) -> None:
    share = make_share(alice, allow_replies=True, passcode="4321")
    token = shares.share_token(share)
    wrong = reply_data(passcode="0000")
    statuses = [post_reply(client, token, wrong).status_code for _ in range(5)]

    assert statuses == [422, 422, 422, 422, 410]
    assert post_reply(client, token, reply_data(passcode="4321")).status_code == 410
    db.refresh(share)
    assert share.locked_at is not None
    assert count(Contribution) == 0
