"""Specimen labels scan (zbar reads every barcode of the rendered PDF back to its specimen number, in the clinic's
symbology and label size); the result table reads as a time series with a trend chart; prints and looks are
logged."""

from __future__ import annotations

import subprocess  # noqa: S404 -- fixed commands on files this test wrote
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.labs.importer import import_message
from tests.labs.helpers import deliver, latest_order, make_desk, place_order
from tests.printing.pdf_tools import _tool, page_images, pdf_info, pdf_text


def _scan(image) -> list[str]:
    result = subprocess.run([_tool("zbarimg"), "--quiet", "--nodbus", str(image)],  # noqa: S603
                            capture_output=True, text=True)
    return result.stdout.split()


@pytest.mark.parametrize("settings, symbology, size", [
    ({}, "Codabar", "141.732 x 70.866 pts"),
    ({"barcode": "code128", "label_width_mm": 60, "label_height_mm": 30}, "CODE-128", "170.079 x 85.0394 pts"),
])
def test_one_label_per_container_and_every_barcode_scans(client, session, tmp_path, settings, symbology, size):
    desk = make_desk(session, **settings)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    place_order(client, desk["patient"], sets=["S001", "S005"])
    order = latest_order(session)
    response = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}/labels.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    info = pdf_info(response.data, tmp_path)
    assert info["Pages"] == str(len(order.specimens)) == "4"
    assert info["Page size"].startswith(size[:7])
    scanned = []
    for image in page_images(response.data, tmp_path, dpi=300):
        codes = _scan(image)
        assert len(codes) == 1, codes
        kind, _, value = codes[0].partition(":")
        assert kind == symbology
        scanned.append(value.strip("A") if kind == "Codabar" else value)
    assert scanned == [s.specimen_number for s in order.specimens]
    text = pdf_text(response.data, tmp_path)
    assert "ヤマダ タロウ" in text and "男" in text and "尿スピッツ" in text and "U-TP U-Glu U-Bld" in text
    # The second identifier: patient number and birth date; both sizes have room for the kanji name too.
    patient = desk["patient"]
    assert f"ID {patient.orca_patient_id}" in text and "1958/03/02生" in text and "山田 太郎" in text
    assert order.ordered_on.strftime("%Y/%m/%d") in text
    printed = session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "print")).all()
    assert [p.resource for p in printed] == [f"lab_labels:{order.id}"]


def _monthly(desk, months: int) -> list[bytes]:
    """Result messages of a monthly panel, the last one abnormal (the lab's own OUL^R22 shape)."""
    patient = desk["patient"]
    messages = []
    for month in range(months):
        day = date.today() - timedelta(days=30 * (months - month))
        value = f"{100 + month * 10}"
        flag = "H" if month == months - 1 else ""
        messages.append((
            f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{day:%Y%m%d}1200||OUL^R22^OUL_R22|T{month:04d}|P|2.5||||||"
            f"~ISO IR87||ISO 2022-1994\rPID|1||{patient.orca_patient_id}^^^^PI||"
            f"山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19580302|M\rSPM|1|||023^血清^JC10|||||||||||||{day:%Y%m%d}0900\rOBR|1|X{month}||LAB^臨床検査^99LAB\r"
            f"OBX|1|NM|3F077000002327101^LDL-コレステロール^JC10||{value}|mg/dL^mg/dL^99LAB|65-163|{flag}|||F\r"
            f"NTE|1||本日の検体は乳び\r").encode("iso2022_jp"))
    return messages


def test_table_trend_and_history_pages(client, session):
    desk = make_desk(session)
    # Results without a specimen number of ours are refused: attach them to orders placed the usual way.
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    for message in _monthly(desk, 3):
        place_order(client, desk["patient"], items=["K0144"])
        number = latest_order(session).specimens[0].specimen_number
        message = message.replace(b"SPM|1|||", f"SPM|1|{number}||".encode())
        outcome = import_message(session, desk["clinic"].id, message, source="file")
        assert outcome.ok, outcome.error
    page = client.get(f"/patients/{desk['patient'].id}/labs")
    text = page.get_data(as_text=True)
    assert "LDL-コレステロール(LDL-C)" in text and "mg/dL" in text and "65-163" in text
    assert text.count("本日の検体は乳び") == 3 and 'flag flag-H">H<' in text
    trend = client.get(f"/patients/{desk['patient'].id}/labs?trend=K0144").get_data(as_text=True)
    assert '<svg class="lab-trend"' in trend and "<polyline" in trend and trend.count("<circle") == 3
    assert "#c0392b" in trend  # the H point is drawn red
    views = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.action == "view")).all()
    assert "patient.labs" in views


def test_the_results_page_lists_orders_with_their_state(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], sets=["S003"])
    deliver(app)
    page = client.get(f"/patients/{desk['patient'].id}/labs").get_data(as_text=True)
    assert "受付済み" in page and "ラベル" in page


def test_the_administrator_sets_label_size_and_symbology(client, session, tmp_path):
    from app.clinics.models import Clinic
    from tests.factories import make_user

    desk = make_desk(session)
    admin = make_user(session, desk["clinic"], role="admin")
    session.commit()
    client.login(admin.login_id, admin.totp_secret)
    page = client.get("/admin/lab").get_data(as_text=True)
    assert 'value="50"' in page and "/integrations/lab/1310123458/results" in page
    bad = client.post("/admin/lab", {"base_url": "ftp://lab", "label_width_mm": "5", "label_height_mm": "x",
                                     "barcode": "qr"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "30〜100mm" in text and "整数" in text and "https://" in text
    ok = client.post("/admin/lab", {"base_url": "https://lab.example.jp/api", "label_width_mm": "60",
                                    "label_height_mm": "30", "barcode": "code128", "token": ""})
    assert ok.status_code == 302
    session.expire_all()
    saved = session.get(Clinic, desk["clinic"].id).integrations["lab_center"]
    assert saved["label_width_mm"] == 60 and saved["barcode"] == "code128"
    assert saved["inbound_token"] == "inbound-secret-a"  # an empty secret field keeps the stored one
    nurse = desk["nurse"]
    client.raw.delete_cookie("kamikarte_session")
    client.login(nurse.login_id, nurse.totp_secret)
    assert client.get("/admin/lab").status_code == 403
