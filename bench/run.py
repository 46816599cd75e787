"""Seeded benchmarks of what users wait for (issues 4, 6, 7, 9, 19, 20, 22, 24, 25 and 27): patient search, the
reception list, the patient page and its safety banner, the prescription check page (full check master, other
institutions' prescriptions; also with the 電子処方箋管理サービス's duplicate check), a signed 電子処方箋
registration's own time, the 院外処方箋 and specimen-label PDFs, the lab result table, the 6 information page, the
referral letter PDF, the imaging pages and the first CT frame; lab result import; the オンライン資格確認 medication
history of three years opened with a fresh fetch; saving a full-chart note; the patient screen handed over; and one
read of the partner JSON API with a bearer token (bench/partners.py).

The data set is written straight into the database; every figure is then measured through HTTP: the app runs
under waitress in a process of its own on loopback and the benchmark is a client that logged in through the login
form with its TOTP code, keeps the session cookie and sends the page's CSRF token — what a clinic's browser does.
Each line printed is one JSON object {name, n, p50_ms, p95_ms, target_ms, db} (lab_import adds lines_per_s and
target_lines_per_s).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from app import create_app
from app.cli import upgrade_database
from app.config import ROOT, TestConfig
from app.labs.models import LabResult
from app.patients.safety import read_banner
from bench import (
    billing,
    chart,
    eprescription,
    fhir,
    imaging,
    labs,
    notes,
    onshi,
    partners,
    patient_view,
    seed,
    summary,
)
from bench.check_master import prepare_full_check
from bench.server import BENCH_SECRET, Browser, Server, measure
from simulators.sharing_service.testing import RunningSharingService, start_sharing_simulator

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
# Overridable so that two checkouts can benchmark side by side.
BENCH_DATABASE = os.environ.get("KAMIKARTE_BENCH_DATABASE", "kamikarte_bench")
KANA_QUERIES = ["ヤマ", "たかはし", "ｻﾄｳ", "スズキ ハナコ", "わたなべ", "イトウ", "ナカ", "コバヤシ"]
#: 1,000 results, 300 prescriptions, 50 letters: issue 26's patient of ten years.
SUMMARY_HISTORY = summary.History()
DRUG_QUERIES = ["ろきそ", "アムロ", "ﾑｺｿﾙ", "メイン", "くらり", "カロナール", "ヒルド", "アレグラ"]


@dataclass(frozen=True)
class Scale:
    """How big the data set is and how many samples each figure takes."""

    patients: int
    visits: int
    drugs: int
    #: Timed requests a figure (p95 needs at least 100 to mean something); PDFs of letters take `slow_samples`.
    samples: int
    slow_samples: int
    #: The lab's file drop: orders (one 17-result message each) spread over this many patients.
    drop_patients: int
    drop_orders: int
    #: Messages pushed one at a time to the clinic's endpoint.
    pushes: int
    #: 適応・投与量 rows of the synthetic check master (the published edition has about a million).
    dose_rules: int = 1_000_000
    #: Notes of the full-chart clinic (bench/chart.py; issue 22 asks for a million).
    chart_notes: int = 1_000_000


FULL = Scale(patients=100_000, visits=300, drugs=20_000, samples=200, slow_samples=100, drop_patients=300,
             drop_orders=900, pushes=100)
#: For development: the letter PDFs take 30 samples, so their p95 is only indicative.
QUICK = Scale(patients=10_000, visits=300, drugs=20_000, samples=100, slow_samples=30, drop_patients=100,
              drop_orders=300, pushes=100, chart_notes=100_000)
#: Proves the harness works (tests): the figures mean nothing.
SMOKE = Scale(patients=300, visits=30, drugs=2_000, samples=10, slow_samples=5, drop_patients=10, drop_orders=20,
              pushes=10, dose_rules=10_000, chart_notes=2_000)


def database(db: str, workdir: Path) -> str:
    """A fresh, empty database of the benchmark's own (never the test suite's)."""
    if db == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
    admin.dispose()
    return f"{POSTGRES_SERVER}/{BENCH_DATABASE}"


def progress(db: str, message: str) -> None:
    """A line on stderr about where the run is, with the machine's load (other work on the same cores shows in
    every figure); stdout carries only the figures."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"bench [{db}]: {message} (load average {load}, {os.cpu_count()} CPUs)", file=sys.stderr, flush=True)


