"""Letters to the GP: the recommendation's items, one page, consent gate, immutability, safety."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import socket

import pytest
import weasyprint
from babel.dates import format_date
from packaging.version import Version
from pypdf import PdfReader
from sqlalchemy import select

from pathway import documents, letters
from pathway.db import session
from pathway.letters import service
from pathway.models import (
    AttendanceStatus,
    AuditEvent,
    CareRole,
    Competency,
    LetterKind,
    Notification,
    Objective,
    ObjectiveStatus,
    WorkshopAttendance,
)
from pathway.programme import consent
from pathway.sharing import shares
from pathway.sharing.sections import Section
from tests.factories import make_share, url_of

BEP = (
    "Mme Martin, 46 ans, vit avec une insuffisance surrénalienne primaire diagnostiquée en 2019. "
    "Elle connaît son traitement quotidien mais redoute les situations d'urgence et n'a jamais "
    "réalisé d'injection d'hydrocortisone. Elle travaille à temps plein comme comptable, vit avec "
    "son conjoint et leurs deux enfants. Elle souhaite pouvoir partir en vacances sereinement et "
    "savoir quoi dire aux urgences."
)


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace collapsed (line breaks in the letter become spaces)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(autouse=True)
def realistic_path(in_request, alice_enrollment, claire) -> None:
    """Alice a few months into Claire's programme, with her oral consent."""
    alice_enrollment.bep_synthesis = BEP
    alice_enrollment.objectives.append(Objective(text="Alice travel objective"))
    alice_enrollment.objectives[0].status = ObjectiveStatus.ACHIEVED
    first, second = alice_enrollment.programme.workshops
    alice_enrollment.attendances = [
        WorkshopAttendance(
            workshop=first, status=AttendanceStatus.ATTENDED, scheduled_on=dt.date(2026, 10, 8)
        ),
        WorkshopAttendance(
            workshop=second, status=AttendanceStatus.PLANNED, scheduled_on=NEXT_SESSION
        ),
    ]
    alice_enrollment.competencies = [
        Competency(text="Alice explains the warning signs in her own words"),
        Competency(text="Alice prepares her emergency kit", is_acquired=False),
    ]
    session.flush()
    consent.record_oral_consent(alice_enrollment, claire, dt.date.today())
    session.flush()


# The next workshop session, a month from now (never the 1st, which French prints « 1er »).
NEXT_SESSION = dt.date.today() + dt.timedelta(days=30)
NEXT_SESSION += dt.timedelta(days=1) if NEXT_SESSION.day == 1 else dt.timedelta()
NEXT_SESSION_FR = format_date(NEXT_SESSION, "medium", locale="fr")

START_ITEMS = [
    "CHU Test",
    "Endocrinologie",
    "Programme A",
    "Dr Alice GP",
    "Synthèse du Bilan Éducatif Partagé et du programme personnalisé",
    "Alice Martin",
    "Docteur,",
    "redoute les situations d'urgence",
    "Objectifs personnalisés élaborés avec la patiente",
    "Alice treatment objective",
    "Alice life objective",
    "Alice travel objective",
    "Ateliers du programme personnalisé",
    "Programme A workshop 1 (atelier collectif — suivi le 8 oct. 2026)",
    f"Programme A workshop 2 (atelier collectif — prévu le {NEXT_SESSION_FR})",
    "Pour nous joindre directement : Coordinator of Programme A, 02 41 00 00 00, "
    "coordination@example.org",
    "Si vous le jugez utile, vous pouvez nous transmettre des informations complémentaires "
    "(exemples : situation de vie, comorbidités, évènements de vie marquants récents de la "
    "patiente, objectifs complémentaires…) en veillant au consentement de la patiente.",
    "Vous pouvez proposer un objectif complémentaire dont nous pourrons discuter avec la patiente.",
    "Vos informations complémentaires",
    "Coordinator of Programme A Coordonnateur du programme d'ETP",
    "Courrier adressé avec l'accord de la patiente, recueilli oralement le",
    "Patiente : Mme Alice Martin",
    "Nom de naissance : MARTIN · Prénoms de naissance : Alice · Sexe : F · Née le 2 janvier 1980",
    "Mme Alice Martin est entrée dans notre programme d'éducation thérapeutique « Programme A » "
    "le 1er octobre 2026.",
    "Claire Dubois",
    "Document confidentiel — secret médical",
]

