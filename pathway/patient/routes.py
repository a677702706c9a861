"""Routes of the patient blueprint: /patient/…"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from pathway.auth.sessions import role_required
from pathway.models import Patient, Role

bp = Blueprint("patient", __name__, url_prefix="/patient")
patient_only = role_required(Role.PATIENT)


def current_patient() -> Patient:
    """The signed-in patient's own record (the only one they can ever reach)."""
    patient = current_user.patient
    if patient is None:
        abort(404)
    return patient


@bp.get("/")
@patient_only
def home() -> str:
    return render_template("patient/home.html", patient=current_patient())
