"""Routes of the programme blueprint: /programme/…"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("programme", __name__, url_prefix="/programme")
