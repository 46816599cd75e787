"""Fixtures: the app on SQLite and on PostgreSQL (migrated by Alembic), a client, factories, login helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.auth.passwords import use_fast_hashing_for_tests
from app.cli import upgrade_database
from app.config import TestConfig
from tests.helpers import HTMLClient

use_fast_hashing_for_tests()

POSTGRES_URL = os.environ.get("KAMIKARTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: The backends a developer asked for (None: each test's own, see pytest_generate_tests).
CHOSEN_BACKENDS = ([b.strip() for b in os.environ["KAMIKARTE_TEST_BACKENDS"].split(",") if b.strip()]
                   if os.environ.get("KAMIKARTE_TEST_BACKENDS") else None)


def _postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> str:
    """The test PostgreSQL database, emptied and migrated once per run."""
    reason = _postgres_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")
    url = _worker_database(POSTGRES_URL)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade_database(url)
    return url


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own database (test_gw0 …), created when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _truncate_postgres(url: str) -> None:
    """Empty every table (the migrated schema stays) and restart the ids. DELETE with triggers off (the audit
    trail's append-only rule, foreign keys) is used rather than TRUNCATE: a test leaves a few rows, and TRUNCATE
    makes new files for each of some 130 tables and their indexes — half a second before every test."""
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.exec_driver_sql("; ".join(f'DELETE FROM "{table}"' for table in tables))  # noqa: S608 (names from pg_tables); one round trip
        conn.execute(text("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c JOIN pg_namespace n "
                          "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"))
    engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give each test that needs a database its backends: PostgreSQL, or those its `backends` mark names.

    PostgreSQL is the production database and every test runs on it. SQLite is the embedded default the demo runs
    on: the tests of what behaves differently on it (locking and concurrent writers, search, the audit chain, the
    outbox's claiming, sessions, backup and restore, migrations, bulk import and export, clinic isolation) are
    marked `backends("sqlite", "postgresql")`, the demo's own tests `backends("sqlite")`, and the browser tests
    run on SQLite by their own fixture. KAMIKARTE_TEST_BACKENDS, when set, decides for unmarked tests too (e.g.
    `sqlite` to iterate without PostgreSQL)."""
    if "database_url" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    own = list(marker.args) if marker else ["postgresql"]
    wanted = own if CHOSEN_BACKENDS is None else [b for b in CHOSEN_BACKENDS if marker is None or b in own]
    if not wanted:  # KAMIKARTE_TEST_BACKENDS left out every backend this test runs on
        wanted = [pytest.param(b, marks=pytest.mark.skip(reason=f"{b} is not in KAMIKARTE_TEST_BACKENDS"))
                  for b in own]
    metafunc.parametrize("database_url", wanted, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database of the backend the test is parametrized with."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema")
    _truncate_postgres(url)
    return url


@pytest.fixture
def config(database_url: str) -> TestConfig:
    """The test configuration on the fixture's database."""
    return replace(TestConfig(), DATABASE_URL=database_url)


#: One app per PostgreSQL URL (one per worker), reused from test to test: building the app costs ~0.1 s (Werkzeug
#: compiles some 190 routes) and most tests need one. Each test still gets an emptied database, and what a test
#: changes in app.config or app.extensions is put back after it. SQLite tests get a new file, so a new app.
_POSTGRES_APPS: dict[str, Any] = {}


@pytest.fixture
def app(config: TestConfig) -> Iterator:
    """The app under test."""
    if make_url(config.DATABASE_URL).get_backend_name() != "postgresql":
        application = create_app(config)
        yield application
        application.extensions["db_engine"].dispose()
        return
    application = _POSTGRES_APPS.get(config.DATABASE_URL)
    if application is None:
        application = _POSTGRES_APPS[config.DATABASE_URL] = create_app(config)
    settings, extensions = dict(application.config), dict(application.extensions)
    yield application
    # Closing the pooled connections: a test may have dropped and rebuilt the schema (the restore drill), and a
    # connection's prepared statements would still name the old tables.
    application.extensions["db_engine"].dispose()
    application.config.clear()
    application.config.update(settings)
    application.extensions.clear()
    application.extensions.update(extensions)


@pytest.fixture
def session(app):
    """A database session outside requests, for arranging and checking.

    No app context is held open: each test-client request must get its own `g`, as in production.
    """
    s = app.extensions["db_sessionmaker"]()
    yield s
    s.close()


@pytest.fixture
def client(app) -> HTMLClient:
    """A browser-like test client: cookies, CSRF tokens read from forms."""
    return HTMLClient(app.test_client())


@pytest.fixture
def backend(database_url: str) -> str:
    """Which database this test runs on."""
    return make_url(database_url).get_backend_name()


@pytest.fixture(scope="session")
def orca_server():
    """The ORCA simulator on a free port for the whole run (reached over real HTTP only)."""
    from simulators.orca.testing import start_orca_simulator

    server = start_orca_simulator()
    yield server
    server.stop()


@pytest.fixture
def orca(orca_server):
    """The simulator with fresh data and no faults."""
    orca_server.reset()
    return orca_server


@pytest.fixture(scope="session")
def eprescription_server():
    """The 資格確認端末 simulator with the 電子処方箋管理サービス behind it, on a free port for the whole run (real
    HTTP only)."""
    from simulators.eprescription.testing import start_eprescription_simulator

    server = start_eprescription_simulator()
    yield server
    server.stop()


@pytest.fixture
def eprescription(eprescription_server):
    """The terminal and service with no files, no prescriptions and no fault."""
    eprescription_server.reset()
    return eprescription_server


@pytest.fixture(scope="session")
def orthanc_server():
    """A private Orthanc (authentication on, DICOMweb) for the whole run; under xdist one per worker, each on
    its own free port. Tests use PatientIDs of their own, so they never see each other's studies."""
    from app.integrations.pacs.orthanc_process import orthanc_missing_reason, start_orthanc

    reason = orthanc_missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Orthanc is required in CI: {reason}")
        pytest.skip(reason)
    server = start_orthanc()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab_center_server():
    """The lab company simulator on a free port for the whole run (real HTTP only)."""
    from simulators.lab_center.testing import start_lab_simulator

    server = start_lab_simulator()
    yield server
    server.stop()


@pytest.fixture
def lab_center(lab_center_server):
    """The lab simulator with no orders, no results, no fault."""
    lab_center_server.reset()
    return lab_center_server


@pytest.fixture(scope="session")
def sharing_server():
    """The 電子カルテ情報共有サービス simulator on a free port for the whole run (real HTTP only)."""
    from simulators.sharing_service.testing import start_sharing_simulator

    server = start_sharing_simulator()
    yield server
    server.stop()


@pytest.fixture
def sharing(sharing_server):
    """The simulator holding nothing, with no fault."""
    sharing_server.reset()
    return sharing_server
