"""画像診断 lines of the visit's studies, read from the real Orthanc: the day's chest radiograph bills 単純撮影
（デジタル撮影）, 写真診断（イ）and 電子画像管理加算 in the visit's one 中途データ (診療種別区分 700) at the ORCA
simulator; a CT of the day is listed as not billed (no code in the shipped master); a study is never added twice;
another day's study is left alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.billing.image_lines import DIAGNOSIS_MAIN, ELECTRONIC, PLAIN
from app.imaging.synthetic import SeriesSpec
from app.outbox import services as outbox
from tests.billing.helpers import CODE
from tests.imaging.pacs_data import upload_study
from tests.imaging.world import configure


def test_the_days_radiograph_is_billed_once_and_a_ct_is_reported(app, client, session, desk, orca, orthanc_server):
    # The Orthanc is shared by the run (both backends): a PatientID prefix of this test's own keeps it apart.
    prefix = f"B{uuid.uuid4().hex[:6].upper()}"
    configure(session, desk["clinic"], orthanc_server, id_prefix=prefix)
    day = desk["visit"].visit_date
    upload_study(orthanc_server, f"{prefix}00001", study_date=day, description="胸部単純",
                 series=[SeriesSpec("CR", "胸部正面", size=64, body_part="CHEST")])
    upload_study(orthanc_server, f"{prefix}00001", study_date=day, description="胸部CT",
                 series=[SeriesSpec("CT", "単純 5mm", images=2)])
    upload_study(orthanc_server, f"{prefix}00001", study_date=day - timedelta(days=3), description="腹部単純")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    summary = f"/billing/visits/{desk['visit'].id}"
    added = client.post(f"{summary}/images", {}, form_page=summary)
    html = client.get(added.location).get_data(as_text=True)
    assert "画像を算定に加えました: 胸部単純（CR）" in html
    assert "胸部CT（CT）: 撮影料のコードが医科診療行為マスターにありません" in html
    assert PLAIN in html and DIAGNOSIS_MAIN in html and ELECTRONIC in html
    again = client.get(client.post(f"{summary}/images", {}, form_page=summary).location).get_data(as_text=True)
    assert "算定済みの画像（加えていません）: 胸部単純（CR）" in again
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    [kept] = orca.medical(CODE)
    images = [[m["Medication_Code"] for m in e["Medication_info"]] for e in kept["Medical_Information"]
              if e["Medical_Class"] == "700"]
    assert images == [[PLAIN, DIAGNOSIS_MAIN, ELECTRONIC]]  # once, though asked twice
    client.logout()
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert client.post(f"{summary}/images", {}, form_page=summary).status_code == 403
