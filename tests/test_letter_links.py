"""A letter carries a link made for its addressee alone (security checklist item 29).

The attack: the letter printed the patient's GP link itself (the whole summary and the right
to reply), so whoever could read the letter got that link: a nurse holding a link that shares
only the letters, every educator's preview. Here every PDF reachable through every link, the
team's preview and download, the patient's download and the message sent to the GP are
opened over HTTP; every QR code is decoded and the text searched for links.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader
from pyzbar.pyzbar import decode
from sqlalchemy import select

from pathway import letters, tokens
from pathway.models import Letter, LetterKind, LetterLink, Share
from pathway.sharing.sections import Audience, Section
from tests.factories import make_progress, make_share, path_of, sign_in, url_of

LETTER_HREF = re.compile(r'href="(/s/[^"/]+/letters/[^"]+)"')


def pdf_links(data: bytes) -> tuple[set[str], str, int]:
    """Every QR code's content, the text with whitespace removed, and the page count."""
    reader = PdfReader(io.BytesIO(data))
    decoded = {
        symbol.data.decode()
        for page in reader.pages
        for image in page.images
        for symbol in decode(Image.open(io.BytesIO(image.data)))
    }
    text = "".join("".join(page.extract_text() for page in reader.pages).split())
    return decoded, text, len(reader.pages)


def share_behind(url: str, db) -> Share:
    """The share a link URL opens (what its token signs)."""
    path = urlsplit(url).path
    assert path.startswith("/s/"), url
    public_id, _version = tokens.unsign(tokens.Purpose.SHARE, path.removeprefix("/s/"))
    return db.scalar(select(Share).where(Share.public_id == public_id))


def printed(url: str, text: str) -> bool:
    # The URL wraps anywhere in the footer; a line end may add or drop a hyphen.
    return url.replace("-", "") in text.replace("-", "")


@pytest.fixture
def setting(app, client, other_client, alice, alice_enrollment, claire, db):
    """Alice's GP link (every section, replies), a nurse's link to the letters only, a
    pharmacist's link without them; Claire issues both letters over HTTP."""
    make_progress(alice_enrollment, claire)
    gp = make_share(alice, allow_replies=True, label="Dr Alice GP, cabinet")
    nurse = make_share(alice, Audience.NURSE, sections=(Section.LETTERS,), label="IDE libérale")
    pharmacist = make_share(alice, Audience.PHARMACIST, label="Pharmacie")
    db.flush()
    sign_in(client, "claire@example.org")
    base = f"/team/enrollments/{alice_enrollment.id}/letters"
    assert client.submit(f"{base}/start", {}).status_code == 302
    assert client.submit(f"{base}/end", {"copy_given_to_patient": "y"}).status_code == 302
    db.expire_all()
    issued = list(db.scalars(select(Letter).where(Letter.enrollment_id == alice_enrollment.id)))
    assert len(issued) == 2
    sign_in(other_client, "alice@example.org")
    return {"gp": gp, "nurse": nurse, "pharmacist": pharmacist, "letters": issued}


def own_link(letter: Letter, db) -> Share:
    """The link made at issue for this letter's addressee."""
    return db.scalar(
        select(Share)
        .join(LetterLink, LetterLink.share_id == Share.id)
        .where(LetterLink.letter_id == letter.id)
    )


def test_each_letter_gets_a_link_for_the_gp_alone_never_broader_than_the_gp_link(
    setting, db
) -> None:
    gp = setting["gp"]
    seen = set()
    for letter in setting["letters"]:
        own = own_link(letter, db)
        assert own.id != gp.id and own.id not in seen
        seen.add(own.id)
        assert own.audience == Audience.GP
        assert own.label == (
            f"Lien du courrier au Dr Alice GP, réf. {letters.letter_reference(letter.public_id)}"
        )
        assert set(own.sections) <= set(gp.sections)
        assert own.expires_at is not None and own.expires_at <= gp.expires_at
        assert own.allow_replies <= gp.allow_replies
        assert (own.passcode_hash is None) == (gp.passcode_hash is None)
        link = db.get(LetterLink, own.id)
        assert link.derived_from_id == gp.id and link.letter_id == letter.id


def test_no_pdf_reachable_through_any_link_carries_a_working_link(
    setting, stranger, db, alice
) -> None:
    letter_links = [own_link(letter, db) for letter in setting["letters"]]
    every_share = [setting["gp"], setting["nurse"], setting["pharmacist"], *letter_links]
    every_url = [url_of(share) for share in every_share]
    downloaded = 0
    for share in every_share:
        page = stranger.get(path_of(share))
        assert page.status_code == 200
        hrefs = LETTER_HREF.findall(page.get_data(as_text=True))
        if Section.LETTERS.value not in share.sections:
            assert hrefs == []
            continue
        assert len(hrefs) == 2, share.label
        for href in hrefs:
            response = stranger.get(href.replace("&amp;", "&"))
            assert response.status_code == 200
            decoded, text, pages = pdf_links(response.data)
            assert pages == 1
            assert decoded == set(), f"a QR code in a letter read through {share.label}"
            assert "/s/" not in text and "/e/" not in text
            assert not any(printed(url, text) for url in every_url)
            downloaded += 1
    # Through the GP link, the nurse's and the two letters' own links.
    assert downloaded == 8


