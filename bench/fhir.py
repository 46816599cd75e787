"""Issue 25's FHIR figures: the bulk export of a 10,000-patient clinic (≤ 2 minutes, memory flat), a FHIR read of
a small resource (≥ 1,000 requests/s per process), a search of 100 Observations (≤ 100 ms).

The clinic is bench/seed.py's (10,000 patients) with, per patient, a diagnosis, an allergy, a set of vitals, two
lab results and a prescription of one drug; one patient has 100 lab results. The export runs in a process of its
own (its resident memory read from /proc after every batch of patients: the first batch's against the last's
shows whether it grows with the clinic). The facade is measured through HTTP against gunicorn with one worker
process (gthread, as deploy/gunicorn.conf.py runs it) with a partner's bearer token from POST /oauth/token.

    python -m bench.fhir [--db sqlite|postgresql] [--patients 10000]

prints one JSON line a figure: {name, n, p50_ms, p95_ms, target_ms, db, …}."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, select

from app import create_app
from app.cli import upgrade_database
from app.clinics.models import Clinic
from app.config import ROOT, TestConfig
from app.core.audit import Actor
from app.diagnoses.models import Diagnosis
from app.labs.models import LabResult
from app.partners.services import register_app
from app.patients.models import Patient
from app.patients.profile_models import Allergy, VitalSign
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from bench import seed
from bench.server import BENCH_SECRET, _free_port, measure

WHEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _versioned(clinic_id: int, patient_id: int) -> dict:
    return {"clinic_id": clinic_id, "patient_id": patient_id, "version": 1, "recorded_at": WHEN,
            "recorded_by_name": "ベンチ 医師", "retracted": False, "change_reason": ""}


def seed_records(url: str, clinic_id: int, patients: int) -> int:
    """Each patient's records (see the module's docstring); the id of the patient with 100 lab results."""
    engine = create_engine(url)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id).order_by(Patient.id)))
        for start in range(0, len(ids), 2000):
            chunk = ids[start:start + 2000]
            conn.execute(insert(Diagnosis), [{**_versioned(clinic_id, p), "disease_code": "8833421",
                                              "display_name": "高血圧症", "icd10": "I10", "prefix_codes": [],
                                              "suffix_codes": [], "is_suspected": False, "is_main": True,
                                              "started_on": date(2020, 4, 1), "outcome": "continuing"}
                                             for p in chunk])
            conn.execute(insert(Allergy), [{**_versioned(clinic_id, p), "category": "food", "substance": "さば",
                                            "reaction": "蕁麻疹", "severity": "mild", "notes": ""} for p in chunk])
            conn.execute(insert(VitalSign), [{**_versioned(clinic_id, p), "measured_at": WHEN, "height_cm": 165.0,
                                              "weight_kg": 60.0, "systolic": 124, "diastolic": 80, "pulse": 70}
                                             for p in chunk])
            conn.execute(insert(LabResult), [_lab(clinic_id, p, n) for p in chunk for n in range(2)])
            for p in chunk:
                rx = conn.execute(insert(Prescription).returning(Prescription.id), [{
                    "clinic_id": clinic_id, "patient_id": p, "doctor_name": "ベンチ 医師",
                    "issued_on": date(2026, 11, 20), "valid_until": date(2026, 11, 23), "issued_at": WHEN,
                    "status": "issued", "mode": "paper",
                    "consent": "", "refill_count": 0, "remarks": "", "acknowledged_checks": []}]).scalar_one()
                rp = conn.execute(insert(PrescriptionRp).returning(PrescriptionRp.id), [{
                    "prescription_id": rx, "number": 1, "form": 1, "usage_code": "1013044400000000",
                    "usage_text": "１日３回朝昼夕食後", "times_per_day": 3, "quantity": 7}]).scalar_one()
                conn.execute(insert(PrescriptionLine), [{
                    "rp_id": rp, "seq": 1, "drug_receipt_code": "620452801", "drug_name": "ムコスタ錠１００ｍｇ",
                    "yj_code": "2329021F1102", "by_generic_name": False, "generic_code": "", "generic_name": "",
                    "no_substitution": False, "dose": 3, "unit": "錠"}])
        conn.execute(insert(LabResult), [_lab(clinic_id, ids[0], n) for n in range(2, 100)])
    engine.dispose()
    return ids[0]


def _lab(clinic_id: int, patient_id: int, n: int) -> dict:
    day = date(2026, 11, 20) - timedelta(days=n)
    return {**_versioned(clinic_id, patient_id), "lab_code": "00001", "jlac10": "3D010000001926101",
            "name": "グルコース", "value_type": "NM", "value": str(90 + n % 40), "numeric_value": float(90 + n % 40),
            "unit": "mg/dL", "reference_range": "70-109", "flag": "", "result_status": "F", "comment": "",
            "collected_on": day, "is_in_house": False, "specimen_number": "", "sub_id": ""}


def export_child(url: str, clinic_id: int, out: str) -> None:
    """(In its own process) export the clinic; print seconds, patients and resident memory after each batch."""
    from app.transfer.export import export_clinic  # noqa: PLC0415 — the child process's own work

    app = create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))
    rss: list[int] = []

    def progress(_done: int, _total: int) -> None:
        with open("/proc/self/statm") as handle:  # noqa: PTH123
            rss.append(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1 << 20))

    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        started = time.monotonic()
        result = export_clinic(session, session.get(Clinic, clinic_id), Path(out), progress=progress)
        seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "patients": result.patients, "resources": sum(result.counts.values()),
                      "rss_first_mb": rss[0], "rss_last_mb": rss[-1], "rss_max_mb": max(rss)}))


def _token(base: str, url: str, clinic_id: int) -> str:
    app = create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        credentials = register_app(session, Actor(None, "bench", clinic_id), name="ベンチ連携", scopes=["fhir.read"],
                                   rate_limit_per_minute=100_000)
        session.commit()
    app.extensions["db_engine"].dispose()
    answer = requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(credentials.client_id, credentials.client_secret), timeout=10)
    answer.raise_for_status()
    return answer.json()["access_token"]


def _patient_ids(url: str, clinic_id: int) -> list[int]:
    """The clinic's patient ids (not 1…n: a database that held other rows before numbers them on)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id)))
    engine.dispose()
    return ids


