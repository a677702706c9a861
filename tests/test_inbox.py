"""The inbox: the patient decides on replies; the team adopts objectives and answers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pathway import notifications
from pathway.db import session
from pathway.models import Contribution, ContributionStatus, Enrollment, Message, Objective, Share
from pathway.sharing import replies as exchanges
from pathway.sharing import shares
from pathway.team import replies as team_replies
from tests.conftest import Client
from tests.factories import XSS, make_share, post_reply, reply_data, reply_panel_html, sign_in


@pytest.fixture
def gp_link(alice) -> Share:
    """Alice's link for her GP, open to replies."""
    return make_share(alice, allow_replies=True)


def gp_replies(gp: Client, link: Share, **fields: str) -> Contribution:
    """The GP, holding only the link, replies through it; return the stored reply."""
    response = post_reply(gp, shares.share_token(link), reply_data(**fields))
    assert response.status_code == 303
    contribution = session.scalar(select(Contribution).order_by(Contribution.id.desc()))
    assert contribution is not None
    return contribution


def forwarded(gp: Client, link: Share, enrollment: Enrollment) -> Contribution:
    """A reply the GP sent and Alice passed on to her programme's team."""
    contribution = gp_replies(gp, link)
    exchanges.forward(contribution, enrollment.id)
    session.commit()
    return contribution


def unread_badge(page: str) -> str | None:
    match = re.search(r'<span class="badge">(\d+)', page)
    return match.group(1) if match else None


def test_the_whole_round_trip(
    app, db, client, other_client, alice, alice_enrollment, claire, stranger, gp_link
) -> None:
    # 1. The GP replies through the link.
    contribution = gp_replies(
        stranger, gp_link, proposed_objective="Savoir quand appeler le médecin traitant"
    )

    # 2. Alice sees it first: notification badge, inbox, detail.
    sign_in(client, "alice@example.org")
    home = client.get("/patient/").get_data(as_text=True)
    assert unread_badge(home) == "1"
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "Dr Paul Martin" in inbox
    assert unread_badge(client.get("/patient/").get_data(as_text=True)) is None  # read now
    detail = client.get(f"/inbox/contributions/{contribution.id}")
    assert detail.status_code == 200
    assert "Lives alone since September." in detail.get_data(as_text=True)
    db.refresh(contribution)
    assert contribution.read_by_patient_at is not None

    # Claire sees nothing before Alice decides.
    sign_in(other_client, "claire@example.org")
    assert "Dr Paul Martin" not in other_client.get("/inbox/").get_data(as_text=True)
    assert other_client.get(f"/team/replies/{contribution.id}").status_code == 404

    # 3. Alice forwards it to her programme's team with a comment.
    page = f"/inbox/contributions/{contribution.id}"
    response = client.submit(
        f"/inbox/contributions/{contribution.id}/forward",
        {"enrollment": str(alice_enrollment.id), "comment": "Please read, Alice"},
        page=page,
    )
    assert response.status_code == 302
    db.refresh(contribution)
    assert contribution.status == ContributionStatus.FORWARDED
    assert contribution.enrollment_id == alice_enrollment.id

    # 4. Claire is notified, sees it with author and date, and adopts the objective.
    team_inbox = other_client.get("/inbox/").get_data(as_text=True)
    assert "Dr Paul Martin" in team_inbox
    assert "Alice Martin" in team_inbox
    team_page = other_client.get(f"/team/replies/{contribution.id}").get_data(as_text=True)
    assert "Please read, Alice" in team_page
    assert "paul.martin@medecin.mssante.fr" in team_page
    alice_enrollment.objectives.pop()  # two → one objective, so adopting makes two
    db.commit()
    response = other_client.submit(
        f"/team/replies/{contribution.id}/adopt",
        {},
        page=f"/team/replies/{contribution.id}",
    )
    assert response.status_code == 302
    adopted = db.scalar(
        select(Objective).where(Objective.text == "Savoir quand appeler le médecin traitant")
    )
    assert adopted is not None
    assert adopted.enrollment_id == alice_enrollment.id
    assert adopted.proposed_by == "Dr Paul Martin (médecin traitant)"

    # 5. Claire answers; the answer is on the same link.
    response = other_client.submit(
        f"/team/replies/{contribution.id}/answer",
        {"body": "Merci, nous en parlerons à l'atelier."},
        page=f"/team/replies/{contribution.id}",
    )
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(Message)) == 1

    # 6. The GP sees the answer on the same /s/ link.
    panel = reply_panel_html(gp_link)
    assert "Merci, nous en parlerons à l&#39;atelier." in panel
    assert "Please read, Alice" not in panel  # the patient's comment is for the team

    # 7. Alice sees everything: her inbox notification and the whole conversation.
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "nous en parlerons" not in inbox  # the notice, not the content
    conversation = client.get(f"/inbox/shares/{gp_link.public_id}").get_data(as_text=True)
    assert "Lives alone since September." in conversation
    assert "Merci, nous en parlerons à l&#39;atelier." in conversation
    assert "Please read, Alice" in conversation
    assert conversation.index("Lives alone") < conversation.index("Merci, nous en parlerons")


