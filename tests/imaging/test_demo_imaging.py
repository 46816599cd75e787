"""The demo PACS: 山田 太郎 of clinic A has his studies in Orthanc (ISO 2022 IR 87 names, matched by the ORCA
number), clinic A is configured to use it, one key image is kept, and a second start adds nothing."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.clinics.models import Clinic
from app.demo.runtime import prepare_demo
from app.imaging import services as key_images
from app.imaging.models import KeyImage
from app.integrations.pacs.client import DicomWebClient
from app.patients.models import Patient
from tests.helpers import HTMLClient

pytestmark = pytest.mark.backends("sqlite")  # the demo as it is started: see tests/conftest.py

DEMO_PASSWORD = "kamikarte-demo-2026"
DOCTOR_TOTP = "IA6YOND7VRBS563LAATXBI6DNXZI4KME"


def test_demo_puts_yamadas_studies_in_orthanc_with_a_key_image(app, orca, session, orthanc_server):
    prepare_demo(app, orca.root, pacs=orthanc_server)
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == "1310123458"))
    assert clinic.integrations["pacs"]["base_url"] == orthanc_server.dicomweb_url
    yamada = session.scalar(select(Patient).where(Patient.clinic_id == clinic.id, Patient.orca_patient_id == "00001"))
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    studies = pacs.studies("00001")
    assert {m for s in studies for m in s.modalities} >= {"CR", "CT", "US"}
    assert studies[0].patient_name == "山田 太郎"
    ct = next(s for s in studies if "CT" in s.modalities)
    assert ct.number_of_instances >= 5
    kept = key_images.key_images_for_patient(session, clinic.id, yamada.id)
    assert len(kept) == 1 and kept[0].is_intact and kept[0].modality == "CT"
    assert kept[0].sha256 == hashlib.sha256(kept[0].image_bytes).hexdigest()
    # The doctor sees the studies and the key image in the browser's page.
    client = HTMLClient(app.test_client())
    client.login("doctor", DOCTOR_TOTP)
    html = client.get(f"/patients/{yamada.id}/images").get_data(as_text=True)
    assert "胸部CT 単純" in html and "腹部超音波" in html and "右肺下葉に小結節" in html
    # A second start stores the same studies (same UIDs) and keeps no second key image.
    prepare_demo(app, orca.root, pacs=orthanc_server)
    assert [s.study_uid for s in pacs.studies("00001")] == [s.study_uid for s in studies]
    assert session.scalar(select(func.count()).select_from(KeyImage)) == 1
