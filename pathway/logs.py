"""Logging: one format, and a filter that keeps tokens out of every log line."""

from __future__ import annotations

import itertools
import logging
import re

from flask import Flask

# An itsdangerous token: base64url payload, a dot, base64url signature (and maybe a timestamp).
# The signature (HMAC-SHA1, 27 characters) is what tells it from a dotted Python name.
TOKEN_PATTERN = re.compile(
    r"[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]{6,})?\.[A-Za-z0-9_\-]{20,}(?![A-Za-z0-9_\-])"
)
# Whatever follows a capability prefix is a credential, even when it is not a well-formed token.
CAPABILITY_PATH = re.compile(r"(/(?:s|e|auth/reset|auth/invitation)/)(?!<token>)[^/\s?#\"'<]+")
# Random public ids (128 bits and more) and any other long base64url run.
LONG_RANDOM = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{22,}")
MARKER = "[token]"


def redact(text: str) -> str:
    """Replace anything shaped like a signed token, a link path or a random id by a marker."""
    text = CAPABILITY_PATH.sub(lambda m: m.group(1) + MARKER, text)
    text = TOKEN_PATTERN.sub(_random_looking, text)
    return LONG_RANDOM.sub(_random_looking, text)


def _random_looking(match: re.Match[str]) -> str:
    # Random ids mix upper case, lower case and digits; names and tags ("recovery-codes-
    # replaced", "ProgrammingError") do not, and stay readable.
    run = match.group(0).replace(".", "")
    classes = sum(
        (
            any(c.isupper() for c in run),
            any(c.islower() for c in run),
            any(c.isdigit() for c in run),
            any(c in "-_" for c in run),
        )
    )
    if classes >= 3:
        return MARKER
    # A long run of letters only is random (a public id drawn without a digit) when capitals
    # follow each other here and there; a CamelCase name has one capital per word.
    capitals_in_a_row = sum(a.isupper() and b.isupper() for a, b in itertools.pairwise(run))
    return MARKER if len(run) >= 22 and capitals_in_a_row >= 2 else match.group(0)


_formatter = logging.Formatter()


class RedactTokens(logging.Filter):
    """Rewrite the record's message and traceback with tokens masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: the traceback is redacted once, here.
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger, redactor: logging.Filter) -> None:
    """Add the filter to a logger and each of its handlers (child records skip logger filters)."""
    if redactor not in logger.filters:
        logger.addFilter(redactor)
    for handler in logger.handlers:
        if not any(isinstance(f, RedactTokens) for f in handler.filters):
            handler.addFilter(redactor)


def configure_logging(app: Flask) -> None:
    """Send the app's records to stderr, tokens redacted, on every handler it may gain."""
    redactor = RedactTokens()
    logger = logging.getLogger("pathway")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    for name in ("pathway", "werkzeug", "gunicorn.access", "gunicorn.error", "flask.app", ""):
        install(logging.getLogger(name), redactor)
    install(app.logger, redactor)
