# ruff: noqa: S603 — the command run is the web unit's own gunicorn line
"""Two web servers on one database, as two machines behind a load balancer (or two workers of one): what one
process learns, the other knows. A login made through one is a login at the other, a logout at the other ends it
for both, and failed logins counted by both lock the account. Runs on SQLite (the demo: WAL, busy timeout) and on
PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from sqlalchemy import select

from app.transfer.models import TransferJob
from bench.server import Browser
from tests.factories import DEMO_PASSWORD, make_clinic, make_patient, make_user
from tests.test_production_layout import ROOT, _exec_lines, _free_port, _wait_for

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _web_environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "s" * 64, "KAMIKARTE_SECRETS_KEY": "k" * 64,
           "KAMIKARTE_COOKIE_SECURE": "0", "KAMIKARTE_OUTBOX_THREAD": "0", "KAMIKARTE_ORCA_POLL": "0",
           "KAMIKARTE_LAB_POLL": "0", "KAMIKARTE_WEB_WORKERS": "1", **extra}
    env.pop("KAMIKARTE_ENV", None)
    return env


def _start_web(database_url: str, port: int, **extra: str) -> subprocess.Popen:
    command = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in _exec_lines("kamikarte-web.service")[0]]
    return subprocess.Popen(command, cwd=ROOT, env=_web_environment(database_url, **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def two_servers(database_url):
    ports = [_free_port(), _free_port()]
    processes = [_start_web(database_url, port) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            assert _wait_for(f"http://127.0.0.1:{port}/healthz", process).status_code == 200
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_a_login_logout_and_lockout_hold_across_processes(session, two_servers):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, "doctor")
    other = make_user(session, clinic, "nurse")
    session.commit()
    first, second = two_servers

    browser = Browser(first)
    browser.login(doctor.login_id, DEMO_PASSWORD, doctor.totp_secret)
    browser.base_url = second  # the next request lands on the other process
    browser.get("/reception")
    browser.post_form("/logout", {}, expect=302)
    browser.base_url = first  # the old cookie, sent to the process that made it
    assert browser.get("/reception", expect=302).headers["Location"].startswith("/login")

    for n in range(5):  # failures counted by both processes: 3 + 2 reach the limit of 5
        wrong = Browser(first if n < 3 else second)
        wrong.get("/login")
        wrong.post_form("/login", {"login_id": other.login_id, "password": "wrong-password-1"}, expect=401)
    right = Browser(first)
    right.get("/login")
    refused = right.post_form("/login", {"login_id": other.login_id, "password": DEMO_PASSWORD}, expect=401)
    assert "アカウントをロックしています" in refused.text


def test_an_export_asked_for_on_the_admin_screen_is_run_by_the_transfer_worker_unit(session, database_url, tmp_path):
    """Production: the web process runs no thread (KAMIKARTE_OUTBOX_THREAD=0), so the export queued on the screen
    waits until the transfer worker — started from its own unit's command line, sharing KAMIKARTE_TRANSFER_DIR —
    runs it; then the web process serves the files the worker wrote."""
    clinic = make_clinic(session)
    admin = make_user(session, clinic, "admin")
    make_patient(session, clinic)
    session.commit()
    folder = tmp_path / "transfer"
    folder.mkdir()
    port = _free_port()
    web = _start_web(database_url, port, KAMIKARTE_TRANSFER_DIR=str(folder))
    worker = None
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", web).status_code == 200
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.login(admin.login_id, DEMO_PASSWORD, admin.totp_secret)
        browser.get("/admin/transfer")
        browser.post_form("/admin/transfer/export", {"scope": "clinic"}, expect=302)
        time.sleep(3)  # longer than a thread's poll (2 s): the web process alone leaves it queued
        assert "待機中" in browser.get("/admin/transfer").text
        worker = subprocess.Popen(_exec_lines("kamikarte-transfer.service")[0], cwd=ROOT,
                                  env=_web_environment(database_url, KAMIKARTE_TRANSFER_DIR=str(folder)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while "ZIPでダウンロード" not in (page := browser.get("/admin/transfer").text):
            assert worker.poll() is None, "the transfer worker stopped"
            assert time.monotonic() < deadline, "the export was not run"
            time.sleep(0.5)
        assert "完了" in page
        job_id = session.scalar(select(TransferJob.id).where(TransferJob.clinic_id == clinic.id))
        archive = browser.get(f"/admin/transfer/jobs/{job_id}/files/export.zip")
        assert archive.content.startswith(b"PK")
        assert list(folder.glob(f"clinic-{clinic.id}/job-{job_id}/export.zip")), "written where both processes look"
    finally:
        for process in (web, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
