"""The emergency protocol as a SAMU crew reads it (responder's view, wallet card, lock-screen
image), the Orphanet links, the GP's view of the ETP path, and what the forms refuse."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from html import unescape
from pathlib import Path

import pypdf
import pytest
import weasyprint
from flask_babel import force_locale
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, select, text
from weasyprint.formatting_structure import boxes

from pathway import orphanet
from pathway.cards import artifacts
from pathway.cards.card import action_size, card_css, render_card_html, vital_treatment_fits
from pathway.cards.facts import card_facts
from pathway.cards.lockscreen import lockscreen_layout, lockscreen_lines
from pathway.migrate import downgrade, upgrade
from pathway.models import (
    Allergy,
    CentreKind,
    Competency,
    CompetencyStatus,
    Condition,
    Contribution,
    Medication,
    Patient,
    SectionAuthor,
    SectionUpdate,
)
from pathway.programme import enrollments
from pathway.sharing.sections import Audience, Section
from pathway.sharing.shares import share_url
from pathway.summary import editing as summary
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import make_card, make_share, path_of

ACTION = "Hydrocortisone 100 mg IV, ou IM/SC si pas d'abord veineux, immédiatement"
VITAL = "Hydrocortisone 20 mg le matin, 10 mg à midi ; fludrocortisone 50 µg le matin"
# An address of the form Orphanet Urgences sheets have (made up for the tests).
URGENCES_SHEET = "https://www.orpha.net/pdfs/data/patho/Emg/Int/fr/Exemple_FR_fr_EMG_ORPHA1.pdf"
DISEASE_PAGE = "https://www.orpha.net/fr/disease/detail/85138"


def samu_protocol(patient: Patient) -> None:
    """An adrenal crisis protocol, every field entered; penicillin allergy, lactose
    intolerance."""
    protocol = patient.emergency_protocol
    assert protocol is not None
    protocol.immediate_drug = "Hydrocortisone"
    protocol.immediate_dose = "100 mg"
    protocol.immediate_routes = "IV, ou IM/SC si pas d'abord veineux, immédiatement"
    protocol.then_treatment = "Hydrocortisone 200 mg / 24 h IV en continu"
    protocol.fluids = "Sérum salé isotonique (NaCl 0,9 %)"
    protocol.checks = "Glycémie capillaire"
    protocol.contraindicated_drugs = "Pénicillines (allergie sévère)."
    protocol.anaesthesia = "Prévenir l'anesthésiste."
    protocol.orientation = "Urgences les plus proches"
    protocol.vital_treatment = VITAL
    protocol.treating_physician = "Dr Hélène Moreau, endocrinologue"
    protocol.treating_physician_phone = "01 99 00 41 20"
    protocol.reference_centre = "Hôpital de démonstration"
    protocol.reference_centre_kind = CentreKind.COMPETENCE
    protocol.reference_centre_phone = "01 99 00 41 35"
    protocol.reference_centre_24h = True
    patient.allergies = [
        Allergy(substance="Pénicillines", reaction="Urticaire", is_severe=True),
        Allergy(substance="Lactose", reaction="Troubles digestifs", is_intolerance=True),
    ]


def document(app, card, name: str) -> bytes:
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        return artifacts.artifact(card, name).data


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def flat(value: str) -> str:
    return " ".join(value.split())


def line_starting(page: str, label: str) -> str:
    found = [line for line in page.splitlines() if line.startswith(label)]
    assert len(found) == 1, (label, page)
    return found[0]


# Allergies and intolerances: two lists everywhere -----------------------------------------


def test_wallet_card_prints_allergies_and_intolerances_apart(app, alice) -> None:
    samu_protocol(alice)
    front = pdf_pages(document(app, make_card(alice), artifacts.CARD_PDF))[0]
    allergies = line_starting(front, "ALLERGIES :")
    assert "Pénicillines (sévère)" in allergies and "Lactose" not in allergies
    assert "Lactose" in line_starting(front, "INTOLÉRANCES :")


def test_wallet_card_with_intolerances_only_says_no_known_allergy(app, alice) -> None:
    alice.allergies = [Allergy(substance="Lactose", is_intolerance=True)]
    front = pdf_pages(document(app, make_card(alice), artifacts.CARD_PDF))[0]
    assert line_starting(front, "ALLERGIES :") == "ALLERGIES : aucune connue"
    assert "Lactose" in line_starting(front, "INTOLÉRANCES :")


def test_lockscreen_image_lists_allergies_and_intolerances_apart(app, alice) -> None:
    samu_protocol(alice)
    card = make_card(alice)
    # The facts the stored image was drawn from, and the lines drawn from them.
    facts = json.loads(document(app, card, artifacts.FACTS))
    with app.test_request_context(), force_locale("fr"):
        lines = [line[0] for line in lockscreen_lines(facts)]
        draw = ImageDraw.Draw(Image.new("RGB", (1170, 2532)))
        drawn = " ".join(placed.text for placed in lockscreen_layout(draw, lockscreen_lines(facts)))
    (allergies,) = [line for line in lines if line.startswith("Allergies")]
    (intolerances,) = [line for line in lines if line.startswith("Intolérances")]
    assert allergies == "Allergies : Pénicillines (sévère)"
    assert intolerances == "Intolérances : Lactose"
    assert all("Lactose" not in line for line in lines if line is not intolerances)
    # Every line fits above the QR code: none is left out of the image.
    for line in lines:
        assert line.split()[0] in drawn, line
    assert f"En urgence : {ACTION}" in lines
    assert f"Ne jamais arrêter : {VITAL}" in lines


def test_responder_view_never_lists_an_intolerance_under_allergies(client, alice) -> None:
    samu_protocol(alice)
    html = client.get(path_of(make_card(alice))).get_data(as_text=True)
    allergies = re.search(r"<h2>Allergies</h2>(.*?)</section>", html, re.S)
    intolerances = re.search(r"<h2>Intolérances</h2>(.*?)</section>", html, re.S)
    assert allergies and intolerances
    assert "Pénicillines" in allergies.group(1) and "Lactose" not in allergies.group(1)
    assert "Lactose" in intolerances.group(1)


def test_gp_view_lists_allergies_and_intolerances_apart(client, alice) -> None:
    samu_protocol(alice)
    html = client.get(path_of(make_share(alice, Audience.GP))).get_data(as_text=True)
    section = re.search(r'id="allergies".*?</section>', html, re.S)
    assert section
    allergies, _sep, intolerances = section.group(0).partition("<h3>Intolérances</h3>")
    assert "Pénicillines" in allergies and "Lactose" not in allergies
    assert "Lactose" in intolerances


# The wallet card's front, and the boxes every text is fitted to ----------------------------


def test_wallet_front_carries_the_vital_treatment_the_action_the_date_and_secrecy(
    app, alice
) -> None:
    samu_protocol(alice)
    front, back = pdf_pages(document(app, make_card(alice), artifacts.CARD_PDF))
    assert ACTION in flat(front)
    assert f"NE JAMAIS ARRÊTER : {VITAL}" in flat(front)
    assert re.search(r"Carte émise le \d{1,2} \w+\.? \d{4}", flat(front)), front
    assert "Carte personnelle — secret médical" in flat(front)
    assert ACTION not in flat(back)
    assert "CENTRE DE COMPÉTENCE MALADIES RARES : Hôpital de démonstration" in flat(back)
    assert "24 h/24 : 01 99 00 41 35" in flat(back)
    assert "MÉDECIN RÉFÉRENT : Dr Hélène Moreau, endocrinologue 01 99 00 41 20" in flat(back)
    assert "CONTRE-INDIQUÉ : Pénicillines (allergie sévère)." in flat(back)


def test_the_immediate_action_is_printed_in_the_largest_type_that_fits(app, alice) -> None:
    short, long = "Hydrocortisone 100 mg IM", ACTION + " puis appeler le centre de compétence"
    assert action_size(short) == 13
    assert action_size(ACTION) is not None and action_size(long) is not None
    assert 13 > action_size(ACTION) > action_size(long) >= 7  # type: ignore[operator]
    assert action_size("W" * 400) is None
    samu_protocol(alice)
    card = make_card(alice)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        html = render_card_html(card_facts(card), share_url(card), dt.date(2026, 12, 3))
    assert f'class="action-text" style="font-size: {action_size(ACTION):g}pt"' in html


def clipped_lines(page: object) -> list[str]:
    """Lines of text that stick out of a box that clips what overflows (or of the card)."""
    out: list[str] = []

    def walk(box: object, clip_bottom: float) -> None:
        if isinstance(box, boxes.LineBox):
            words = "".join(t.text for t in box.descendants() if isinstance(t, boxes.TextBox))
            inline_blocks = any(isinstance(c, boxes.InlineBlockBox) for c in box.descendants())
            below = box.position_y + box.height > clip_bottom + 0.01
            if words.strip() and not inline_blocks and below:
                out.append(words)
        if (
            isinstance(box, boxes.BlockContainerBox)
            and box.style["overflow"] == "hidden"
            and box.height is not None
        ):
            clip_bottom = min(clip_bottom, box.padding_box_y() + box.padding_height())
        for child in getattr(box, "children", []):
            walk(child, clip_bottom)

    walk(page, float("inf"))
    return out


@pytest.mark.parametrize("content", ["realistic", "every field at its longest"])
def test_nothing_printed_on_the_card_is_cut_by_its_edge(app, alice, content) -> None:
    samu_protocol(alice)
    if content != "realistic":
        alice.first_name = "W" * 30
        alice.conditions = [Condition(label="W" * 200, orphacode="1234567") for _ in range(3)]
        alice.allergies = [Allergy(substance="W" * 200, is_severe=True) for _ in range(6)] + [
            Allergy(substance="W" * 200, is_intolerance=True) for _ in range(6)
        ]
        protocol = alice.emergency_protocol
        protocol.contraindicated_drugs = protocol.treating_physician = "W" * 200
        protocol.reference_centre = "W " * 100
        # The longest immediate action the summary accepts (pathway.cards.card).
        protocol.immediate_routes = (
            "IV, ou IM/SC si pas d'abord veineux, immédiatement, puis selon la fiche du centre"
        )
        assert action_size(protocol.immediate_action) == 7
    card = make_card(alice)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        html = render_card_html(card_facts(card), share_url(card), dt.date(2026, 12, 3))
    rendered = weasyprint.HTML(string=html).render(stylesheets=[weasyprint.CSS(string=card_css())])
    assert len(rendered.pages) == 2
    assert [clipped_lines(page._page_box) for page in rendered.pages] == [[], []]
    text = flat(" ".join(pdf_pages(rendered.write_pdf())))
    for phone in ("01 99 00 41 20", "01 99 00 41 35", "06 00 00 00 01"):
        assert phone in text, phone  # numbers are never shortened


def test_a_field_left_empty_is_printed_nowhere(app, client, alice) -> None:
    protocol = alice.emergency_protocol
    protocol.reference_centre_24h = False
    card = make_card(alice)
    front, back = pdf_pages(document(app, card, artifacts.CARD_PDF))
    for absent in ("NE JAMAIS ARRÊTER", "MÉDECIN RÉFÉRENT", "CONTRE-INDIQUÉ", "24 h/24"):
        assert absent not in front + back, absent
    assert "CENTRE DE SUIVI : Alice reference centre · Tél. : 01 02 03 04 05" in flat(back)
    html = client.get(path_of(card)).get_data(as_text=True)
    for absent in (
        "Puis",
        "Solutés",
        "Surveillance",
        "Orientation",
        "Précautions en cas d'anesthésie",
        "Médicaments contre-indiqués",
        "Ne jamais arrêter",
        "24 h/24",
        "Médecin référent",
    ):
        assert absent not in unescape(html), absent


def test_responder_view_reads_the_protocol_in_order(client, alice) -> None:
    samu_protocol(alice)
    text = unescape(client.get(path_of(make_card(alice))).get_data(as_text=True))
    in_order = (
        ACTION,
        "Pénicillines",
        "Lactose",
        "Puis",
        "Hydrocortisone 200 mg / 24 h IV en continu",
        "Sérum salé isotonique",
        "Glycémie capillaire",
        "Pénicillines (allergie sévère).",
        "Prévenir l'anesthésiste.",
        "Urgences les plus proches",
        VITAL,
        "Centre de compétence maladies rares : Hôpital de démonstration",
        "24 h/24 :",
        "Médecin référent : Dr Hélène Moreau, endocrinologue",
    )
    positions = [text.index(fact) for fact in in_order]
    assert positions == sorted(positions)
    assert 'href="tel:0199004135"' in text and 'href="tel:0199004120"' in text


def test_an_emergency_kit_is_to_inject_not_a_daily_vital_treatment(client, alice) -> None:
    alice.medications.append(
        Medication(name="Hydrocortisone injectable 100 mg", dosage="100 mg IM", is_emergency=True)
    )
    html = unescape(client.get(path_of(make_card(alice))).get_data(as_text=True))
    kit = re.search(
        r"<li[^>]*>(?:(?!</li>).)*Hydrocortisone injectable(?:(?!</li>).)*</li>", html, re.S
    )
    assert kit and "À injecter en urgence" in kit.group(0) and "vital" not in kit.group(0)


# Orphanet: the disease page by ORPHAcode; the Urgences sheet only when entered ------------


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        (URGENCES_SHEET, True),
        ("https://orpha.net/pdfs/data/patho/Emg/Int/fr/X.pdf", True),
        ("https://WWW.ORPHA.NET/pdfs/x.pdf", True),
        (DISEASE_PAGE, False),  # the disease page, never under the sheet's name
        ("https://www.orpha.net/en/disease/detail/85138", False),
        ("https://www.orpha.net/consor/cgi-bin/OC_Exp.php?lng=FR&Expert=85138", False),
        ("http://www.orpha.net/pdfs/x.pdf", False),
        ("https://evil.example/www.orpha.net/x.pdf", False),
        ("https://www.orpha.net.evil.example/x.pdf", False),
        ("https://evilorpha.net/x.pdf", False),
        ("https://www.orpha.net@evil.example/x.pdf", False),
        ("https://user:pw@www.orpha.net/x.pdf", False),
        ("https://www.orpha.net:8443/x.pdf", False),
        ("https://www.orpha.net/x y.pdf", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_only_an_orpha_net_address_other_than_the_disease_page_is_a_sheet(url, linked) -> None:
    assert orphanet.urgences_url(url) == (url if linked else "")


def test_the_urgences_sheet_is_linked_only_when_the_team_entered_it(client, db, alice) -> None:
    card_path = path_of(make_card(alice))
    gp_path = path_of(make_share(alice, Audience.GP))
    for path in (card_path, gp_path):
        html = client.get(path).get_data(as_text=True)
        assert f'href="{DISEASE_PAGE}"' in html  # the disease page, from the ORPHAcode
        assert "Fiche Orphanet Urgences" not in html
    # Stored before the rule, or written around the form: never linked under that name.
    for stored in (DISEASE_PAGE, "https://evil.example/urgences.pdf"):
        alice.conditions[0].emergency_guideline_url = stored
        db.flush()
        for path in (card_path, gp_path):
            html = client.get(path).get_data(as_text=True)
            assert "Fiche Orphanet Urgences" not in html
            assert "evil.example" not in html
    alice.conditions[0].emergency_guideline_url = URGENCES_SHEET
    db.flush()
    for path in (card_path, gp_path):
        html = client.get(path).get_data(as_text=True)
        assert re.search(
            rf'<a href="{re.escape(URGENCES_SHEET)}"[^>]*>Fiche Orphanet Urgences', html
        )


@pytest.mark.usefixtures("alice_signed_in")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://evil.example/urgences.pdf", "commençant par https://www.orpha.net/"),
        ("http://www.orpha.net/x.pdf", "commençant par https://www.orpha.net/"),
        (" javascript:alert(1)", "commençant par https://www.orpha.net/"),
        (DISEASE_PAGE, "pas sa fiche Orphanet Urgences"),
    ],
)
def test_a_sheet_address_off_orphanet_is_refused_and_nothing_saved(
    client, db, alice, url, message
) -> None:
    version = alice.summary_version
    response = client.submit(
        "/patient/conditions/new",
        {"label": "Maladie X", "orphacode": "85138", "emergency_guideline_url": url},
    )
    assert response.status_code == 422
    assert message in unescape(response.get_data(as_text=True))
    assert db.scalar(select(Condition).where(Condition.label == "Maladie X")) is None
    db.refresh(alice)
    assert alice.summary_version == version


@pytest.mark.usefixtures("alice_signed_in")
def test_a_sheet_address_on_orphanet_is_saved(client, db, alice) -> None:
    response = client.submit(
        "/patient/conditions/new",
        {"label": "Maladie X", "orphacode": "85138", "emergency_guideline_url": URGENCES_SHEET},
    )
    assert response.status_code == 302
    saved = db.scalar(select(Condition).where(Condition.label == "Maladie X"))
    assert saved is not None and saved.emergency_guideline_url == URGENCES_SHEET


@pytest.mark.usefixtures("in_request")
def test_the_domain_refuses_a_sheet_off_orphanet_whatever_the_form(alice) -> None:
    with pytest.raises(summary.SummaryError) as refused:
        summary.save_item(
            alice,
            Section.CONDITIONS,
            None,
            {"label": "X", "emergency_guideline_url": "https://evil.example/x"},
            "Alice Martin",
        )
    assert refused.value.field == "emergency_guideline_url"


# Bad input on the protocol: a clear message, nothing saved ----------------------------------


def protocol_form(**values: str) -> dict[str, str]:
    form = {
        "immediate_drug": "Hydrocortisone",
        "immediate_dose": "100 mg",
        "immediate_routes": "IM",
        "reference_centre": "Centre",
        "reference_centre_phone": "01 99 00 41 35",
    }
    form.update(values)
    return form


@pytest.mark.usefixtures("alice_signed_in")
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"immediate_dose": "1" * 2000}, "Trop long : 80 caractères au maximum."),
        ({"vital_treatment": "x" * 2000}, "Trop long : 200 caractères au maximum."),
        ({"situations": "x" * 2001}, "Trop long : 2000 caractères au maximum."),
        (
            {"immediate_routes": "IV, ou IM/SC si pas d'abord veineux " * 5},
            "L'action immédiate ne tient pas sur la carte",
        ),
        ({"vital_treatment": "Hydrocortisone 10 mg " * 8}, "ne tient pas sur la carte"),
        ({"immediate_drug": ""}, "Indiquez le médicament de l'action immédiate"),
        (
            {"reference_centre_phone": "", "reference_centre_24h": "y"},
            "Saisissez le numéro joignable 24 h/24",
        ),
        ({"treating_physician_phone": "appelez-moi"}, "Un numéro de téléphone"),
        ({"orientation": "Urgences\nCHU"}, "sur une seule ligne"),
    ],
)
def test_bad_protocol_input_is_refused_with_a_french_message_and_nothing_saved(
    client, db, alice, values, message
) -> None:
    version = alice.summary_version
    response = client.submit("/patient/emergency-protocol", protocol_form(**values))
    assert response.status_code == 422
    assert message in unescape(response.get_data(as_text=True))
    db.refresh(alice)
    assert alice.summary_version == version
    assert alice.emergency_protocol.immediate_drug == "Alice critical action"
    assert alice.emergency_protocol.immediate_dose == ""


@pytest.mark.usefixtures("alice_signed_in")
def test_a_kit_marked_both_daily_vital_and_emergency_is_refused(client, db, alice) -> None:
    response = client.submit(
        "/patient/treatments/new",
        {"name": "Hydrocortisone injectable", "is_critical": "y", "is_emergency": "y"},
    )
    assert response.status_code == 422
    assert "pas les deux" in unescape(response.get_data(as_text=True))
    assert (
        db.scalar(select(Medication).where(Medication.name == "Hydrocortisone injectable")) is None
    )


@pytest.mark.usefixtures("in_request")
def test_the_domain_refuses_what_the_form_refuses(alice) -> None:
    for values, field in (
        ({"immediate_dose": "1" * 2000}, "immediate_dose"),
        ({"immediate_drug": "X", "immediate_routes": "W" * 200}, "immediate_routes"),
        ({"reference_centre_kind": "centre de rêve"}, "reference_centre_kind"),
        ({"fluids": "NaCl\n0,9 %"}, "fluids"),
    ):
        with pytest.raises(summary.SummaryError) as refused:
            summary.update_protocol(alice, values, "Alice Martin")
        assert refused.value.field == field
    assert vital_treatment_fits(VITAL)


@pytest.mark.usefixtures("alice_signed_in")
def test_the_whole_protocol_is_saved_and_shown(client, db, alice) -> None:
    form = protocol_form(
        immediate_routes="IV, ou IM/SC si pas d'abord veineux, immédiatement",
        then_treatment="Puis 200 mg / 24 h",
        fluids="NaCl 0,9 %",
        checks="Glycémie capillaire",
        contraindicated_drugs="Pénicillines",
        anaesthesia="Prévenir l'anesthésiste",
        orientation="Urgences",
        vital_treatment=VITAL,
        treating_physician="Dr Moreau",
        reference_centre_kind="competence",
        reference_centre_24h="y",
    )
    assert client.submit("/patient/emergency-protocol", form).status_code == 302
    db.refresh(alice)
    protocol = alice.emergency_protocol
    assert protocol.immediate_action == ACTION
    assert protocol.reference_centre_kind == CentreKind.COMPETENCE and protocol.reference_centre_24h
    page = client.get("/patient/emergency-protocol").get_data(as_text=True)
    for legend in ("Action immédiate", "Ensuite", "À éviter", "Orientation", "Qui vous suit"):
        assert f"<legend>{legend}</legend>" in page, legend
    assert "<script" not in page  # the form needs no JavaScript


# The GP's view of the ETP path ----------------------------------------------------------


def test_gp_view_shows_the_bep_topics_objectives_and_competencies_by_status(
    client, db, alice, alice_enrollment
) -> None:
    alice_enrollment.competencies = [
        Competency(text="Explique le rôle du cortisol", status=CompetencyStatus.ACQUIRED),
        Competency(text="Distingue fièvre et vomissements", status=CompetencyStatus.IN_PROGRESS),
        Competency(text="Réalise l'injection", status=CompetencyStatus.NOT_ACQUIRED),
        Competency(text="Prépare son kit", status=CompetencyStatus.IN_PROGRESS),
    ]
    db.flush()
    html = unescape(client.get(path_of(make_share(alice, Audience.GP))).get_data(as_text=True))
    assert "Synthèse du bilan éducatif partagé (BEP)" in html and "Alice BEP synthesis" in html
    assert "Sujets à aborder avec le médecin traitant" in html
    assert "Alice GP topics" in html
    assert re.search(r"Alice treatment objective\s*<span[^>]*>En cours", html)
    headings = (
        "Compétences acquises",
        "Compétences en cours d'acquisition",
        "Compétences non acquises",
    )
    at = [html.index(f"<h4>{heading}</h4>") for heading in headings]
    assert at == sorted(at)
    acquired, in_progress, not_acquired = (
        html[at[0] : at[1]],
        html[at[1] : at[2]],
        html[at[2] : html.index("</ul>", at[2])],
    )
    assert "Explique le rôle du cortisol" in acquired and "Distingue" not in acquired
    assert "Distingue fièvre et vomissements" in in_progress and "Prépare son kit" in in_progress
    assert "Réalise l'injection" in not_acquired and "Prépare" not in not_acquired


def test_gp_view_without_the_etp_section_holds_none_of_it(client, db, alice) -> None:
    share = make_share(alice, Audience.GP, sections=[Section.IDENTITY, Section.CONDITIONS])
    html = client.get(path_of(share)).get_data(as_text=True)
    for absent in ("Alice BEP synthesis", "Alice GP topics", "Compétences", "Alice life objective"):
        assert absent not in html, absent


def test_the_teams_sections_are_signed_by_the_team_never_the_patient(
    app, client, db, alice, alice_enrollment, claire, monkeypatch
) -> None:
    summary.touch_section(alice, Section.ALLERGIES, "Alice Martin")
    competency = Competency(text="Explique le rôle du cortisol")
    alice_enrollment.competencies.append(competency)
    db.flush()
    # An educator of the programme records a status, as the team's page does.
    monkeypatch.setattr(enrollments, "current_user", claire)
    with app.test_request_context("/team/"):
        enrollments.set_competency_status(
            alice_enrollment, alice_enrollment.version, competency.id, CompetencyStatus.IN_PROGRESS
        )
        enrollments.add_objective(
            alice_enrollment,
            alice_enrollment.version,
            "Savoir quand injecter",
            treatment_related=True,
            proposed_by=claire.display_name,
        )
    db.flush()
    stamps = {
        stamp.section: stamp
        for stamp in db.scalars(select(SectionUpdate).where(SectionUpdate.patient_id == alice.id))
    }
    for section in (Section.ETP_PROGRESS, Section.TREATMENT_OBJECTIVES):
        assert stamps[section.value].author_kind == SectionAuthor.TEAM
        assert stamps[section.value].updated_by == claire.display_name
    html = unescape(client.get(path_of(make_share(alice, Audience.GP))).get_data(as_text=True))
    etp = re.search(r'id="etp_progress".*?</section>', html, re.S)
    allergies = re.search(r'id="allergies".*?</section>', html, re.S)
    assert etp and allergies
    assert f"par l'équipe d'ETP — {claire.display_name}" in etp.group(0)
    assert "Alice Martin" not in etp.group(0)
    assert "par Alice Martin" in allergies.group(0) and "équipe" not in allergies.group(0)


def test_a_team_section_stamped_with_the_patients_name_is_still_the_teams(
    client, db, alice
) -> None:
    # A stamp from before the author was recorded (the demo wrote the patient's name).
    summary.touch_section(alice, Section.ETP_PROGRESS, "Alice Martin")
    db.flush()
    html = unescape(client.get(path_of(make_share(alice, Audience.GP))).get_data(as_text=True))
    etp = re.search(r'id="etp_progress".*?</section>', html, re.S)
    assert etp and "par l'équipe d'ETP" in etp.group(0)


def test_the_former_yes_no_of_a_competency_maps_onto_its_status(alice_enrollment) -> None:
    assert Competency(text="x", is_acquired=False).status == CompetencyStatus.IN_PROGRESS
    added = enrollments.add_competency(
        alice_enrollment, alice_enrollment.version, "y", acquired=False
    )
    assert added.status == CompetencyStatus.IN_PROGRESS and not added.is_acquired
    assert Competency(text="z", status=CompetencyStatus.NOT_ACQUIRED).is_acquired is False


# The demo, as a SAMU would write it -------------------------------------------------------


def test_the_demo_protocol_is_the_adrenal_crisis_protocol(app, client, db) -> None:
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    patient = db.scalar(select(Patient))
    protocol = patient.emergency_protocol
    assert protocol.immediate_action == ACTION
    assert protocol.then_treatment.startswith("Hydrocortisone 200 mg / 24 h IV")
    assert "NaCl 0,9 %" in protocol.fluids and "isotonique" in protocol.fluids
    assert "Glycémie capillaire" in protocol.checks
    assert protocol.reference_centre_kind == CentreKind.COMPETENCE
    assert protocol.reference_centre_phone.startswith("01 99 00")
    assert protocol.treating_physician_phone.startswith("01 99 00")
    assert "CHU" not in protocol.reference_centre
    assert [c.emergency_guideline_url for c in patient.conditions] == [None, None]
    intolerances = [a.substance for a in patient.allergies if a.is_intolerance]
    assert intolerances == ["Lactose"]
    kit = next(m for m in patient.medications if "kit" in m.name)
    assert kit.is_emergency and not kit.is_critical
    note = patient.life_context
    assert "En cas de fièvre, je double ou je triple" in note
    assert "vomissements ou de diarrhée, je m'injecte 100 mg" in note and "le 15" in note
    reply = db.scalar(select(Contribution))
    assert reply is not None and "doubl" not in reply.recent_events.lower()
    competencies = {c.status for c in patient.enrollments[0].competencies}
    assert competencies == set(CompetencyStatus)
    card = next(s for s in patient.shares if s.kind.value == "emergency")
    html = unescape(client.get(path_of(card)).get_data(as_text=True))
    kit_line = re.search(
        r"<li[^>]*>(?:(?!</li>).)*<strong>Hydrocortisone injectable.*?</li>", html, re.S
    )
    assert kit_line and "À injecter en urgence" in kit_line.group(0)
    assert "ne jamais interrompre" not in kit_line.group(0).lower()
    assert "Vital : ne jamais interrompre" not in html


# Existing rows, migrated ----------------------------------------------------------------


def test_existing_rows_keep_what_they_said_through_the_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "a2c2edebe1b3")
    engine = create_engine(url)
    now = "2026-12-01 10:00:00.000000"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, first_name, last_name, life_context, summary_version,"
                " created_at) VALUES (1, 'A', 'B', '', 1, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO emergency_protocols (patient_id, situations, what_to_do,"
                " critical_action, what_to_avoid, reference_centre, reference_centre_phone)"
                " VALUES (1, '', '', 'Hydrocortisone 100 mg IM', '', 'CRMR', '01 99 00 00 01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO section_updates (patient_id, section, updated_at, updated_by)"
                " VALUES (1, 'etp_progress', :now, 'A B'), (1, 'allergies', :now, 'A B')"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO programmes (id, name, hospital, service, address, coordinator_name,"
                " coordinator_phone, coordinator_email, created_at)"
                " VALUES (1, 'P', '', '', '', '', '', '', :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO enrollments (id, patient_id, programme_id, bep_synthesis, gp_topics,"
                " created_at, updated_at, version) VALUES (1, 1, 1, '', '', :now, :now, 1)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO competencies (enrollment_id, text, is_acquired, created_at)"
                " VALUES (1, 'yes', 1, :now), (1, 'no', 0, :now)"
            ),
            {"now": now},
        )
    upgrade(url, "5119522fc8b4")
    with engine.connect() as connection:
        protocol = connection.execute(
            text(
                "SELECT immediate_drug, immediate_dose, reference_centre_24h, vital_treatment"
                " FROM emergency_protocols"
            )
        ).one()
        assert tuple(protocol) == ("Hydrocortisone 100 mg IM", "", 1, "")
        assert connection.execute(
            text("SELECT text, status FROM competencies ORDER BY id")
        ).all() == [("yes", "acquired"), ("no", "in_progress")]
        assert dict(
            connection.execute(text("SELECT section, author_kind FROM section_updates")).all()
        ) == {"etp_progress": "team", "allergies": "patient"}
        assert (
            connection.execute(
                text("SELECT updated_by FROM section_updates WHERE section = 'etp_progress'")
            ).scalar()
            == ""
        )
    downgrade(url, "a2c2edebe1b3")
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT critical_action FROM emergency_protocols")).scalar()
            == "Hydrocortisone 100 mg IM"
        )
        assert connection.execute(
            text("SELECT is_acquired FROM competencies ORDER BY id")
        ).scalars().all() == [1, 0]
    engine.dispose()
