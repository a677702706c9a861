"""The emergency card's documents: QR codes, the ID-1 wallet card PDF, the lock-screen image."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pypdf
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar import pyzbar
from pyzbar.pyzbar import ZBarSymbol
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select

from pathway import tokens
from pathway.cards import artifacts, qr
from pathway.cards.service import regenerate_card, update_card
from pathway.models import Allergy, Condition, ShareArtifact
from pathway.sharing.sections import EMERGENCY_SECTIONS, Section
from pathway.sharing.shares import share_url
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import make_card, url_of

ID1_POINTS = (85.6 / 25.4 * 72, 54 / 25.4 * 72)  # 242.6 × 153.1 pt


def document(app, card, name: str) -> bytes:
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        return artifacts.artifact(card, name).data


def decode_png(data: bytes) -> list[str]:
    return [
        symbol.data.decode("utf-8")
        for symbol in pyzbar.decode(Image.open(io.BytesIO(data)), symbols=[ZBarSymbol.QRCODE])
    ]


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def rasterise(data: bytes, tmp_path: Path, page: int) -> bytes:
    """Print the PDF page to a PNG at 300 dpi with poppler, as a printer would see it."""
    pdf = tmp_path / "card.pdf"
    pdf.write_bytes(data)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "300",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    return (tmp_path / "page.png").read_bytes()


def test_qr_png_decodes_to_the_exact_card_url(app, alice) -> None:
    card = make_card(alice)
    url = url_of(card)
    assert url.startswith(PUBLIC_BASE_URL + "/e/")
    assert decode_png(document(app, card, artifacts.QR_PNG)) == [url]


def test_qr_svg_is_a_scalable_image_of_the_same_code(app, alice) -> None:
    card = make_card(alice)
    url = url_of(card)
    svg = document(app, card, artifacts.QR_SVG).decode("utf-8")
    assert "<svg" in svg and "<script" not in svg
    assert svg == qr.qr_svg(url)


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # Origins as long as https://pathway.chu-angers.fr; public ids as new_public_id makes them.
    host=st.from_regex(r"[a-z][a-z0-9.-]{3,20}", fullmatch=True),
    public_id=st.text(alphabet=BASE64URL, min_size=22, max_size=22),
    version=st.integers(min_value=1, max_value=10**4),
)
@example(host="pathway.test", public_id="hQ9Z-3WhV535_NS4GY9Vs7T", version=106)
@example(host="pathway.chu-angers.fr", public_id="_" * 22, version=10**4)
def test_card_urls_fit_qr_version_7_at_level_m_and_decode_back(
    app, host: str, public_id: str, version: int
) -> None:
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        token = tokens.sign(tokens.Purpose.EMERGENCY, public_id, version)
    url = f"https://{host}/e/{token}"
    code = qr._qr(url)
    assert code.error_correction == ERROR_CORRECT_M
    assert code.version <= 7
    assert decode_png(qr.qr_png(url)) == [url]


def test_card_pdf_has_two_id1_pages_holding_the_critical_facts(app, alice) -> None:
    card = make_card(alice)
    data = document(app, card, artifacts.CARD_PDF)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(ID1_POINTS[0], abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(ID1_POINTS[1], abs=0.5)
    text = " ".join(pdf_text(data).split())
    for fact in (
        "Alice Martin",
        "Alice condition",
        "ORPHA:85138",
        "Alice allergen",
        "Alice critical action",
        "06 00 00 00 01",
        "Scannez pour les informations à jour",
        "CARTE D'URGENCE",
    ):
        assert fact in text, fact
    assert "Alice life context" not in text and "Dr Alice GP" not in text


def test_card_pdf_qr_code_decodes_to_the_card_url_once_printed(app, alice, tmp_path) -> None:
    card = make_card(alice)
    url = url_of(card)
    back = rasterise(document(app, card, artifacts.CARD_PDF), tmp_path, page=2)
    assert decode_png(back) == [url]


def test_card_is_printed_in_the_patients_language(app, alice) -> None:
    alice.user.locale = "en"
    card = make_card(alice)
    text = " ".join(pdf_text(document(app, card, artifacts.CARD_PDF)).split())
    assert "Scan for up-to-date information" in text
    assert "EMERGENCY CARD" in text


def test_card_stays_two_pages_when_every_field_is_very_long(app, alice) -> None:
    alice.first_name = "W" * 80
    alice.conditions = [
        Condition(label="W" * 200, orphacode="123456", is_rare=True) for _ in range(5)
    ]
    alice.allergies = [Allergy(substance="W" * 200) for _ in range(10)]
    protocol = alice.emergency_protocol
    protocol.immediate_drug, protocol.immediate_dose = "W" * 200, "W" * 80
    protocol.immediate_routes = protocol.vital_treatment = "W" * 200
    protocol.contraindicated_drugs = protocol.treating_physician = "W" * 200
    protocol.reference_centre = "W" * 200
    alice.allergies += [Allergy(substance="W" * 200, is_intolerance=True) for _ in range(10)]
    card = make_card(alice)
    assert len(pypdf.PdfReader(io.BytesIO(document(app, card, artifacts.CARD_PDF))).pages) == 2


def test_card_never_claims_no_allergy_when_allergies_are_not_on_the_card(app, alice) -> None:
    sections = [s for s in EMERGENCY_SECTIONS if s != Section.ALLERGIES]
    card = make_card(alice, sections)
    text = pdf_text(document(app, card, artifacts.CARD_PDF))
    assert "Alice allergen" not in text
    assert "aucune connue" not in text and "Allergies" not in text


def test_markup_in_patient_fields_is_printed_as_literal_text(app, alice) -> None:
    alice.conditions[0].label = '<img src="file:///etc/passwd">'
    alice.allergies[0].substance = "<script>alert(1)</script>"
    alice.emergency_protocol.immediate_drug = '<link rel="attachment" href="file:///etc/hostname">'
    card = make_card(alice)
    data = document(app, card, artifacts.CARD_PDF)
    text = " ".join(pdf_text(data).split())
    assert "<script>alert(1)</script>" in text
    assert '<img src="file:///etc/passwd">' in text
    assert "root:" not in text
    assert not pypdf.PdfReader(io.BytesIO(data)).attachments


def test_lockscreen_image_is_phone_portrait_and_its_qr_decodes(app, alice) -> None:
    card = make_card(alice)
    url = url_of(card)
    data = document(app, card, artifacts.LOCKSCREEN_PNG)
    image = Image.open(io.BytesIO(data))
    assert image.size == (1170, 2532)
    assert decode_png(data) == [url]
    # The top is left for the phone's clock: nothing but the background there.
    top = image.crop((0, 0, 1170, 700)).convert("L")
    assert top.getextrema()[0] == top.getextrema()[1]


def test_documents_are_made_once_per_token_version(app, db, alice, monkeypatch) -> None:
    calls: list[str] = []
    real_card, real_lock = artifacts.render_card, artifacts.render_lockscreen
    monkeypatch.setattr(artifacts, "render_card", lambda *a: calls.append("card") or real_card(*a))
    monkeypatch.setattr(
        artifacts, "render_lockscreen", lambda *a: calls.append("lock") or real_lock(*a)
    )
    card = make_card(alice)
    assert calls == ["card", "lock"]
    first_pdf = document(app, card, artifacts.CARD_PDF)
    assert document(app, card, artifacts.CARD_PDF) == first_pdf
    document(app, card, artifacts.LOCKSCREEN_PNG)
    assert calls == ["card", "lock"], "a download must serve the stored bytes"
    old_qr = document(app, card, artifacts.QR_PNG)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        regenerate_card(card, actor=alice.user)
        new_url = share_url(card)
    assert calls == ["card", "lock", "card", "lock"]
    new_qr = document(app, card, artifacts.QR_PNG)
    assert new_qr != old_qr
    versions = db.scalars(
        select(ShareArtifact.token_version).where(ShareArtifact.share_id == card.id)
    )
    assert set(versions) == {2}, "documents of a replaced QR code are not kept"
    assert decode_png(new_qr) == [new_url]


def test_printed_card_is_stale_after_a_summary_change_until_updated(app, alice) -> None:
    card = make_card(alice)
    url = url_of(card)
    qr_before = document(app, card, artifacts.QR_PNG)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        assert not artifacts.is_stale(card)
        alice.emergency_protocol.immediate_drug = "Alice new critical action"
        assert artifacts.is_stale(card)
        update_card(card)
        assert not artifacts.is_stale(card)
        assert share_url(card) == url
    assert "Alice new critical action" in pdf_text(document(app, card, artifacts.CARD_PDF))
    assert document(app, card, artifacts.QR_PNG) == qr_before


def test_card_has_no_expiry_and_no_passcode(app, alice) -> None:
    card = make_card(alice)
    assert card.expires_at is None and card.passcode_hash is None
    assert card.kind.value == "emergency" and card.audience.value == "paramedic"


def test_qr_codes_made_in_parallel_threads_are_identical(app) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = PUBLIC_BASE_URL + "/e/" + "x" * 79
    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = set(pool.map(lambda _: qr.qr_png(url), range(100)))
    assert len(outputs) == 1
    assert decode_png(outputs.pop()) == [url]
