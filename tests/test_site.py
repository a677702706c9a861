"""Site-wide behaviour: health check, language, error pages, headers."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from pathway import create_app
from pathway.models import Role, User
from tests.conftest import Client, make_config
from tests.factories import make_user, sign_in


def test_healthz_answers_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_answers_503_without_a_stack_trace_when_the_database_is_unreachable(
    database_url_for_tests: str, tmp_path: Path
) -> None:
    if database_url_for_tests.startswith("postgresql"):
        unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
    else:
        unreachable = f"sqlite:///{tmp_path}/missing-dir/none.db"
    app = create_app(make_config(unreachable, tmp_path))
    response = app.test_client().get("/healthz", base_url="https://pathway.test")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert b"Traceback" not in response.data


def test_a_page_needing_the_database_answers_503_when_it_is_down(
    database_url_for_tests: str, tmp_path: Path
) -> None:
    unreachable = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        if database_url_for_tests.startswith("postgresql")
        else f"sqlite:///{tmp_path}/missing-dir/none.db"
    )
    app = create_app(make_config(unreachable, tmp_path))
    app.test_client_class = Client
    client = app.test_client()
    response = client.submit("/auth/login", {"email": "a@example.org", "password": "whatever"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.get_data(as_text=True)
    assert "Service momentanément indisponible" in body
    assert "Traceback" not in body and "OperationalError" not in body


def test_pages_are_in_french_by_default(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Se connecter" in page


def test_language_switch_is_remembered_for_visitors(client) -> None:
    response = client.submit(
        "/language", {"locale": "en", "next": "/auth/login"}, page="/auth/login"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_language_switch_is_remembered_on_the_account(client, db) -> None:
    user = make_user("lang@example.org", Role.EDUCATOR)

    sign_in(client, "lang@example.org")
    client.submit("/language", {"locale": "en", "next": "/"}, page="/auth/login")
    assert db.get(User, user.id).locale == "en"


def test_language_switch_ignores_unknown_languages_and_foreign_redirects(client) -> None:
    response = client.submit(
        "/language", {"locale": "xx", "next": "https://evil.example/"}, page="/auth/login"
    )
    assert response.headers["Location"] == "/"
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_unknown_page_is_a_translated_404(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_unexpected_error_shows_an_incident_id_and_no_trace(app: Flask, client, caplog) -> None:
    @app.get("/boom-for-test")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = client.get("/boom-for-test")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    incident = body.split("Référence de l'incident : ")[1][:12]
    assert incident in caplog.text


def test_security_headers_are_on_every_page(client) -> None:
    for path in ("/", "/auth/login", "/no-such-page", "/healthz"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_robots_disallow_shared_links(client) -> None:
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /s/" in body and "Disallow: /e/" in body


def test_the_layout_has_no_external_resources_and_fits_phones(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "http://" not in page.replace("https://pathway.test", "")
    assert "<script" not in page


def test_staff_reach_two_step_sign_in_from_the_menu(client, db, eve) -> None:
    sign_in(client, "eve@example.org")
    page = client.get("/team/").get_data(as_text=True)
    assert 'href="/auth/two-factor/setup"' in page
    assert "Connexion en deux étapes" in page
    assert client.get("/auth/two-factor/setup").status_code == 200


def test_a_signed_in_page_answers_503_when_the_database_goes_down(
    app: Flask, client: Client, alice_signed_in, database_url_for_tests: str, tmp_path: Path
) -> None:
    """The error page must not need the database either: the signed-in user (their language,
    the navigation) cannot be loaded while it is down."""
    from pathway.db import Database

    assert client.get("/patient/").status_code == 200
    unreachable = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        if database_url_for_tests.startswith("postgresql")
        else f"sqlite:///{tmp_path}/missing-dir/none.db"
    )
    working = app.extensions["pathway.db"]
    app.extensions["pathway.db"] = Database(unreachable)
    try:
        response = client.get("/patient/")
    finally:
        app.extensions["pathway.db"] = working
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.get_data(as_text=True)
    assert "Service momentanément indisponible" in body
    assert "Traceback" not in body and "OperationalError" not in body
    # Once it is back, the same cookie still works.
    assert client.get("/patient/").status_code == 200