def test_the_nurse_link_to_the_letters_only_gets_pdfs_without_any_link(setting, stranger) -> None:
    page = stranger.get(path_of(setting["nurse"])).get_data(as_text=True)
    hrefs = LETTER_HREF.findall(page)
    assert len(hrefs) == 2
    for href in hrefs:
        data = stranger.get(href).data
        decoded, text, _pages = pdf_links(data)
        assert decoded == set() and "/s/" not in text
        # In its place, the placeholder that says the GP's copy carries a link of its own.
        assert "exemplaireadresséaumédecintraitantportelelien" in text


def test_the_team_preview_and_download_show_no_working_link(setting, client, db) -> None:
    letter = setting["letters"][0]
    preview = client.get(f"/team/enrollments/{letter.enrollment_id}/letters/start")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "/s/" not in html and 'class="letter-qr"' not in html
    assert "letter-qr-placeholder" in html
    for issued in setting["letters"]:
        response = client.get(f"/team/letters/{issued.public_id}.pdf")
        assert response.status_code == 200
        decoded, text, pages = pdf_links(response.data)
        assert decoded == set() and "/s/" not in text and pages == 1


def test_the_gp_and_the_patient_get_the_letters_own_link_and_nothing_broader(
    app, setting, client, other_client, db
) -> None:
    letter = next(item for item in setting["letters"] if item.kind == LetterKind.START)
    own = own_link(letter, db)
    own_url = url_of(own)
    # The patient's own copy carries the letter's link (it is theirs to give).
    data = other_client.get(f"/programme/letters/{letter.public_id}.pdf").data
    decoded, text, pages = pdf_links(data)
    # The link is its QR code and the letter's short reference, never a bearer URL in print.
    assert pages == 1 and decoded == {own_url} and not printed(own_url, text)
    assert "/s/" not in text
    assert f"réf.{letters.letter_reference(letter.public_id)}" in text
    for url in decoded:
        assert share_behind(url, db).id == own.id
    # The message to the GP: its body and its attachment carry that link, never the GP link.
    response = client.submit(
        f"/team/letters/{letter.public_id}/send",
        {},
        page=f"/team/enrollments/{letter.enrollment_id}",
    )
    assert response.status_code == 302
    [sent] = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()
    assert own_url in body and url_of(setting["gp"]) not in body
    assert {share_behind(url, db).id for url in re.findall(r"https://\S+/s/\S+", body)} == {own.id}
    [attachment] = list(message.iter_attachments())
    decoded, text, pages = pdf_links(attachment.get_content())
    assert pages == 1 and decoded == {own_url}
    assert not printed(url_of(setting["gp"]), text)


def test_the_patient_lists_and_withdraws_the_letter_link_like_any_link(
    setting, other_client, stranger, db
) -> None:
    letter = next(item for item in setting["letters"] if item.kind == LetterKind.START)
    own = own_link(letter, db)
    listing = other_client.get("/shares/").get_data(as_text=True)
    assert "Lien du courrier au Dr Alice GP" in listing and "imprimé sur un courrier" in listing
    detail = other_client.get(f"/shares/{own.public_id}").get_data(as_text=True)
    assert "Le lien d'un courrier à votre médecin traitant" in detail
    assert "Remplacer par un nouveau lien" not in detail
    assert stranger.get(path_of(own)).status_code == 200
    response = other_client.submit(
        f"/shares/{own.public_id}/revoke", {}, page=f"/shares/{own.public_id}"
    )
    assert response.status_code == 303
    assert stranger.get(path_of(own)).status_code == 410
    # The GP link itself and the other letter's link still open.
    assert stranger.get(path_of(setting["gp"])).status_code == 200
    other = own_link(next(i for i in setting["letters"] if i.id != letter.id), db)
    assert stranger.get(path_of(other)).status_code == 200
    # A letter's link cannot be replaced: the printed one would reach nobody.
    refused = other_client.submit(
        f"/shares/{other.public_id}/rotate", {}, page=f"/shares/{other.public_id}"
    )
    assert refused.status_code == 303
    db.refresh(other)
    assert other.token_version == 1


def test_withdrawing_the_gp_link_withdraws_the_letter_links_made_from_it(
    setting, other_client, stranger, db
) -> None:
    gp = setting["gp"]
    response = other_client.submit(
        f"/shares/{gp.public_id}/revoke", {}, page=f"/shares/{gp.public_id}"
    )
    assert response.status_code == 303
    for letter in setting["letters"]:
        assert stranger.get(path_of(own_link(letter, db))).status_code == 410


def test_a_letter_issued_without_an_active_gp_link_carries_none(
    client, alice, alice_enrollment, claire, db
) -> None:
    make_progress(alice_enrollment, claire)
    make_share(alice, Audience.NURSE, sections=(Section.LETTERS,), label="IDE")
    db.flush()
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}/letters/start"
    assert client.submit(url, {}).status_code == 302
    letter = db.scalar(select(Letter).where(Letter.enrollment_id == alice_enrollment.id))
    assert db.scalar(select(LetterLink).where(LetterLink.letter_id == letter.id)) is None
    decoded, text, _pages = pdf_links(letter.pdf)
    assert decoded == set() and "/s/" not in text
    assert "contrôléeparlepatient" not in text
