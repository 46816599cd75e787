"""Lab-item master (shipped subset from real code lists, lab company file import) and ordering over HTTP:
items and sets found by name, kana or code; tests grouped by specimen and container with numbered specimens;
the OML^O33 built, validated and sent through the outbox to the lab simulator, whose answer sets the state."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.labs.masters import LabMasterError, parse_item_file
from app.labs.models import LabItem
from app.labs.services import specimen_number
from app.outbox.models import OutboxMessage
from tests.labs.helpers import CLINIC, deliver, latest_order, make_desk, place_order

# The one copy of the JP-CLINS core lab item set the app ships (the FHIR validator reads the same file).
CORE = Path(__file__).resolve().parents[2] / "app" / "sharing" / "data" / "lab_core.csv"
SHIPPED = Path(__file__).resolve().parents[2] / "app" / "labs" / "data" / "lab_items.csv"


def test_every_shipped_jlac10_code_is_in_the_jp_clins_core_set_or_the_sample():
    core = {row["jlac10"]: row for row in csv.DictReader(CORE.open(encoding="utf-8"))}
    for row in csv.DictReader(SHIPPED.open(encoding="utf-8")):
        if row["jlac10_source"] == "lab_core":
            assert row["jlac10"] in core, row["lab_code"]
            assert core[row["jlac10"]]["specimen"].startswith(row["specimen"]), row["lab_code"]
        else:
            assert row["jlac10_source"] == "ssmix2_sample"
            sample = Path(__file__).parents[1] / "samples/hl7/oul_r22_biochemistry"
            assert row["jlac10"].encode() in sample.read_bytes()


def test_a_bad_master_file_names_the_line_and_loads_nothing(app, session, tmp_path):
    good = SHIPPED.read_text(encoding="utf-8")
    bad = good + "K9999,3X99,,壊れた項目,,,血清,023,生化学,mg/dL,mg/dL,NM,1-2,1-2,\n"
    with pytest.raises(LabMasterError, match="28行目: JLAC10"):
        parse_item_file(bad.encode())
    path = tmp_path / "bad.csv"
    path.write_bytes(bad.encode("cp932", errors="replace"))
    result = app.test_cli_runner().invoke(args=["masters", "import-lab-items", str(path)])
    assert result.exit_code == 1 and "何も登録していません" in result.output
    assert session.scalar(select(func.count()).select_from(LabItem)) == 0


def test_a_lab_company_file_in_shift_jis_with_jlac11_loads(app, session, tmp_path):
    text = ("lab_code,jlac10,jlac11,name,short_name,kana,specimen,specimen_code,container,unit,unit_ascii,value_type,"
            "ref_male,ref_female\n"
            "M001,6B010000001774214,,培養同定(一般細菌)菌名判定,培養菌名,バイヨウドウテイ,血液,017,カルチャーボトル,,,ST,,\n")
    path = tmp_path / "menu.csv"
    path.write_bytes(text.encode("cp932"))
    result = app.test_cli_runner().invoke(args=["masters", "import-lab-items", str(path)])
    assert result.exit_code == 0, result.output
    item = session.get(LabItem, "M001")
    assert item.jlac10 == "6B010000001774214" and item.container == "カルチャーボトル"


def test_specimen_numbers_carry_a_check_digit():
    from app.core.checkdigit import luhn_valid

    numbers = {specimen_number(order, seq) for order in (1, 2, 1234567) for seq in (1, 2, 3)}
    assert len(numbers) == 9 and all(luhn_valid(n) and len(n) == 10 for n in numbers)


@pytest.mark.parametrize("query, expected", [("かんきのう", "S002"), ("ｶﾝｷﾉｳ", "S002"), ("AST", "K0111"),
                                             ("3D046", "K0152"), ("ヘモグロビン", "K0203"), ("K0122", "K0122")])
def test_search_finds_items_and_sets_by_name_kana_or_code(client, session, query, expected):
    desk = make_desk(session)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    data = client.get("/masters/lab-items", query_string={"q": query}).get_json()
    codes = [s["code"] for s in data["sets"]] + [i["code"] for i in data["items"]]
    assert expected in codes


def test_a_set_shows_its_tubes_and_tests_at_once_on_the_form_and_in_the_search(client, session):
    desk = make_desk(session)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    data = client.get("/masters/lab-items", query_string={"q": "せいかつ"}).get_json()
    assert data["sets"][0]["tubes"] == [
        {"specimen": "血清", "container": "生化学（分離剤入り）",
         "tests": ["AST", "ALT", "γ-GT", "T-CHO", "TG", "HDL-C", "LDL-C", "Cre", "UA"]},
        {"specimen": "血漿", "container": "血糖（フッ化ナトリウム入り）", "tests": ["BG"]},
        {"specimen": "全血(添加物入り)", "container": "血算（EDTA-2K）", "tests": ["HbA1c"]}]
    page = client.get(f"/patients/{desk['patient'].id}/labs/orders/new",
                      query_string={"set_code": "S001"}).get_data(as_text=True)
    chosen = page[page.index("data-chosen"):page.index("data-empty")]
    assert "生活習慣病セット" in chosen and "検体3: 血算（EDTA-2K）（全血(添加物入り)）</span> HbA1c" in chosen
    assert page.count('name="set_code" value="S001"') == 1  # chosen once, not listed again among the sets
    assert "肝機能セット</strong>（6項目・検体1本）" in page


def test_order_groups_tests_by_specimen_and_container(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], sets=["S001"], items=["K0201", "K0203", "K0111"])
    order = latest_order(session)
    containers = {s.container: [i["lab_code"] for i in s.items] for s in order.specimens}
    assert containers == {
        "生化学（分離剤入り）": ["K0111", "K0112", "K0113", "K0141", "K0142", "K0143", "K0144", "K0122", "K0123"],
        "血糖（フッ化ナトリウム入り）": ["K0151"],
        "血算（EDTA-2K）": ["K0152", "K0201", "K0203"]}
    assert [s.specimen_number for s in order.specimens] == [specimen_number(order.id, n) for n in (1, 2, 3)]
    assert order.status == "queued"
    page = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}").get_data(as_text=True)
    assert "送信待ち" in page and order.specimens[0].specimen_number in page


def test_the_order_reaches_the_lab_through_the_outbox_and_is_accepted(app, client, session, lab_center):
    desk = make_desk(session, lab_center, patient_name="奥本 図子", patient_kana="オクモト ズコ")
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    place_order(client, desk["patient"], sets=["S004"])
    deliver(app)
    order = latest_order(session)
    assert order.status == "accepted", order.status_detail
    held = lab_center.orders()[f"{CLINIC}:{order.order_number}"]
    # 奥 本 図 contain | \ ^ once encoded: the lab decoded the whole message and kept the name intact.
    assert "奥本^図子" in held["pid"]
    assert [s["number"] for s in held["specimens"]] == [order.specimens[0].specimen_number]
    page = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}").get_data(as_text=True)
    assert "受付済み" in page
    sent = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}/order.hl7")
    assert sent.mimetype == "x-application/hl7-v2+er7"
    assert b"\x1b$B" in sent.data and "OML^O33^OML_O33" in sent.data.decode("iso2022_jp")


def test_a_lab_that_is_down_gets_the_order_later(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    lab_center.set_fault("down", times=1)
    place_order(client, desk["patient"], items=["K0161"])
    deliver(app)
    assert latest_order(session).status == "queued"
    assert session.scalars(select(OutboxMessage)).one().status == "pending"
    deliver(app)
    assert latest_order(session).status == "accepted"


def test_an_order_the_lab_refuses_shows_its_reason(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    session.add(LabItem(lab_code="X001", jlac10="3B035000002327201", name="他社項目", short_name="X", kana="タシャ",
                        name_key="他社項目", kana_key="タシヤ", specimen="血清", specimen_code="023",
                        container="生化学"))
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["X001"])
    deliver(app)
    order = latest_order(session)
    assert order.status == "rejected" and "当社の検査項目にない依頼です" in order.status_detail
    page = client.get(f"/patients/{desk['patient'].id}/labs/orders/{order.id}").get_data(as_text=True)
    assert "受付拒否" in page and "当社の検査項目にない" in page


def test_an_empty_order_is_refused_with_a_message(client, session):
    desk = make_desk(session)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = place_order(client, desk["patient"], status=422)
    assert "検査項目かセットを1つ以上選んでください" in response.get_data(as_text=True)


def test_an_unencodable_name_is_refused_before_anything_is_saved(client, session):
    desk = make_desk(session, patient_name="𠮷田 太郎", patient_kana="ヨシダ タロウ")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = place_order(client, desk["patient"], items=["K0161"], status=422)
    assert "ISO-2022-JP で送れない文字" in response.get_data(as_text=True)
    assert latest_order(session) is None


def test_clerks_may_not_order(client, session):
    desk = make_desk(session)
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert client.get(f"/patients/{desk['patient'].id}/labs/orders/new").status_code == 403
    assert client.get(f"/patients/{desk['patient'].id}/labs").status_code == 200


@pytest.mark.parametrize(("day", "message"), [("9999-12-31", "採取日は90日先までの日付にしてください"),
                                               ("2020-01-01", "採取日に過去の日付は指定できません")])
def test_a_collection_day_out_of_sense_is_refused_and_nothing_is_saved(client, session, day, message):
    desk = make_desk(session)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/labs/orders/new"
    response = client.post(f"/patients/{desk['patient'].id}/labs/orders",
                           {"lab_code": ["K0161"], "ordered_on": day, "comment": ""}, form_page=page)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert latest_order(session) is None
