"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["PUBLIC_BASE_URL"].startswith("https://") or request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # The route template (/s/<token>), never the path, is what the access log records.
    headers["X-Route"] = request.url_rule.rule if request.url_rule is not None else "-"
    if request.endpoint != "static":
        # Pages hold health data: never keep them in a shared or browser cache.
        headers.setdefault("Cache-Control", "no-store")
    return response
