"""python -m bench.load.run: the load test — many clinics' staff working at once against the production layout.

Seeds a database of `--clinics` × `--patients` patients (default 500 × 2,000 on PostgreSQL), serves the app the
way deploy/ does (gunicorn, one worker process per core) and runs locust (bench/load/locustfile.py) on the same
machine in steps of growing users, then once for `--sustain` seconds at the largest step. Prints one JSON line a
step — {name, users, requests, rps, p50_ms, p95_ms, pdf_p95_ms, failures, rss_mb, db} — and the server's
memory per process before and after, so the curve (requests/s against p95 as users grow) can be read off.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from app import create_app
from app.cli import upgrade_database
from app.config import ROOT, TestConfig
from bench.load.demo import demo_accounts, start_demo
from bench.load.process import start_answering
from bench.load.seed import seed_load
from bench.run import BENCH_DATABASE, POSTGRES_SERVER, database, progress
from bench.server import BENCH_SECRET

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PDF_NAMES = {"prescription PDF", "letter PDF"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    """The app under gunicorn with deploy/gunicorn.conf.py, as the systemd unit runs it (plain-HTTP cookies: no TLS
    proxy in front here)."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": BENCH_SECRET, "KAMIKARTE_COOKIE_SECURE": "0",
           "KAMIKARTE_OUTBOX_THREAD": "0", "KAMIKARTE_ORCA_POLL": "0", "KAMIKARTE_WEB_WORKERS": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "--bind",
               f"127.0.0.1:{port}", "wsgi:app"]
    base = f"http://127.0.0.1:{port}"
    return start_answering(command, env, log, base, timeout=60), base


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gunicorn_master(root_pid: int) -> int:
    """The gunicorn master: the process itself, or (the demo) its child running gunicorn."""
    for pid in [root_pid, *_children(root_pid)]:
        if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return root_pid


def rss_mb(root_pid: int) -> list[float]:
    """Resident memory of the server's processes (the gunicorn master and its workers), in MB."""
    master = _gunicorn_master(root_pid)
    pids = [master, *_children(master)]
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


def locust_step(base: str, accounts: Path, users: int, seconds: int, prefix: Path, shared: bool = False) -> dict:
    """One locust run of `users` users for `seconds` (the statistics restart once all have logged in: the
    locustfile resets them)."""
    env = {**os.environ, "KAMIKARTE_LOAD_ACCOUNTS": str(accounts),
           "KAMIKARTE_LOAD_SHARED_SESSIONS": "1" if shared else "0"}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base, "-u",
               str(users), "-r", str(max(users // 2, 1)), "-t", f"{seconds}s", "--only-summary",
               "--csv", str(prefix)]
    subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True)  # noqa: S603 — our own command
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))  # noqa: SIM115
    total = next(r for r in rows if r["Name"] == "Aggregated")
    pdf_p95 = max((float(r["95%"]) for r in rows if r["Name"] in PDF_NAMES and r["95%"] != "N/A"), default=0.0)
    return {"requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "rps": round(float(total["Requests/s"]), 1), "p50_ms": float(total["50%"]),
            "p95_ms": float(total["95%"]), "pdf_p95_ms": pdf_p95}


def serve_seeded(db: str, clinics: int, patients: int, active: int, workers: int,
                 workdir: Path, reuse: Path | None = None) -> tuple[subprocess.Popen, str, Path]:
    """Seed the many-clinic data set and serve it; (server, base URL, accounts file). With `reuse` (the files
    directory of an earlier run on the same database) the data set that run seeded is served again as it is."""
    if reuse is not None:
        url = (f"{POSTGRES_SERVER}/{BENCH_DATABASE}" if db == "postgresql"
               else f"sqlite:///{reuse / 'bench.sqlite3'}")
        server, base = start_server(url, workers, workdir / "server.log")
        return server, base, reuse / "accounts.json"
    url = database(db, workdir)
    upgrade_database(url)
    create_app(replace(TestConfig(), DATABASE_URL=url, SECRET_KEY=BENCH_SECRET))  # sets the sealing key
    started = time.monotonic()
    accounts = workdir / "accounts.json"
    seed_load(url, accounts, clinics, patients, active, progress=lambda message: progress(db, message))
    progress(db, f"{clinics * patients:,} patients seeded in {time.monotonic() - started:.0f} s")
    server, base = start_server(url, workers, workdir / "server.log")
    return server, base, accounts


def serve_demo(workers: int, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    """The demo itself on a fresh SQLite file; (its runner, base URL, accounts file of its doctors)."""
    database = workdir / "demo.sqlite3"
    server, base = start_demo(database, _free_port(), workers, workdir / "server.log")
    accounts = workdir / "accounts.json"
    try:
        demo_accounts(database, accounts)
    except BaseException:
        server.terminate()  # the demo stops everything it started
        server.wait(timeout=30)
        raise
    return server, base, accounts


def run_load(db: str, serve: tuple[subprocess.Popen, str, Path], steps: list[int], step_seconds: int,
             sustain: int, workdir: Path, shared_sessions: bool = False) -> list[dict]:
    """Step the users up against a served app, sustain; print and return one dict a step (and the memory line)."""
    server, base, accounts = serve
    figures = []

    def emit(figure: dict) -> None:
        figures.append(figure)
        print(json.dumps(figure), flush=True)

    try:
        before = rss_mb(server.pid)
        plan = [(users, step_seconds) for users in steps] + ([(steps[-1], sustain)] if sustain else [])
        for number, (users, seconds) in enumerate(plan):
            figure = locust_step(base, accounts, users, seconds, workdir / f"step{number}", shared_sessions)
            emit({"name": "load_sustained" if number == len(steps) else "load_step", "users": users,
                  "seconds": seconds, **figure, "rss_mb": rss_mb(server.pid), "db": db})
        emit({"name": "load_memory", "rss_mb_before": before, "rss_mb_after": rss_mb(server.pid), "db": db})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def main() -> None:
    """Parse the options and run the load test."""
    parser = argparse.ArgumentParser(description="Kamikarte load test")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--demo", action="store_true",
                        help="the demo itself (SQLite, its own seed; its doctors' logins shared by the users)")
    parser.add_argument("--clinics", type=int, default=500)
    parser.add_argument("--patients", type=int, default=2000, help="patients per clinic")
    parser.add_argument("--active", type=int, default=100, help="clinics whose staff log in (users at most)")
    parser.add_argument("--steps", default="10,25,50,75,100", help="users per step")
    parser.add_argument("--step-seconds", type=int, default=45, help="at least 35: an account logs in once a step")
    parser.add_argument("--sustain", type=int, default=300, help="seconds at the largest step (0: none)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reuse", type=Path, help="the files directory an earlier run printed: serve its data set "
                        "again instead of seeding (the same --db and database)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kamikarte-load-"))
    db = "sqlite-demo" if args.demo else args.db
    serve = (serve_demo(args.workers, workdir) if args.demo
             else serve_seeded(args.db, args.clinics, args.patients, args.active, args.workers, workdir, args.reuse))
    run_load(db, serve, [int(s) for s in args.steps.split(",") if s], args.step_seconds, args.sustain, workdir,
             shared_sessions=args.demo)
    progress(db, f"done; files in {workdir}")


if __name__ == "__main__":
    main()