END_ITEMS = [
    "CHU Test",
    "Dr Alice GP",
    "Synthèse de l'évaluation individuelle",
    "Ateliers suivis",
    "Programme A workshop 1",
    "Compétences acquises ou développées",
    "Alice explains the warning signs in her own words",
    "Alice prepares her emergency kit",
    "Objectifs restant à travailler",
    "Alice life objective",
    "Alice travel objective",
    "Nous avons conseillé à Mme Alice Martin d'aborder avec vous : Alice GP topics",
    "Pour nous joindre directement : Coordinator of Programme A, 02 41 00 00 00, "
    "coordination@example.org",
]


def test_start_letter_holds_every_recommended_item_on_one_page(alice_enrollment, claire) -> None:
    letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    text = pdf_text(letter.pdf)
    assert len(PdfReader(io.BytesIO(letter.pdf)).pages) == 1
    for item in START_ITEMS:
        assert item in text, item
    assert re.search(r"Le \d{1,2}(er)? \w+ 20\d\d", text)
    assert "Arrêté" not in text and "article" not in text.lower()


def test_end_letter_holds_every_recommended_item_on_one_page(alice_enrollment, claire) -> None:
    letter = letters.issue_letter(
        alice_enrollment, LetterKind.END, claire, copy_given_to_patient=True
    )
    text = pdf_text(letter.pdf)
    assert len(PdfReader(io.BytesIO(letter.pdf)).pages) == 1
    for item in END_ITEMS:
        assert item in text, item
    # The achieved objective is not "still to work on"; the planned workshop was not attended.
    assert "Alice treatment objective" not in text
    assert "Programme A workshop 2" not in text
    assert (
        "Une copie de cette synthèse a été remise à Mme Alice Martin, que nous avons invitée"
        in text
    )
    assert letter.copy_given_to_patient


def test_end_letter_without_copy_does_not_claim_one(alice_enrollment, claire) -> None:
    letter = letters.issue_letter(alice_enrollment, LetterKind.END, claire)
    assert "Une copie de cette synthèse" not in pdf_text(letter.pdf)
    assert not letter.copy_given_to_patient


def test_letter_is_in_english_when_the_educator_chose_english(alice_enrollment, claire) -> None:
    claire.locale = "en"
    letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    text = pdf_text(letter.pdf)
    assert letter.locale == "en"
    assert "Summary of the Shared Educational Assessment and of the personalised programme" in text
    assert "Dear Doctor," in text
    assert "Synthèse du Bilan" not in text


def test_no_letter_without_consent(alice_enrollment, claire, db) -> None:
    consent.withdraw_consent(alice_enrollment, claire)
    with pytest.raises(letters.ConsentRequired) as refused:
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    assert "accord pour informer le médecin traitant" in refused.value.problems[0]
    assert alice_enrollment.letters == []
    assert db.scalar(select(AuditEvent).where(AuditEvent.tag == "letter:refused")) is not None


def test_letter_is_issued_again_once_consent_is_given_back(alice_enrollment, claire) -> None:
    consent.withdraw_consent(alice_enrollment, claire)
    with pytest.raises(letters.ConsentRequired):
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    consent.give_consent(alice_enrollment, alice_enrollment.patient.user)
    assert letters.issue_letter(alice_enrollment, LetterKind.START, claire).version == 1


def test_bep_synthesis_longer_than_ten_lines_is_refused_with_what_to_shorten(
    alice_enrollment, claire
) -> None:
    alice_enrollment.bep_synthesis = (
        "Une phrase du bilan assez longue pour remplir une ligne. " * 20
    )
    with pytest.raises(letters.LetterError) as refused:
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    assert any("Raccourcissez la synthèse du BEP" in p for p in refused.value.problems)
    assert alice_enrollment.letters == []


def test_more_than_three_objectives_are_refused(alice_enrollment, claire) -> None:
    alice_enrollment.objectives.append(Objective(text="A fourth objective"))
    with pytest.raises(letters.LetterError) as refused:
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    assert any(
        "3 objectifs personnalisés au maximum (il y en a 4)" in p for p in refused.value.problems
    )


def test_missing_coordinator_contact_and_gp_are_named(alice_enrollment, claire) -> None:
    alice_enrollment.programme.coordinator_phone = ""
    alice_enrollment.programme.coordinator_email = ""
    alice_enrollment.patient.care_team = [
        m for m in alice_enrollment.patient.care_team if m.role != CareRole.GP
    ]
    with pytest.raises(letters.LetterError) as refused:
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    problems = " ".join(refused.value.problems)
    assert "le téléphone direct du coordonnateur" in problems
    assert "l'adresse e-mail du coordonnateur" in problems
    assert "Ajoutez le médecin traitant" in problems


