"""Fixtures of the partner tests: a clinic whose ORCA told us its departments and doctors, with one patient."""

from __future__ import annotations

import pytest

from tests.factories import make_clinic, make_patient

ORCA_CHOICES = {"orca": {"departments": [{"code": "01", "name": "内科"}],
                         "physicians": [{"code": "10001", "name": "医師 一郎"}]}}


@pytest.fixture
def partner_clinic(session):
    """(clinic, patient): the clinic knows ORCA's department 01 and doctor 10001."""
    clinic = make_clinic(session, integrations=ORCA_CHOICES)
    patient = make_patient(session, clinic, name="予約 花子", kana="ヨヤク ハナコ", sex="F")
    session.commit()
    return clinic, patient
