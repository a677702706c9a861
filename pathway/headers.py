"""Security headers on every response, and safe attributes on every cookie."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Paths whose URL is itself a credential (a share or emergency-card token).
CAPABILITY_PREFIXES = ("/s/", "/e/")


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


# Given to every response that does not set its own.
DEFAULTS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 (Headers, not a dict)

    def default(name: str, value: str) -> None:
        if name.lower() not in present:
            headers.add(name, value)

    for name, value in DEFAULTS:
        default(name, value)
    if request.path.startswith(CAPABILITY_PREFIXES):
        # The URL is the credential: never pass it on as a Referer, never keep the
        # response in any cache (PDFs and images included), never index it.
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cache-Control"] = "no-store"
        headers["X-Robots-Tag"] = "noindex, nofollow"
    else:
        default("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            # Pages hold health data: never keep them in a shared or browser cache.
            default("Cache-Control", "no-store")
    https = current_app.config["PUBLIC_BASE_URL"].startswith("https://") or request.is_secure
    if https:
        default("Strict-Transport-Security", HSTS)
    # The route template (/s/<token>), never the path, is what the access log records.
    headers["X-Route"] = request.url_rule.rule if request.url_rule is not None else "-"
    _harden_cookies(response, secure=https)
    return response


def _harden_cookies(response: Response, *, secure: bool) -> None:
    """Give every cookie set by a view HttpOnly, SameSite and (over https) Secure."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    hardened = []
    for cookie in cookies:
        attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
        if "httponly" not in attributes:
            cookie += "; HttpOnly"
        if "samesite" not in attributes:
            cookie += "; SameSite=Lax"
        if secure and "secure" not in attributes:
            cookie += "; Secure"
        hardened.append(cookie)
    response.headers.setlist("Set-Cookie", hardened)
