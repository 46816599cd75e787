"""bench/run's harness on its smallest data set (SQLite): figures come from pages served over HTTP to a session
that logged in through the form with TOTP, and are printed in the benchmark output contract."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, select

from app.core.models import AccessLogEntry, AuditEntry
from app.prescriptions.models import CheckMasterVersion
from bench.load.run import run_load, serve_seeded
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


def test_load_test_logs_in_staff_of_several_clinics_and_reports_a_step(tmp_path):
    serve = serve_seeded("sqlite", clinics=3, patients=50, active=2, workers=2, workdir=tmp_path)
    figures = run_load("sqlite", serve, steps=[2], step_seconds=10, sustain=0, workdir=tmp_path)

    step, memory = figures
    assert step["name"] == "load_step" and step["users"] == 2 and step["db"] == "sqlite"
    # Counted from the last login on (a busy machine leaves few requests in the window: only some are asked for).
    assert step["failures"] == 0 and step["requests"] >= 5 and 0 < step["p50_ms"] <= step["p95_ms"]
    assert len(step["rss_mb"]) == 3 and memory["name"] == "load_memory"
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    with engine.connect() as conn:
        logins = conn.execute(select(AuditEntry.clinic_id).where(AuditEntry.action == "auth.login")).scalars().all()
    engine.dispose()
    assert len(set(logins)) == 2  # one doctor in each active clinic, logged in through the form with TOTP


def test_load_users_can_share_one_login_of_an_account(tmp_path):
    # The demo's way (few accounts, each logging in once per TOTP step): six users, one account, one login.
    serve = serve_seeded("sqlite", clinics=2, patients=50, active=1, workers=2, workdir=tmp_path)
    step, _memory = run_load("sqlite", serve, steps=[6], step_seconds=10, sustain=0, workdir=tmp_path,
                             shared_sessions=True)
    assert step["failures"] == 0 and step["requests"] >= 5
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    with engine.connect() as conn:
        logins = conn.execute(select(AuditEntry.id).where(AuditEntry.action == "auth.login")).scalars().all()
        prints = conn.execute(select(AccessLogEntry.user_agent).where(AccessLogEntry.action == "print")).all()
    engine.dispose()
    assert len(logins) == 1
    assert prints  # the PDFs were served as PDFs (a refused print answers a redirect, which fails the step)


def test_bench_checks_against_the_full_master_and_other_institutions_and_times_the_banner(tmp_path, capsys):
    figures = run("sqlite", SMOKE, only=["prescription_check_page", "safety_banner"], workdir=tmp_path)
    assert [(f["name"], f["target_ms"]) for f in figures] == [("prescription_check_page", 100), ("safety_banner", 5)]
    # The banner of the fully recorded patient: 3 drug allergies, a food allergy, 2 薬剤禁忌 and 3 other
    # institutions' entries (drug and food allergy, 薬剤禁忌) fetched once through the 6情報 service.
    assert figures[1]["n"] == 9
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    with engine.connect() as conn:
        loaded = conn.execute(select(CheckMasterVersion.dose_rule_count, CheckMasterVersion.pair_count)).one()
    engine.dispose()
    assert loaded == (SMOKE.dose_rules, 4_000)
def test_bench_times_the_eprescription_check_page_and_a_signed_registration(tmp_path, capsys):
    figures = run("sqlite", SMOKE, only=["eprescription"], workdir=tmp_path)
    assert [(f["name"], f["target_ms"]) for f in figures] == [("eprescription_check_page", 300),
                                                             ("eprescription_signed_registration", 200)]
    assert all(0 < f["p50_ms"] <= f["p95_ms"] for f in figures)


def test_bench_times_the_patient_screen_in_a_handed_over_session(tmp_path, capsys):
    figures = run("sqlite", SMOKE, only=["patient_screen"], workdir=tmp_path)
    assert [(f["name"], f["n"], f["target_ms"]) for f in figures] == [("patient_screen", 1000, 150)]
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    with engine.connect() as conn:
        shown = conn.execute(select(AccessLogEntry.resource).where(AccessLogEntry.action == "patient_view")).scalars()
        resources = list(shown)
    engine.dispose()
    # The showing (every section chosen), then each timed load of the locked screen (and the sanity check's).
    assert resources[0].startswith("patient_view:いまの病気・アレルギー・お薬・検査の結果・これからの検査・紹介状#")
    assert resources[1:] == ["patient_view.screen"] * (1 + 5 + SMOKE.samples)


def test_fhir_bench_exports_a_clinic_and_times_the_facade(tmp_path, capsys):
    from bench import fhir

    figures = fhir.run("sqlite", 60, seconds=1, samples=10, workdir=tmp_path)
    assert [f["name"] for f in figures] == ["fhir_bulk_export", "fhir_read_patient", "fhir_search_100_observations"]
    export, read, search = figures
    assert export["n"] == 60 and export["resources"] > 60 * 6 and export["rss_last_batch_mb"] > 0
    assert read["requests_per_s"] > 0 and read["target_requests_per_s"] == 1000
    assert 0 < search["p50_ms"] <= search["p95_ms"] and search["target_ms"] == 100
