"""The emergency view's page, stored per state of the card.

What a responder is shown depends only on the card's token version and sections, the
summary's version (which every change of the summary moves, see pathway.summary), the
viewer's language and the release (code, templates, translations). A page's key names all
of them, so a stored page is only ever shown for the state it was made from. Every opening
still reads the link from the database (revoked, expired, replaced: 410 at once) and is
recorded as one access event; the page stored is only what would be rendered again.
"""

from __future__ import annotations

import functools
import hashlib

from markupsafe import Markup, escape
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from pathway import LOCALES, ROOT
from pathway.cards.openings import Card
from pathway.db import session
from pathway.models import CardPage

# Where each opening's own naming link goes. Everything the patient typed is escaped in
# the page, so no text of theirs can contain it.
NAMING_LINK = Markup("<naming-link>")

_PAGES = CardPage.__table__
_STORED = select(_PAGES.c.html).where(
    _PAGES.c.share_id == bindparam("share_id"), _PAGES.c.key == bindparam("key")
)
_STORE = insert(_PAGES)


def page_key(card: Card, locale: str) -> str:
    """The key of the card's page in its current state, for a viewer reading `locale`."""
    state = (card.token_version, ",".join(card.sections), card.summary_version, locale, release())
    return hashlib.sha256("|".join(map(str, state)).encode()).hexdigest()


def stored_page(card: Card, key: str) -> str | None:
    """The page stored for this key, if any (read in the view's snapshot)."""
    return session.connection().execute(_STORED, {"share_id": card.id, "key": key}).scalar()


def store_page(card: Card, key: str, html: str) -> None:
    """Keep the page for its key, in the current write transaction, and drop the card's
    pages of earlier states (those of the current state in other languages stay)."""
    current = [page_key(card, locale) for locale in LOCALES]
    connection = session.connection()
    connection.execute(
        delete(_PAGES).where(_PAGES.c.share_id == card.id, _PAGES.c.key.not_in(current))
    )
    try:
        with session.begin_nested():
            connection.execute(_STORE, {"share_id": card.id, "key": key, "html": html})
    except IntegrityError:  # another request stored the same page first: the same text
        pass


def with_naming_link(html: str, url: str) -> str:
    """The page with the link by which this opening's responder can name themselves."""
    return html.replace(NAMING_LINK, str(escape(url)))


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
