"""Routes of the shares blueprint: /shares/…"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shares", __name__, url_prefix="/shares")