def test_content_over_one_page_is_refused_naming_the_longest_texts(
    alice_enrollment, claire, db
) -> None:
    alice_enrollment.bep_synthesis = (
        "Le bilan décrit la situation de vie et les besoins du patient. " * 14
    )[:880]
    for objective in alice_enrollment.objectives:
        objective.text = ("Un objectif personnalisé formulé avec beaucoup de détails. " * 6)[:300]
    for number in range(30):
        workshop = alice_enrollment.programme.workshops[0].__class__(
            title=f"Atelier supplémentaire numéro {number} sur la vie quotidienne avec la maladie"
        )
        alice_enrollment.programme.workshops.append(workshop)
        alice_enrollment.attendances.append(WorkshopAttendance(workshop=workshop))
    db.flush()
    with pytest.raises(letters.LetterError) as refused:
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    message = refused.value.problems[0]
    assert "il doit tenir sur une page A4" in message
    assert f"la synthèse du BEP ({len(alice_enrollment.bep_synthesis)} caractères)" in message
    assert "les ateliers prévus (32 éléments" in message
    assert alice_enrollment.letters == []


def test_issued_letter_is_immutable_and_reissue_makes_a_new_version(
    alice_enrollment, claire, db
) -> None:
    first = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    stored_hash = first.sha256
    assert stored_hash == hashlib.sha256(first.pdf).hexdigest()
    assert first.snapshot["bep_synthesis"] == BEP
    alice_enrollment.bep_synthesis = "Nouvelle synthèse après un échange avec le patient."
    db.flush()
    second = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    db.expire_all()
    assert (first.version, second.version) == (1, 2)
    assert first.sha256 == stored_hash and letters.load_letter_pdf(first) == first.pdf
    assert first.snapshot["bep_synthesis"] == BEP
    assert "Nouvelle synthèse" in pdf_text(second.pdf)
    assert "Nouvelle synthèse" not in pdf_text(first.pdf)
    assert letters.latest_letters(alice_enrollment)[LetterKind.START].id == second.id


def test_issuing_records_an_audit_event_and_notifies_the_patient(
    alice_enrollment, claire, db
) -> None:
    letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    event = db.scalar(select(AuditEvent).where(AuditEvent.tag == "letter:issued"))
    assert event.details == {
        "enrollment": alice_enrollment.id,
        "letter": letter.public_id,
        "kind": "start",
        "version": 1,
    }
    notice = db.scalar(select(Notification).where(Notification.kind == "letter_issued"))
    assert notice.user_id == alice_enrollment.patient.user_id
    assert notice.link == "/programme/"
    assert notice.params["letter_kind"] == "start"


def test_letter_carries_its_own_link_made_from_the_gp_share(
    alice, alice_enrollment, claire
) -> None:
    share = make_share(alice, sections=(Section.CONDITIONS,))
    letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    own = letters.letter_share(letter)
    assert own is not None and own.id != share.id
    reference = letters.letter_reference(letter.public_id)
    assert own.label == f"Lien du courrier au Dr Alice GP, réf. {reference}"
    assert own.sections == share.sections and own.expires_at == share.expires_at
    url = url_of(own)
    assert "share_url" not in letter.snapshot and letter.snapshot["has_link"] is True
    text = pdf_text(letter.pdf)
    assert "La synthèse à jour, contrôlée par la patiente" in text
    # The link is the QR code and its short reference: no bearer URL spelled out.
    assert f"Scannez le QR code pour l'ouvrir (lien réf. {reference})." in text
    flat = text.replace(" ", "").replace("-", "")
    assert url.replace("-", "") not in flat and "/s/" not in text
    assert url_of(share).replace("-", "") not in flat
    images = [image for page in PdfReader(io.BytesIO(letter.pdf)).pages for image in page.images]
    assert images, "the QR code is embedded"
    from PIL import Image
    from pyzbar.pyzbar import decode

    decoded = decode(Image.open(io.BytesIO(images[0].data)))
    assert decoded and decoded[0].data.decode() == url
    # The reader copy: the same single page, with no link and no QR code.
    reader = PdfReader(io.BytesIO(letters.load_letter_pdf(letter)))
    assert len(reader.pages) == 1
    assert [image for page in reader.pages for image in page.images] == []
    assert "/s/" not in pdf_text(letters.load_letter_pdf(letter))


def test_letter_has_no_share_link_when_the_gp_share_is_revoked(
    alice, alice_enrollment, claire
) -> None:
    shares.revoke_share(make_share(alice, sections=(Section.CONDITIONS,)))
    letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    assert letter.snapshot["has_link"] is False and letters.letter_share(letter) is None
    assert "contrôlée par le patient" not in pdf_text(letter.pdf)
    assert letter.reader_pdf == letter.pdf