def test_patient_keeps_a_reply_and_the_team_never_sees_it(
    app, db, client, other_client, alice, claire, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    sign_in(client, "alice@example.org")

    response = client.submit(
        f"/inbox/contributions/{contribution.id}/keep",
        {},
        page=f"/inbox/contributions/{contribution.id}",
    )

    assert response.status_code == 302
    db.refresh(contribution)
    assert contribution.status == ContributionStatus.KEPT
    sign_in(other_client, "claire@example.org")
    assert other_client.get(f"/team/replies/{contribution.id}").status_code == 404
    assert "Dr Paul Martin" not in other_client.get("/inbox/").get_data(as_text=True)


def test_patient_comments_then_deletes_a_reply(app, db, client, alice, stranger, gp_link) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")

    client.submit(f"{page}/comment", {"comment": "My own note"}, page=page)
    db.refresh(contribution)
    assert contribution.patient_comment == "My own note"
    response = client.submit(f"{page}/delete", {}, page=page)

    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(Contribution)) == 0
    assert client.get(page).status_code == 404
    assert "Lives alone" not in reply_panel_html(gp_link)


def test_oversized_comment_is_refused_with_a_message(
    app, db, client, alice, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")

    response = client.submit(f"{page}/comment", {"comment": "y" * 2001}, page=page)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "trop long" in body
    db.refresh(contribution)
    assert contribution.patient_comment == ""


def test_patient_cannot_forward_to_a_programme_she_is_not_in(
    app, db, client, alice, bob_enrollment, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")

    response = client.submit(f"{page}/forward", {"enrollment": str(bob_enrollment.id)}, page=page)

    assert response.status_code == 422
    assert 'id="enrollment-error"' in response.get_data(as_text=True)
    db.refresh(contribution)
    assert contribution.status == ContributionStatus.PENDING
    assert contribution.enrollment_id is None


@pytest.mark.parametrize("action", ["forward", "keep", "comment", "delete"])
def test_bob_cannot_act_on_alices_replies(
    app, db, client, other_client, bob, bob_enrollment, stranger, gp_link, action
) -> None:
    contribution = gp_replies(stranger, gp_link)
    sign_in(other_client, "bob@example.org")
    data = {"enrollment": str(bob_enrollment.id), "comment": "Bob was here"}

    response = other_client.submit(
        f"/inbox/contributions/{contribution.id}/{action}", data, page="/inbox/"
    )

    assert response.status_code == 404
    db.refresh(contribution)
    assert contribution.status == ContributionStatus.PENDING
    assert contribution.patient_comment == ""


def test_bob_cannot_read_alices_replies_or_conversations(
    app, db, client, bob, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    sign_in(client, "bob@example.org")

    assert client.get(f"/inbox/contributions/{contribution.id}").status_code == 404
    assert client.get(f"/inbox/shares/{gp_link.public_id}").status_code == 404
    assert "Dr Paul Martin" not in client.get("/inbox/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "/adopt"), ("post", "/answer")]
)
def test_eve_of_another_programme_gets_404(
    app, db, client, alice_enrollment, eve, stranger, gp_link, method, suffix
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "eve@example.org")
    url = f"/team/replies/{contribution.id}{suffix}"

    if method == "get":
        response = client.get(url)
    else:
        response = client.submit(url, {"body": "Eve's answer"}, page="/inbox/")

    assert response.status_code == 404
    assert "Dr Paul Martin" not in client.get("/inbox/").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_patients_cannot_use_team_pages_nor_educators_patient_pages(
    app, db, client, other_client, alice, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "alice@example.org")
    sign_in(other_client, "claire@example.org")

    assert client.get(f"/team/replies/{contribution.id}").status_code == 404
    assert other_client.get(f"/inbox/contributions/{contribution.id}").status_code == 404


def test_inbox_needs_an_account(app, client) -> None:
    response = client.get("/inbox/")

    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_fourth_objective_is_refused_with_a_message(
    app, db, client, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    alice_enrollment.objectives.append(Objective(text="Third objective"))
    db.commit()
    sign_in(client, "claire@example.org")
    page = f"/team/replies/{contribution.id}"

    response = client.submit(f"{page}/adopt", {}, page=page)

    assert response.status_code == 422
    assert "3" in response.get_data(as_text=True)
    assert "objecti" in response.get_data(as_text=True)
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.objectives) == 3
    db.refresh(contribution)
    assert contribution.objective_adopted_at is None


def test_an_objective_is_adopted_once(
    app, db, client, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "claire@example.org")
    page = f"/team/replies/{contribution.id}"

    assert client.submit(f"{page}/adopt", {}, page=page).status_code == 302
    again = client.submit(f"{page}/adopt", {}, page=page)

    assert again.status_code in (400, 422)
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.objectives) == 3


def test_answer_refused_once_the_link_is_revoked(
    app, db, client, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    shares.revoke_share(gp_link)
    db.commit()
    sign_in(client, "claire@example.org")
    page = f"/team/replies/{contribution.id}"

    response = client.submit(f"{page}/answer", {"body": "Too late"}, page=page)

    assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_oversized_answer_is_refused(
    app, db, client, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "claire@example.org")
    page = f"/team/replies/{contribution.id}"

    response = client.submit(f"{page}/answer", {"body": "z" * 4001}, page=page)

    assert response.status_code == 422
    assert "z" * 4001 in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_inbox_actions_without_csrf_answer_400(
    app, db, client, other_client, alice, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "alice@example.org")
    sign_in(other_client, "claire@example.org")

    assert client.post(f"/inbox/contributions/{contribution.id}/delete").status_code == 400
    assert (
        client.post(
            f"/inbox/contributions/{contribution.id}/comment", data={"comment": "x"}
        ).status_code
        == 400
    )
    assert (
        other_client.post(f"/team/replies/{contribution.id}/answer", data={"body": "x"}).status_code
        == 400
    )
    assert other_client.post(f"/team/replies/{contribution.id}/adopt").status_code == 400
    assert db.scalar(select(func.count()).select_from(Contribution)) == 1
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_xss_is_escaped_in_every_inbox_page(
    app, db, client, other_client, alice, alice_enrollment, claire, stranger, gp_link
) -> None:
    contribution = gp_replies(
        stranger,
        gp_link,
        author_name=XSS,
        author_role=XSS,
        message=XSS,
        proposed_objective=XSS[:300],
    )
    exchanges.forward(contribution, alice_enrollment.id, comment=XSS)
    team_replies.team_reply(contribution, claire, XSS)
    db.commit()
    sign_in(client, "alice@example.org")
    sign_in(other_client, "claire@example.org")

    pages = [
        client.get("/inbox/"),
        client.get(f"/inbox/contributions/{contribution.id}"),
        client.get(f"/inbox/shares/{gp_link.public_id}"),
        other_client.get("/inbox/"),
        other_client.get(f"/team/replies/{contribution.id}"),
    ]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;" in html


def test_notifications_are_sentences_in_the_readers_language(
    app, db, client, alice, stranger, gp_link
) -> None:
    gp_replies(stranger, gp_link)
    sign_in(client, "alice@example.org")

    french = client.get("/inbox/").get_data(as_text=True)
    client.set_cookie("lang", "en", domain="pathway.test")
    alice.user.locale = "en"
    db.commit()
    english = client.get("/inbox/").get_data(as_text=True)

    assert "Dr Paul Martin replied through your link" in english
    assert "Dr Paul Martin a répondu" in french


def test_educator_is_notified_of_a_forwarded_reply(
    app, db, client, alice_enrollment, claire, eve, stranger, gp_link
) -> None:
    forwarded(stranger, gp_link, alice_enrollment)
    sign_in(client, "claire@example.org")

    home = client.get("/inbox/").get_data(as_text=True)

    assert "Alice Martin" in home
    assert notifications.unread_count(claire) == 0  # reading the list marks them read
    assert notifications.unread_count(eve) == 0


def test_enrollment_partial_lists_forwarded_replies_with_author_and_date(
    app, db, alice_enrollment, stranger, gp_link
) -> None:
    from flask import render_template

    contribution = forwarded(stranger, gp_link, alice_enrollment)
    kept = exchanges.submit_contribution(gp_link, reply_data(author_name=XSS))
    exchanges.keep(kept)
    db.commit()

    with app.test_request_context("/team/", base_url="https://pathway.test"):
        html = render_template(
            "team/_replies.html",
            replies=team_replies.forwarded_for_enrollment(alice_enrollment),
        )

    assert "Dr Paul Martin" in html
    assert f"/team/replies/{contribution.id}" in html
    assert "Know when to call the GP during a flu" in html
    assert "<script>" not in html and "&lt;script&gt;" not in html  # kept replies never show


def test_the_reply_page_has_one_comment_box_that_every_button_sends(
    app, db, client, alice, alice_enrollment, stranger, gp_link
) -> None:
    """Typing in a box and tapping a button of another form lost the text, with « saved »."""
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")
    html = client.get(page).get_data(as_text=True)
    assert html.count("<textarea") == 1
    assert html.count('<form method="post" action="/inbox/') == 1
    assert f'formaction="{page}/forward"' in html and f'formaction="{page}/keep"' in html

    response = client.submit(
        f"{page}/forward",
        {"enrollment": str(alice_enrollment.id), "comment": "À voir à l'atelier"},
        page=page,
    )

    assert response.status_code == 302
    db.refresh(contribution)
    assert contribution.status == ContributionStatus.FORWARDED
    assert contribution.patient_comment == "À voir à l'atelier"


def test_keeping_a_reply_keeps_the_comment_typed_with_it(
    app, db, client, alice, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")

    client.submit(f"{page}/keep", {"comment": "Pour moi seulement"}, page=page)

    db.refresh(contribution)
    assert contribution.status == ContributionStatus.KEPT
    assert contribution.patient_comment == "Pour moi seulement"


def test_an_empty_or_unchanged_comment_is_not_called_saved(
    app, db, client, alice, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")

    response = client.submit(f"{page}/comment", {"comment": "   "}, page=page)

    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Votre commentaire est enregistré" not in body
    assert "il n&#39;y avait rien à enregistrer" in body
    client.submit(f"{page}/comment", {"comment": "Noté"}, page=page)
    response = client.submit(f"{page}/comment", {"comment": "Noté"}, page=page)
    assert "rien à enregistrer" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.refresh(contribution)
    assert contribution.patient_comment == "Noté"


def test_deleting_a_reply_asks_first_and_says_what_happens(
    app, db, client, alice, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")
    assert f'href="{page}/delete"' in client.get(page).get_data(as_text=True)

    confirmation = client.get(f"{page}/delete")

    assert confirmation.status_code == 200
    assert "Ce n'est pas réversible" in confirmation.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Contribution)) == 1
    response = client.submit(f"{page}/delete", {}, page=f"{page}/delete")
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(Contribution)) == 0


def test_a_long_comment_is_refused_not_cut_by_the_browser(
    app, db, client, alice, stranger, gp_link
) -> None:
    contribution = gp_replies(stranger, gp_link)
    page = f"/inbox/contributions/{contribution.id}"
    sign_in(client, "alice@example.org")
    html = client.get(page).get_data(as_text=True)
    assert "maxlength" not in html
    assert "2000 caractères au maximum" in html
