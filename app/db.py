"""Engine, session factory, declarative Base and the clinic-scoped query helpers."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from flask import abort, current_app, g
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Select,
    String,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Values one IN (...) query names at most (a drop of lab results names thousands).
IN_CHUNK = 500
V = TypeVar("V")


def in_chunks(values: Sequence[V], size: int = IN_CHUNK) -> Iterator[Sequence[V]]:
    """The values a bounded number at a time, one IN query's worth each."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def utcnow() -> datetime:
    """The current time in UTC (aware). Everything is stored in UTC and shown in Japan time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes: a time without a zone is a bug waiting to happen."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING)


class ClinicScoped:
    """Mixin of every clinical table: the row belongs to exactly one clinic."""

    #: The clinic (tenant) that owns this row; every query filters on it.
    clinic_id: Mapped[int] = mapped_column(Integer, ForeignKey("clinic.id"), index=True)


class PatientScoped(ClinicScoped):
    """Mixin of a clinical table about one patient: its own id and the patient (clinic_id from ClinicScoped)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))


class StatusLabelled:
    """A row with a `status`, said in Japanese by its class's `status_labels` (a state it has no words for is shown
    as stored)."""

    status_labels: ClassVar[dict[str, str]] = {}

    @property
    def status_label(self) -> str:
        """The state in Japanese."""
        return self.status_labels.get(self.status, self.status)  # type: ignore[attr-defined]


class Timestamps:
    """Mixin of a record edited in place: when it was made and when it last changed."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PostalContact:
    """Mixin of a record with a postal address and a phone number (a patient, an entry of the 紹介先 book)."""

    postal_code: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")


M = TypeVar("M", bound=ClinicScoped)


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and write transactions that take the write
    lock when they begin (see _begin_immediate)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _begin_immediate(connection: Any, _name: str) -> None:
            # The driver begins a transaction just before its first write, so a writer waits (busy timeout) for
            # the write lock. A SAVEPOINT with no transaction open would begin one that reads first and writes
            # later — and SQLite refuses that write at once ("database is locked") when another process wrote
            # in between, whatever the timeout. So such a transaction begins IMMEDIATE: the lock, waited for.
            if not connection.connection.dbapi_connection.in_transaction:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # pool_pre_ping: a `SELECT 1` when a connection leaves the pool (one or two a request, ~0.02 ms of our CPU each,
    # measured) so that a connection PostgreSQL dropped (restart, pooler) is replaced instead of failing a user's
    # request (tests/core/test_dropped_connections.py fails without it).
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_IN_MEMORY_LOCKS: dict[tuple[str, int, int], threading.Lock] = {}
_IN_MEMORY_LOCKS_GUARD = threading.Lock()


@contextmanager
def exclusive(session: Session, namespace: int, key: int) -> Iterator[None]:
    """Hold the lock (namespace, key) for the block, across the commits made in it: other threads and processes
    taking the same lock wait. PostgreSQL: a session advisory lock on a connection of its own (a Session hands its
    connection back at every commit). SQLite: a file lock beside the database file (a process lock for a database
    in memory). Take it with no transaction open, so that a waiter holds no row or advisory locks."""
    bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:n, :k)"), {"n": namespace, "k": key})
            connection.commit()  # the lock is the connection's, not the transaction's: nothing stays open
            try:
                yield
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:n, :k)"), {"n": namespace, "k": key})
                    connection.commit()
                except DBAPIError:
                    # The connection broke: the server released the lock with it. Closing it for good (not back to
                    # the pool) keeps it that way, and the block's own error, if any, is the one that surfaces.
                    connection.invalidate()
        return
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        with _IN_MEMORY_LOCKS_GUARD:
            lock = _IN_MEMORY_LOCKS.setdefault((str(engine.url), namespace, key), threading.Lock())
        with lock:
            yield
        return
    # flock, not lockf: flock locks of two open() calls exclude each other within one process too (threads).
    with open(f"{path}.lock-{namespace}-{key}", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def init_app(app: Any) -> None:
    """Attach an engine and session factory to the app; close the request session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_engine() -> Engine:
    """The engine of the current app."""
    return current_app.extensions["db_engine"]


def new_session() -> Session:
    """A fresh session outside any request (CLI, worker)."""
    return current_app.extensions["db_sessionmaker"]()


def db_session() -> Session:
    """The session of the current request (one per request, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def scoped(model: type[M], clinic_id: int) -> Select:
    """SELECT of a clinical model limited to one clinic: the only way to query a clinical table."""
    return select(model).where(model.clinic_id == clinic_id)


def get_scoped(session: Session, model: type[M], clinic_id: int, row_id: int) -> M | None:
    """One row of a clinical table by id, or None when it is missing or belongs to another clinic."""
    return session.scalar(scoped(model, clinic_id).where(model.id == row_id))  # type: ignore[attr-defined]


def get_scoped_or_404(session: Session, model: type[M], clinic_id: int, row_id: int) -> M:
    """As get_scoped, but a missing row or another clinic's row answers 404 (never 403: no leak)."""
    row = get_scoped(session, model, clinic_id, row_id)
    if row is None:
        abort(404)
    return row


def timestamp_column(**kwargs: Any) -> Mapped[datetime]:
    """A UTC timestamp column defaulting to now."""
    return mapped_column(UTCDateTime(), default=utcnow, **kwargs)