def _gunicorn(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": BENCH_SECRET, "KAMIKARTE_COOKIE_SECURE": "0",
           "KAMIKARTE_OUTBOX_THREAD": "0", "KAMIKARTE_ORCA_POLL": "0", "KAMIKARTE_WEB_WORKERS": "1"}
    process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
         f"--bind=127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not start; see {log}")


def _worker_cpu(process: subprocess.Popen) -> float:
    """CPU seconds (user + system) of the gunicorn worker (the master's only child)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    fields = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_rate(base: str, token: str, ids: list[int], process: subprocess.Popen, seconds: float = 10,
              threads: int = 8) -> dict:
    """Requests/s of GET /fhir/Patient/<id> by `threads` keep-alive clients, and per CPU-second of the worker."""
    stop = time.monotonic() + seconds
    counts = [0] * threads
    failures: list[str] = []

    def client(index: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        rng = random.Random(index)
        while time.monotonic() < stop:
            answer = http.get(f"{base}/fhir/Patient/pt-{rng.choice(ids)}", timeout=10)
            if answer.status_code != 200:
                failures.append(answer.text[:200])
                return
            counts[index] += 1

    cpu_before, started = _worker_cpu(process), time.monotonic()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.monotonic() - started, _worker_cpu(process) - cpu_before
    if failures:
        raise SystemExit(f"FHIR read failed: {failures[0]}")
    total = sum(counts)
    return {"requests": total, "per_s": round(total / elapsed), "per_cpu_s": round(total / cpu) if cpu else None}


def run(db: str, patients: int, url: str | None = None, seconds: float = 10, samples: int = 200,
        workdir: Path | None = None) -> list[dict]:
    """Seed, export, serve, measure; print and return the figures. `url` an empty database (default: a SQLite
    file in `workdir`, or for PostgreSQL $KAMIKARTE_BENCH_FHIR_URL); `seconds` of the read-rate run."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="kamikarte-bench-fhir-"))
    url = url or (f"sqlite:///{workdir / 'bench.sqlite3'}" if db == "sqlite"
                  else os.environ["KAMIKARTE_BENCH_FHIR_URL"])
    upgrade_database(url)
    # The app of the seeding (it sets the key that seals integration secrets, as the server's does).
    seeding = create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))
    clinic_id, _doctor = seed.seed_clinic(url, patients, 30)
    seeding.extensions["db_engine"].dispose()
    history = seed_records(url, clinic_id, patients)
    seed.analyze(url)
    figures = []

    def emit(figure: dict) -> None:
        figures.append({**figure, "db": db})
        print(json.dumps(figures[-1], ensure_ascii=False), flush=True)

    child = subprocess.run([sys.executable, "-m", "bench.fhir", "export-child", url, str(clinic_id),  # noqa: S603
                            str(workdir / "export")], cwd=ROOT, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(child.stderr[-3000:])
    done = json.loads(child.stdout.strip().splitlines()[-1])
    ms = round(done["seconds"] * 1000)
    emit({"name": "fhir_bulk_export", "n": done["patients"], "p50_ms": ms, "p95_ms": ms, "target_ms": 120_000,
          "cpu_s": round(done["cpu_seconds"], 1), "resources": done["resources"],
          "rss_first_batch_mb": done["rss_first_mb"], "rss_last_batch_mb": done["rss_last_mb"],
          "rss_max_mb": done["rss_max_mb"]})
    process, base = _gunicorn(url, workdir / "gunicorn.log")
    try:
        token = _token(base, url, clinic_id)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        ids = _patient_ids(url, clinic_id)

        def one_read() -> object:
            return http.get(f"{base}/fhir/Patient/pt-{random.choice(ids)}", timeout=10)

        rate = read_rate(base, token, ids, process, seconds)
        read = dict(zip(("p50_ms", "p95_ms"), measure(one_read, samples), strict=True))
        emit({"name": "fhir_read_patient", "n": patients, **read, "target_ms": 1,
              "requests_per_s": rate["per_s"], "requests_per_worker_cpu_s": rate["per_cpu_s"],
              "target_requests_per_s": 1000})

        def search() -> object:
            answer = http.get(f"{base}/fhir/Observation", params={"patient": f"Patient/pt-{history}",
                                                                   "code": "3D010000001926101", "_count": "100"},
                              timeout=10)
            if answer.status_code != 200 or len(answer.json()["entry"]) != 100:
                raise SystemExit(f"search did not return 100 Observations: {answer.text[:300]}")
            return answer

        found = dict(zip(("p50_ms", "p95_ms"), measure(search, samples // 2), strict=True))
        emit({"name": "fhir_search_100_observations", "n": 100, **found, "target_ms": 100})
    finally:
        process.terminate()
        process.wait(timeout=20)
    return figures


def main() -> None:
    """`python -m bench.fhir [--db …] [--patients …]`, or the export child."""
    if len(sys.argv) > 1 and sys.argv[1] == "export-child":
        export_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description="Kamikarte FHIR benchmarks")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    run(args.db, args.patients)


if __name__ == "__main__":
    main()
