"""The 資格確認端末 simulator with the history service behind it, and a clinic whose 山田 太郎 it knows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.core.timeutil import JST
from app.onshi.models import HistoryConsent
from simulators.onshi.demo_data import yamada_history
from simulators.onshi.testing import start_onshi
from tests.sharing.records import CLINIC_A, INSURANCE, arrange

IDENTITY = (INSURANCE[0]["insurer_number"], INSURANCE[0]["symbol"], INSURANCE[0]["number"], INSURANCE[0]["branch"])


@pytest.fixture(scope="session")
def onshi_server():
    """The terminal answering YZKsiquc01 / TKKsiquc01, for the whole run (real HTTP only)."""
    server = start_onshi()
    yield server
    server.stop()


@pytest.fixture
def onshi(onshi_server):
    """The service knowing nobody, no fault at the terminal or the service."""
    onshi_server.terminal.reset()
    onshi_server.terminal.set_fault("")
    onshi_server.state.reset()
    return onshi_server


def person(onshi, consent_hours: float | None = 20, kinds=("drug", "diagnosis", "checkup"), today=None,
           identity=IDENTITY, **history):
    """山田 太郎 at the service, with a consent valid for `consent_hours` more hours (None: none) and his demo
    history (or the given one)."""
    today = today or datetime.now(JST).date()
    until = datetime.now(JST) + timedelta(hours=consent_hours) if consent_hours is not None else None
    data = history or yamada_history(today)
    onshi.state.add_person(identity, name="山田　太郎", kana="ヤマダ　タロウ", birth=date(1958, 3, 2), sex="1",
                           consent_until={k: until for k in kinds} if until else {}, **data)


def consent(session, desk, hours: float = 20, kinds=("drug", "diagnosis", "checkup"), flag="1"):
    """Our record of the card-reader consent (as the ORCA sync would write it)."""
    now = datetime.now(JST)
    for kind in kinds:
        session.add(HistoryConsent(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, kind=kind, flag=flag,
                                   given_at=now - timedelta(hours=24 - hours),
                                   available_until=now + timedelta(hours=hours)))
    session.commit()


def desk_with(session, onshi, orca=None, folder=None, **gateway):
    """Clinic A (connected to the terminal — or to the terminal's `folder` itself — and to ORCA when given) with
    山田 太郎 and his records."""
    integrations = {"national_gateway": {"url": f"file://{folder}", **gateway} if folder
                    else onshi.connection(CLINIC_A, **gateway)}
    if orca is not None:
        integrations["orca"] = {"base_url": orca.base_url(CLINIC_A), "user": "ormaster-a", "password": "orca-demo-a"}
    return arrange(session, integrations=integrations)
