"""Flask extensions, created unbound and attached to the app in create_app()."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


def client_address() -> str:
    """The client's address as seen after ProxyFix (never a client-supplied header)."""
    return request.remote_addr or "unknown"


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(client_address, headers_enabled=True)
