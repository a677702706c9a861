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


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.path.startswith(CAPABILITY_PREFIXES):
        # Never pass the token on as a Referer; never index the page.
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Robots-Tag"] = "noindex, nofollow"
    else:
        headers.setdefault("Referrer-Policy", "same-origin")
    https = current_app.config["PUBLIC_BASE_URL"].startswith("https://") or request.is_secure
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # The route template (/s/<token>), never the path, is what the access log records.
    headers["X-Route"] = request.url_rule.rule if request.url_rule is not None else "-"
    if request.endpoint != "static":
        # Pages hold health data: never keep them in a shared or browser cache.
        headers.setdefault("Cache-Control", "no-store")
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
