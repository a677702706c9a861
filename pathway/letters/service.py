"""Issue, store, send and serve letters. An issued letter is immutable; re-issuing adds one."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import abort, url_for
from flask_babel import force_locale, pgettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from pathway import audit, mail, notifications
from pathway.cards.qr import qr_data_uri
from pathway.db import new_public_id, session
from pathway.documents import DocumentError, RenderedPdf, render_pdf
from pathway.i18n import agree
from pathway.images import stored_logo
from pathway.letters import rules
from pathway.letters.compose import (
    compose,
    letter_css,
    render_letter_html,
    warnings_before_issue,
)
from pathway.mail import Attachment, MailError
from pathway.models import (
    Enrollment,
    Letter,
    LetterDispatch,
    LetterKind,
    LetterLink,
    Patient,
    Share,
    User,
)
from pathway.programme import consent
from pathway.programme.enrollments import PARIS, local_today, programmes_of
from pathway.rules import RuleBroken
from pathway.sharing.shares import active_gp_share, derive_share, is_active, share_url


class LetterError(RuleBroken):
    """The letter cannot be issued or sent; `problems` says what to fix, in the user's language."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    @property
    def messages(self) -> list[str]:
        return self.problems


class ConsentRequired(LetterError):
    """No letter without the patient's agreement that their GP is informed."""

    def __init__(self) -> None:
        super().__init__(
            [
                _(
                    "The patient's agreement that their GP is informed is not recorded: "
                    "no letter can be issued or sent until it is."
                )
            ]
        )


class SendFailed(LetterError):
    """The mail server refused or could not be reached; nothing was recorded."""


@dataclass
class Preview:
    values: dict[str, Any]
    html: Markup
    problems: list[str] = field(default_factory=list)
    # What to look at before issuing, though the letter may be issued as it is.
    warnings: list[str] = field(default_factory=list)
    pages: int = 0


