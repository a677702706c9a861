"""Language: French first, English second; the choice is remembered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, g, has_app_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from pathway import LOCALES

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """The signed-in user's language, else the remembered choice, else French."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        locale: str = current_user.locale
        return locale
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LOCALES else "fr"


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
