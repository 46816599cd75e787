"""The 医科診療行為マスター (shipped subset, the official file loaded all or nothing), the fee rules read against a
visit (what applies, what is greyed and why), choosing fees with every check made again, and the one builder's
診療種別区分 per line."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from app.billing import claim_builder, fee_rules, fees, visit_claim
from app.billing.models import Procedure, ProcedureMasterVersion
from app.billing.procedures import DATA, S_COLUMNS, SHIPPED_VERSION, search_procedures
from app.core.audit import Actor
from app.core.errors import ValidationError
from app.db import utcnow
from app.diagnoses.models import Diagnosis
from app.documents.models import FINAL, ReferralLetter
from app.reception.models import PAID
from tests.billing.helpers import BASEDOW, add_diagnosis, earlier_visit, load_masters, make_visit
from tests.factories import make_clinic, make_patient, make_user

TOKUTEI, TOKUTEI_ONLINE = "113001810", "113034010"
GAIRAI_KANRI, TEIKYO, SHONIKA_RX = "112011010", "180016110", "113003610"


@pytest.fixture
def world(session):
    clinic = make_clinic(session)
    doctor = make_user(session, clinic, role="doctor")
    load_masters(session)
    session.commit()
    return {"clinic": clinic, "doctor": doctor,
            "actor": Actor(user_id=doctor.id, login_id=doctor.login_id, clinic_id=clinic.id, role="doctor")}


def _options(session, visit, text="", first=None):
    return {o.code: o for o in fees.fee_options(session, visit, text, first) if o.code}


def test_shipped_master_is_loaded_with_its_edition_and_searchable_by_kana_name_and_code(session, world):
    assert session.scalar(select(func.count()).select_from(Procedure)) == 180
    assert session.scalars(select(ProcedureMasterVersion)).one().version == SHIPPED_VERSION
    assert session.get(Procedure, "112007410").points == 75  # 再診料, 2024 points
    assert TOKUTEI in {p.code for p in search_procedures(session, "ﾄｸﾃｲｼｯｶﾝ")}
    assert TOKUTEI in {p.code for p in search_procedures(session, "とくていしっかん")}
    assert TOKUTEI in {p.code for p in search_procedures(session, "特定疾患療養")}
    assert [p.code for p in search_procedures(session, "1130018")] == [TOKUTEI]


def _official_file(tmp_path: Path, rows: list[dict[str, str]], name: str = "s_ALL20240601.csv") -> Path:
    """Rows of the shipped subset laid out in the official 150-column file (cp932, no header)."""
    lines = []
    for row in rows:
        fields = [""] * 150
        fields[0], fields[S_COLUMNS["kind"]] = "0", "S"
        for key, index in S_COLUMNS.items():
            if key in row:
                fields[index] = row[key]
        fields[S_COLUMNS["end_date"]] = row.get("end_date", "99999999")
        lines.append(",".join(fields))
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


def _shipped_rows() -> list[dict[str, str]]:
    with (DATA / "procedures.csv").open(encoding="utf-8") as handle:
        return [{**row, "change_date": row["change_date"]} for row in csv.DictReader(handle)]


def test_import_procedures_loads_all_or_nothing_and_keeps_the_edition(app, session, world, tmp_path):
    rows = _shipped_rows()[:5]
    runner = app.test_cli_runner()
    changed = [{**r, "points": "300"} if r["code"] == "111000110" else r for r in rows]
    done = runner.invoke(args=["masters", "import-procedures", str(_official_file(tmp_path, changed))])
    assert done.exit_code == 0 and "5件" in done.output
    session.expire_all()
    assert session.get(Procedure, "111000110").points == 300
    assert session.scalars(select(ProcedureMasterVersion).order_by(ProcedureMasterVersion.id.desc())).first() \
        .version == "s_ALL20240601"
    bad = [*rows[:3], {**rows[3], "code": "12345"}]
    refused = runner.invoke(args=["masters", "import-procedures",
                                  str(_official_file(tmp_path, [{**bad[0], "points": "999"}, *bad[1:]], "s2.csv"))])
    assert refused.exit_code == 1 and "4行目" in refused.output and "何も登録していません" in refused.output
    session.expire_all()
    assert session.get(Procedure, "111000110").points == 300  # the first line of the refused file left no trace


def test_fee_rules_are_data_with_their_source_and_version():
    for rule in fee_rules.rules():
        assert rule.source.startswith("告示") and rule.version == "2024-06"
    shipped = {row["code"] for row in _shipped_rows()}
    assert all(rule.code in shipped for rule in fee_rules.rules() if rule.code)


def test_specific_disease_fee_applies_only_with_a_main_specific_disease(session, world):
    clinic, actor = world["clinic"], world["actor"]
    visit = make_visit(session, clinic)
    add_diagnosis(session, visit.patient, *BASEDOW)
    first = _options(session, visit, first=True)[TOKUTEI]  # 初診 by ORCA's 初診算定日 (app/billing/first_visit.py)
    assert not first.applies and "初診の日" in first.reason
    assert _options(session, visit, first=False)[TOKUTEI].applies
    session.execute(delete(Diagnosis))
    greyed = _options(session, visit)[TOKUTEI]
    assert not greyed.applies and "特定疾患" in greyed.reason
    with pytest.raises(ValidationError, match="特定疾患"):
        fees.choose_fee(session, clinic, actor, visit, TOKUTEI)
    add_diagnosis(session, visit.patient, *BASEDOW, main=False)
    assert not _options(session, visit)[TOKUTEI].applies  # not the main disease
    add_diagnosis(session, visit.patient, *BASEDOW)
    option = _options(session, visit)[TOKUTEI]
    assert option.applies and option.suggested and "バセドウ病" in option.reason and option.points == "225"
    assert not _options(session, visit)[TOKUTEI_ONLINE].applies  # a face-to-face visit
    fees.choose_fee(session, clinic, actor, visit, TOKUTEI)
    first = fees.fee_options(session, visit)[0]
    assert first.code == TOKUTEI and first.chosen


def _returning_patient(session, clinic, day):
    """A patient with a main 特定疾患 and a paid visit 40 days before `day` (a 再診)."""
    patient = make_patient(session, clinic)
    add_diagnosis(session, patient, *BASEDOW)
    earlier_visit(session, clinic, patient, day)
    return patient


def test_monthly_limit_exclusive_pairs_and_age(session, world):
    clinic, actor = world["clinic"], world["actor"]
    day = date.today().replace(day=1)
    patient = _returning_patient(session, clinic, day)
    for offset in (0, 1):
        fees.choose_fee(session, clinic, actor, make_visit(session, clinic, patient, day=day + timedelta(offset)),
                        TOKUTEI)
    third = make_visit(session, clinic, patient, day=day + timedelta(2))
    assert "月2回まで" in _options(session, third)[TOKUTEI].reason
    with pytest.raises(ValidationError, match="月2回まで"):
        fees.choose_fee(session, clinic, actor, third, TOKUTEI)
    toddler = make_patient(session, clinic, birth_date=date.today() - timedelta(days=3 * 365))
    child = make_visit(session, clinic, toddler)
    adult_option = _options(session, third)[SHONIKA_RX]
    assert not adult_option.applies and "6歳未満" in adult_option.reason
    assert "処方箋がありません" in _options(session, child)[SHONIKA_RX].reason
    fees.choose_fee(session, clinic, actor, child, GAIRAI_KANRI)
    clash = _options(session, child)["113003810"]
    assert not clash.applies and "併算定できない料金「外来管理加算」" in clash.reason
    assert "未収載" in next(o for o in fees.fee_options(session, child) if o.name == "生活習慣病管理料（Ⅰ）").reason


def test_bad_input_is_refused_with_a_message(session, world):
    clinic, actor = world["clinic"], world["actor"]
    visit = make_visit(session, clinic)
    for code, quantity, message in (("999999999", 1, "マスターにありません"), ("", 1, "コードを入力"),
                                    (GAIRAI_KANRI, "0", "1から9"),
                                    (GAIRAI_KANRI, "x", "1から9"), ("160008010", 1, "指導料・管理料")):
        with pytest.raises(ValidationError, match=message):
            fees.choose_fee(session, clinic, actor, visit, code, quantity)
    session.get(Procedure, GAIRAI_KANRI).end_date = visit.visit_date
    with pytest.raises(ValidationError, match="廃止"):
        fees.choose_fee(session, clinic, actor, visit, GAIRAI_KANRI)
    no_reception = make_visit(session, clinic, department_code="", physician_code="")
    with pytest.raises(ValidationError, match="診療科・医師"):
        fees.choose_fee(session, clinic, actor, no_reception, TEIKYO)
    paid = make_visit(session, clinic, status=PAID)
    with pytest.raises(ValidationError, match="会計済"):
        fees.choose_fee(session, clinic, actor, paid, GAIRAI_KANRI)


def test_one_builder_gives_each_line_its_medical_class(session, world):
    clinic, actor = world["clinic"], world["actor"]
    visit = make_visit(session, clinic)
    add_diagnosis(session, visit.patient, *BASEDOW)
    earlier_visit(session, clinic, visit.patient, visit.visit_date)
    for code in (TOKUTEI, GAIRAI_KANRI, "114040610"):
        fees.choose_fee(session, clinic, actor, visit, code)
    bill = fees.bill_for(session, visit)
    entries = claim_builder.medical_information(visit_claim.fee_doses(session, bill))
    assert [(e["Medical_Class"], [m["Medication_Code"] for m in e["Medication_info"]]) for e in entries] == [
        ("130", [TOKUTEI]), ("120", [GAIRAI_KANRI]), ("140", ["114040610"])]
    assert bill.revision == 3
    assert fees.plan_lines(session, clinic.id, visit.patient_id, visit.visit_date)[0] == "【算定】特定疾患療養管理料"
    with pytest.raises(claim_builder.ClaimError, match="9桁"):
        claim_builder.medical_information([claim_builder.Dose("600", "検査", 1, [claim_builder.Line("M001", "x")])])
    many = claim_builder.medical_information([claim_builder.Dose("600", "検査", 1, [
        claim_builder.Line(f"1600{n:05d}", "x") for n in range(41)])])
    assert [len(e["Medication_info"]) for e in many] == [40, 1]


def test_letter_of_today_and_the_online_variants(session, world):
    clinic, actor = world["clinic"], world["actor"]
    visit = make_visit(session, clinic)
    earlier_visit(session, clinic, visit.patient, visit.visit_date)
    add_diagnosis(session, visit.patient, *BASEDOW)
    assert "ありません" in _options(session, visit)[TEIKYO].reason
    session.add(ReferralLetter(clinic_id=clinic.id, patient_id=visit.patient_id, author_name="医師",
                               written_on=visit.visit_date, to_institution="みなと総合病院", status=FINAL,
                               confirmed_at=utcnow()))
    session.flush()
    assert _options(session, visit)[TEIKYO].suggested
    fees.set_online(session, clinic, actor, visit, True)
    online = _options(session, visit)
    assert online[TOKUTEI_ONLINE].applies and not online[TOKUTEI].applies
    fees.choose_fee(session, clinic, actor, visit, TOKUTEI_ONLINE)
    with pytest.raises(ValidationError, match="外してから"):
        fees.set_online(session, clinic, actor, visit, False)


def test_monthly_limit_counts_times_and_a_return_visit_fee_is_greyed_on_a_first_visit(session, world):
    clinic, actor = world["clinic"], world["actor"]
    day = date.today().replace(day=1)
    patient = _returning_patient(session, clinic, day)
    fees.choose_fee(session, clinic, actor, make_visit(session, clinic, patient, day=day), TOKUTEI, "2")
    second = make_visit(session, clinic, patient, day=day + timedelta(1))
    assert "今月すでに2回算定" in _options(session, second)[TOKUTEI].reason  # 回数 2 counts twice
    other = _returning_patient(session, clinic, day)
    fees.choose_fee(session, clinic, actor, make_visit(session, clinic, other, day=day), TOKUTEI)
    with pytest.raises(ValidationError, match="あと1回"):
        fees.choose_fee(session, clinic, actor, make_visit(session, clinic, other, day=day + timedelta(1)), TOKUTEI,
                        "2")
    # 外来管理加算 and the 再診時 小児科外来診療料 are 再診 fees (告示 A001 注8, B001-2).
    toddler = make_visit(session, clinic, make_patient(session, clinic, birth_date=date.today() - timedelta(days=400)))
    for code in (GAIRAI_KANRI, SHONIKA_RX, "112000970"):
        option = _options(session, toddler, first=True)[code]
        assert not option.applies and "初診の日" in option.reason


def test_an_exclusive_pair_is_greyed_whichever_row_names_it():
    rule = fee_rules.FeeRule("料金A", "113000000", "a", "doctor_judges", 0, None, None, (), None, "告示", "2024-06")
    facts = fee_rules.VisitFacts(age=40, online=False, chosen_groups={"b"}, chosen_names={"b": "料金B"},
                                 chosen_excludes={"b": ("a",)})
    assert fee_rules.judge(rule, facts, True) == (False, False, "併算定できない料金「料金B」がすでに選ばれています")
    facts.chosen_excludes = {"b": ()}
    assert fee_rules.judge(rule, facts, True)[0]
