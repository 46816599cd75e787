"""Writing a prescription through real HTTP: lines from the drug master, checks with reasons and sources that
must be acknowledged, issue (immutable), Do処方, cancel and reissue, bad input, roles, clinic isolation."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry, AuditEntry
from app.patients.profile_models import Allergy
from app.prescriptions.check_master import DEMO_VERSION, load_demo_edition
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.models import Prescription
from tests.factories import make_clinic, make_patient, make_user

# Real レセ電 codes of the shipped master (app/prescriptions/data/drugs.csv).
LOXONIN = "620098801"  # ロキソニン錠６０ｍｇ 1149019F1560
AMLODIPINE = "620007817"  # アムロジピンＯＤ錠２．５ｍｇ「トーワ」 2171022F3013
MUCOSTA = "620452801"  # ムコスタ錠１００ｍｇ 2329021F1102
REBAMIPIDE = "620009460"  # レバミピド錠１００ｍｇ「あすか」 2329021F1013 (same ingredient as ムコスタ)
FLOMOX = "610411058"  # フロモックス錠１００ｍｇ 6132016F2020
HIRUDOID = "620009047"  # ヒルドイドゲル０．３％ (外用)
AFTER_MEALS_3 = "1013044400000000"  # 内服・経口・１日３回朝昼夕食後
APPLY_3 = "2B73000000000000"  # 外用・塗布・１日３回


@pytest.fixture
def desk(session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    nurse = make_user(session, clinic, role="nurse")
    patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", birth_date=date(1958, 3, 2))
    load_shipped_subset(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "nurse": nurse, "patient": patient}


def _form(rps, **extra):
    """Order-form fields: rps = [(form, usage_code, usage_text, days, [(code, dose, generic, nosub), …]), …]."""
    data = {"rp_count": str(len(rps)), "mode": "paper", **extra}
    for i, (form, usage_code, usage_text, days, lines) in enumerate(rps):
        data |= {f"rp{i}_form": form, f"rp{i}_usage_code": usage_code, f"rp{i}_usage_text": usage_text,
                 f"rp{i}_quantity": days, f"rp{i}_line_count": str(len(lines))}
        for j, (code, dose, generic, nosub) in enumerate(lines):
            data |= {f"rp{i}_l{j}_drug": code, f"rp{i}_l{j}_dose": dose}
            if generic:
                data[f"rp{i}_l{j}_generic"] = "1"
            if nosub:
                data[f"rp{i}_l{j}_nosub"] = "1"
    return data


THREE_LINES = [("1", AFTER_MEALS_3, "", "14", [(LOXONIN, "3", True, False), (MUCOSTA, "3", False, True)]),
               ("1", "1011000400000000", "", "28", [(AMLODIPINE, "1", False, False)])]


def _acks(html: str) -> list[str]:
    return re.findall(r'name="ack" value="([0-9a-f]{16})"', html)


def _reasons(html: str, reason: str = "利益が上回ると判断（テスト）") -> dict[str, str]:
    """A reason for every 禁忌 the page asks one for."""
    return {f"ack_reason_{key}": reason for key in re.findall(r'name="ack_reason_([0-9a-f]{16})"', html)}


def _issue(client, patient, rps, **extra):
    page = f"/patients/{patient.id}/prescriptions/new"
    url = f"/patients/{patient.id}/prescriptions/new"
    checked = client.post(url, _form(rps, action="check", **extra), form_page=page)
    html = checked.get_data(as_text=True)
    data = _form(rps, action="issue", **extra) | _reasons(html)
    data["ack"] = _acks(html)
    return checked, client.post(url, data, form_page=page)


def test_doctor_writes_checks_acknowledges_and_issues(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    checked = client.post(page, _form(THREE_LINES, action="check"), form_page=page)
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "処方チェック" in html
    # No check master is loaded: the checks say so loudly, with their source, and count it.
    assert "支払基金チェックマスタが読み込まれていないため" in html and "出典:" in html
    assert "確認できなかった項目が1件あります（チェックマスタ未読込 1件）" in html
    # Issuing without ticking the findings is refused.
    refused = client.post(page, _form(THREE_LINES, action="issue"), form_page=page)
    assert refused.status_code == 422 and "確認が必要な項目が" in refused.get_data(as_text=True)
    assert session.scalar(select(Prescription.id)) is None
    data = _form(THREE_LINES, action="issue")
    data["ack"] = _acks(html)
    issued = client.post(page, data, form_page=page)
    assert issued.status_code == 302
    rx = session.scalars(select(Prescription)).one()
    assert rx.status == "issued" and rx.doctor_name == "医師 一郎" and len(rx.acknowledged_checks) >= 2
    lines = [line for rp in rx.rps for line in rp.lines]
    assert [line.drug_receipt_code for line in lines] == [LOXONIN, MUCOSTA, AMLODIPINE]
    assert lines[0].by_generic_name and lines[0].printed_name == "【般】ロキソプロフェンＮａ錠６０ｍｇ"
    assert lines[1].no_substitution and rx.rps[0].usage_text == "１日３回朝昼夕食後" and rx.rps[1].quantity == 28
    shown = client.get(issued.location).get_data(as_text=True)
    assert "【般】ロキソプロフェンＮａ錠６０ｍｇ" in shown and "28日分" in shown
    # The dose says per day or per time as the printed form does: 3 tablets a day taken 3 times is 1 a time.
    assert "1日3錠（1回1錠）" in shown and "1日1錠（1回1錠）" in shown
    listed = client.get(f"/patients/{patient.id}/prescriptions").get_data(as_text=True)
    assert "1日3錠（1回1錠） １日３回朝昼夕食後 14日分" in listed
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "prescription.issue")).one().patient_id \
        == patient.id
    resources = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.patient_id == patient.id)).all()
    assert f"prescription:{rx.id}" in resources


def test_drug_allergy_from_the_profile_stops_the_prescription(client, desk, session):
    patient = desk["patient"]
    session.add(Allergy(clinic_id=desk["clinic"].id, patient_id=patient.id, lineage_id=None, category="drug",
                        substance="セフカペン ピボキシル（成分）", reaction="薬疹", severity="severe",
                        drug_scope="ingredient", drug_receipt_code="610411057", drug_yj_code="6132016F1023",
                        drug_match_code="6132016"))
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{patient.id}/prescriptions/new"
    rps = [("1", AFTER_MEALS_3, "", "5", [(FLOMOX, "3", False, False)])]
    html = client.post(page, _form(rps, action="check"), form_page=page).get_data(as_text=True)
    assert "禁忌" in html and "薬剤アレルギー「セフカペン ピボキシル（成分）」（薬疹）に該当します" in html
    assert "患者プロフィール（アレルギー）" in html


def test_same_ingredient_twice_is_a_duplicate_and_current_medicines_count(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _issue(client, patient, [("1", AFTER_MEALS_3, "", "28", [(MUCOSTA, "3", False, False)])])
    page = f"/patients/{patient.id}/prescriptions/new"
    rps = [("1", AFTER_MEALS_3, "", "7", [(REBAMIPIDE, "3", False, False)])]
    html = client.post(page, _form(rps, action="check"), form_page=page).get_data(as_text=True)
    assert "重複投与（同一成分）: レバミピド錠１００ｍｇ「あすか」 と ムコスタ錠１００ｍｇ（当院処方" in html


@pytest.mark.parametrize(("rps", "message"), [
    ([("1", AFTER_MEALS_3, "", "7", [(LOXONIN, "0", False, False)])], "用量は0より大きい値にしてください"),
    ([("1", AFTER_MEALS_3, "", "7", [(LOXONIN, "-1", False, False)])], "用量は0より大きい値にしてください"),
    ([("1", AFTER_MEALS_3, "", "7", [(LOXONIN, "たくさん", False, False)])], "用量「たくさん」が数値ではありません"),
    ([("1", AFTER_MEALS_3, "", "0", [(LOXONIN, "3", False, False)])], "0日分はありえない値です"),
    ([("1", AFTER_MEALS_3, "", "1000", [(LOXONIN, "3", False, False)])], "1000日分はありえない値です"),
    ([("1", AFTER_MEALS_3, "", "7", [("999999999", "3", False, False)])],
     "医薬品コード「999999999」は医薬品マスターにありません"),
    ([("1", APPLY_3, "", "7", [(LOXONIN, "3", False, False)])], "外用の用法で、内服の剤には使えません"),
    ([("3", APPLY_3, "", "1", [(LOXONIN, "3", False, False)])],
     "ロキソニン錠６０ｍｇは内用薬で、外用の剤に入れられません"),
    ([("1", AFTER_MEALS_3, "", "7", [(MUCOSTA, "3", True, False)])],
     "一般名コードがないため一般名処方にできません"),
    ([("2", "", "", "5", [(LOXONIN, "1", False, False)])], "用法を選ぶか入力してください"),
    # A character the Shift_JIS 2D symbol cannot carry is refused before issue, not when printing fails later.
    ([("2", "", "\U0001F915時", "5", [(LOXONIN, "1", False, False)])],
     "「用法」の「\U0001F915」(U+1F915)は処方箋の2次元シンボル（Shift_JIS）で送れない文字です"),
])
def test_bad_orders_get_a_japanese_message_and_nothing_is_issued(client, desk, session, rps, message):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    response = client.post(page, _form(rps, action="issue"), form_page=page)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(Prescription.id)) is None


def test_remarks_the_symbol_cannot_carry_are_refused_and_variants_folded(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/prescriptions/new"
    refused = client.post(page, _form(THREE_LINES, action="issue", remarks="粉砕 \U0001F48A"), form_page=page)
    assert refused.status_code == 422
    assert "「備考」の「\U0001F48A」(U+1F48A)は処方箋の2次元シンボル（Shift_JIS）で送れない文字です" in \
        refused.get_data(as_text=True)
    _, issued = _issue(client, desk["patient"], THREE_LINES, remarks="髙橋医院より紹介")  # 髙 has an everyday form
    assert issued.status_code == 302
    assert session.scalars(select(Prescription)).one().remarks == "髙橋医院より紹介"


def test_prn_and_topical_rps_are_accepted(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    rps = [("2", "", "疼痛時", "5", [(LOXONIN, "1", False, False)]),
           ("3", APPLY_3, "", "1", [(HIRUDOID, "50", False, False)])]
    _, issued = _issue(client, desk["patient"], rps)
    assert issued.status_code == 302
    rx = session.scalars(select(Prescription)).one()
    assert [(rp.form, rp.usage_text, rp.quantity) for rp in rx.rps] == [(2, "疼痛時", 5),
                                                                        (3, "外用・塗布・１日３回", 1)]
    shown = client.get(issued.location).get_data(as_text=True)
    table = shown[shown.index("<tbody>"):shown.index("</tbody>")]
    assert "1回1錠" in table and "全量50ｇ" in table and "1日1錠" not in table
    assert "5回分" in table and "日分" not in table  # a 外用 supply of 1 says nothing more, as printed


@pytest.mark.parametrize(("form", "dose", "times", "words"), [
    (1, 3.0, 3, "1日3錠（1回1錠）"), (1, 1.5, 3, "1日1.5錠（1回0.5錠）"), (1, 1.0, 3, "1日1錠"),
    (1, 2.0, None, "1日2錠"), (2, 1.0, None, "1回1錠"), (2, 1.0, 3, "1回1錠"), (3, 50.0, 3, "全量50錠"),
    (4, 6.0, 2, "1日6錠（1回3錠）")])
def test_the_dose_is_said_per_day_or_per_time_as_printed(form, dose, times, words):
    from app.prescriptions.usage import dose_words

    assert dose_words(form, dose, "錠", times) == words


def test_the_order_form_says_what_the_typed_dose_counts(client, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/prescriptions/new"
    html = client.post(page, _form([("2", "", "疼痛時", "5", [(LOXONIN, "1", False, False)]),
                                    ("1", AFTER_MEALS_3, "", "14", [(MUCOSTA, "3", False, False)])],
                                   action="check"), form_page=page).get_data(as_text=True)
    assert "用量（内服は1日量・頓服は1回量）" in html
    assert re.findall(r'data-dose-basis>([^<]*)<', html) == ["1回量", "1日量"]
    # After チェック the order reads as it will print: per time for 頓服, per day (and per time) for 内服.
    preview = html[html.index('id="rx-preview"'):html.index('id="rx-checks"')]
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", preview)).count("Rp") == 2
    assert "<strong>1回1錠</strong>" in preview and "疼痛時 5回分" in preview
    assert "<strong>1日3錠（1回1錠）</strong>" in preview and "１日３回朝昼夕食後 14日分" in preview
    assert 'aria-label="用量（1回量） Rp1-1"' in html


def test_a_typed_name_offers_candidates(client, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    page = f"/patients/{patient.id}/prescriptions/new"
    data = _form([("1", AFTER_MEALS_3, "", "7", [("", "3", False, False)])], action="check")
    data["rp0_l0_query"] = "ればみぴど"
    html = client.post(page, data, form_page=page).get_data(as_text=True)
    assert "候補から薬剤を選んでください" in html and 'value="620009460"' in html


def test_do_prescription_copies_and_cancel_then_reissue_keeps_both(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _issue(client, patient, THREE_LINES)
    first = session.scalars(select(Prescription)).one()
    copy = client.get(f"/patients/{patient.id}/prescriptions/new", query_string={"from": first.id})
    html = copy.get_data(as_text=True)
    assert f'value="{AMLODIPINE}"' in html and 'name="rp0_l0_generic" value="1" checked' in html
    # There is no way to edit an issued prescription: cancel it with a reason, then issue the corrected one.
    show = f"/patients/{patient.id}/prescriptions/{first.id}"
    refused = client.post(f"{show}/cancel", {"reason": "", "then": ""}, form_page=show)
    assert refused.status_code == 302
    too_long = client.post(f"{show}/cancel", {"reason": "誤" * 201, "then": ""}, form_page=show)
    assert too_long.status_code == 302 and "200文字以内" in client.get(too_long.location).get_data(as_text=True)
    session.expire_all()
    assert session.get(Prescription, first.id).status == "issued"  # refused, never cut to 200
    response = client.post(f"{show}/cancel", {"reason": "用量の誤り", "then": "reissue"}, form_page=show)
    assert response.status_code == 302 and f"from={first.id}" in response.location
    html = client.get(response.location).get_data(as_text=True)
    assert f'name="replaces_id" value="{first.id}"' in html
    _, issued = _issue(client, patient, THREE_LINES, replaces_id=str(first.id))
    assert issued.status_code == 302
    session.expire_all()
    rows = session.scalars(select(Prescription).order_by(Prescription.id)).all()
    assert [(r.status, r.replaces_id) for r in rows] == [("cancelled", None), ("issued", first.id)]
    assert rows[0].cancel_reason == "用量の誤り"
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("prescription.%"))).all()
    assert sorted(actions) == ["prescription.cancel", "prescription.issue", "prescription.issue"]
    listing = client.get(f"/patients/{patient.id}/prescriptions").get_data(as_text=True)
    assert "取消" in listing and "Do処方" in listing


def test_nurses_read_but_do_not_prescribe(client, desk, session):
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    patient = desk["patient"]
    assert client.get(f"/patients/{patient.id}/prescriptions").status_code == 200
    assert client.get(f"/patients/{patient.id}/prescriptions/new").status_code == 403
    response = client.post(f"/patients/{patient.id}/prescriptions/new", _form(THREE_LINES, action="issue"),
                           form_page=f"/patients/{patient.id}/prescriptions")
    assert response.status_code == 403


def test_another_clinic_cannot_prescribe_for_this_patient(client, desk, session):
    other = make_clinic(session)
    doctor_b = make_user(session, other, role="doctor")
    session.commit()
    client.login(doctor_b.login_id, doctor_b.totp_secret)
    patient = desk["patient"]
    response = client.post(f"/patients/{patient.id}/prescriptions/new", _form(THREE_LINES, action="check"),
                           form_page="/reception")
    assert response.status_code == 404


def test_contraindicated_combination_with_a_current_medicine_is_stopped_with_its_source(client, desk, session):
    load_demo_edition(session)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _issue(client, patient, [("1", "1011100000000000", "", "14", [("622374201", "1", False, False)])])  # ベルソムラ
    page = f"/patients/{patient.id}/prescriptions/new"
    rps = [("1", "1012040400000000", "", "7", [("620003928", "2", False, False)])]  # クラリスロマイシン錠２００ｍｇ
    html = client.post(page, _form(rps, action="check"), form_page=page).get_data(as_text=True)
    assert "併用禁忌: クラリスロマイシン錠２００ｍｇ「ＥＭＥＣ」 と ベルソムラ錠１５ｍｇ（当院処方" in html
    assert f"支払基金 チェックマスタ {DEMO_VERSION}（医薬品併用禁忌）" in html
    assert "ベルソムラ錠 添付文書【禁忌】" in html
    # Clarithromycin has no 適応・投与量 row in the demo edition: its dose is 未確認, and said why.
    assert "クラリスロマイシン錠２００ｍｇ「ＥＭＥＣ」: チェックマスタに適応・投与量の行がない" in html


def test_issued_prescription_prints_as_a_pdf_whose_symbol_scans(client, desk, session, tmp_path):
    from app.prescriptions.printing import print_model
    from app.printing.prescription import jahis_symbol_text
    from tests.printing.pdf_tools import decode_symbols, page_images, pdf_text

    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _issue(client, patient, THREE_LINES)
    rx = session.scalars(select(Prescription)).one()
    response = client.get(f"/patients/{patient.id}/prescriptions/{rx.id}/print.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data, tmp_path)
    assert "処方箋" in text and "山田" in text and "ロキソプロフェン" in text and "アムロジピン" in text
    scanned = b"".join(decode_symbols(image) for image in page_images(response.data, tmp_path))
    expected = jahis_symbol_text(print_model(rx, patient, desk["clinic"]))
    assert scanned.decode("cp932") == expected  # what a pharmacy's reader gets is the whole prescription
    assert "1149019F1ZZZ" in expected and "620007817" in expected  # 一般名処方 by its code; the brand by レセ電
    actions = session.scalars(select(AccessLogEntry.action).where(AccessLogEntry.patient_id == patient.id)).all()
    assert "print" in actions


def test_the_prescription_page_says_once_what_the_symbol_carries_differently(client, session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic, name="髙橋　髙子", kana="タカハシ　タカコ", birth_date=date(1958, 3, 2))
    load_shipped_subset(session)
    session.commit()
    client.login(doctor.login_id, doctor.totp_secret)
    _issue(client, patient, THREE_LINES)
    rx = session.scalars(select(Prescription)).one()
    page = client.get(f"/patients/{patient.id}/prescriptions/{rx.id}").get_data(as_text=True)
    notice = page[page.index('id="symbol-notices"'):]
    notice = notice[:notice.index("</p>")]
    # 髙 twice in the name, told once: the JAHIS spec folds it to 高 in the symbol; the paper keeps it.
    assert notice.count("「患者氏名」の「髙」は2次元シンボルでは「高」になります") == 1
    assert page.count('id="symbol-notices"') == 1


def test_no_symbol_notice_when_every_character_fits(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _issue(client, desk["patient"], THREE_LINES)
    rx = session.scalars(select(Prescription)).one()
    assert 'id="symbol-notices"' not in client.get(f"/patients/{desk['patient'].id}/prescriptions/{rx.id}").get_data(
        as_text=True)
