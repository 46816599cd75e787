"""Fixtures for the ORCA client tests (the simulator fixtures `orca_server` / `orca` are in tests/conftest.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.integrations.orca import OrcaClient
from app.integrations.orca.parsing import JST
from simulators.orca.testing import RunningOrca

CLINIC_A = "1310123458"
CLINIC_B = "1310156789"


def japan_today() -> date:
    """Today in Japan: the simulator's day (the test machine may run on UTC)."""
    return datetime.now(JST).date()


@pytest.fixture(params=["json", "xml"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each wire format ORCA speaks."""
    return request.param


@pytest.fixture
def client_a(orca: RunningOrca, mode: str) -> OrcaClient:
    """Clinic A's client, in each wire format."""
    return OrcaClient(orca.base_url(CLINIC_A), *orca.credentials(CLINIC_A), mode=mode)  # type: ignore[arg-type]
