"""bench/run's harness on its smallest data set (SQLite): figures come from pages served over HTTP to a session
that logged in through the form with TOTP, and are printed in the benchmark output contract."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, select

from app.core.models import AccessLogEntry, AuditEntry
from bench.run import SMOKE, run


def test_bench_times_pages_served_over_http_to_a_logged_in_doctor(tmp_path, capsys):
    figures = run("sqlite", SMOKE, only=["patient_search_id", "patient_page"], workdir=tmp_path)

    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert printed == figures
    assert [f["name"] for f in figures] == ["patient_search_id", "patient_page"]
    for figure in figures:
        assert list(figure) == ["name", "n", "p50_ms", "p95_ms", "target_ms", "db"]
        assert figure["db"] == "sqlite" and figure["target_ms"] == 100 and figure["n"] == SMOKE.patients
        assert 0 < figure["p50_ms"] <= figure["p95_ms"]
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    with engine.connect() as conn:
        login = conn.execute(select(AuditEntry.summary).where(AuditEntry.action == "auth.login")).scalars().all()
        views = conn.execute(select(AccessLogEntry.user_agent, AccessLogEntry.ip_address).where(
            AccessLogEntry.resource == "patient.page")).all()
    engine.dispose()
    assert login == [{"second_factor": "totp"}]
    # Every timed view (and the 5 warm-up ones) reached the server from an HTTP client on loopback.
    assert len(views) == SMOKE.samples + 5
    assert {(agent.split("/")[0], ip) for agent, ip in views} == {("python-requests", "127.0.0.1")}


def test_bench_times_the_eprescription_check_page_and_a_signed_registration(tmp_path, capsys):
    figures = run("sqlite", SMOKE, only=["eprescription"], workdir=tmp_path)
    assert [(f["name"], f["target_ms"]) for f in figures] == [("eprescription_check_page", 300),
                                                             ("eprescription_signed_registration", 200)]
    assert all(0 < f["p50_ms"] <= f["p95_ms"] for f in figures)