# A letter's reference, printed on it and in its message's subject: 8 characters of an
# alphabet with no look-alikes (no I, L, O, U), grouped by four.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def letter_reference(public_id: str) -> str:
    """The short reference of a letter, as a person reads it out: « K7Q2-9XMA ».

    Derived from the letter's random identifier by a hash, so it opens nothing and names
    nothing; it tells which letter, and which of the patient's links, one is speaking of."""
    digest = int.from_bytes(hashlib.sha256(public_id.encode()).digest()[:5], "big")
    chars = [_REFERENCE_ALPHABET[(digest >> (5 * i)) & 31] for i in range(8)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def _letter_locale(educator: User) -> str:
    return "en" if educator.locale == "en" else "fr"


def _compose(
    enrollment: Enrollment,
    kind: LetterKind,
    educator: User,
    copy: bool,
    *,
    origin: Share | None,
    reference: str = "",
) -> dict[str, Any]:
    return compose(
        enrollment,
        kind,
        locale=_letter_locale(educator),
        issued_on=local_today(),
        consent=consent.active_consent(enrollment),
        copy_given_to_patient=copy and kind == LetterKind.END,
        has_link=origin is not None,
        educator=educator,
        reference=reference,
        # The letter's own link is made from the GP link: the same expiry, replies if it takes them.
        link_expires_on=(
            origin.expires_at.astimezone(PARIS).date()
            if origin is not None and origin.expires_at is not None
            else None
        ),
        link_takes_replies=origin is not None and origin.allow_replies,
    )


def _link_label(patient: Patient, reference: str) -> str:
    """The name of a letter's link among the patient's links, in the patient's language,
    with the reference printed beside its QR code on the letter."""
    gp = patient.gp
    name = gp.name.strip() if gp is not None else ""
    with force_locale(patient.user.locale if patient.user is not None else "fr"):
        if not name:
            return _("Letter link for your GP, ref. %(reference)s", reference=reference)
        if not name.lower().startswith(("dr ", "dr.", "docteur ")):
            name = f"Dr {name}"
        return _("Letter link for %(gp)s, ref. %(reference)s", gp=name, reference=reference)


def _logo(enrollment: Enrollment) -> str | None:
    clean = stored_logo(enrollment.programme.logo, enrollment.programme.logo_type)
    return clean.data_uri() if clean is not None else None


def _render(
    values: dict[str, Any], link: str | None = None, logo: str | None = None
) -> tuple[bytes, int]:
    """The PDF and its page count: the addressee's copy with `link`, else the reader copy."""
    qr = qr_data_uri(link) if link else None
    html = render_letter_html(values, standalone=True, link=link, qr_data_uri=qr, logo=logo)
    rendered = _rendered(html)
    _remember_pages(html, rendered.pages)
    return rendered.data, rendered.pages


# The page count of the letters this process rendered, by digest of their HTML and CSS: a
# preview shown again with nothing changed in its letter is not rendered again; any change
# (a text, the date, the logo, the language) changes the HTML, and the PDF decides again.
_PAGES: OrderedDict[str, int] = OrderedDict()
_PAGES_KEPT = 512
_pages_lock = threading.Lock()


def _digest(html: str) -> str:
    return hashlib.sha256((letter_css() + "\0" + html).encode()).hexdigest()


def _remember_pages(html: str, pages: int) -> None:
    with _pages_lock:
        _PAGES[_digest(html)] = pages
        _PAGES.move_to_end(_digest(html))
        while len(_PAGES) > _PAGES_KEPT:
            _PAGES.popitem(last=False)


def _page_count(values: dict[str, Any], logo: str | None) -> int:
    """How many pages the reader's copy of this letter takes (rendered once per content)."""
    html = render_letter_html(values, standalone=True, logo=logo)
    with _pages_lock:
        known = _PAGES.get(_digest(html))
    if known is not None:
        return known
    pages = _rendered(html).pages
    _remember_pages(html, pages)
    return pages


def _rendered(html: str) -> RenderedPdf:
    try:
        return render_pdf(html, letter_css())
    except DocumentError:
        raise LetterError(
            [
                _(
                    "The letter could not be rendered. "
                    "Try again; if it persists, tell an administrator."
                )
            ]
        ) from None


def preview_letter(
    enrollment: Enrollment, kind: LetterKind, educator: User, *, copy_given_to_patient: bool = False
) -> Preview:
    """The letter as it would be issued now, with every rule it breaks (nothing is stored).

    No link is made for a preview: the educator sees the placeholder every reader but the
    GP sees, the same size as the link printed on the GP's copy."""
    origin = active_gp_share(enrollment.patient)
    # The reference is given at issue; the preview holds its place with one of the same size.
    values = _compose(
        enrollment, kind, educator, copy_given_to_patient, origin=origin, reference="XXXX-XXXX"
    )
    logo = _logo(enrollment)
    # The fragment comes from a fixed, autoescaping template: every user value in it is escaped.
    fragment = render_letter_html(values, standalone=False, logo=logo)
    preview = Preview(values=values, html=Markup(fragment))  # noqa: S704 (escaped template output)
    preview.problems = rules.check_letter(values)
    preview.warnings = warnings_before_issue(enrollment, kind, local_today())
    if not consent.has_active_consent(enrollment):
        preview.problems.insert(0, ConsentRequired().problems[0])
    if not preview.problems:
        preview.pages = _page_count(values, logo)
        if preview.pages > 1:
            preview.problems.append(rules.too_long_message(values, preview.pages))
    return preview


def _require_consent(enrollment: Enrollment, educator: User, details: dict[str, object]) -> None:
    """Lock the enrollment and refuse (audited) when the patient's agreement is not active.

    The lock makes a concurrent withdrawal either commit before (we see it) or wait.
    """
    consent.lock_enrollment(enrollment)
    if not consent.has_active_consent(enrollment):
        audit.record(
            audit.Tag.LETTER_REFUSED,
            educator,
            enrollment.patient_id,
            reason="no_consent",
            **details,
        )
        raise ConsentRequired()


def issue_letter(
    enrollment: Enrollment, kind: LetterKind, educator: User, *, copy_given_to_patient: bool = False
) -> Letter:
    """Check consent and the rules, render one page, and store the letter as a new version.

    When the patient has an active GP link, the letter gets a link of its own made from it
    for the GP alone (derive_share), printed only on the GP's copy (`pdf`); the reader copy
    (`reader_pdf`), the same page with a placeholder, is what everyone else gets."""
    _require_consent(enrollment, educator, {"enrollment": enrollment.id})
    origin = active_gp_share(enrollment.patient)
    public_id = new_public_id()
    reference = letter_reference(public_id)
    values = _compose(
        enrollment, kind, educator, copy_given_to_patient, origin=origin, reference=reference
    )
    problems = rules.check_letter(values)
    if problems:
        raise LetterError(problems)
    logo = _logo(enrollment)
    reader_pdf, pages = _render(values, logo=logo)
    if pages != 1:
        raise LetterError([rules.too_long_message(values, pages)])
    link_share: Share | None = None
    pdf = reader_pdf
    if origin is not None:
        link_share = derive_share(
            origin, label=_link_label(enrollment.patient, reference), actor=educator
        )
        pdf, pages = _render(values, share_url(link_share), logo=logo)
        if pages != 1:
            raise LetterError([rules.too_long_message(values, pages)])
    version = (
        session.scalar(
            select(func.max(Letter.version)).where(
                Letter.enrollment_id == enrollment.id, Letter.kind == kind
            )
        )
        or 0
    ) + 1
    letter = Letter(
        public_id=public_id,
        enrollment=enrollment,
        kind=kind,
        version=version,
        locale=values["locale"],
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        reader_pdf=reader_pdf,
        reader_sha256=hashlib.sha256(reader_pdf).hexdigest(),
        snapshot=values,
        copy_given_to_patient=values.get("copy_given_to_patient", False),
        issued_by_id=educator.id,
        issued_by_name=educator.display_name or educator.email,
    )
    session.add(letter)
    session.flush()
    if link_share is not None and origin is not None:
        session.add(
            LetterLink(share_id=link_share.id, letter_id=letter.id, derived_from_id=origin.id)
        )
        session.flush()
    audit.record(
        audit.Tag.LETTER_ISSUED,
        educator,
        enrollment.patient_id,
        enrollment=enrollment,
        letter=letter,
        kind=kind,
        version=version,
    )
    notifications.notify_patient(
        enrollment.patient,
        "letter_issued",
        {
            "letter_kind": kind.value,
            "programme": enrollment.programme.name,
            "version": version,
            "copy_given_to_patient": letter.copy_given_to_patient,
        },
        link=url_for("programme.index"),
    )
    return letter


def send_letter(letter: Letter, educator: User) -> LetterDispatch:
    """Email an issued letter to the GP's secure address, PDF attached; record the dispatch."""
    enrollment = letter.enrollment
    _require_consent(enrollment, educator, {"letter": letter.public_id})
    latest = latest_letters(enrollment).get(letter.kind)
    if latest is not None and latest.id != letter.id:
        raise LetterError([_("A newer version of this letter exists: send that one instead.")])
    patient = enrollment.patient
    gp = patient.gp
    recipient = (gp.secure_email or gp.email).strip() if gp is not None else ""
    if not recipient:
        raise LetterError(
            [
                _(
                    "Add the GP's secure messaging address (MSSanté) or email "
                    "to the patient's care team."
                )
            ]
        )
    # The letter's own link, unless the patient has withdrawn it meanwhile: then the GP gets
    # the copy with no link, as every other reader does.
    link_share = letter_share(letter)
    link = share_url(link_share) if link_share is not None and is_active(link_share) else None
    # A letter with no link of its own was printed without one (or, issued before letters
    # had their own link, with the GP's link: the GP's to hold anyway).
    withdrawn = link is None and letter.link is not None
    attachment = load_letter_pdf(letter) if withdrawn else load_addressed_pdf(letter)
    programme = enrollment.programme
    reference = letter.snapshot.get("reference") or letter_reference(letter.public_id)
    with force_locale(letter.locale):
        title = kind_title(letter.kind)
        # The subject never names the patient: a mailbox's list of messages is read by more
        # people than the message itself. The body says no more than the letter attached.
        subject = _(
            "ETP letter — programme %(programme)s — ref. %(reference)s",
            programme=programme.name,
            reference=reference,
        )
        body = _(
            'Dear Doctor,\n\nPlease find attached the letter "%(title)s" (ref. %(reference)s) '
            'from the therapeutic education programme "%(programme)s" (%(hospital)s), '
            "about one of your patients, named in the letter.\n",
            title=title,
            reference=reference,
            programme=programme.name,
            hospital=programme.hospital,
        )
        if link:
            sex = patient.sex.value if patient.sex is not None else None
            body += "\n" + agree(
                sex,
                pgettext(
                    "feminine",
                    "The up-to-date summary, controlled by the patient, through a link made for "
                    "you alone that the patient can withdraw at any time:\n%(link)s\n",
                    link=link,
                ),
                pgettext(
                    "masculine",
                    "The up-to-date summary, controlled by the patient, through a link made for "
                    "you alone that the patient can withdraw at any time:\n%(link)s\n",
                    link=link,
                ),
            )
        body += "\n" + _(
            "To reach us directly: %(name)s, %(phone)s, %(email)s\n",
            name=programme.coordinator_name,
            phone=programme.coordinator_phone,
            email=programme.coordinator_email,
        )
    try:
        attached = Attachment(filename=letter_filename(letter), content=attachment)
        sender = programme.sender_email or None
        mail.transmit(mail.compose(recipient, subject, body, (attached,), sender=sender))
    except MailError:
        raise SendFailed(
            [
                _(
                    "The mail server did not accept the letter, so it was not sent and nothing "
                    "was recorded. Try again in a few minutes; "
                    "if it persists, tell an administrator."
                )
            ]
        ) from None
    dispatch = LetterDispatch(letter=letter, recipient=recipient, sent_by_id=educator.id)
    audit.record_new(
        dispatch,
        audit.Tag.LETTER_SENT,
        educator,
        patient.id,
        letter=letter,
        kind=letter.kind,
        version=letter.version,
        recipient_domain=recipient.rpartition("@")[2][:60],
    )
    return dispatch


def kind_title(kind: LetterKind | str) -> str:
    """The letter's title, as the recommendation names it (in the current language)."""
    if LetterKind(kind) == LetterKind.START:
        return _("Summary of the Shared Educational Assessment and of the personalised programme")
    return _("Summary of the individual evaluation")


# Reading letters --------------------------------------------------------------------


def latest_letters(enrollment: Enrollment) -> dict[LetterKind, Letter]:
    """The latest issued version of each kind of letter of this enrollment."""
    latest: dict[LetterKind, Letter] = {}
    for letter in session.scalars(
        select(Letter)
        .where(Letter.enrollment_id == enrollment.id)
        .order_by(Letter.version)
        # The bytes are read only when a letter is downloaded or sent.
        .options(defer(Letter.pdf), defer(Letter.reader_pdf))
    ):
        latest[letter.kind] = letter
    return latest


def patient_letters(patient: Patient) -> list[Letter]:
    """The patient's letters (latest version of each), newest first; theirs whatever the consent."""
    found = [
        letter
        for enrollment in patient.enrollments
        for letter in latest_letters(enrollment).values()
    ]
    return sorted(found, key=lambda letter: letter.issued_at, reverse=True)


def shared_letters(patient: Patient) -> list[Letter]:
    """Letters a link's Letters section may show: latest of each kind, only where consent is
    still active, and only those with a reader copy (the ones issued before letters had their
    own link printed the patient's GP link, so they have none)."""
    return [
        letter
        for letter in patient_letters(patient)
        if letter.reader_sha256 is not None and consent.has_active_consent(letter.enrollment)
    ]


def get_letter(educator: User, public_id: str) -> Letter:
    """The access helper for staff: a letter of one of the educator's programmes, else 404."""
    letter = session.scalar(select(Letter).where(Letter.public_id == public_id))
    if letter is None or letter.enrollment.programme not in programmes_of(educator):
        abort(404)
    return letter


def get_patient_letter(patient: Patient, public_id: str) -> Letter:
    """The access helper for the patient: one of their own letters, else 404."""
    letter = session.scalar(select(Letter).where(Letter.public_id == public_id))
    if letter is None or letter.enrollment.patient_id != patient.id:
        abort(404)
    return letter


def _checked(data: bytes | None, sha256: str | None) -> bytes:
    if data is None or sha256 is None:
        abort(404)
    if hashlib.sha256(data).hexdigest() != sha256:
        # Tampered storage: refuse rather than serve something other than what was issued.
        abort(500)
    return data


def load_letter_pdf(letter: Letter) -> bytes:
    """The reader copy, exactly as issued (never re-rendered): the page with no link, for
    everyone but the addressee (the team, a professional through another link). 404 for a
    letter issued before letters had their own link: it printed the patient's GP link."""
    return _checked(letter.reader_pdf, letter.reader_sha256)


def load_addressed_pdf(letter: Letter) -> bytes:
    """The addressee's copy, exactly as issued: with the link made for the GP alone. Only
    the GP (sending) and the patient (it is their link) get it."""
    return _checked(letter.pdf, letter.sha256)


def letter_share(letter: Letter) -> Share | None:
    """The link made for this letter's addressee, if it has one."""
    return letter.link.share if letter.link is not None else None


def letter_filename(letter: Letter) -> str:
    """An ASCII file name: kind, patient's last name, version."""
    name = unicodedata.normalize("NFKD", letter.enrollment.patient.last_name)
    name = re.sub(r"[^A-Za-z0-9]+", "-", name.encode("ascii", "ignore").decode()).strip("-").lower()
    prefix = "synthese-bep" if letter.kind == LetterKind.START else "synthese-evaluation"
    return f"{prefix}-{name or 'patient'}-v{letter.version}.pdf"
