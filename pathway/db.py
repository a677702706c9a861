"""Engine, session and declarative base.

The session lives on the application context: one per request, closed at teardown.
Plain SQLAlchemy 2.0 so the hot paths (recipient and emergency views) can use Core
statements on the same connection when they need to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import os
import secrets
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypedDict, cast

from flask import current_app, g, has_app_context
from sqlalchemy import JSON, DateTime, ForeignKey, MetaData, String, Table, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_public_id() -> str:
    """A random identifier for URLs: 128 bits from the OS's secure generator."""
    return secrets.token_urlsafe(16)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type, so values are normalised to UTC on the way in
    and tagged as UTC on the way out; PostgreSQL uses timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
# The owner of a row that is deleted with it: a patient's, an enrollment's, a programme's.
patient_fk = Annotated[
    int, mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
]
enrollment_fk = Annotated[
    int, mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
]
programme_fk = Annotated[
    int, mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
str80 = Annotated[str, mapped_column(String(80))]
str200 = Annotated[str, mapped_column(String(200))]


class Owned(TypedDict):
    """Options of a relationship to rows that belong to the parent: ``relationship(**owned)``."""

    cascade: str
    passive_deletes: bool


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        # Enums are stored by value, as plain strings, so adding a member needs no
        # ALTER TYPE and the stored text is readable.
        enum.Enum: SAEnum(
            enum.Enum,
            native_enum=False,
            length=40,
            values_callable=lambda members: [member.value for member in members],
        ),
    }

    if TYPE_CHECKING:
        # Every model is mapped to a table of its own (never to a join or a select).
        __table__: ClassVar[Table]


def make_engine(url: str) -> Engine:
    """Create the engine with the settings each backend needs under concurrency."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 15, "check_same_thread": False, "factory": SQLiteConnection},
        )
        _tune_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=5,
        connect_args={"connect_timeout": 3, "options": "-c statement_timeout=5000"},
    )
    _tune_postgresql(engine)
    return engine


class SQLiteConnection(sqlite3.Connection):
    """A connection whose write transactions queue for the database on an OS lock.

    SQLite lets one writer in at a time; the others poll, sleeping 1, 2, 5, 10… ms
    between tries (its busy handler). A request's write takes a fraction of a
    millisecond, so under concurrent writes the workers slept more than they worked.
    Here each write transaction first takes an exclusive flock on a file beside the
    database, which the kernel hands to the next waiter the moment it is released.
    SQLite's own locking still decides what is safe; the flock only orders the queue,
    and the kernel drops it if its process dies. Each connection opens the file itself,
    so two connections (threads, forked workers) never share one lock.

    SQLite's automatic checkpoint (copying the write-ahead log back into the database,
    with an fsync) runs inside the COMMIT that crosses its threshold, which would keep
    every other writer queued behind a disk flush. Connections here turn it off and run
    the same passive checkpoint themselves every CHECKPOINT_EVERY write transactions,
    once their lock is released: other writers carry on meanwhile.
    """

    CHECKPOINT_EVERY = 250  # write transactions of one connection (about SQLite's 1000 pages)

    _lock_fd: int | None = None
    _holding = False
    _writes = 0

    def begin_writing(self) -> None:
        """Wait for the database's writer lock, then begin the write transaction."""
        fd = self._writer_lock()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def _writer_lock(self) -> int | None:
        if self._lock_fd is None:
            path = self.execute("PRAGMA database_list").fetchone()[2]
            if not path:  # an in-memory database has one connection: nothing to queue for
                return None
            try:
                self._lock_fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: SQLite's own waiting still works
                return None
        return self._lock_fd

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            fcntl.flock(cast(int, self._lock_fd), fcntl.LOCK_UN)

    def commit(self) -> None:
        wrote = self._holding
        try:
            super().commit()
        finally:
            self._release()
        if wrote:
            self._writes += 1
            if self._writes % self.CHECKPOINT_EVERY == 0:
                self.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _tune_sqlite(engine: Engine) -> None:
    # WAL lets readers run beside the single writer; BEGIN IMMEDIATE takes the write
    # lock up front so two requests never deadlock upgrading a read lock, which is
    # what surfaces as "database is locked"; writers queue on the connection's writer
    # lock, and busy_timeout still bounds any other wait. Inside reading() a plain
    # BEGIN is enough: that transaction never writes.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # SQLiteConnection checkpoints
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = connection.connection.driver_connection
        # Straight to the driver: this runs at the start of every transaction.
        if has_app_context() and g.get("db_reading", False):
            driver.execute("BEGIN")
        else:
            driver.begin_writing()


def _tune_postgresql(engine: Engine) -> None:
    # PostgreSQL's default (READ COMMITTED) lets each statement of a transaction see what
    # other transactions committed meanwhile: a view could show one section before a change
    # and the next after it, and log a summary version that is neither. Inside reading()
    # every statement sees one snapshot, as on SQLite, and nothing can be written.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if has_app_context() and g.get("db_reading", False):
            connection.connection.driver_connection.execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "before_flush", _refuse_writes_while_reading)


def get_database() -> Database:
    database: Database = current_app.extensions["pathway.db"]
    return database


def get_session() -> Session:
    """Return the session of the current application context, opening it if needed."""
    if "db_session" not in g:
        g.db_session = get_database().sessionmaker()
    db_session: Session = g.db_session
    return db_session


def close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


session = cast(Session, LocalProxy(get_session))


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Run the block's queries in a transaction of their own that only reads, then end it.

    For the views that read a lot and then write a little (one access event): on
    SQLite the reads then take no write lock, and the writes that follow hold it only
    while they run, so workers do not queue behind each other's reads. Every query of
    the block sees the database as it was at the block's first one (a snapshot, on
    PostgreSQL too). Objects loaded in the block stay usable afterwards. The block must
    not write (a flush raises; PostgreSQL refuses any other write).
    """
    g.db_reading = True
    try:
        yield
    except BaseException:
        g.db_reading = False
        session.rollback()
        raise
    g.db_reading = False
    session.commit()  # nothing to write: ends the read transaction, keeps what was loaded


def _refuse_writes_while_reading(_session: Session, _context: Any, _instances: Any) -> None:
    if has_app_context() and g.get("db_reading", False):
        raise RuntimeError("reading() blocks must not write")
