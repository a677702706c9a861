"""Documents a French ETP team signs: who the patient is (identity, agreement), the
letterhead and the signature, how the letter is sent, session dates, and French wording.

Every letter is checked on its real PDF text (pypdf); every refused input over HTTP, with
its translated message and nothing saved.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import re
from html import unescape
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from pathway import identifiers, letters
from pathway.db import session
from pathway.i18n import format_day
from pathway.images import LOGO_MAX_BYTES, ImageRefused
from pathway.letters.compose import french_spacing, render_letter_html
from pathway.migrate import downgrade, upgrade
from pathway.models import (
    AttendanceStatus,
    Competency,
    LetterKind,
    Objective,
    ObjectiveStatus,
    Sex,
    Workshop,
    WorkshopAttendance,
)
from pathway.models.patients import IdentityStatus
from pathway.programme import consent, enrollments
from tests.factories import make_share, sign_in

# A NIR-form INS for a woman born in January 1980 (the factories' birth date), its key
# computed as the INS's: 97 − (2800175001002 mod 97).
INS_WOMAN = "2800175001002" + f"{identifiers.ins_key('2800175001002'):02d}"
INS_MAN = "1800175001002" + f"{identifiers.ins_key('1800175001002'):02d}"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def images_in(data: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


def png(width: int = 600, height: int = 200, colour: tuple[int, int, int] = (18, 61, 106)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((600, 200), 60).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def ready(enrollment, educator) -> None:
    """A path a letter can be written from: a BEP, two objectives, sessions, consent."""
    first, second = enrollment.programme.workshops
    first.duration_minutes = 120
    enrollment.attendances = [
        WorkshopAttendance(
            workshop=first, status=AttendanceStatus.ATTENDED, scheduled_on=dt.date(2026, 10, 8)
        ),
        WorkshopAttendance(workshop=second, scheduled_on=dt.date(2027, 1, 12)),
    ]
    enrollment.competencies = [Competency(text="Explains the warning signs")]
    enrollment.objectives[0].status = ObjectiveStatus.ACHIEVED
    enrollment.objectives[1].status = ObjectiveStatus.TO_CONTINUE
    session.flush()
    consent.record_oral_consent(enrollment, educator, dt.date.today())
    session.flush()


@pytest.fixture
def alice_ready(in_request, alice_enrollment, claire):
    ready(alice_enrollment, claire)
    return alice_enrollment


@pytest.fixture
def bob_ready(in_request, bob_enrollment, eve):
    ready(bob_enrollment, eve)
    return bob_enrollment


# Who the patient is ------------------------------------------------------------------


def test_a_womans_letters_agree_with_her(alice_ready, claire) -> None:
    programme = alice_ready.programme
    programme.coordinator_sex = Sex.FEMALE
    programme.coordinator_profession = "médecin endocrinologue"
    start = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    end = pdf_text(
        letters.issue_letter(alice_ready, LetterKind.END, claire, copy_given_to_patient=True).pdf
    )
    for text in (start, end):
        assert "Patiente : Mme Alice Martin" in text
        assert "Sexe : F · Née le 2 janvier 1980" in text
        assert "Coordinatrice du programme d'ETP" in text
        assert "Courrier adressé avec l'accord de la patiente" in text
        assert "(e)" not in text and "né(e)" not in text.lower()
    assert "Mme Alice Martin est entrée dans notre programme" in start
    assert "Objectifs personnalisés élaborés avec la patiente" in start
    assert "en veillant au consentement de la patiente" in start
    assert "que nous avons invitée à prendre rendez-vous" in end
    assert "Nous avons conseillé à Mme Alice Martin d'aborder avec vous" in end
    for wrong in ("avec le patient", "du patient", "accord du patient", "est entré "):
        assert wrong not in start and wrong not in end, wrong


def test_a_mans_letters_agree_with_him(bob_ready, eve) -> None:
    bob_ready.programme.coordinator_sex = Sex.MALE
    start = pdf_text(letters.issue_letter(bob_ready, LetterKind.START, eve).pdf)
    end = pdf_text(
        letters.issue_letter(bob_ready, LetterKind.END, eve, copy_given_to_patient=True).pdf
    )
    assert "Patient : M. Bob Martin" in start
    assert "Sexe : M · Né le 2 janvier 1980" in start
    assert "M. Bob Martin est entré dans notre programme" in start
    assert "Objectifs personnalisés élaborés avec le patient" in start
    assert "Coordonnateur du programme d'ETP" in start
    assert "que nous avons invité à prendre rendez-vous" in end
    for text in (start, end):
        assert "(e)" not in text and "Née" not in text and "patiente" not in text


def test_a_letter_asks_for_the_patients_sex_before_it_is_issued(alice_ready, claire) -> None:
    alice_ready.patient.sex = None
    with pytest.raises(letters.LetterError) as refused:
        letters.issue_letter(alice_ready, LetterKind.START, claire)
    assert any("Renseignez le sexe" in problem for problem in refused.value.problems)
    assert alice_ready.letters == []


def test_the_identity_is_printed_as_the_identity_rules_expect(alice_ready, claire) -> None:
    enrollments.update_identity(
        alice_ready.patient,
        sex=Sex.FEMALE,
        birth_name="Dupont",
        birth_first_names="Alice  Marie Louise",
        ins=" ".join((INS_WOMAN[:1], INS_WOMAN[1:3], INS_WOMAN[3:5], INS_WOMAN[5:])),
        ins_oid=identifiers.INS_OID_NIR,
        identity_status=IdentityStatus.QUALIFIED,
    )
    assert alice_ready.patient.ins == INS_WOMAN
    text = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    assert (
        "Nom de naissance : DUPONT · Nom utilisé : MARTIN · "
        "Prénoms de naissance : Alice Marie Louise · Sexe : F · Née le 2 janvier 1980"
    ) in text
    assert f"INS : {identifiers.format_ins(INS_WOMAN)} (NIR, OID 1.2.250.1.213.1.4.8)" in text


def test_without_an_ins_none_is_printed(alice_ready, claire) -> None:
    text = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    assert "INS :" not in text and "OID" not in text
    assert "Nom de naissance : MARTIN · Prénoms de naissance : Alice" in text


def test_an_ins_that_no_longer_checks_is_not_printed(alice_ready, claire) -> None:
    # Stored before a change of the record's sex: it no longer matches, so it is left out.
    alice_ready.patient.ins, alice_ready.patient.ins_oid = INS_MAN, identifiers.INS_OID_NIR
    alice_ready.patient.identity_status = IdentityStatus.QUALIFIED
    text = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    assert "INS :" not in text


def identify(patient, status: IdentityStatus) -> None:
    enrollments.update_identity(
        patient,
        sex=Sex.FEMALE,
        birth_name="Dupont",
        birth_first_names="Alice Marie",
        ins=INS_WOMAN,
        ins_oid=identifiers.INS_OID_NIR,
        identity_status=status,
    )


STRICT_TRAITS = (
    "Nom de naissance : DUPONT · Nom utilisé : MARTIN · "
    "Prénoms de naissance : Alice Marie · Sexe : F · Née le 2 janvier 1980"
)


def test_a_qualified_identitys_ins_is_printed_with_its_oid(alice_ready, claire) -> None:
    identify(alice_ready.patient, IdentityStatus.QUALIFIED)
    for kind in LetterKind:
        letter = letters.issue_letter(alice_ready, kind, claire)
        text = pdf_text(letter.pdf)
        assert STRICT_TRAITS in text
        assert f"INS : {identifiers.format_ins(INS_WOMAN)} (NIR, OID 1.2.250.1.213.1.4.8)" in text
        assert letter.snapshot["patient"]["ins"]["oid"] == identifiers.INS_OID_NIR


@pytest.mark.parametrize(
    "status", [IdentityStatus.VALIDATED, IdentityStatus.RETRIEVED, IdentityStatus.PROVISIONAL]
)
def test_an_identity_not_qualified_prints_the_strict_traits_without_the_ins(
    alice_ready, claire, status
) -> None:
    identify(alice_ready.patient, status)
    assert alice_ready.patient.ins == INS_WOMAN  # kept on the record, not printed
    for kind in LetterKind:
        letter = letters.issue_letter(alice_ready, kind, claire)
        text = pdf_text(letter.pdf)
        assert STRICT_TRAITS in text
        assert "INS" not in text and "OID" not in text and "1.2.250" not in text
        assert identifiers.format_ins(INS_WOMAN) not in text and INS_WOMAN not in text
        assert letter.snapshot["patient"]["ins"] is None
    preview = letters.preview_letter(alice_ready, LetterKind.START, claire)
    assert identifiers.format_ins(INS_WOMAN) not in str(preview.html)


def test_a_new_patients_identity_is_provisional(alice_enrollment) -> None:
    assert alice_enrollment.patient.identity_status == IdentityStatus.PROVISIONAL


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2550814168025" + "38", True),  # the key computed by hand: 97 − (n mod 97) = 38
        ("2550814168025" + "39", False),
        ("2 55 08 14 168 025 38", True),
        ("1" + "8505" + "2A" + "004012" + f"{identifiers.ins_key('185052A004012'):02d}", True),
        ("1" + "8505" + "2B" + "004012" + f"{identifiers.ins_key('185052B004012'):02d}", True),
        # 2A counted as 19, 2B as 18: swapping them breaks the key.
        ("1" + "8505" + "2A" + "004012" + f"{identifiers.ins_key('185052B004012'):02d}", False),
        ("255081416802", False),
        ("2550814168025381", False),
        ("25508141680A538", False),
        ("9550814168025" + f"{identifiers.ins_key('9550814168025'):02d}", False),
    ],
)
def test_ins_keys(value: str, valid: bool) -> None:
    assert identifiers.ins_valid(value) is valid
    if "2A" in value and valid:
        # The Corsican substitution, spelt out: 2A → 19.
        assert identifiers.ins_key("185052A004012") == 97 - 1850519004012 % 97


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("990000002", True),
        ("990000001", False),
        ("99 000 000 2", True),
        ("12345678" + "2", True),
        ("123456789", False),
        ("99000000", False),
        ("9900000021", False),
        ("2A0000002", False),
    ],
)
def test_finess_luhn_keys(value: str, valid: bool) -> None:
    assert (identifiers.finess(value) is not None) is valid


def test_ins_must_agree_with_the_record() -> None:
    birth = dt.date(1980, 1, 2)
    assert identifiers.check_ins(INS_WOMAN, sex="F", birth_date=birth) == INS_WOMAN
    assert identifiers.check_ins(INS_WOMAN, sex="M", birth_date=birth).reason == "sex"
    assert (
        identifiers.check_ins(INS_WOMAN, sex="F", birth_date=dt.date(1981, 1, 2)).reason
        == "birth_year"
    )
    assert (
        identifiers.check_ins(INS_WOMAN, sex="F", birth_date=dt.date(1980, 3, 2)).reason
        == "birth_month"
    )


# Letterhead and signature ----------------------------------------------------------------


def letterhead(programme) -> None:
    enrollments.update_programme(
        programme,
        hospital="Centre hospitalier universitaire de démonstration",
        service="Service d'endocrinologie, diabétologie et nutrition",
        address="1 rue de l'Exemple, 49000 Angers",
        coordinator_name="Dr Hélène Moreau",
        coordinator_phone="02 41 35 00 00",
        coordinator_email="etp.endocrino@demo-hopital.example",
        coordinator_sex=Sex.FEMALE,
        coordinator_profession="médecin endocrinologue",
        finess="99 000 000 2",
        ars_reference="ETP-DEMO-2024-049-0001 (fictive)",
        city="Angers",
        sender_email="etp.endocrino@demo-hopital.mssante.example",
    )
    enrollments.set_logo(programme, png())


def test_the_letterhead_logo_and_signature_are_printed(alice_ready, claire) -> None:
    letterhead(alice_ready.programme)
    claire.profession = "Infirmière d'éducation thérapeutique"
    claire.rpps = "10001234567"
    letter = letters.issue_letter(alice_ready, LetterKind.START, claire)
    text = pdf_text(letter.pdf)
    assert "Centre hospitalier universitaire de démonstration" in text
    assert "FINESS n° 990000002" in text
    assert "Déclaration à l'ARS : ETP-DEMO-2024-049-0001 (fictive)" in text
    assert "Dr Hélène Moreau, médecin endocrinologue Coordinatrice du programme d'ETP" in text
    assert "Coordination du programme" not in text
    assert f"Angers, le {format_day(dt.date.today(), 'long')}" in text
    assert "Claire Dubois Infirmière d'éducation thérapeutique RPPS n° 10001234567" in text
    assert "Document confidentiel — secret médical" in text
    assert f"Courrier réf. {letters.letter_reference(letter.public_id)}" in text
    assert images_in(letter.pdf) == 1  # the logo (no GP link: no QR code)
    assert images_in(letters.load_letter_pdf(letter)) == 1


def test_without_logo_or_rpps_nothing_stands_in_their_place(alice_ready, claire) -> None:
    letter = letters.issue_letter(alice_ready, LetterKind.START, claire)
    text = pdf_text(letter.pdf)
    assert images_in(letter.pdf) == 0
    assert "RPPS" not in text and "FINESS" not in text and "ARS" not in text
    assert "Claire Dubois" in text and "Document confidentiel — secret médical" in text


def longest(enrollment) -> None:
    """The most a letter may hold: a BEP of ten full lines, three objectives of the longest
    length, four sessions, four competencies, what to discuss with the GP at its limit."""
    enrollment.bep_synthesis = "\n".join(
        ("Ligne du bilan éducatif partagé, assez longue pour remplir une ligne. " * 2)[:89]
        for _line in range(10)
    )
    enrollment.objectives = [
        Objective(text=("Un objectif personnalisé formulé avec beaucoup de détails. " * 6)[:300])
        for _ in range(3)
    ]
    programme = enrollment.programme
    for title in ("Comprendre ma maladie et mon traitement", "Adapter mon traitement au stress"):
        programme.workshops.append(Workshop(title=title, duration_minutes=90))
    enrollment.attendances.clear()
    session.flush()
    enrollment.attendances = [
        WorkshopAttendance(
            workshop=workshop,
            status=AttendanceStatus.ATTENDED,
            scheduled_on=dt.date(2026, 10, 1) + dt.timedelta(days=7 * number),
        )
        for number, workshop in enumerate(programme.workshops)
    ]
    enrollment.competencies = [
        Competency(text=("Une compétence décrite en une ligne personnalisée. " * 3)[:150])
        for _ in range(4)
    ]
    enrollment.gp_topics = ("Ce que la patiente souhaite aborder avec vous. " * 14)[:600]
    session.flush()


def test_every_letter_is_one_page_with_the_letterhead_and_the_longest_content(
    alice_ready, claire
) -> None:
    letterhead(alice_ready.programme)
    claire.profession, claire.rpps = "Infirmière d'éducation thérapeutique", "10001234567"
    enrollments.update_identity(
        alice_ready.patient,
        sex=Sex.FEMALE,
        birth_name="Dupont-Lefèvre",
        birth_first_names="Alice Marie Louise",
        ins=INS_WOMAN,
        ins_oid=identifiers.INS_OID_NIR,
        identity_status=IdentityStatus.QUALIFIED,
    )
    make_share(alice_ready.patient, allow_replies=True)
    longest(alice_ready)
    assert len(alice_ready.bep_synthesis.splitlines()) == 10
    for kind in LetterKind:
        letter = letters.issue_letter(alice_ready, kind, claire, copy_given_to_patient=True)
        assert pages(letter.pdf) == 1, kind
        assert pages(letters.load_letter_pdf(letter)) == 1, kind
        assert images_in(letter.pdf) == 2  # the logo and the QR code
        text = pdf_text(letter.pdf)
        assert "Document confidentiel — secret médical" in text
        assert "INS :" in text and "RPPS n° 10001234567" in text


# The start letter's link -------------------------------------------------------------


def test_the_start_letter_prints_the_qr_code_reference_and_expiry_never_the_url(
    alice_ready, claire
) -> None:
    share = make_share(alice_ready.patient, allow_replies=True)
    letter = letters.issue_letter(alice_ready, LetterKind.START, claire)
    text = pdf_text(letter.pdf)
    reference = letters.letter_reference(letter.public_id)
    expiry = format_day(share.expires_at, "long")
    assert (
        "Vous pouvez nous répondre par le lien ou le QR code en bas de ce courrier, "
        f"jusqu'au {expiry}, ou nous joindre directement."
    ) in text
    assert f"Scannez le QR code pour l'ouvrir et nous répondre (lien réf. {reference})." in text
    assert f"valable jusqu'au {expiry} ; la patiente peut le retirer à tout moment" in text
    assert "/s/" not in text and "https://" not in text
    own = letters.letter_share(letter)
    assert reference in own.label


def test_a_link_without_replies_does_not_invite_an_answer(alice_ready, claire) -> None:
    make_share(alice_ready.patient, allow_replies=False)
    text = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    assert "Vous pouvez nous répondre" not in text
    assert "Scannez le QR code pour l'ouvrir (lien réf." in text


# Sessions and their dates ----------------------------------------------------------------


def test_the_start_letter_lists_sessions_by_their_real_status(alice_ready, claire) -> None:
    _first, second = alice_ready.attendances
    second.scheduled_on = dt.date(2026, 11, 1)  # passed, still marked planned
    third = Workshop(title="Voyager sereinement", is_collective=False, duration_minutes=45)
    alice_ready.programme.workshops.append(third)
    session.flush()
    alice_ready.attendances.append(
        WorkshopAttendance(
            workshop=third, status=AttendanceStatus.MISSED, scheduled_on=dt.date(2026, 11, 5)
        )
    )
    session.flush()
    text = pdf_text(letters.issue_letter(alice_ready, LetterKind.START, claire).pdf)
    assert "Programme A workshop 1 (atelier collectif, 2 h — suivi le 8 oct. 2026)" in text
    assert (
        "Programme A workshop 2 (atelier collectif — prévu le 1er nov. 2026, présence pas "
        "encore renseignée)"
    ) in text
    assert (
        "Voyager sereinement (atelier individuel, 45 min — non suivi (séance du 5 nov. 2026))"
        in (text)
    )


def test_a_session_cannot_be_marked_attended_before_its_date(
    client, alice_ready, claire, db
) -> None:
    future = alice_ready.attendances[1]
    assert future.scheduled_on > dt.date.today()
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_ready.id}"
    version = alice_ready.version
    response = client.submit(
        f"{url}/attendances/{future.id}/status",
        {"version": str(version), "status": "attended"},
        page=url,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    message = "elle ne peut être indiquée comme suivie ou manquée qu&#39;à partir de ce jour"
    assert html.count(message) == 1
    assert "12 janvier 2027" in html
    db.refresh(future)
    db.refresh(alice_ready)
    assert future.status == AttendanceStatus.PLANNED and alice_ready.version == version


def test_a_session_is_marked_attended_from_its_day_on(in_request, alice_ready) -> None:
    future = alice_ready.attendances[1]
    with pytest.raises(enrollments.EnrollmentError):
        enrollments.set_attendance(
            alice_ready,
            alice_ready.version,
            future.id,
            AttendanceStatus.ATTENDED,
            today=future.scheduled_on - dt.timedelta(days=1),
        )
    enrollments.set_attendance(
        alice_ready,
        alice_ready.version,
        future.id,
        AttendanceStatus.ATTENDED,
        today=future.scheduled_on,
    )
    assert future.status == AttendanceStatus.ATTENDED


def test_the_end_letter_warns_of_planned_sessions_and_objectives_with_no_status(
    client, alice_ready, claire, db
) -> None:
    alice_ready.objectives[1].status = ObjectiveStatus.IN_PROGRESS
    db.flush()
    preview = letters.preview_letter(alice_ready, LetterKind.END, claire)
    assert preview.problems == []
    assert preview.warnings == [
        "1 séance d'atelier est encore prévue (Programme A workshop 2) : indiquez si elle a "
        "été suivie ou non, ou retirez-la, avant le courrier de fin.",
        "1 objectif n'a pas de statut en fin de programme (« Alice life objective ») : "
        "indiquez s'il est atteint ou reste à travailler.",
    ]
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_ready.id}/letters/end"
    html = client.get(url).get_data(as_text=True)
    assert "À vérifier avant d'émettre" in html
    assert "1 séance d&#39;atelier est encore prévue" in html
    # A warning, not a rule: the letter may still be issued.
    assert client.submit(url, {}).status_code == 302
    assert letters.preview_letter(alice_ready, LetterKind.START, claire).warnings == []


def test_a_refusal_is_shown_once(client, alice_ready, claire, db) -> None:
    alice_ready.gp_topics = ""
    db.flush()
    sign_in(client, "claire@example.org")
    response = client.submit(f"/team/enrollments/{alice_ready.id}/letters/end", {})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.count("Indiquez les sujets à aborder avec le médecin traitant.") == 1


# Sending ---------------------------------------------------------------------------------


def test_the_message_names_no_patient_and_comes_from_the_service_mailbox(
    app, client, alice_ready, claire, db
) -> None:
    letterhead(alice_ready.programme)
    letter = letters.issue_letter(alice_ready, LetterKind.START, claire)
    db.commit()
    sign_in(client, "claire@example.org")
    response = client.submit(
        f"/team/letters/{letter.public_id}/send", {}, page=f"/team/enrollments/{alice_ready.id}"
    )
    assert response.status_code == 302
    [sent] = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    reference = letters.letter_reference(letter.public_id)
    assert message["Subject"] == f"Courrier ETP — programme Programme A — réf. {reference}"
    assert message["From"] == "etp.endocrino@demo-hopital.mssante.example"
    body = message.get_body(("plain",)).get_content()
    for health_or_name in ("Alice", "Martin", "BEP synthesis", "objective", "(e)"):
        assert health_or_name not in body and health_or_name not in message["Subject"]
    assert f"(réf. {reference})" in body


# The team enters the identity, the letterhead and the signature ------------------------------


def test_the_team_records_the_identity_on_the_patients_record(client, alice_enrollment, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    data = {
        "identity-sex": "F",
        "identity-birth_name": "Dupont",
        "identity-birth_first_names": "Alice Marie",
        "identity-ins": " ".join((INS_WOMAN[:5], INS_WOMAN[5:10], INS_WOMAN[10:])),
        "identity-ins_oid": identifiers.INS_OID_NIR,
        "identity-identity_status": "qualified",
    }
    assert client.submit(f"{url}/identity", data, page=url).status_code == 302
    db.refresh(alice_enrollment.patient)
    patient = alice_enrollment.patient
    assert (
        patient.sex,
        patient.birth_name,
        patient.ins,
        patient.ins_oid,
        patient.identity_status,
    ) == (Sex.FEMALE, "Dupont", INS_WOMAN, identifiers.INS_OID_NIR, IdentityStatus.QUALIFIED)
    assert "INS vérifié" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize(
    ("ins", "oid", "message"),
    [
        (
            INS_WOMAN[:-2] + f"{(int(INS_WOMAN[-2:]) % 97) + 1:02d}",
            identifiers.INS_OID_NIR,
            "Cet INS n&#39;est pas valide : ses deux derniers chiffres (la clé)",
        ),
        (INS_MAN, identifiers.INS_OID_NIR, "Cet INS ne correspond pas au sexe indiqué"),
        ("123", identifiers.INS_OID_NIR, "Ce n&#39;est pas un INS"),
        (INS_WOMAN, "", "Indiquez si l&#39;INS est un NIR ou un NIA"),
    ],
)
def test_a_wrong_ins_is_refused_and_nothing_saved(
    client, alice_enrollment, db, ins, oid, message
) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    data = {
        "identity-sex": "F",
        "identity-birth_name": "Dupont",
        "identity-ins": ins,
        "identity-ins_oid": oid,
        "identity-identity_status": "qualified",
    }
    response = client.submit(f"{url}/identity", data, page=url)
    assert response.status_code == 400
    assert response.get_data(as_text=True).count(message) == 1
    db.refresh(alice_enrollment.patient)
    assert alice_enrollment.patient.ins is None and alice_enrollment.patient.birth_name == ""


def identity_form(**changes: str) -> dict[str, str]:
    data = {
        "identity-sex": "F",
        "identity-birth_name": "Dupont",
        "identity-birth_first_names": "Alice Marie",
        "identity-ins": INS_WOMAN,
        "identity-ins_oid": identifiers.INS_OID_NIR,
        "identity-identity_status": "qualified",
    }
    data.update(changes)
    return data


def test_the_identity_form_shows_the_saved_status(client, alice_enrollment, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'name="identity-identity_status"' in html
    for label in ("Identité provisoire", "Identité récupérée", "Identité validée"):
        assert label in html
    assert re.search(r'<option selected value="provisional">', html)
    data = identity_form(**{"identity-identity_status": "validated"})
    assert client.submit(f"{url}/identity", data, page=url).status_code == 302
    db.refresh(alice_enrollment.patient)
    assert alice_enrollment.patient.identity_status == IdentityStatus.VALIDATED
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'<option selected value="validated">', html)


@pytest.mark.parametrize("status", ["certified", "", "QUALIFIED", "qualifiée"])
def test_an_unknown_identity_status_is_refused_and_nothing_saved(
    client, alice_enrollment, db, status
) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    data = identity_form(**{"identity-identity_status": status})
    response = client.submit(f"{url}/identity", data, page=url)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert html.count("Choisissez l'un des quatre statuts de l'identité.") == 1
    db.refresh(alice_enrollment.patient)
    patient = alice_enrollment.patient
    assert (patient.ins, patient.birth_name, patient.identity_status) == (
        None,
        "",
        IdentityStatus.PROVISIONAL,
    )


def test_a_missing_identity_status_is_refused_too(client, alice_enrollment, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    data = identity_form()
    del data["identity-identity_status"]
    response = client.submit(f"{url}/identity", data, page=url)
    assert response.status_code == 400
    assert "Choisissez l'un des quatre statuts" in unescape(response.get_data(as_text=True))
    db.refresh(alice_enrollment.patient)
    assert alice_enrollment.patient.ins is None


@pytest.mark.parametrize("status", ["qualified", "retrieved"])
def test_a_qualified_or_retrieved_identity_without_an_ins_is_refused(
    client, alice_enrollment, db, status
) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    data = identity_form(**{"identity-ins": "", "identity-identity_status": status})
    response = client.submit(f"{url}/identity", data, page=url)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert html.count("Une identité récupérée ou qualifiée a l'INS") == 1
    db.refresh(alice_enrollment.patient)
    patient = alice_enrollment.patient
    assert (patient.birth_name, patient.identity_status) == ("", IdentityStatus.PROVISIONAL)


def test_removing_the_ins_of_a_qualified_identity_asks_for_another_status(
    in_request, alice_enrollment
) -> None:
    patient = alice_enrollment.patient
    identify(patient, IdentityStatus.QUALIFIED)
    with pytest.raises(enrollments.IdentityError) as refused:
        enrollments.update_identity(
            patient,
            sex=Sex.FEMALE,
            birth_name="Dupont",
            birth_first_names="Alice Marie",
            ins="",
            ins_oid=None,
            identity_status=IdentityStatus.QUALIFIED,
        )
    assert refused.value.field == "identity_status"
    assert (patient.ins, patient.identity_status) == (INS_WOMAN, IdentityStatus.QUALIFIED)


def test_existing_patients_become_provisional_through_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "e2624695d2a1")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sql(
                "INSERT INTO patients (id, first_name, last_name, life_context, summary_version,"
                " created_at, birth_name, birth_first_names, ins, ins_oid)"
                " VALUES (1, 'A', 'B', '', 1, '2026-12-01 10:00:00.000000', '', '', :ins, :oid)"
            ),
            {"ins": INS_WOMAN, "oid": identifiers.INS_OID_NIR},
        )
    upgrade(url, "b7c1d9e3f5a2")
    with engine.connect() as connection:
        assert connection.execute(sql("SELECT ins, identity_status FROM patients")).one() == (
            INS_WOMAN,
            "provisional",
        )
    downgrade(url, "e2624695d2a1")
    with engine.connect() as connection:
        assert connection.execute(sql("SELECT ins FROM patients")).scalar() == INS_WOMAN
    engine.dispose()


def programme_form(programme, **changes: str) -> dict[str, str]:
    data = {
        "programme-hospital": "CHU de démonstration",
        "programme-service": "Endocrinologie",
        "programme-address": "1 rue de l'Exemple, 49000 Angers",
        "programme-city": "Angers",
        "programme-finess": "990000002",
        "programme-ars_reference": "ETP-DEMO-0001 (fictive)",
        "programme-sender_email": "etp@demo.mssante.example",
        "programme-coordinator_name": "Dr Hélène Moreau",
        "programme-coordinator_sex": "F",
        "programme-coordinator_profession": "médecin endocrinologue",
        "programme-coordinator_phone": "02 41 35 00 00",
        "programme-coordinator_email": "etp@demo-hopital.example",
    }
    data.update({f"programme-{key}": value for key, value in changes.items()})
    return data


def test_the_team_fills_in_the_letterhead(client, programme_a, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/programmes/{programme_a.id}"
    assert client.submit(url, programme_form(programme_a)).status_code == 302
    db.refresh(programme_a)
    assert (programme_a.finess, programme_a.city, programme_a.coordinator_sex) == (
        "990000002",
        "Angers",
        Sex.FEMALE,
    )
    assert programme_a.sender_email == "etp@demo.mssante.example"


def test_a_wrong_finess_key_is_refused_and_nothing_saved(client, programme_a, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/programmes/{programme_a.id}"
    response = client.submit(url, programme_form(programme_a, finess="990000001", city="Nantes"))
    assert response.status_code == 400
    assert "Ce numéro FINESS n&#39;est pas valide" in response.get_data(as_text=True)
    db.refresh(programme_a)
    assert (
        programme_a.finess == "" and programme_a.city == "" and programme_a.hospital == "CHU Test"
    )


def upload(client, programme, data: bytes, filename: str):
    """Post the logo form as a browser does (the body encoded in memory, not in a temporary
    file the test client would leave open when the app refuses to read it)."""
    url = f"/team/programmes/{programme.id}"
    fields = {
        "logo-csrf_token": client.csrf_token(url),
        "logo-logo": FileStorage(io.BytesIO(data), filename=filename),
    }
    boundary, body = encode_multipart(fields)
    return client.post(
        f"{url}/logo", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_a_logo_is_decoded_reencoded_and_stored(client, programme_a, db) -> None:
    sign_in(client, "claire@example.org")
    source = io.BytesIO()
    image = Image.new("RGB", (1800, 600), (200, 30, 30))
    image.save(source, "JPEG", exif=b"Exif\x00\x00secret-metadata")
    response = upload(client, programme_a, source.getvalue(), "logo.jpg")
    assert response.status_code == 302
    db.refresh(programme_a)
    assert programme_a.logo_type == "image/jpeg"
    stored = Image.open(io.BytesIO(programme_a.logo))
    assert stored.format == "JPEG" and stored.size == (600, 200)
    assert b"secret-metadata" not in programme_a.logo


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
        ),
        (b"%PDF-1.7 not an image", "logo.png"),
        (png()[:100], "logo.png"),  # a cut PNG
        (jpeg()[:-200], "logo.jpg"),  # a cut JPEG
    ],
)
def test_a_logo_that_is_not_a_png_or_jpeg_is_refused(
    client, programme_a, db, data: bytes, filename: str
) -> None:
    sign_in(client, "claire@example.org")
    response = upload(client, programme_a, data, filename)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count("Ce fichier n&#39;est pas une image PNG ou JPEG.") == 1
    db.refresh(programme_a)
    assert programme_a.logo is None and programme_a.logo_type is None


def test_a_20_mb_image_is_refused_with_the_logo_message(client, programme_a, db) -> None:
    sign_in(client, "claire@example.org")
    big = b"\x89PNG\r\n\x1a\n" + bytes(20 * 1024 * 1024)
    response = upload(client, programme_a, big, "huge.png")
    assert response.status_code == 413
    assert "Le logo est trop lourd : envoyez une image PNG ou JPEG de 1 Mo au maximum." in (
        response.get_data(as_text=True)
    )
    db.refresh(programme_a)
    assert programme_a.logo is None


def test_a_logo_just_over_the_limit_is_refused_by_the_domain(in_request, programme_a) -> None:
    with pytest.raises(ImageRefused) as refused:
        enrollments.set_logo(programme_a, png() + bytes(LOGO_MAX_BYTES))
    assert "Le logo est trop lourd" in refused.value.message
    assert programme_a.logo is None


def test_a_cut_image_is_refused_even_once_weasyprint_pads_cut_images(
    in_request, programme_a
) -> None:
    import weasyprint  # noqa: F401 (it sets ImageFile.LOAD_TRUNCATED_IMAGES)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES
    for cut in (png()[:-30], jpeg()[: len(jpeg()) // 2]):
        with pytest.raises(ImageRefused):
            enrollments.set_logo(programme_a, cut)
    assert programme_a.logo is None
    enrollments.set_logo(programme_a, jpeg())
    assert programme_a.logo_type == "image/jpeg"


def test_an_image_claiming_a_huge_canvas_is_refused(in_request, programme_a) -> None:
    # A small file that would decode to 30 000 × 30 000 pixels.
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, "PNG")
    with pytest.raises(ImageRefused):
        enrollments.set_logo(programme_a, out.getvalue())
    assert programme_a.logo is None


def test_the_educator_signs_with_profession_and_rpps(client, claire, db) -> None:
    sign_in(client, "claire@example.org")
    data = {"display_name": "Claire Dubois", "profession": "Infirmière", "rpps": "100 0123 4567"}
    assert client.submit("/team/signature", data).status_code == 302
    db.refresh(claire)
    assert (claire.profession, claire.rpps) == ("Infirmière", "10001234567")
    refused = client.submit("/team/signature", {**data, "rpps": "1234", "profession": "IDE"})
    assert refused.status_code == 400
    assert refused.get_data(as_text=True).count("Le numéro RPPS comporte 11 chiffres.") == 1
    db.refresh(claire)
    assert (claire.profession, claire.rpps) == ("Infirmière", "10001234567")


# Wording -----------------------------------------------------------------------------------


def test_the_first_day_of_a_month_is_an_ordinal_in_french(app) -> None:
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("fr"):
            assert format_day(dt.date(2026, 12, 1), "long") == "1er décembre 2026"
            assert format_day(dt.date(2026, 12, 1), "medium") == "1er déc. 2026"
            assert format_day(dt.date(2026, 12, 2), "long") == "2 décembre 2026"
            assert format_day(dt.date(2026, 12, 1), "d MMMM y") == "1er décembre 2026"
            assert format_day(dt.date(2026, 12, 1), "short") == "01/12/2026"
            rendered = app.jinja_env.from_string("{{ d | dateformat('d MMMM y') }}")
            assert rendered.render(d=dt.date(2027, 3, 1)) == "1er mars 2027"
        with force_locale("en"):
            assert format_day(dt.date(2026, 12, 1), "long") == "December 1, 2026"


def test_french_letter_text_has_no_break_spaces_before_its_punctuation(alice_ready, claire) -> None:
    values = letters.preview_letter(alice_ready, LetterKind.START, claire).values
    html = render_letter_html(values, standalone=True)
    assert "Objet\u00a0:" in html and "Docteur," in html
    assert "« Programme A\u00a0»" in html or "«\u00a0Programme A\u00a0»" in html
    assert " :" not in html.replace("\u00a0:", "")
    assert french_spacing('<p a="x:y">Oui ; non ? l&#39;accord !</p>') == (
        '<p a="x:y">Oui\u202f; non\u202f? l&#39;accord\u202f!</p>'
    )


def test_letter_lines_and_items_are_counted_in_words_that_agree(alice_ready, claire) -> None:
    alice_ready.bep_synthesis = "x" * 950
    problems = letters.preview_letter(alice_ready, LetterKind.START, claire).problems
    assert any("elle compte 950 caractères et 1 ligne)" in problem for problem in problems)
    assert not any("1 lignes" in problem for problem in problems)


def test_the_patients_page_says_issued_in_the_feminine_and_the_article_before_dr(
    client, alice_ready, claire, db
) -> None:
    letters.issue_letter(alice_ready, LetterKind.END, claire, copy_given_to_patient=True)
    alice_ready.patient.gp.name = "Dr Paul Martin"
    db.commit()
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    assert "émise le" in html and "émis le" not in html
    assert "avec le Dr Paul Martin" in html


def test_the_demo_has_an_identity_and_a_fictional_letterhead(app, db) -> None:
    from pathway.models import Letter, Patient, Programme

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    programme = db.scalar(select(Programme))
    assert identifiers.finess(programme.finess) == programme.finess
    assert programme.finess.startswith("99")  # no FINESS department is 99: fictional
    assert "fictive" in programme.ars_reference
    assert programme.coordinator_sex == Sex.FEMALE
    patient = db.scalar(select(Patient))
    assert patient.sex == Sex.FEMALE
    letter = db.scalar(select(Letter))
    text = pdf_text(letter.pdf)
    assert pages(letter.pdf) == 1
    assert "Patiente : Mme Camille Lefèvre" in text and "Née le 12 avril 1988" in text
    assert "Coordinatrice du programme d'ETP" in text
    assert "Angers, le" in text and "FINESS n° 990000002" in text
