"""Alembic environment: runs migrations against the URL set by pathway.migrate."""

from __future__ import annotations

import os

from alembic import context

import pathway.models  # noqa: F401  (registers every table)
from pathway.db import Base, make_engine

config = context.config


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from pathway import ROOT
    from pathway.config import database_url

    (ROOT / "instance").mkdir(exist_ok=True)
    return database_url(ROOT / "instance", dict(os.environ))


def run_migrations() -> None:
    url = _database_url()
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
