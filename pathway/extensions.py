"""Flask extensions, created unbound and attached to the app in create_app()."""

import logging

import flask_limiter
from flask import Flask, current_app, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

logger = logging.getLogger("pathway.ratelimit")

# What the rate limiter does while its shared store (Redis) does not answer:
# - these forms fail closed, a plain 503 with Retry-After: counted in each process's memory,
#   a guesser of passwords, passcodes or codes would get one allowance per worker and host;
# - every other request fails open: it is served, its limits counted in the memory of the
#   process that serves it, so emergency and recipient views keep working through the outage.
FAIL_CLOSED_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.confirm_password",
        "auth.accept_invitation",
        "auth.forgot_password",
        "auth.reset_password",
        "auth.two_factor",
        "auth.two_factor_setup",
        "auth.two_factor_setup_email",
        "auth.new_recovery_codes",
        "account.delete_account",
        "account.change_email",
        "account.change_password",
        "recipient.unlock",
    }
)
# A reply through a link fails closed only when it carries the link's passcode.
FAIL_CLOSED_WITH_PASSCODE = frozenset({"recipient.reply"})


def client_address() -> str:
    """The client's address as seen after ProxyFix (never a client-supplied header)."""
    return request.remote_addr or "unknown"


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter (in-memory fallback on) with Pathway's policy for a store outage."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # One limiter object serves every app made in a process: each starts on its own store.
        self._storage_dead = False
        app.before_request(self._refuse_unless_shared)

    def shared_store_answers(self) -> bool:
        """Whether the configured store answers now (one PING). When it answers again after
        an outage, counting goes back to it at once instead of at Flask-Limiter's next probe
        (up to 32 s later), which a fail-closed form would otherwise wait for."""
        if not self.storage.check():
            return False
        if self.limiter.storage is not self.storage:
            self._storage_dead = False  # Flask-Limiter's own "counting in memory" flag
        return True

    def _refuse_unless_shared(self) -> Response | tuple[str, int, dict[str, str]] | None:
        if request.method != "POST" or not current_app.config.get("RATELIMIT_ENABLED", True):
            return None
        endpoint = request.endpoint
        if endpoint not in FAIL_CLOSED_ENDPOINTS and not (
            endpoint in FAIL_CLOSED_WITH_PASSCODE and request.form.get("passcode")
        ):
            return None
        if self.shared_store_answers():
            return None
        from pathway.errors import render_error

        logger.warning("rate-limit store unreachable: %s refused with 503 (fail closed)", endpoint)
        page, status = render_error(503)
        return page, status, {"Retry-After": "30"}


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(client_address, headers_enabled=True)
