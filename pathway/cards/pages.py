"""The emergency view's page, stored per state of the card.

What a responder is shown depends only on the card's token version and sections, the
summary's version (which every change of the summary moves, see pathway.summary.editing), the
viewer's language and the release (code, templates, translations). A page is stored with
all of them and read with the card's link, in the same query and snapshot, only while they
all still hold: a stored page is only ever shown for the state it was made from. Every
opening still reads the link from the database (revoked, expired, replaced: 410 at once)
and is recorded as one access event; the page stored is only what would be rendered again.
"""

from __future__ import annotations

import functools
import hashlib

from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, delete, insert, or_
from sqlalchemy.exc import IntegrityError

from pathway import LOCALES, ROOT
from pathway.cards.openings import CARD, Card, read_card
from pathway.db import session
from pathway.models import CardPage, Patient, Share

# Where each opening's own links go: the one by which the responder names themselves, and
# the one to read the page in another language (the same opening, not another). Everything
# the patient typed is escaped in the page, so no text of theirs can contain either.
NAMING_LINK = Markup("<naming-link>")
LANGUAGE_LINK = Markup("<language-link>")

_PAGES = CardPage.__table__
# The card (openings.CARD) and, if one is stored for this language and the current
# versions, its page.
_CARD_AND_PAGE = CARD.add_columns(
    _PAGES.c.sections.label("page_sections"), _PAGES.c.html.label("page")
).outerjoin(
    _PAGES,
    and_(
        _PAGES.c.share_id == Share.id,
        _PAGES.c.key == bindparam("page_key"),
        _PAGES.c.token_version == Share.token_version,
        _PAGES.c.summary_version == Patient.summary_version,
    ),
)
_STORE = insert(_PAGES)


@functools.cache
def page_key(locale: str) -> str:
    """The key of a card's page for a viewer reading `locale`, in this release."""
    return hashlib.sha256(f"{locale}|{release()}".encode()).hexdigest()


def card_and_page(token: str, locale: str) -> tuple[Card, str | None]:
    """The card a token opens (openings.read_card) and its page stored for `locale`, if it
    was made from the card's current state."""
    card, (page_sections, page) = read_card(token, _CARD_AND_PAGE, page_key=page_key(locale))
    return card, page if page_sections == card.link.sections else None


def store_page(card: Card, locale: str, html: str) -> None:
    """Keep the page made from the card's current state for `locale`, in the current write
    transaction, in place of the one before; pages of earlier states or releases go too."""
    key = page_key(locale)
    connection = session.connection()
    connection.execute(
        delete(_PAGES).where(
            _PAGES.c.share_id == card.link.id,
            or_(
                _PAGES.c.key == key,
                _PAGES.c.key.not_in([page_key(other) for other in LOCALES]),
                _PAGES.c.token_version != card.link.token_version,
                _PAGES.c.summary_version != card.link.summary_version,
            ),
        )
    )
    try:
        with connection.begin_nested():
            connection.execute(
                _STORE,
                {
                    "share_id": card.link.id,
                    "key": key,
                    "token_version": card.link.token_version,
                    "summary_version": card.link.summary_version,
                    "sections": list(card.link.sections),
                    "html": html,
                },
            )
    except IntegrityError:  # another request stored this page first, from the same state
        pass


def discard_pages(card: Share) -> None:
    """Drop every page stored for the card (withdrawn or replaced: none can be shown)."""
    session.execute(delete(_PAGES).where(_PAGES.c.share_id == card.id))


def with_opening_links(html: str, naming_url: str, language_url: str) -> str:
    """The page with this opening's own links: the one by which its responder can name
    themselves, and the one to read it in the other language."""
    html = html.replace(NAMING_LINK, str(escape(naming_url)))
    return html.replace(LANGUAGE_LINK, str(escape(language_url)))


@functools.cache
def release() -> str:
    """A digest of the code, templates and translations that make the page: a new release
    never shows a page stored by the previous one."""
    digest = hashlib.sha256()
    sources = [
        *ROOT.glob("pathway/**/*.py"),
        *ROOT.glob("pathway/translations/*/LC_MESSAGES/*.mo"),
        *ROOT.glob("templates/**/*.html"),
    ]
    for path in sorted(sources):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
