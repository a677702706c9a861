"""Routes of the emergency blueprint: /e/… (the QR wallet card, opened by responders)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("emergency", __name__, url_prefix="/e")


@bp.get("/<token>")
def view(token: str) -> str:
    abort(404)
