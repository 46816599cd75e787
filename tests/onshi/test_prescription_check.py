"""The medication history feeds the prescription check: a drug another institution or pharmacy gave recently is a
重複投与, and a 併用注意 pair with it is named — each finding with the institution or pharmacy, source and date."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core.timeutil import JST
from app.prescriptions.drug_master import load_shipped_subset
from tests.onshi.conftest import consent, desk_with, person
from tests.prescriptions.test_prescriptions import AFTER_MEALS_3, AMLODIPINE, _form
from tests.prescriptions.test_rx_safety import AFTER_BREAKFAST, TRIAZOLAM

CLARITHROMYCIN = ("620003928", "クラリスロマイシン錠２００ｍｇ「ＥＭＥＣ」", "クラリスロマイシン", "2", "錠",
                  "1日2回朝夕食後")


def _check(client, patient, rps) -> str:
    page = f"/patients/{patient.id}/prescriptions/new"
    response = client.post(page, _form(rps, action="check"), form_page=page)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_history_names_the_duplicate_and_the_interaction_with_institution_and_date(client, session, onshi):
    desk = desk_with(session, onshi)
    load_shipped_subset(session)
    session.commit()
    today = datetime.now(JST).date()
    person(onshi)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    amlodipine = [("1", AFTER_BREAKFAST, "", "28", [(AMLODIPINE, "1", False, False)])]
    before = _check(client, patient, amlodipine)
    assert "薬剤情報（オンライン資格確認）をまだ取得していないため" in before
    client.get(f"/patients/{patient.id}/onshi")  # the doctor opens the history: fetched and kept
    html = _check(client, patient, amlodipine)
    last_visit = (today - timedelta(days=10)).isoformat()
    assert ("重複投与（同一成分）: アムロジピンＯＤ錠２．５ｍｇ「トーワ」 と アムロジピンＯＤ錠２．５ｍｇ「トーワ」"
            f"（他院 電子処方箋の調剤 さくら薬局 新宿店（処方 みなと総合病院） {last_visit} 処方）") in html
    assert "まだ取得していない" not in html and html.count("重複投与（同一成分）") == 1  # the latest only
    assert "酸化マグネシウム" not in html  # our own (自院) dispensing is not another institution's


def test_an_interaction_with_another_institutions_drug_is_named(client, session, onshi):
    desk = desk_with(session, onshi)
    load_shipped_subset(session)
    session.commit()
    today = datetime.now(JST).date()
    day = today - timedelta(days=60)
    clarithromycin = {"source": "receipt", "day": day, "institution_code": "1340000029",
                      "institution_name": "ひまわり薬局", "prescriber_code": "1310000033",
                      "prescriber_name": "にしぐち耳鼻咽喉科", "own": False, "drug_code": CLARITHROMYCIN[0],
                      "drug_name": CLARITHROMYCIN[1], "ingredient": CLARITHROMYCIN[2], "quantity": "2", "unit": "錠",
                      "usage": CLARITHROMYCIN[5], "instruction": "", "times": "7"}
    person(onshi, dispensings=[clarithromycin], procedures=[], checkups=[])
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    client.get(f"/patients/{patient.id}/onshi")
    html = _check(client, patient, [("1", AFTER_MEALS_3, "", "7", [(TRIAZOLAM, "1", False, False)])])
    assert ("併用注意: トリアゾラム錠０．１２５ｍｇ「ＥＭＥＣ」 と クラリスロマイシン錠２００ｍｇ「ＥＭＥＣ」"
            f"（他院 レセプト ひまわり薬局（処方 にしぐち耳鼻咽喉科） {day.isoformat()} 処方）") in html