def test_shared_letters_disappear_when_consent_is_withdrawn(alice_enrollment, claire) -> None:
    start = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    first_end = letters.issue_letter(alice_enrollment, LetterKind.END, claire)
    end = letters.issue_letter(alice_enrollment, LetterKind.END, claire)
    shared = letters.shared_letters(alice_enrollment.patient)
    assert {letter.id for letter in shared} == {start.id, end.id}
    assert first_end.id not in {letter.id for letter in shared}
    consent.withdraw_consent(alice_enrollment, alice_enrollment.patient.user)
    assert letters.shared_letters(alice_enrollment.patient) == []
    # The patient still has their own letters.
    assert {letter.id for letter in letters.patient_letters(alice_enrollment.patient)} == {
        start.id,
        end.id,
    }


HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/hostname">',
    "<style>@import url(http://169.254.169.254/)</style>",
    "url(http://127.0.0.1:5432/)",
    "http://127.0.0.1:5432/",
]


def test_hostile_text_is_printed_literally_and_nothing_is_fetched(
    alice_enrollment, claire, db, monkeypatch
) -> None:
    refused: list[str] = []
    original = documents.safe_fetcher

    def spying_fetcher():
        fetcher = original()
        refused_list = fetcher.refused
        real_fetch = fetcher.fetch

        def fetch(url, headers=None):
            if not url.startswith("data:"):
                refused.append(url)
            return real_fetch(url, headers)

        fetcher.fetch = fetch
        assert refused_list == []
        return fetcher

    def no_network(*args, **kwargs):
        raise AssertionError("the renderer tried to open a network connection")

    monkeypatch.setattr(documents, "safe_fetcher", spying_fetcher)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    alice_enrollment.bep_synthesis = " ".join(HOSTILE[:3])
    alice_enrollment.objectives[0].text = HOSTILE[3]
    alice_enrollment.objectives[1].text = HOSTILE[4]
    alice_enrollment.programme.name = '<img src="file:///etc/passwd">'
    alice_enrollment.patient.care_team[
        0
    ].name = '<link rel="attachment" href="file:///etc/hostname">'
    alice_enrollment.competencies[0].text = HOSTILE[1]
    alice_enrollment.gp_topics = HOSTILE[2] + " " + HOSTILE[3]
    alice_enrollment.objectives[2].text = HOSTILE[0]
    db.flush()
    start = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    end = letters.issue_letter(alice_enrollment, LetterKind.END, claire)
    start_text, end_text = pdf_text(start.pdf), pdf_text(end.pdf)
    # Compared without spaces: a long payload may wrap anywhere on the page.
    start_flat, end_flat = start_text.replace(" ", ""), end_text.replace(" ", "")
    for payload in HOSTILE:
        assert payload.replace(" ", "") in start_flat, payload
    for payload in HOSTILE[:4]:
        assert payload.replace(" ", "") in end_flat, payload
    for letter, text in ((start, start_text), (end, end_text)):
        assert "root:" not in text
        reader = PdfReader(io.BytesIO(letter.pdf))
        assert reader.attachments == {}
        assert "/EmbeddedFiles" not in str(reader.trailer["/Root"])
    assert refused == []


def test_weasyprint_is_pinned_at_a_version_without_fetcher_advisories() -> None:
    assert Version(weasyprint.__version__) >= Version("70.0")


def test_preview_lists_the_problems_without_storing_anything(alice_enrollment, claire, db) -> None:
    alice_enrollment.gp_topics = ""
    preview = letters.preview_letter(alice_enrollment, LetterKind.END, claire)
    assert "Indiquez les sujets à aborder avec le médecin traitant." in preview.problems
    assert alice_enrollment.letters == []
    ok = letters.preview_letter(alice_enrollment, LetterKind.START, claire)
    assert ok.problems == [] and ok.pages == 1
    assert "Alice treatment objective" in ok.html


def test_a_preview_shown_again_unchanged_is_not_rendered_again(
    alice_enrollment, claire, monkeypatch
) -> None:
    rendered: list[int] = []
    real = service.render_pdf

    def counting(html: str, css: str = ""):
        result = real(html, css)
        rendered.append(result.pages)
        return result

    monkeypatch.setattr(service, "render_pdf", counting)
    alice_enrollment.bep_synthesis = "A synthesis no other test writes: " + "x" * 40
    first = letters.preview_letter(alice_enrollment, LetterKind.START, claire)
    again = letters.preview_letter(alice_enrollment, LetterKind.START, claire)
    assert (first.pages, again.pages, len(rendered)) == (1, 1, 1)

    # Any change of the letter's content is rendered, and the PDF decides the page count.
    alice_enrollment.bep_synthesis = "Line of the synthesis\n" * 10
    changed = letters.preview_letter(alice_enrollment, LetterKind.START, claire)
    assert len(rendered) == 2 and changed.pages == rendered[-1]
