"""Routes of the card blueprint: /card/…"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("card", __name__, url_prefix="/card")
