"""Imaging benchmarks (issue 9): a patient's study list including the QIDO-RS round trip to Orthanc on loopback
(target 150 ms), and the first image of the viewer — the rendered-image route with its patient check against the
PACS, nothing reused from earlier requests (target 500 ms)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import create_engine, text

from app.imaging.synthetic import PatientNames, SeriesSpec, make_study


def start(url: str, clinic_id: int):
    """Start Orthanc with one patient's studies and point the bench clinic at it; None (and a line on stderr)
    when Orthanc is not installed."""
    from app.integrations.pacs.orthanc_process import orthanc_missing_reason, start_orthanc

    reason = orthanc_missing_reason()
    if reason:
        print(f"imaging benchmarks skipped: {reason}", file=sys.stderr, flush=True)
        return None
    orthanc = start_orthanc()
    names = PatientNames("Bench^Taro", "ベンチ^太郎", "べんち^たろう")
    for days, modality, images in ((10, "CT", 20), (100, "CR", 1), (400, "CR", 1), (800, "US", 1)):
        _uid, files = make_study(patient_id="000001", names=names, birth_date=date(1958, 3, 2), sex="M",
                                 study_date=date(2026, 11, 1) - timedelta(days=days),
                                 description=f"{modality} 検査", accession=f"B{days}",
                                 series=[SeriesSpec(modality, "bench", images=images, size=128)])
        for data in files:
            orthanc.upload(data)
    pacs = {"pacs": {"base_url": orthanc.dicomweb_url, "username": orthanc.username, "password": orthanc.password,
                     "id_source": "orca", "id_prefix": ""}}
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE clinic SET integrations = :i WHERE id = :c"), {"i": json.dumps(pacs), "c": clinic_id})
    engine.dispose()
    return orthanc


def cases(client, get: Callable[..., Callable[[], object]]) -> list[tuple[str, Callable[[], object], int, int]]:
    """(name, call, target ms, n) of each imaging benchmark for patient 1 (ORCA number 000001)."""
    from app.imaging import pacs

    listing = client.raw.get("/patients/1/images").get_data(as_text=True)
    study_uid = listing.split('data-study-uid="')[1].split('"')[0]
    viewer = client.raw.get(f"/patients/1/images/{study_uid}").get_data(as_text=True)
    first_url = json.loads(viewer.split('id="viewer-frames">')[1].split("</script>")[0])[0]["url"]
    first = get(first_url)

    def first_image() -> object:
        pacs.forget_clinic(1)  # cold: the patient check goes to the PACS again, as for a new viewer
        return first()

    return [("imaging_study_list", get("/patients/1/images"), 150, 4),
            ("imaging_first_image", first_image, 500, 20)]
