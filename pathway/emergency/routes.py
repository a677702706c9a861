"""Routes of the emergency blueprint: /e/…"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("emergency", __name__, url_prefix="/e")
