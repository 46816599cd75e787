"""python -m bench.load.cpu: the CPU time each request of the load test's mix costs the app, in process.

The wall-clock figures of bench/load depend on everything else the machine runs; the CPU time a request takes in
the app's own process does not (much). This seeds a small copy of the load test's data set (the same seed, fewer
clinics), builds the app with the production settings an install reads from the environment (no test mode), logs
in through the login form with the authenticator's code under Flask's test client, and for each request of the
mix (bench/load/locustfile.py) prints one JSON line {name, n, cpu_ms_mean, cpu_ms_p50, queries, db}: the
process's CPU time (time.process_time) and the SQL statements of one request. `--profile NAME` prints where the
CPU time of that request goes (cProfile, the functions of most cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import event

from app import create_app
from app.cli import upgrade_database
from app.config import Config, TestConfig
from bench.load.seed import seed_load
from bench.run import database, progress
from bench.server import BENCH_SECRET
from tests.helpers import csrf_from, totp_code

Call = Callable[[], Any]


def mix(client: Any, record: dict) -> list[tuple[str, Call]]:
    """The requests of the load test's mix (bench/load/locustfile.py), as calls of the test client."""
    patient = record["patient_id"]
    token = csrf_from(client.get(f"/patients/{patient}/prescriptions/new").get_data(as_text=True))
    etag = client.get("/reception/revision").headers.get("ETag", "")
    return [
        ("/reception/revision (304)", lambda: client.get("/reception/revision", headers={"If-None-Match": etag})),
        ("/reception", lambda: client.get("/reception")),
        ("/patients?q=", lambda: client.get("/patients", query_string={"q": "ヤマ"})),
        ("/patients/[id]", lambda: client.get(f"/patients/{patient}")),
        ("/patients/[id]/profile", lambda: client.get(f"/patients/{patient}/profile")),
        ("/patients/[id]/labs", lambda: client.get(f"/patients/{patient}/labs")),
        ("check (10 lines)", lambda: client.post(f"/patients/{patient}/prescriptions/new",
                                                 data={"csrf_token": token, **record["check_form"]})),
        ("prescription PDF",
         lambda: client.get(f"/patients/{patient}/prescriptions/{record['prescription_id']}/print.pdf")),
        ("letter PDF", lambda: client.get(f"/patients/{patient}/letters/{record['letter_id']}/pdf")),
    ]


def log_in(client: Any, account: dict) -> None:
    """The login form, then the authenticator's code, as the load test's users do."""
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_from(page), "login_id": account["login_id"],
                                "password": account["password"]})
    page = client.get("/login/verify").get_data(as_text=True)
    answer = client.post("/login/verify", data={"csrf_token": csrf_from(page),
                                                "code": totp_code(account["totp_secret"])})
    if answer.status_code != 302:
        raise SystemExit(f"second factor refused ({answer.status_code})")


def measure(name: str, call: Call, n: int, statements: list[str]) -> dict:
    """CPU milliseconds of `n` calls (after a few untimed ones) and the statements of one call."""
    for _ in range(3):
        answer = call()
        if answer.status_code not in (200, 304):
            raise SystemExit(f"{name} answered {answer.status_code} {answer.headers.get('Location')}")
    statements.clear()
    call()
    queries = len(statements)
    samples = []
    for _ in range(n):
        started = time.process_time()
        call()
        samples.append((time.process_time() - started) * 1000)
    return {"name": name, "n": n, "cpu_ms_mean": round(statistics.fmean(samples), 2),
            "cpu_ms_p50": round(statistics.median(samples), 2), "queries": queries}


def main() -> None:
    """Seed, build the app as production does, log in, measure each request of the mix."""
    parser = argparse.ArgumentParser(description="CPU time per request of the load test's mix")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clinics", type=int, default=20)
    parser.add_argument("--patients", type=int, default=2000, help="patients per clinic")
    parser.add_argument("-n", type=int, default=50, help="timed requests of each kind")
    parser.add_argument("--profile", default="", help="a request's name: print where its CPU time goes")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kamikarte-cpu-"))
    url = database(args.db, workdir)
    upgrade_database(url)
    create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))  # sets the sealing key
    accounts = workdir / "accounts.json"
    seed_load(url, accounts, args.clinics, args.patients, 1, progress=lambda message: progress(args.db, message))
    account = json.loads(accounts.read_text(encoding="utf-8"))[0]
    os.environ.update({"KAMIKARTE_OUTBOX_THREAD": "0", "KAMIKARTE_ORCA_POLL": "0", "KAMIKARTE_LAB_POLL": "0"})
    app = create_app(replace(Config(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET, SESSION_COOKIE_SECURE=False))
    statements: list[str] = []
    event.listen(app.extensions["db_engine"], "before_cursor_execute",
                 lambda _c, _k, statement, *_a: statements.append(statement))
    client = app.test_client()
    log_in(client, account)
    for name, call in mix(client, account["record"]):
        if args.profile and args.profile != name:
            continue
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [call() for _ in range(args.n)])  # noqa: B023 — run at once
            pstats.Stats(profiler).sort_stats(os.environ.get("KAMIKARTE_PROFILE_SORT", "cumulative")).print_stats(45)
            continue
        print(json.dumps({**measure(name, call, args.n, statements), "db": args.db}), flush=True)


if __name__ == "__main__":
    main()
