"""オンライン資格確認 benchmark (issue 27): opening a patient's medication history of three years (1,000
dispensings) with a fresh fetch — the request file to the 資格確認端末 relay, the service's reply read whole and kept,
the 36 months filtered and counted and their first page (100 rows, newest first) rendered — with the terminal and
its history service answering at once in this process. "Our own work" is each opening less the time the terminal
spent serving it (its server-side time per request)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, select, update

from app.clinics.models import Clinic
from app.onshi.history import ROWS_PER_PAGE
from app.onshi.models import HistoryConsent
from app.patients.models import Patient
from bench.server import Browser, percentiles
from simulators.onshi import JST, OnshiState
from simulators.onshi.demo_data import bulk_history
from simulators.onshi.testing import RunningOnshi, start_onshi

DISPENSINGS = 1000


class TerminalClock:
    """WSGI middleware around the terminal: the server-side seconds it spends, summed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.seconds = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.seconds += time.perf_counter() - started


def start(url: str, clinic_id: int, patient_id: int) -> tuple[RunningOnshi, TerminalClock]:
    """The terminal with the history service knowing the bench patient (1,000 dispensings of three years, a consent
    valid 24 hours, recorded on our side as the ORCA sync would); the clinic pointed at it."""
    engine = create_engine(url)
    now = datetime.now(JST)
    with engine.begin() as conn:
        patient = conn.execute(select(Patient.birth_date, Patient.sex, Patient.insurances)
                               .where(Patient.id == patient_id)).one()
        insurance = patient.insurances[0]
        state = OnshiState()
        state.add_person((insurance["insurer_number"], insurance["symbol"], insurance["number"], insurance["branch"]),
                         name="ベンチ　太郎", kana="ベンチ　タロウ", birth=patient.birth_date,
                         sex="1" if patient.sex == "M" else "2",
                         consent_until={k: now + timedelta(hours=24) for k in ("drug", "diagnosis", "checkup")},
                         **bulk_history(now.date(), DISPENSINGS))
        service = start_onshi(state)
        clock = TerminalClock(service.terminal.server.app)
        service.terminal.server.app = clock
        code = conn.scalar(select(Clinic.institution_code).where(Clinic.id == clinic_id))
        integrations = conn.scalar(select(Clinic.integrations).where(Clinic.id == clinic_id)) or {}
        conn.execute(update(Clinic).where(Clinic.id == clinic_id).values(
            integrations={**integrations, "national_gateway": service.connection(code)}))
        conn.execute(HistoryConsent.__table__.insert(), [
            {"clinic_id": clinic_id, "patient_id": patient_id, "kind": kind, "flag": "1", "given_at": now,
             "available_until": now + timedelta(hours=24), "recorded_at": now}
            for kind in ("drug", "diagnosis", "checkup")])
    engine.dispose()
    return service, clock


def figures(browser: Browser, clock: TerminalClock, server_cpu: Callable[[], float], patient_id: int, n: int
            ) -> list[tuple[str, int, tuple[float, float], int]]:
    """(name, n, (p50, p95), target) of the opening with a fresh fetch, of our share of it (wall clock less the
    terminal's time), and of the app server's CPU time for it (our own work, without the waits for a core that a
    loaded machine adds to the wall clock)."""
    page = f"/patients/{patient_id}/onshi"
    html = browser.get(page, months="36").text
    shown = re.search(r"3年、(\d+)件中", html)
    if not shown or int(shown.group(1)) < DISPENSINGS * 0.9 or html.count('class="other"') + html.count(
            'class="own"') < ROWS_PER_PAGE:
        raise SystemExit("the medication history page does not show the bench history: the bench set-up is wrong")
    total, own, cpu = [], [], []
    for index in range(n + 5):
        browser.get(page, months="36")
        before, started, cpu_before = clock.seconds, time.perf_counter(), server_cpu()
        browser.post_form(f"{page}/fetch", {"tab": "medication"}, expect=302)
        browser.get(page, months="36")
        elapsed, outside = time.perf_counter() - started, clock.seconds - before
        if index >= 5:  # warm-up
            total.append(elapsed * 1000)
            own.append((elapsed - outside) * 1000)
            cpu.append((server_cpu() - cpu_before) * 1000)
    return [("onshi_medication_history_3y", DISPENSINGS, percentiles(total), 300),
            ("onshi_medication_history_3y_own_work", DISPENSINGS, percentiles(own), 100),
            ("onshi_medication_history_3y_own_cpu", DISPENSINGS, percentiles(cpu), 100)]
