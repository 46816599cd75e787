"""傷病名 through real HTTP: master search in any kana, modifiers composing the name, 疑い and 主病, 転帰,
corrections that keep the history, validation, roles, access log, audit; the official master files."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.models import AccessLogEntry, AuditEntry
from app.diagnoses.masters import B_COLUMNS, DATA, Z_COLUMNS, load_shipped_subsets, search_diseases
from app.diagnoses.models import Diagnosis, Disease, Modifier
from tests.factories import make_clinic, make_patient, make_user

HYPERTENSION = "8833421"  # 高血圧症 I10
BRONCHITIS = "4900009"  # 気管支炎 J40
ACUTE = "4012"  # 急性 (接頭語)
CHRONIC = "4043"  # 慢性
POSTOP = "8048"  # の術後 (接尾語)


@pytest.fixture
def desk(session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    nurse = make_user(session, clinic, role="nurse")
    patient = make_patient(session, clinic)
    load_shipped_subsets(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "nurse": nurse, "patient": patient}


def _add(client, patient, **fields):
    page = f"/patients/{patient.id}/diagnoses"
    data = {"started_on": "2026-04-01", "outcome": "continuing", **fields}
    return client.post(page, data, form_page=page)


@pytest.mark.parametrize("typed", ["こうけつあつ", "コウケツアツ", "ｺｳｹﾂｱﾂ", "高血圧"])
def test_disease_search_finds_by_any_kana_or_kanji_with_icd10(client, desk, typed):
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    items = client.get("/masters/diseases", query_string={"q": typed}).get_json()["items"]
    hit = next(i for i in items if i["code"] == HYPERTENSION)
    assert hit["name"] == "高血圧症" and hit["icd10"] == "I10"


def test_doctor_adds_a_diagnosis_with_modifiers_and_sees_its_icd10(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    response = _add(client, patient, disease_code=BRONCHITIS, prefix_code=[ACUTE], suspected="", is_suspected="1")
    assert response.status_code == 302
    item = session.scalars(select(Diagnosis)).one()
    assert item.display_name == "急性気管支炎の疑い" and item.suffix_codes == ["8002"] and item.icd10 == "J40"
    html = client.get(f"/patients/{patient.id}/diagnoses").get_data(as_text=True)
    assert "急性気管支炎の疑い" in html and "J40" in html and "疑い" in html
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "diagnosis.create")).one()
    assert audit.patient_id == patient.id and audit.summary["after"]["display_name"] == "急性気管支炎の疑い"


def test_main_disease_and_suffix(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _add(client, desk["patient"], disease_code=HYPERTENSION, is_main="1")
    _add(client, desk["patient"], disease_code=BRONCHITIS, prefix_code=[CHRONIC], suffix_code=[POSTOP])
    names = {d.display_name: d.is_main for d in session.scalars(select(Diagnosis))}
    assert names == {"高血圧症": True, "慢性気管支炎の術後": False}


@pytest.mark.parametrize(("fields", "message"), [
    ({"disease_code": ""}, "傷病名を傷病名マスターから選んでください"),
    ({"disease_code": "9999999"}, "傷病名コード「9999999」は傷病名マスターにありません"),
    ({"disease_code": "0000999"}, "未コード化傷病名は使えません"),
    ({"disease_code": BRONCHITIS, "prefix_code": ["0000"]}, "修飾語コード「0000」は修飾語マスターにありません"),
    ({"disease_code": BRONCHITIS, "prefix_code": [POSTOP]}, "の位置が違います"),
    ({"disease_code": BRONCHITIS, "started_on": (date.today() + timedelta(days=10)).isoformat()},
     "開始日が未来の日付になっています"),
    ({"disease_code": BRONCHITIS, "started_on": ""}, "開始日を入力してください"),
    ({"disease_code": BRONCHITIS, "outcome": "cured"}, "転帰（治癒）の日付を入力してください"),
    ({"disease_code": BRONCHITIS, "ended_on": "2026-05-01"}, "転帰日を入れるときは転帰"),
    ({"disease_code": BRONCHITIS, "outcome": "cured", "ended_on": "2026-03-01"}, "転帰日が開始日より前です"),
    ({"disease_code": BRONCHITIS, "is_main": "1", "is_suspected": "1"}, "疑い病名は主病にできません"),
    ({"disease_code": BRONCHITIS, "prefix_code": [ACUTE] * 7}, "修飾語は6個までです"),
    ({"disease_code": BRONCHITIS, "started_on": "1950-01-01"}, "開始日が生年月日より前です"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(client, desk, session, fields, message):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = _add(client, desk["patient"], **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Diagnosis)) == 0


def test_outcome_and_correction_keep_every_version_visible(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _add(client, patient, disease_code=BRONCHITIS, prefix_code=[ACUTE])
    first = session.scalars(select(Diagnosis)).one()
    edit = f"/patients/{patient.id}/diagnoses/{first.id}/edit"
    assert client.get(edit).status_code == 200
    data = {"disease_code": BRONCHITIS, "prefix_code": [ACUTE], "started_on": "2026-04-01", "outcome": "cured",
            "ended_on": "2026-04-20"}
    refused = client.post(edit, data, form_page=edit)
    assert refused.status_code == 422 and "理由を入力してください" in refused.get_data(as_text=True)
    response = client.post(edit, {**data, "change_reason": "治癒を確認"}, form_page=edit)
    assert response.status_code == 302
    session.expire_all()
    versions = session.scalars(select(Diagnosis).order_by(Diagnosis.version)).all()
    assert [(v.version, v.outcome, v.superseded_at is None) for v in versions] == [(1, "continuing", False),
                                                                                   (2, "cured", True)]
    html = client.get(f"/patients/{patient.id}/diagnoses").get_data(as_text=True)
    assert "転帰済み（1件）" in html and "治癒" in html
    history = client.get(f"/patients/{patient.id}/diagnoses/{first.id}/history").get_data(as_text=True)
    assert "修正前" in history and "治癒を確認" in history and "医師 一郎" in history
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "diagnosis.end")).one()
    # The superseded version cannot be changed again.
    assert client.post(edit, {**data, "change_reason": "x"}, form_page=edit).status_code == 404


def test_a_diagnosis_whose_code_the_master_abolished_can_still_be_ended(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _add(client, patient, disease_code=BRONCHITIS)
    item = session.scalars(select(Diagnosis)).one()
    session.get(Disease, BRONCHITIS).end_date = date(2026, 6, 1)  # a later master abolished the code
    session.commit()
    assert "廃止された傷病名です" in _add(client, patient, disease_code=BRONCHITIS).get_data(as_text=True)
    edit = f"/patients/{patient.id}/diagnoses/{item.id}/edit"
    response = client.post(edit, {"disease_code": BRONCHITIS, "started_on": "2026-04-01", "outcome": "cured",
                                  "ended_on": "2026-05-01", "change_reason": "治癒"}, form_page=edit)
    assert response.status_code == 302


def test_withdrawn_diagnosis_leaves_the_list(client, desk, session):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    _add(client, patient, disease_code=HYPERTENSION)
    item = session.scalars(select(Diagnosis)).one()
    edit = f"/patients/{patient.id}/diagnoses/{item.id}/edit"
    client.post(f"/patients/{patient.id}/diagnoses/{item.id}/retract", {"reason": "別患者に入力"}, form_page=edit)
    html = client.get(f"/patients/{patient.id}/diagnoses").get_data(as_text=True)
    assert "継続中の傷病名はありません" in html


def test_nurses_read_diagnoses_but_only_doctors_write_and_views_are_logged(client, desk, session):
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    patient = desk["patient"]
    assert client.get(f"/patients/{patient.id}/diagnoses").status_code == 200
    assert _add(client, patient, disease_code=HYPERTENSION).status_code == 403
    resources = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.patient_id == patient.id)).all()
    assert "patient.diagnoses" in resources


def test_search_without_javascript_lists_candidates(client, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = client.get(f"/patients/{desk['patient'].id}/diagnoses", query_string={"q": "きかんしえん"}).get_data(
        as_text=True)
    assert f'name="disease_code" value="{BRONCHITIS}"' in html


def test_shipped_subsets_load_every_row(session):
    diseases, modifiers = load_shipped_subsets(session)
    assert diseases > 400 and modifiers > 160
    assert session.get(Modifier, "8002").name == "の疑い" and session.get(Modifier, "8002").is_suffix
    assert [d.code for d in search_diseases(session, "こうけつあつしょう")][:1] == [HYPERTENSION]


def _official_rows(name: str, columns: dict[str, int], kind: str, width: int) -> list[list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:30]
    lines = []
    for row in rows:
        fields = [""] * width
        fields[0], fields[columns["kind"]] = "0", kind
        for key, index in columns.items():
            if key != "kind":
                fields[index] = row.get(key, "") or ("00" if key in ("standalone_prohibited",) else "")
        lines.append(fields)
    return lines


def _write(path, lines) -> None:
    path.write_bytes("\r\n".join(",".join(f'"{f}"' for f in line) for line in lines).encode("cp932") + b"\r\n")


def test_official_disease_and_modifier_files_import_from_the_command_line(app, session, tmp_path):
    b_file, z_file = tmp_path / "b_20240601.txt", tmp_path / "z_20250601.txt"
    _write(b_file, _official_rows("diseases.csv", B_COLUMNS, "B", 46))
    _write(z_file, _official_rows("modifiers.csv", Z_COLUMNS, "Z", 19))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["masters", "import-diseases", str(b_file)])
    assert result.exit_code == 0 and "30件" in result.output, result.output
    assert runner.invoke(args=["masters", "import-modifiers", str(z_file)]).exit_code == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Disease)) == 30
    assert session.get(Disease, "0085004").name == "細菌性腸炎"


def test_a_damaged_master_file_imports_nothing(app, session, tmp_path):
    lines = _official_rows("diseases.csv", B_COLUMNS, "B", 46)
    lines[12] = lines[12][:10]
    path = tmp_path / "b.txt"
    _write(path, lines)
    result = app.test_cli_runner().invoke(args=["masters", "import-diseases", str(path)])
    assert result.exit_code == 1 and "13行目: 項目数が10" in result.output and "何も登録していません" in result.output
    assert session.scalar(select(func.count()).select_from(Disease)) == 0
