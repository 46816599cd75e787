"""電子処方箋 benchmarks (issue 24), with the 資格確認端末 simulator and the service behind it answering at once on
loopback: the prescription check page with the service's 重複投薬等チェック (事前準備 and the check, two request
files through the relay), and a signed registration's own time — the 処方箋CSV from the print model, the XAdES
signature with the project's test signer, the envelope, and reading the service's reply — without the wait for
the service."""

from __future__ import annotations

import logging
import tempfile
import time
from typing import Any

import requests
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.integrations.eprescription import messages
from app.integrations.eprescription.client import prescription_info
from app.integrations.eprescription.signing import TestSigner
from app.patients.models import Patient
from app.prescriptions.models import Prescription
from app.prescriptions.printing import service_csv
from bench.server import percentiles
from simulators.eprescription import create_app
from simulators.oqs_terminal import DEMO_TOKENS
from simulators.testing import RunningSimulator, serve

CLINIC_CODE = "1310123458"


def start() -> RunningSimulator:
    """Serve the terminal and service in this process."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # stderr carries progress lines only
    return serve(create_app(), RunningSimulator)


def connect(url: str, clinic_id: int, running: RunningSimulator) -> None:
    """Connect the bench clinic to it (as clinic A's code) — only now, so the other figures stay as they were."""
    engine = create_engine(url)
    with engine.begin() as conn:
        integrations = conn.scalar(select(Clinic.integrations).where(Clinic.id == clinic_id)) or {}
        conn.execute(update(Clinic).where(Clinic.id == clinic_id).values(
            institution_code=CLINIC_CODE, integrations={**integrations, "eprescription": {"signer": "test"},
                "national_gateway": {"url": f"{running.url}/clinic/{CLINIC_CODE}", "token": DEMO_TOKENS[CLINIC_CODE]}}))
    engine.dispose()


def check_sanity(terminal: RunningSimulator, call: Any) -> None:
    """The check page must ask the service (事前準備 and the check), or the figure would time a page without it."""
    seen = len(requests.get(f"{terminal.url}/_sim/requests", timeout=5).json())
    html = call().text
    asked = [r["file"][:10] for r in requests.get(f"{terminal.url}/_sim/requests", timeout=5).json()[seen:]]
    if asked != ["EPSsiDMP01", "EPSsiDMP02"] or "重複投薬等チェックができません" in html:
        raise SystemExit(f"the check page did not run the service's duplicate check ({asked})")


def check_form(form: dict[str, str]) -> dict[str, str]:
    """The bench's check form, issued as 紙 with 引換番号 with the patient's consent at the card reader."""
    return {**form, "mode": "paper_exchange", "consent": "card"}


def registration_figure(session: Session, prescription_id: int, n: int) -> tuple[float, float]:
    """p50/p95 of our own work of a signed registration: the CSV, the signature, the request envelope, the reply
    read (a reply as the service writes it)."""
    prescription = session.get(Prescription, prescription_id)
    patient = session.get(Patient, prescription.patient_id)
    clinic = session.get(Clinic, prescription.clinic_id)
    signer = TestSigner(tempfile.mkdtemp(prefix="kamikarte-bench-signer-"))
    reply = (b'<?xml version="1.0" encoding="UTF-8"?><XmlMsg><MessageHeader><CharacterCodeIdentifier>0'
             b"</CharacterCodeIdentifier><SegmentOfResult>1</SegmentOfResult><ArbitraryFileIdentifier>R1"
             b"</ArbitraryFileIdentifier></MessageHeader><MessageBody><ProcessingResultStatus>1"
             b"</ProcessingResultStatus><PrescriptionId>5f0c</PrescriptionId><AccessCode>123456</AccessCode>"
             b"</MessageBody></XmlMsg>")
    samples: list[float] = []

    def one() -> Any:
        info = prescription_info(service_csv(prescription, patient, clinic), signer)
        messages.build_request(CLINIC_CODE, "R1", {"PrescriptionInfo": info, "IssueType": messages.ISSUE_ELECTRONIC})
        return messages.parse_reply(reply).text("AccessCode")

    for index in range(n + 5):
        started = time.perf_counter()
        one()
        if index >= 5:
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)
