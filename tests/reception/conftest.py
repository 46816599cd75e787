"""The clinic of the reception tests: かみかるて内科クリニック, connected to its ORCA in the simulator."""

from __future__ import annotations

import pytest

from tests.factories import make_clinic, make_user

CODE = "1310123458"


@pytest.fixture
def orca_clinic(session, orca):
    """The clinic (ORCA configured, nothing synced yet) and a clerk of it."""
    clinic = make_clinic(session, institution_code=CODE, name="かみかるて内科クリニック",
                         integrations={"orca": {"base_url": orca.base_url(CODE), "user": "ormaster-a",
                                                "password": "orca-demo-a"}})
    clerk = make_user(session, clinic, role="clerk")
    session.commit()
    return clinic, clerk
