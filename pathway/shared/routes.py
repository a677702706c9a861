"""Routes of the shared blueprint: /s/…"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shared", __name__, url_prefix="/s")
