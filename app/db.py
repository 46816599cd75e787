"""Engine, session factory, declarative Base and the clinic-scoped query helpers."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

from flask import abort, current_app, g
from sqlalchemy import (
    ARRAY,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Select,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    false,
    func,
    select,
    text,
    update,
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


M = TypeVar("M", bound=ClinicScoped)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the session's transaction at the driver's speed: each column's
    conversion runs once per distinct value (a batch repeats its timestamps; values must be hashable), then
    PostgreSQL takes the rows with a binary COPY and SQLite with one executemany. For imports of thousands of
    rows, where SQLAlchemy's per-row parameter processing costs more than the database; errors surface as
    SQLAlchemy errors, as with session.execute."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    pick = itemgetter(*names)
    converters = _converters(table, dialect, names, rows)
    if converters:
        values: list[Any] = []
        for row in rows:
            line = list(pick(row))
            for position, converted in converters:
                value = line[position]
                if value is not None:
                    line[position] = converted[value]
            values.append(line)
    else:
        values = [pick(row) for row in rows]
    if dialect.name == "postgresql":
        _copy_rows(connection, table.name, names, values)
        return
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    # Names come from the table's metadata (quoted), values are bound: nothing here is user text.
    marks = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # noqa: S608
    connection.exec_driver_sql(statement, [tuple(line) for line in values])


def _converters(table: Table, dialect: Any, names: list[str], rows: list[dict[str, Any]]) -> list[tuple[int, dict]]:
    """(position, converted value of each distinct value) of the columns whose type converts what is bound. Each
    distinct value is converted once (a batch repeats its timestamps and flags); a column whose values all convert
    to themselves (aware UTC times on PostgreSQL, booleans) is left out, so that rows need no work at all."""
    converters = []
    for position, name in enumerate(names):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is None:
            continue
        converted = {value: processor(value) for value in {row[name] for row in rows} if value is not None}
        if any(new is not old and (type(new) is not type(old) or repr(new) != repr(old))
               for old, new in converted.items()):
            converters.append((position, converted))
    return converters


def among(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values`, bound on PostgreSQL as ONE array (= ANY(:values)): an IN list binds a parameter per value,
    which the driver and the server each pay for (~15 µs a value) when an import looks up hundreds at once.
    SQLite keeps the IN list (callers still send at most 500 values a query, under SQLite's limit).

    Only for a column that leads a unique index after clinic_id: the statement's text is the same for any number
    of values, so the driver prepares it and PostgreSQL may settle on a generic plan, which (seen with stale
    statistics) uses a partial or non-unique index for clinic_id alone and filters the array over every row."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def bulk_update(session: Session, table: Table, rows: list[dict[str, Any]], key: str = "id") -> None:
    """Update many rows of a table, each found by `key` (every row has the same keys), in the session's
    transaction: PostgreSQL in ONE statement (UPDATE … FROM unnest of an array per column; an UPDATE per row costs
    the server a statement each, ~100 µs), SQLite with one executemany."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    others = [name for name in names if name != key]
    if dialect.name == "postgresql":
        columns = _pg_columns(connection, table.name)
        # Names and types come from the table's metadata and the catalogue (quoted), values are bound arrays.
        arrays = ", ".join(f"CAST(:{name} AS {columns[name][1]}[])" for name in names)
        assignments = ", ".join(f"{quote(name)} = source.{quote(name)}" for name in others)
        connection.execute(text(
            f"UPDATE {quote(table.name)} AS target SET {assignments} FROM unnest({arrays}) "  # noqa: S608
            f"AS source({', '.join(quote(name) for name in names)}) WHERE target.{quote(key)} = source.{quote(key)}"),
            {name: [row[name] for row in rows] for name in names})
        return
    connection.execute(update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
        {name: bindparam(name) for name in others}), [{**row, f"b_{key}": row[key]} for row in rows])


def _pg_columns(connection: Any, table_name: str) -> dict[str, tuple[int, str]]:
    """Each column's PostgreSQL type as (oid, name), e.g. (1184, 'timestamp with time zone'): binary COPY sends
    values in the column's own binary form, UPDATE … FROM unnest casts its arrays to it. Read from the catalogue
    once per table and process."""
    if table_name not in _PG_COLUMNS:
        _PG_COLUMNS[table_name] = {name: (oid, type_name) for name, oid, type_name in connection.execute(text(
            "SELECT attname, atttypid::int, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"),
            {"table": table_name}).tuples()}
    return _PG_COLUMNS[table_name]


_PG_COLUMNS: dict[str, dict[str, tuple[int, str]]] = {}
_JSON_OIDS = {114, 3802}  # json, jsonb: SQLAlchemy hands over their text, which the binary form would encode again


def _copy_rows(connection: Any, table_name: str, names: list[str], values: list[list[Any]]) -> None:
    """COPY rows into a PostgreSQL table, in the binary format (no text to format here or to parse on the server:
    about a third of the client's time of the text format) unless a column is JSON."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = _pg_columns(connection, table_name)
    types = [columns[name][0] for name in names]
    binary = not _JSON_OIDS & set(types)
    statement = (f"COPY {quote(table_name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
                 + (" (FORMAT BINARY)" if binary else ""))
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            if binary:
                copy.set_types(types)
            for line in values:
                copy.write_row(line)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys of a table with an integer id, for rows the caller inserts itself in this
    transaction (so that a row can refer to its own id, e.g. a first version being its own lineage, without an
    UPDATE after the INSERT). PostgreSQL draws them from the id's sequence. SQLite lets one writer at a time: the
    no-op write takes this transaction's write lock first, so max(id) stays ours until commit."""
    if count <= 0:
        return []
    name = table.name
    if session.get_bind().dialect.name == "postgresql":
        # The sequence is looked up once (a scalar subquery; pg_get_serial_sequence per row costs ~8 µs each) and
        # the ids come back as one array, not `count` rows.
        return session.scalar(text(
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence(:table, 'id')::regclass))) "
            "FROM generate_series(1, :count)"), {"table": name, "count": count})
    session.execute(update(table).where(false()).values(id=table.c.id))
    start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(start + 1, start + 1 + count))


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
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
