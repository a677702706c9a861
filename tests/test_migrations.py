"""The Alembic migrations produce exactly the schema the models declare, both ways."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import pathway.models  # noqa: F401
from pathway.db import Base, make_engine
from pathway.migrate import downgrade, upgrade
from tests.conftest import is_postgres


@pytest.fixture
def empty_database(database_url_for_tests: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database on the same backend as the run."""
    if not is_postgres(database_url_for_tests):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"pathway_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url_for_tests, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = database_url_for_tests.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return differences


def test_migrations_produce_exactly_the_models_schema(empty_database: str) -> None:
    upgrade(empty_database)
    assert schema_differences(empty_database) == []


def test_migrations_go_down_to_nothing_and_up_again(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    engine = make_engine(empty_database)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    upgrade(empty_database)
    assert schema_differences(empty_database) == []


# Who recorded, issued or sent something: set to NULL when that account is deleted, which
# is rare; never read by. Every other foreign key is how a list is read.
UNREAD_FOREIGN_KEYS = {
    ("audit_events", "actor_id"),
    ("consents", "recorded_by_id"),
    ("invitations", "created_by_id"),
    ("programme_invitations", "invited_by_id"),
    ("letter_dispatches", "sent_by_id"),
    ("letters", "issued_by_id"),
    ("messages", "author_user_id"),
}


def test_every_foreign_key_that_lists_are_read_by_is_indexed() -> None:
    unindexed = set()
    for table in Base.metadata.sorted_tables:
        leading = {next(iter(index.columns)).name for index in table.indexes}
        leading |= {
            next(iter(constraint.columns)).name
            for constraint in table.constraints
            if getattr(constraint, "columns", None)
            and not constraint.__class__.__name__.startswith("Foreign")
        }
        for column in table.columns:
            if column.foreign_keys and column.name not in leading:
                unindexed.add((table.name, column.name))
    assert unindexed == UNREAD_FOREIGN_KEYS
