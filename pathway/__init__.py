"""Pathway: the patient's ETP summary, shared on their terms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("fr", "en")
# The largest id a row can have on every backend: the id columns are INTEGER, 32 bits on
# PostgreSQL (64 on SQLite). A larger number names no row, and the database would refuse
# it (PostgreSQL: "integer out of range"; SQLite past 2**63: OverflowError).
MAX_ID = 2**31 - 1


def whole_numbers_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 0…limit, written without leading zeros."""
    digits = str(limit)
    width = len(digits)
    # Fewer digits than the limit: any such number.
    alternatives = ["0", f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []
    # As many digits: the limit's first i digits, then a smaller digit, then any digits.
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 and width > 1 else 0
        if int(digit) > lowest:
            alternatives.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}][0-9]{{{width - i - 1}}}")
    alternatives.append(digits)
    return "(?:" + "|".join(alternatives) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a whole number from 0 to MAX_ID, written without leading zeros.

    Anything else (a negative number, 2**64, 10**30) matches no route: a 404, never a query
    the database fails on. The bound is in the pattern, not only in the conversion, so that
    a path that another rule takes with another method is a 404 too, not a 405.
    """

    regex = whole_numbers_up_to(MAX_ID)

    def __init__(
        self,
        map: Map,  # werkzeug's own parameter names: rules pass them by keyword
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, database, extensions, blueprints, errors, CLI."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _load_settings(app, config or {})
    # Before any route is added: every <int:…> of every blueprint is bounded.
    app.url_map.converters["int"] = IdConverter
    _init_database(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_errors_and_headers(app)
    _register_cli(app)
    return app


def _load_settings(app: Flask, overrides: dict[str, Any]) -> None:
    from pathway.config import load_config
    from pathway.logs import configure_logging

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    environ = {**os.environ, **{k: v for k, v in overrides.items() if isinstance(v, str)}}
    app.config.update(load_config(Path(app.instance_path), environ))
    app.config.update(overrides)
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    configure_logging(app)


def _init_database(app: Flask) -> None:
    from pathway.db import Database, close_session

    app.extensions["pathway.db"] = Database(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)


def _init_extensions(app: Flask) -> None:
    from pathway.auth.sessions import init_login
    from pathway.extensions import babel, csrf, limiter
    from pathway.i18n import init_templates, select_locale
    from pathway.notifications import init_app as init_notifications

    init_login(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        default_locale="fr",
        default_translation_directories=str(ROOT / "pathway" / "translations"),
        locale_selector=select_locale,
        default_timezone="Europe/Paris",
    )
    limiter.init_app(app)
    init_templates(app)
    init_notifications(app)


def _register_blueprints(app: Flask) -> None:
    from pathway.account.routes import bp as account_bp
    from pathway.auth.routes import bp as auth_bp
    from pathway.cards.patient_routes import bp as card_bp
    from pathway.cards.responder_routes import bp as emergency_bp
    from pathway.inbox.routes import bp as inbox_bp
    from pathway.programme.routes import bp as programme_bp
    from pathway.sharing.patient_routes import bp as shares_bp
    from pathway.sharing.recipient_routes import bp as recipient_bp
    from pathway.site.routes import bp as site_bp
    from pathway.summary.routes import bp as summary_bp
    from pathway.team.routes import bp as team_bp

    for blueprint in (
        site_bp,
        auth_bp,
        account_bp,
        summary_bp,
        shares_bp,
        card_bp,
        programme_bp,
        team_bp,
        recipient_bp,
        emergency_bp,
        inbox_bp,
    ):
        app.register_blueprint(blueprint)


def _register_errors_and_headers(app: Flask) -> None:
    from pathway.errors import init_errors
    from pathway.headers import init_headers
    from pathway.inputs import init_inputs

    init_errors(app)
    init_headers(app)
    init_inputs(app)


def _register_cli(app: Flask) -> None:
    from pathway.cli import init_cli

    init_cli(app)


def warm_up(app: Flask) -> None:
    """Do once what every worker would otherwise do on its first requests.

    Called by gunicorn in the master before it forks the workers (preload_app), so a worker
    recycled after max_requests serves its first emergency view at full speed instead of
    spending about 0.1 s compiling templates, configuring the ORM and loading the calendar
    data and translations of each language.
    """
    import datetime as dt

    from flask_babel import force_locale, format_date, get_translations
    from sqlalchemy.orm import configure_mappers

    from pathway.cards.pages import release

    configure_mappers()
    release()  # the digest that keys the emergency card's stored pages
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    with app.test_request_context():
        for locale in LOCALES:
            with force_locale(locale):
                get_translations()
                format_date(dt.date(2000, 1, 1), "d MMMM y")
