"""The patient's prescription list over real HTTP: ten years of prescriptions are paged (30 a page, newest first)
with their count and page links, instead of a silent cut at the newest few."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from tests.sharing.records import arrange


def test_a_long_prescription_list_is_paged_with_its_count(client, session):
    desk = arrange(session)  # one prescription of 2026-11-20
    first = date(2023, 1, 10)
    for n in range(34):
        day = first + timedelta(days=7 * n)
        rx = Prescription(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, doctor_id=desk["doctor"].id,
                          doctor_name="医師 一郎", issued_on=day, valid_until=day + timedelta(days=3),
                          issued_at=datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC))
        rp = PrescriptionRp(number=1, form=1, usage_code="1013044400000000", usage_text="１日３回朝昼夕食後",
                            times_per_day=3, quantity=7)
        rp.lines = [PrescriptionLine(seq=1, drug_receipt_code="620452801", drug_name="ムコスタ錠１００ｍｇ",
                                     yj_code="2329021F1102", dose=3, unit="錠")]
        rx.rps = [rp]
        session.add(rx)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/prescriptions"
    html = client.get(page).get_data(as_text=True)
    days = re.findall(r"（(\d{4}-\d{2}-\d{2})）</a>", html)
    assert len(days) == 30 and days == sorted(days, reverse=True) and days[0] == "2026-11-20"
    assert "35件中 1〜30件目" in html and "1 / 2ページ" in html and f'href="{page}?page=2"' in html
    older = client.get(f"{page}?page=2").get_data(as_text=True)
    days = re.findall(r"（(\d{4}-\d{2}-\d{2})）</a>", older)
    assert len(days) == 5 and days[-1] == first.isoformat() and "31〜35件目" in older
