"""Language: French first, English second; the choice is remembered."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal, Protocol, cast

from babel import Locale
from babel.dates import get_date_format
from babel.support import NullTranslations
from flask import Flask, Response, after_this_request, g, has_app_context, request
from flask_babel import format_date, get_locale, get_translations, to_user_timezone
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from pathway import LOCALES

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """The signed-in user's language, else the remembered choice, else the browser's
    (Accept-Language), else French."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        locale: str = current_user.locale
        return locale
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LOCALES:
        return chosen
    # The page then depends on the header: a cache must not serve it to another language.
    after_this_request(_vary_on_language)
    return request.accept_languages.best_match(LOCALES) or "fr"


def _vary_on_language(response: Response) -> Response:
    response.vary.add("Accept-Language")
    return response


def current_locale() -> str:
    """The language of the page being rendered (for <html lang> and locale-aware output)."""
    locale = get_locale()
    return locale.language if locale is not None else "fr"


def init_templates(app: Flask) -> None:
    """Templates translate with the catalogue found once per rendering.

    Flask-Babel finds the catalogue again for every string (several context lookups,
    about 8 µs) and a page translates dozens. Each rendering (inside force_locale() too)
    gets its language's catalogue from a context processor; macros imported without the
    page's context find it through catalogue().

    The functions below behave as Jinja's "newstyle" gettext (variables as keywords,
    escaped in an autoescaped template; `num` given to ngettext) but are installed as
    plain callables: Jinja's newstyle wrappers would add a call layer per string.
    """
    cast(_GettextEnvironment, app.jinja_env).install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=False,
    )
    app.context_processor(lambda: {"current_locale": current_locale, CATALOGUE: catalogue()})
    # Every date a template prints goes through format_day (Flask-Babel's filter would
    # print « 1 décembre »); the agreement helpers are for sentences about a person.
    app.jinja_env.filters["dateformat"] = format_day
    app.jinja_env.filters["with_article"] = with_article
    app.jinja_env.globals["agree"] = agree


class _GettextEnvironment(Protocol):
    """A Jinja environment extended by the i18n extension (Flask-Babel adds it)."""

    install_gettext_callables: Callable[..., None]


CATALOGUE = "_catalogue"


def catalogue() -> NullTranslations:
    """The catalogue of the language in use, found once per request and language.

    force_locale() installs another locale object, which gets its own lookup, and puts the
    first one back afterwards.
    """
    if not has_app_context():
        return get_translations()
    locale = get_locale()
    found: tuple[Locale | None, NullTranslations] | None = g.get(CATALOGUE)
    if found is None or found[0] is not locale:
        found = (locale, get_translations())
        setattr(g, CATALOGUE, found)
    return found[1]


def _catalogue(context: Context) -> NullTranslations:
    found = context.parent.get(CATALOGUE)  # the rendering's variables, not its own
    return found if found is not None else catalogue()


def _format(context: Context, translated: str, variables: dict[str, object]) -> str:
    """Fill the translation's %(name)s placeholders; like Jinja's newstyle gettext, always
    (a literal percent sign is written %%) and escaping the values in HTML templates."""
    if context.eval_ctx.autoescape:
        # The catalogue is ours (as Jinja's own gettext trusts it); the values are escaped.
        translated = Markup(translated)  # noqa: S704
    return translated % variables


@pass_context
def _gettext(context: Context, string: str, **variables: object) -> str:
    return _format(context, _catalogue(context).ugettext(string), variables)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: object) -> str:
    variables.setdefault("num", num)
    return _format(context, _catalogue(context).ungettext(singular, plural, num), variables)


@pass_context
def _pgettext(context: Context, message_context: str, string: str, **variables: object) -> str:
    return _format(context, _catalogue(context).upgettext(message_context, string), variables)


@pass_context
def _npgettext(
    context: Context,
    message_context: str,
    singular: str,
    plural: str,
    num: int,
    **variables: object,
) -> str:
    variables.setdefault("num", num)
    translated = _catalogue(context).unpgettext(message_context, singular, plural, num)
    return _format(context, translated, variables)


# Dates and agreement ---------------------------------------------------------------------

_DAY = re.compile(r"(?<![d'])d(?!d)")
_FORMAT_NAMES = ("short", "medium", "long", "full")


def format_day(value: dt.date | dt.datetime | None, format: str = "medium") -> str:
    """The one way a date is printed, in the language in use: « 1er décembre 2026 ».

    `format` is a Babel format name (short, medium, long, full) or pattern. A datetime is
    first put in the user's time zone (Europe/Paris), as Flask-Babel's own filter does. In
    French the first day of the month is an ordinal (« 1er »), which Babel does not write.
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_user_timezone(value).date()
    locale = get_locale()
    pattern = format
    if format in _FORMAT_NAMES:
        name = cast(Literal["short", "medium", "long", "full"], format)
        pattern = get_date_format(name, locale=locale or "fr").pattern
    if value.day == 1 and (locale is None or locale.language == "fr") and "MMM" in pattern:
        pattern = _DAY.sub("d'er'", pattern, count=1)
    text: str = format_date(value, pattern)
    return text


# The honorifics after which French puts the article: « avec le Dr Martin ».
_TITLES = re.compile(r"(Dr|Dr\.|Docteur|Docteure|Pr|Pr\.|Professeur|Professeure)\s", re.IGNORECASE)


def with_article(name: str) -> str:
    """A person's name as the object of a French sentence: « le Dr Paul Martin » after a
    preposition when the name starts with a title (English and plain names unchanged)."""
    name = name.strip()
    locale = get_locale()
    if (locale is None or locale.language == "fr") and _TITLES.match(name):
        return f"le {name}"
    return name


def agree(sex: str | None, feminine: str, masculine: str) -> str:
    """The form of a sentence that agrees with the person it is about.

    Both forms are translated by the caller with pgettext, in the contexts "feminine" and
    "masculine", so French agrees (« née le », « entrée », « la patiente ») where English
    has one text. `sex` is the record's: "F", "M", or None when not known yet, where the
    masculine form stands as French's generic one (a letter cannot be issued so).
    """
    return feminine if sex == "F" else masculine
