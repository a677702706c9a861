"""Language: French first, English second; the choice is remembered."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from pathway import LOCALES

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """The signed-in user's language, else the remembered choice, else French."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LOCALES else "fr"


def current_locale() -> str:
    """The language of the page being rendered (for <html lang> and locale-aware output)."""
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else "fr"


def template_helpers() -> dict[str, object]:
    return {"current_locale": current_locale}
