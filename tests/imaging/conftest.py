"""The `world` fixture of the imaging view tests (tests/imaging/world.py)."""

from __future__ import annotations

import pytest

from tests.imaging.world import World, make_world


@pytest.fixture
def world(session, orthanc_server) -> World:
    """A clinic linked to the real Orthanc with two patients' studies and its staff."""
    return make_world(session, orthanc_server)
