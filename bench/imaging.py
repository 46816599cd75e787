"""Imaging benchmarks (issues 9 and 20): a patient's study list including the QIDO-RS round trip to Orthanc on
loopback, the viewer page, and the first CT frame (512 × 512) the viewer shows after it — the rendered-image route
with its patient check, Orthanc rendering the slice, the PNG passed through."""

from __future__ import annotations

import io
import json
import sys
import time
from datetime import date, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import create_engine, select, update

from app.clinics.models import Clinic
from app.imaging.synthetic import PatientNames, SeriesSpec, make_study
from app.integrations.pacs.orthanc_process import orthanc_missing_reason, start_orthanc
from bench.server import Browser, percentiles

CT_SIZE = 512


def start(url: str, clinic_id: int) -> Any:
    """Start Orthanc with patient 000001's studies (a 20-slice chest CT of 512 × 512, radiographs, an echo) and
    point the bench clinic at it; None (and a line on stderr) when Orthanc is not installed."""
    reason = orthanc_missing_reason()
    if reason:
        print(f"imaging benchmarks skipped: {reason}", file=sys.stderr, flush=True)
        return None
    orthanc = start_orthanc()
    names = PatientNames("Bench^Taro", "ベンチ^太郎", "べんち^たろう")
    for days, modality, images, size in ((10, "CT", 20, CT_SIZE), (100, "CR", 1, 256), (400, "CR", 1, 256),
                                         (800, "US", 1, 256)):
        _uid, files = make_study(patient_id="000001", names=names, birth_date=date(1958, 3, 2), sex="M",
                                 study_date=date(2026, 11, 1) - timedelta(days=days),
                                 description=f"{modality} 検査", accession=f"B{days}",
                                 series=[SeriesSpec(modality, "bench", images=images, size=size, phantom=True,
                                                    body_part="CHEST")])
        for data in files:
            orthanc.upload(data)
    pacs = {"base_url": orthanc.dicomweb_url, "username": orthanc.username, "password": orthanc.password,
            "id_source": "orca", "id_prefix": ""}
    engine = create_engine(url)
    with engine.begin() as conn:
        integrations = conn.scalar(select(Clinic.integrations).where(Clinic.id == clinic_id)) or {}
        conn.execute(update(Clinic).where(Clinic.id == clinic_id).values(integrations={**integrations, "pacs": pacs}))
    engine.dispose()
    return orthanc


def _ct_viewer(browser: Browser, patient_id: int) -> str:
    """The viewer page of the patient's CT study (the newest)."""
    listing = browser.get(f"/patients/{patient_id}/images").text
    study_uid = listing.split('data-study-uid="')[1].split('"')[0]
    return f"/patients/{patient_id}/images/{study_uid}"


def figures(browser: Browser, patient_id: int, n: int) -> list[tuple[str, int, tuple[float, float], int]]:
    """(name, items, (p50, p95), target ms) of the study list, the viewer page and its first CT frame. Each
    sample opens the viewer (it asks the PACS afresh which images the study has) and then loads the first
    frame, as a doctor opening a study does."""
    listing: list[float] = []
    for _ in range(5):
        browser.get(f"/patients/{patient_id}/images")
    for _ in range(n):
        started = time.perf_counter()
        browser.get(f"/patients/{patient_id}/images")
        listing.append((time.perf_counter() - started) * 1000)
    viewer_path = _ct_viewer(browser, patient_id)
    frames = json.loads(browser.get(viewer_path).text.split('id="viewer-frames">')[1].split("</script>")[0])
    first = browser.get(frames[0]["url"])
    size = Image.open(io.BytesIO(first.content)).size
    if size != (CT_SIZE, CT_SIZE):
        raise SystemExit(f"the first CT frame is {size[0]}×{size[1]}, not {CT_SIZE}×{CT_SIZE}")
    viewer, frame = [], []
    for i in range(n + 5):
        started = time.perf_counter()
        browser.get(viewer_path)
        shown = time.perf_counter()
        browser.get(frames[0]["url"])
        done = time.perf_counter()
        if i >= 5:  # the first few warm the connections
            viewer.append((shown - started) * 1000)
            frame.append((done - shown) * 1000)
    return [("imaging_study_list", 4, percentiles(listing), 100),
            ("imaging_viewer_page", len(frames), percentiles(viewer), 100),
            ("imaging_first_frame", 1, percentiles(frame), 300)]
