"""Logging: one format, and a filter that keeps tokens out of every log line."""

from __future__ import annotations

import logging
import re

from flask import Flask

# An itsdangerous token: base64url payload, a dot, base64url signature (and maybe a timestamp).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{6,}(?:\.[A-Za-z0-9_\-]{6,})?")


def redact(text: str) -> str:
    """Replace anything shaped like a signed token by a fixed marker."""
    return TOKEN_PATTERN.sub("[token]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(app: Flask) -> None:
    """Send the app's records to stderr, tokens redacted, on every handler it may gain."""
    redactor = RedactTokens()
    for name in ("pathway", "werkzeug", "gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).addFilter(redactor)
    logger = logging.getLogger("pathway")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler.addFilter(redactor)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    app.logger.addFilter(redactor)
