"""French agrees with the patient's sex on every page about one patient.

The pages a GP, a crew, the patient and her team read about Alice (a woman) say « la
patiente », « née le », never « le patient » nor « né(e) »; those about Bob (a man) say
« le patient », never « la patiente ». Pages that must not name anyone (a dead link) use
a neutral wording.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from pathway.db import session
from pathway.models import Contribution, Enrollment, Patient, Sex
from pathway.sharing import shares
from pathway.sharing.sections import Section
from tests.conftest import Client
from tests.factories import (
    make_card,
    make_progress,
    make_share,
    naming_path,
    path_of,
    post_reply,
    reply_data,
    sign_in,
)

# What a page about a woman never says, nor one about anybody (inclusive forms).
NOT_FOR_A_WOMAN = re.compile(
    r"\b(le|au|du|ce) patient\b|\bné le\b|\bentré dans\b|\binvité à\b", re.IGNORECASE
)
NOT_FOR_A_MAN = re.compile(r"\bpatiente\b|\bnée le\b|\bentrée dans\b|\binvitée à\b", re.IGNORECASE)
INCLUSIVE = re.compile(r"\b(né|entré|invité|inclus)\(e\)|\w·e\b", re.IGNORECASE)
FEMININE = re.compile(r"\b(la|à la|de la) patiente\b", re.IGNORECASE)
MASCULINE = re.compile(r"\b(le|au|du) patient\b", re.IGNORECASE)


@dataclass
class Persona:
    patient: Patient
    enrollment: Enrollment
    educator_email: str
    sex: Sex


@pytest.fixture(params=["woman", "man"])
def persona(request: pytest.FixtureRequest) -> Persona:
    if request.param == "woman":
        enrollment = make_progress(
            request.getfixturevalue("alice_enrollment"), request.getfixturevalue("claire")
        )
        return Persona(enrollment.patient, enrollment, "claire@example.org", Sex.FEMALE)
    enrollment = make_progress(
        request.getfixturevalue("bob_enrollment"), request.getfixturevalue("eve")
    )
    return Persona(enrollment.patient, enrollment, "eve@example.org", Sex.MALE)


def agreed(persona: Persona, feminine: str, masculine: str) -> str:
    """The wording expected about this persona."""
    return feminine if persona.sex == Sex.FEMALE else masculine


def text_of(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.request.path)
    return html.unescape(response.get_data(as_text=True))


def found(pattern: re.Pattern[str], page: str) -> list[str]:
    """Each match with a little of its sentence, to say where the page is wrong."""
    return [page[max(0, m.start() - 40) : m.end() + 40] for m in pattern.finditer(page)]


def assert_agrees(page: str, sex: Sex, *, form_expected: bool = True) -> None:
    """No wrong form, no inclusive form; the right one present when the page names the role."""
    assert found(INCLUSIVE, page) == []
    if sex == Sex.FEMALE:
        assert found(NOT_FOR_A_WOMAN, page) == []
        if form_expected:
            assert FEMININE.search(page)
    else:
        assert found(NOT_FOR_A_MAN, page) == []
        if form_expected:
            assert MASCULINE.search(page)


def _last_contribution() -> Contribution:
    found = session.scalar(select(Contribution).order_by(Contribution.id.desc()))
    assert found is not None
    return found


def test_the_gp_s_pages_agree(persona: Persona, stranger: Client) -> None:
    share = make_share(persona.patient, sections=list(Section), allow_replies=True)
    token = shares.share_token(share)

    view = text_of(stranger.get(f"/s/{token}"))
    assert_agrees(view, persona.sex)
    kicker = agreed(persona, "partagée par la patiente", "partagée par le patient")
    assert kicker in view
    answer = agreed(persona, "Répondre à la patiente", "Répondre au patient")
    assert answer in view

    refused = text_of(post_reply(stranger, token, reply_data(author_name="")), 422)
    assert_agrees(refused, persona.sex, form_expected=False)
    response = post_reply(stranger, token, reply_data())
    assert response.status_code == 303
    sent = text_of(stranger.get(response.headers["Location"]))
    assert_agrees(sent, persona.sex, form_expected=False)
    assert "personne qui vous a transmis ce lien" in sent


def test_a_dead_link_names_nobody_and_stays_neutral(persona: Persona, stranger: Client) -> None:
    share = make_share(persona.patient, allow_replies=True)
    token = shares.share_token(share)
    shares.revoke_share(share)

    for page in (stranger.get(f"/s/{token}"), post_reply(stranger, token, reply_data())):
        text = text_of(page, page.status_code)
        assert page.status_code in (403, 404, 410)
        assert persona.patient.user.email not in text
        assert found(NOT_FOR_A_WOMAN, text) == [] and found(NOT_FOR_A_MAN, text) == []
        assert found(INCLUSIVE, text) == []


def test_the_crew_s_pages_agree(persona: Persona, stranger: Client) -> None:
    card = make_card(persona.patient)
    page = text_of(stranger.get(path_of(card)))
    assert_agrees(page, persona.sex)
    told = agreed(
        persona,
        "Indiquer à la patiente qui a ouvert sa carte",
        "Indiquer au patient qui a ouvert sa carte",
    )
    assert told in page
    naming = text_of(stranger.get(naming_path(stranger, path_of(card))))
    assert_agrees(naming, persona.sex, form_expected=False)


def test_the_team_s_pages_and_messages_agree(
    persona: Persona, client: Client, other_client: Client, stranger: Client
) -> None:
    share = make_share(persona.patient, allow_replies=True)
    assert post_reply(stranger, shares.share_token(share), reply_data()).status_code == 303
    contribution = _last_contribution()

    # The patient reads the reply in her inbox and passes it on to her team.
    sign_in(client, persona.patient.user.email)
    inbox_page = f"/inbox/contributions/{contribution.id}"
    assert_agrees(text_of(client.get(inbox_page)), persona.sex, form_expected=False)
    forwarded = client.submit(
        f"{inbox_page}/forward",
        {"enrollment": str(persona.enrollment.id), "comment": "Please read"},
        page=inbox_page,
    )
    assert forwarded.status_code == 302
    assert_agrees(
        text_of(client.get(forwarded.headers["Location"])), persona.sex, form_expected=False
    )

    sign_in(other_client, persona.educator_email)
    url = f"/team/enrollments/{persona.enrollment.id}"
    enrollment_page = text_of(other_client.get(url))
    assert_agrees(enrollment_page, persona.sex)
    replies_title = agreed(
        persona, "Réponses transmises par la patiente", "Réponses transmises par le patient"
    )
    assert replies_title in enrollment_page

    for kind in ("start", "end"):
        letter_page = text_of(other_client.get(f"{url}/letters/{kind}"))
        assert_agrees(letter_page, persona.sex)

    reply_page = f"/team/replies/{contribution.id}"
    reply = text_of(other_client.get(reply_page))
    assert_agrees(reply, persona.sex)
    passed_on = agreed(persona, "Transmise par la patiente", "Transmise par le patient")
    assert passed_on in reply

    # The messages after the team acts, and the page they land on.
    adopted = other_client.submit(f"{reply_page}/adopt", {}, page=reply_page)
    assert adopted.status_code == 302
    after_adopting = text_of(other_client.get(adopted.headers["Location"]))
    assert "L'objectif a été ajouté au parcours." in after_adopting
    assert_agrees(after_adopting, persona.sex)

    withdrawn = other_client.submit(f"{url}/consent/withdraw", {}, page=url)
    assert withdrawn.status_code == 302
    without_consent = text_of(other_client.get(withdrawn.headers["Location"]))
    assert "L'accord pour informer le médecin traitant est retiré." in without_consent
    assert_agrees(without_consent, persona.sex)
    recorded_by_you = agreed(persona, "La patiente en est informée", "Le patient en est informé")
    assert recorded_by_you in without_consent

    recorded = other_client.submit(
        f"{url}/consent", {"consent-given_on": dt.date.today().isoformat()}, page=url
    )
    assert recorded.status_code == 302
    with_consent = text_of(other_client.get(recorded.headers["Location"]))
    assert "L'accord pour informer le médecin traitant est enregistré." in with_consent
    assert_agrees(with_consent, persona.sex)

    identity = {
        "identity-sex": persona.sex.value,
        "identity-birth_name": "Martin",
        "identity-birth_first_names": persona.patient.first_name,
        "identity-identity_status": "provisional",
    }
    saved = other_client.submit(f"{url}/identity", identity, page=url)
    assert saved.status_code == 302
    after_saving = text_of(other_client.get(saved.headers["Location"]))
    assert "L'identité est enregistrée." in after_saving
    born = agreed(persona, "Née le", "Né le")
    assert born in after_saving
    assert_agrees(after_saving, persona.sex)


def test_a_refused_letter_names_what_to_fill_without_a_gendered_noun(
    persona: Persona, client: Client, db
) -> None:
    persona.enrollment.gp_topics = ""
    db.flush()
    sign_in(client, persona.educator_email)
    url = f"/team/enrollments/{persona.enrollment.id}/letters/end"
    refused = text_of(client.submit(url, {}), 400)
    assert "Indiquez les sujets à aborder avec le médecin traitant." in refused
    assert_agrees(refused, persona.sex)