def wanted(name: str, only: list[str] | None) -> bool:
    """Whether a figure is asked for (all when `only` is empty)."""
    return not only or any(part in name for part in only)


Case = tuple[str, Callable[[], object], int, int, int]


def page_cases(browser: Browser, scale: Scale, record: seed.Record, history: tuple[int, int],
               label: tuple[int, int, int], summary_patient: int = 0) -> list[Case]:
    """(name, call, n, target ms, samples) of every page and PDF."""
    rng = random.Random(7)
    patient = record.patient_id
    token: list[str] = []

    def check_page() -> object:
        if not token:
            browser.get(f"/patients/{patient}/prescriptions/new")
            token.append(browser.token())
        return browser.request("POST", f"/patients/{patient}/prescriptions/new",
                               data={"csrf_token": token[0], **record.check_form})

    def get(path: str, **query: str) -> Callable[[], object]:
        return lambda: browser.get(path, **query)

    many, slow = scale.samples, scale.slow_samples
    return [
        ("patient_search_kana", lambda: browser.get("/patients", q=rng.choice(KANA_QUERIES)), scale.patients, 100,
         many),
        ("patient_search_id", lambda: browser.get("/patients", q=f"{rng.randrange(1, scale.patients):06d}"),
         scale.patients, 100, many),
        ("patient_search_birth_date",
         lambda: browser.get("/patients", q=rng.choice(["1958-03-02", "S33.3.2", "19900101"])), scale.patients, 100,
         many),
        # An era year alone (issue 26): every patient born that year, the first 50 in kana order.
        ("patient_search_era_year", lambda: browser.get("/patients", q=rng.choice(["S58", "昭和33", "h1", "S45"])),
         scale.patients, 100, many),
        ("reception_list", get("/reception"), scale.visits, 100, many),
        ("reception_list_sorted_kana", get("/reception", sort="kana", order="desc"), scale.visits, 100, many),
        ("patient_page", get(f"/patients/{patient}"), scale.patients, 100, many),
        # The summary of a patient of ten years (bench/summary.py): n is the number of lab results.
        ("patient_summary", get(f"/patients/{summary_patient}"), SUMMARY_HISTORY.results,
         100, many),
        ("drug_search", lambda: browser.get("/masters/drugs", q=rng.choice(DRUG_QUERIES)), scale.drugs, 15, many),
        # 10 lines checked against the profile (3 drug allergies, 2 薬剤禁忌), 30 current medicines, 20 other
        # institutions' prescriptions (read from the sharing service) and the full check master.
        ("prescription_check_page", check_page, 10, 100, many),
        # Load, lay out the 様式第二号, JAHIS symbol, ReportLab with the IPAex subset, access log.
        ("prescription_pdf", get(f"/patients/{patient}/prescriptions/{record.prescription_id}/print.pdf"), 4, 100,
         many),
        ("lab_result_table", get(f"/patients/{history[0]}/labs"), history[1], 100, many),
        ("lab_label_pdf", get(f"/patients/{label[0]}/labs/orders/{label[1]}/labels.pdf"), label[2], 100, many),
        ("six_information_page", get(f"/patients/{patient}/sharing"), 22, 100, many),
        ("referral_letter_pdf", get(f"/patients/{patient}/letters/{record.letter_id}/pdf"), 1, 500, slow),
        ("referral_letter_pdf_key_image", get(f"/patients/{patient}/letters/{record.letter_with_image_id}/pdf"), 1,
         500, slow),
    ]


def _check_sanity(browser: Browser, record: seed.Record, version: str) -> None:
    """The check page must show the profile's hits, other institutions' prescriptions and the loaded edition, or
    the figure would time a page that checked less than it says."""
    browser.get(f"/patients/{record.patient_id}/prescriptions/new")
    html = browser.post_form(f"/patients/{record.patient_id}/prescriptions/new", record.check_form).text
    for expected in ("薬剤アレルギー", "薬剤禁忌", "重複", "他院処方 みなと総合病院", f"チェックマスタ: {version}"):
        if expected not in html:
            raise SystemExit(f"the prescription check page shows no 「{expected}」: the bench profile is wrong")


