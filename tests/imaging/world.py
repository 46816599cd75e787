"""The imaging tests' world: a clinic linked to the real Orthanc, two patients with their studies, a doctor, a
clerk and an administrator; and the helpers the view tests share."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from app.clinics.models import Clinic
from app.imaging.synthetic import SeriesSpec
from app.integrations.pacs.orthanc_process import free_port
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.pacs_data import new_patient_id, upload_study


@dataclass
class World:
    clinic: Clinic
    patient: object
    other_patient: object
    doctor: object
    clerk: object
    admin: object
    study_uid: str
    ct_uid: str
    other_study_uid: str


def configure(session, clinic, orthanc, **overrides) -> None:
    pacs = {"base_url": orthanc.dicomweb_url, "username": orthanc.username, "password": orthanc.password,
            "id_source": "orca", "id_prefix": ""} | overrides
    clinic.integrations = {**(clinic.integrations or {}), "pacs": pacs}
    session.commit()


def make_world(session, orthanc_server) -> World:
    """Arrange the world (the `world` fixture)."""
    clinic = make_clinic(session)
    patient = make_patient(session, clinic, orca_patient_id=new_patient_id())
    other = make_patient(session, clinic, orca_patient_id=new_patient_id(), name="佐藤 花子", kana="サトウ ハナコ")
    cr, _ = upload_study(orthanc_server, patient.orca_patient_id, study_date=date(2025, 5, 1), description="胸部単純")
    ct, _ = upload_study(orthanc_server, patient.orca_patient_id, study_date=date(2026, 10, 1), description="胸部CT",
                         series=[SeriesSpec("CT", "単純 5mm", images=3), SeriesSpec("US", "腹部", frames=3)])
    other_study, _ = upload_study(orthanc_server, other.orca_patient_id, description="他患者の検査")
    w = World(clinic, patient, other, make_user(session, clinic, role="doctor"),
              make_user(session, clinic, role="clerk"), make_user(session, clinic, role="admin"), cr, ct, other_study)
    configure(session, clinic, orthanc_server)
    return w


def login(client, user) -> None:
    client.raw.delete_cookie("kamikarte_session")
    client.login(user.login_id, user.totp_secret)


def frames_of(html: str) -> list[dict]:
    match = re.search(r'<script type="application/json" id="viewer-frames">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


class PacsDown:
    """PACS settings that point at a port nobody listens on."""

    dicomweb_url = f"http://127.0.0.1:{free_port()}/dicom-web"
    username = "u"
    password = "p"


def add_key_image(client, world, caption="右下肺野に浸潤影", frame_index=4, window=("", "")):
    """Keep one frame of the CT study as a key image through the viewer's form: (the frame, the response)."""
    html = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
    f = frames_of(html)[frame_index]
    response = client.post(f"/patients/{world.patient.id}/images/{world.ct_uid}/key-images", {
        "series_uid": f["series"], "instance_uid": f["instance"], "frame": f["frame"], "wc": window[0],
        "ww": window[1], "caption": caption})
    return f, response