def banner_cost(app: Any, clinic_id: int, patient_id: int, samples: int) -> tuple[int, tuple[float, float]]:
    """(lines, p50/p95) of what the safety banner adds to every patient page: its two queries (our records, the
    stored copy of other institutions' entries) on the database, read through the app's own session — the
    banner is on every page, so it cannot be timed as the difference of two pages."""
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        lines = sum(len(items) for items in read_banner(session, clinic_id, patient_id).sections.values())
        return lines, measure(lambda: read_banner(session, clinic_id, patient_id), samples)


def lab_drop(url: str, clinic_id: int, directory: Path) -> tuple[int, float]:
    """(result lines, seconds) of the drop imported by a fresh process (bench.lab_drop)."""
    done = subprocess.run([sys.executable, "-m", "bench.lab_drop", url, str(clinic_id), str(directory)],  # noqa: S603
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"lab drop failed: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["lines"], figures["seconds"]


def push(browser: Browser, payloads: list[bytes]) -> tuple[float, float]:
    """p50/p95 of single result messages pushed by the lab to the clinic's endpoint (bearer token), each for an
    order of its own; every answer must be the ACK of an accepted message."""
    queue = iter(payloads)

    def one() -> object:
        response = browser.request("POST", f"/integrations/lab/{seed.CLINIC_CODE}/results", data=next(queue),
                                   headers={"Authorization": f"Bearer {seed.LAB_PUSH_TOKEN}",
                                            "Content-Type": "application/hl7-v2"})
        if b"MSA|AA|" not in response.content:
            raise SystemExit(f"pushed message not accepted: {response.content[:300]!r}")
        return response

    return measure(one, len(payloads) - 5)


def run(db: str, scale: Scale, only: list[str] | None = None, workdir: Path | None = None) -> list[dict[str, Any]]:
    """Seed, serve, log in, measure; print and return one dict a figure (only those whose name contains one of
    `only`, when given). Temporary files go to `workdir` (kept) or a temporary directory (removed)."""
    keep = workdir is not None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="kamikarte-bench-"))
    started = time.monotonic()
    url = database(db, workdir)
    upgrade_database(url)
    # The app of the seeding (it also sets the key that seals integration secrets, as the server's does).
    app = create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))
    clinic_id, doctor = seed.seed_clinic(url, scale.patients, scale.visits)
    orthanc = imaging.start(url, clinic_id) if wanted("imaging", only) else None
    checking = wanted("prescription_check_page", only) or wanted("safety_banner", only)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulator's request log is not a figure
    sharing: RunningSharingService | None = start_sharing_simulator() if checking else None
    version = ""
    terminal = eprescription.start() if wanted("eprescription", only) else None
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        seed.seed_drugs(session, scale.drugs)
        record = seed.seed_record(session, clinic_id, 1)
        if sharing is not None:
            version = prepare_full_check(session, clinic_id, record.patient_id, record.other_institution_drugs,
                                         sharing.url, sharing.token(seed.CLINIC_CODE), workdir, scale.dose_rules)
        history_patient = labs.seed_history(session, clinic_id) if wanted("lab_result_table", only) else 0
        history = (history_patient, session.scalar(select(func.count()).select_from(LabResult)
                                                   .where(LabResult.patient_id == history_patient)))
        label = (*labs.label_order(session, clinic_id), 3) if wanted("lab_label_pdf", only) else (0, 0, 0)
        summary_patient = (summary.seed_history(session, clinic_id, SUMMARY_HISTORY)
                           if wanted("patient_summary", only) else 0)
        billing_visit = billing.seed(session, clinic_id, record.patient_id) if wanted("billing", only) else 0
        handed = patient_view.seed(session, clinic_id) if wanted(patient_view.NAME, only) else None
        orca = billing.start(session, clinic_id) if billing_visit else None
        partner = partners.seed(session, clinic_id) if wanted(partners.NAME, only) else None
        drop, pushes = [], []
        if wanted("lab_import", only):
            drop = labs.order_results(session, clinic_id, scale.drop_patients, scale.drop_orders, "D")
            pushes = labs.order_results(session, clinic_id, 10, scale.pushes + 5, "P", skip=scale.drop_patients)
    app.extensions["db_engine"].dispose()
    drop_files = workdir / "drop"
    labs.write_drop(drop_files, drop)
    charting = chart.seed(url, scale.chart_notes) if any(wanted(n, only) for n in chart.NAMES) else None
    seed.analyze(url)
    oqs = onshi.start(url, clinic_id, record.patient_id) if wanted("onshi", only) else None
    progress(db, f"data set ready in {time.monotonic() - started:.0f} s")
    server = Server(url, workdir / "server.log")
    results = []

    def emit(name: str, n: int, p50_p95: tuple[float, float], target: int, **extra: Any) -> None:
        figure = {"name": name, "n": n, "p50_ms": p50_p95[0], "p95_ms": p50_p95[1], **extra, "target_ms": target,
                  "db": db}
        results.append(figure)
        print(json.dumps(figure), flush=True)

    try:
        browser = Browser(server.base_url)
        browser.login(doctor.login_id, doctor.password, doctor.totp_secret)
        if wanted("prescription_check_page", only):
            _check_sanity(browser, record, version)
        for name, call, n, target, samples in page_cases(browser, scale, record, history, label, summary_patient):
            if wanted(name, only):
                emit(name, n, measure(call, samples), target)
        if wanted("safety_banner", only):
            emit("safety_banner", *banner_cost(app, clinic_id, record.patient_id, scale.samples), 5)
        if orthanc is not None:
            for name, n, p50_p95, target in imaging.figures(browser, record.patient_id, scale.samples):
                if wanted(name, only):
                    emit(name, n, p50_p95, target)
        if oqs is not None:
            for name, n, p50_p95, target in onshi.figures(browser, oqs[1], server.cpu_seconds, record.patient_id,
                                                          scale.samples):
                if wanted(name, only):
                    emit(name, n, p50_p95, target)
        if terminal is not None:
            eprescription.connect(url, clinic_id, terminal)
            service_form = eprescription.check_form(record.check_form)

            def service_check() -> object:
                return browser.post_form(f"/patients/{record.patient_id}/prescriptions/new", service_form)

            eprescription.check_sanity(terminal, service_check)
            emit("eprescription_check_page", 10, measure(service_check, scale.samples), 300)
            with app.app_context(), app.extensions["db_sessionmaker"]() as session:
                emit("eprescription_signed_registration", 4,
                     eprescription.registration_figure(session, record.prescription_id, scale.samples), 200)
        if wanted("note_", only):
            notes.prepare(url, clinic_id, record.patient_id)
            for name, n, p50_p95, target in notes.figures(browser, record.patient_id, scale.samples):
                if wanted(name, only):
                    emit(name, n, p50_p95, target)
        if handed is not None:
            with app.app_context(), app.extensions["db_sessionmaker"]() as session:
                for figure in patient_view.figures(server.base_url, *handed, scale.samples, session):
                    emit(*figure)
        if orca is not None:
            for name, n, p50_p95, target in billing.figures(browser, billing_visit, scale.samples):
                emit(name, n, p50_p95, target)
        if partner is not None:
            emit(*partners.figure(server.base_url, partner, record.patient_id, scale.samples))
        if charting is not None:
            for name, n, call, target, samples in chart.cases(server.base_url, *charting, scale.chart_notes,
                                                              scale.samples, scale.slow_samples):
                if wanted(name, only):
                    emit(name, n, measure(call, samples), target)
        if wanted("lab_import", only):
            lines, seconds = lab_drop(url, clinic_id, drop_files)
            emit("lab_import", lines, push(browser, pushes), 50, lines_per_s=round(lines / seconds),
                 target_lines_per_s=2000)
    finally:
        server.stop()
        if orthanc is not None:
            orthanc.stop()
        if oqs is not None:
            oqs[0].stop()
        if orca is not None:
            orca.stop()
        if sharing is not None:
            sharing.stop()
        if terminal is not None:
            terminal.stop()
    progress(db, f"done in {time.monotonic() - started:.0f} s")
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    """Parse the options and run the benchmarks on each database."""
    parser = argparse.ArgumentParser(description="Kamikarte benchmarks")
    parser.add_argument("--quick", action="store_true", help="a smaller data set, for development")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default="", help="comma-separated parts of figure names to measure (default: all)")
    args = parser.parse_args()
    only = [part for part in args.only.split(",") if part] or None
    for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        if only and all(part.startswith("fhir") for part in only):  # issue 25's figures: a clinic of their own
            fhir.run(db, 10_000, database(db, Path(tempfile.mkdtemp(prefix="kamikarte-bench-fhir-"))))
            continue
        run(db, QUICK if args.quick else FULL, only)


if __name__ == "__main__":
    main()
