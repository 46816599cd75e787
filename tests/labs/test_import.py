"""Result import: real SS-MIX2 samples import and the NEGATIVE ones are refused with a reason; every message is
stored raw first, imported whole or not at all, imported once when delivered again; bad input of every kind is
refused clearly; the CLI, the push endpoint and polling the lab all end in the same result table."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.labs.importer import import_message
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult, LabSpecimen
from app.labs.poller import import_stranded
from tests.factories import make_patient
from tests.labs.helpers import CLINIC, INBOUND_TOKEN, SAMPLES, deliver, latest_order, make_desk, place_order

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

BIOCHEMISTRY = (SAMPLES / "oul_r22_biochemistry").read_bytes()


def _sample_patient(session, desk):
    """The patient and order the SS-MIX2 OUL^R22 sample reports on (the sample is never edited)."""
    patient = make_patient(session, desk["clinic"], orca_patient_id="0001000052", name="患者 太郎",
                           kana="カンジャ タロウ", birth_date=date(1970, 4, 5))
    order = LabOrder(clinic_id=desk["clinic"].id, patient_id=patient.id, order_number="000000011000354",
                     ordered_on=date(2011, 12, 19), status="accepted")
    order.specimens.append(LabSpecimen(
        clinic_id=desk["clinic"].id, patient_id=patient.id, seq=1, specimen_number="000000001219001", specimen="血清",
        specimen_code="023", container="生化学（分離剤入り）",
        items=[{"lab_code": c, "jlac10": "", "name": c} for c in ("K0103", "K0101", "K0102")]))
    session.add(order)
    session.commit()
    return patient, order


def _results(session, **where):
    session.expire_all()
    return list(session.scalars(select(LabResult).filter_by(**where).order_by(LabResult.id)))


def _import(session, desk, data: bytes, source="file"):
    return import_message(session, desk["clinic"].id, data, source=source)


def test_the_ssmix2_oul_r22_sample_imports_with_values_units_and_ranges(session):
    desk = make_desk(session)
    patient, order = _sample_patient(session, desk)
    outcome = _import(session, desk, BIOCHEMISTRY)
    assert outcome.ok and outcome.results == 3
    got = {(r.name, r.value, r.unit, r.reference_range, r.result_status) for r in _results(session)}
    assert got == {("A/G比", "1.7", "", "1.2-2.0", "F"), ("総蛋白", "7.2", "g/dl", "6.70-8.3", "F"),
                   ("アルブミン", "4.9", "g/dl", "3.7-5.5", "F")}
    assert {r.collected_on for r in _results(session)} == {date(2011, 12, 19)}
    assert session.get(LabOrder, order.id).status == "complete"
    ack = outcome.ack.decode("iso2022_jp")
    assert "MSA|AA|20111220131032" in ack


def test_the_microbiology_sample_imports_once_the_lab_master_knows_its_codes(session):
    desk = make_desk(session)
    for code, name in (("6B010000001774214", "培養同定(一般細菌)菌名判定"),
                       ("6B010000001774211", "培養同定(一般細菌)菌量")):
        session.add(LabItem(lab_code=f"M{code[-3:]}", jlac10=code, name=name, short_name="培養", kana="バイヨウ",
                            name_key=name, kana_key="バイヨウ", specimen="血液", specimen_code="017",
                            container="カルチャーボトル", value_type="ST"))
    patient = make_patient(session, desk["clinic"], orca_patient_id="0123456789", name="国病 太郎",
                           kana="コクビョウ タロウ", birth_date=date(2004, 4, 1))
    order = LabOrder(clinic_id=desk["clinic"].id, patient_id=patient.id, order_number="081251234567800",
                     ordered_on=date(2008, 1, 26))
    order.specimens.append(LabSpecimen(clinic_id=desk["clinic"].id, patient_id=patient.id, seq=1,
                                       specimen_number="012345678061", specimen="血液", specimen_code="017",
                                       container="カルチャーボトル", items=[]))
    session.add(order)
    session.commit()
    outcome = _import(session, desk, (SAMPLES / "oul_r22_microbiology").read_bytes())
    assert outcome.ok, outcome.error
    rows = {(r.sub_id, r.value, r.result_status) for r in _results(session)}
    assert rows == {("1", "E.Coli", "F"), ("1", "(+)", "F"), ("2", "S.Aureus", "F"), ("2", "(2+)", "P")}


@pytest.mark.parametrize("name, reason", [
    ("NEGATIVE_junk_2_bytes", "文字コードを判別できません|HL7 メッセージではありません"),
    ("NEGATIVE_ras_o17_bad_msh12_1", r"検査結果のメッセージではありません（MSH-9 = RAS\^O17\^RAS_O17）"),
    ("NEGATIVE_ras_o17_bad_msh12_0", "検査結果のメッセージではありません"),
    ("oml_o33_order", r"検査結果のメッセージではありません（MSH-9 = OML\^O33\^OML_O33）"),
    ("oru_r01_ecg", "患者ID「12345678」の患者は当院に登録されていません"),
])
def test_negative_and_foreign_samples_are_refused_with_a_reason_and_kept(session, name, reason):
    desk = make_desk(session)
    data = (SAMPLES / name).read_bytes()
    outcome = _import(session, desk, data)
    assert not outcome.ok and re.search(reason, outcome.error), outcome.error
    stored = session.get(LabMessage, outcome.message_id)
    assert stored.status == "failed" and stored.raw == data and re.search(reason, stored.error)
    assert re.search(r"MSA\|A[ER]\|", outcome.ack.decode("iso2022_jp"))


def test_the_ecg_oru_r01_is_refused_for_codes_outside_the_lab_master(session):
    desk = make_desk(session)
    make_patient(session, desk["clinic"], orca_patient_id="12345678", name="患者 太郎", kana="カンジャ タロウ",
                 birth_date=date(1947, 5, 15))
    session.commit()
    outcome = _import(session, desk, (SAMPLES / "oru_r01_ecg").read_bytes())
    # No SPM and OBR-2 names no order of ours: refused before any code is looked at.
    assert not outcome.ok and "依頼番号「2011122000089100」" in outcome.error


def _variant(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize("mangle, reason", [
    (lambda d: d[: d.index(b"OBX|3") + 40], "結果状態（OBX-11）「」がありません|途中で切れて"),
    (lambda d: d[: d.index("アルブミン".encode("iso2022_jp")) + 5], "途中で切れて"),
    (lambda d: _variant(d, b"|NM|3A010000002327101", b"|NM|5Z999000002327101"), "検査コード「5Z999000002327101」"),
    (lambda d: _variant(d, b"||7.2|", b"||7,2|"), "数値型（NM）の結果「7,2」が数値ではありません"),
    (lambda d: _variant(d, b"0001000052^^^^PI", b"0009999999^^^^PI"),
     "患者ID「0009999999」の患者は当院に登録されていません"),
    (lambda d: _variant(d, b"SPM|1|000000001219001", b"SPM|1|000000009999999"), "検体番号「000000009999999」"),
    (lambda d: _variant(d, b"|201112191500\rOBX|2", b"|20111341\rOBX|2"), "ありえない日時"),
    (lambda d: _variant(d, b"|||F|||201112191500\rOBX|2", b"|||Q|||201112191500\rOBX|2"), "結果状態（OBX-11）「Q」"),
])
def test_bad_content_refuses_the_whole_message(session, mangle, reason):
    desk = make_desk(session)
    _sample_patient(session, desk)
    outcome = _import(session, desk, mangle(BIOCHEMISTRY))
    assert not outcome.ok and re.search(reason, outcome.error), outcome.error
    assert _results(session) == []  # never half-imported: the good OBX before the bad one are not kept either


def test_wrong_segment_order_is_refused(session):
    desk = make_desk(session)
    _sample_patient(session, desk)
    segments = BIOCHEMISTRY.rstrip(b"\r\x1c").split(b"\r")
    swapped = b"\r".join([segments[0], segments[1], segments[2], segments[6], segments[3], *segments[4:6],
                          *segments[7:]]) + b"\r"
    outcome = _import(session, desk, swapped)
    assert not outcome.ok and "セグメントの順序が OUL^R22 の構造" in outcome.error, outcome.error
    assert "MSA|AR|" in outcome.ack.decode("iso2022_jp")


def test_mixed_line_endings_read_the_same(session):
    desk = make_desk(session)
    _sample_patient(session, desk)
    segments = BIOCHEMISTRY.rstrip(b"\r\x1c").split(b"\r")
    mixed = segments[0] + b"\r\n" + segments[1] + b"\n" + b"\r".join(segments[2:]) + b"\n"
    outcome = _import(session, desk, mixed)
    assert outcome.ok and outcome.results == 3
    assert session.get(LabMessage, outcome.message_id).raw == mixed


def test_duplicate_delivery_is_imported_once(session):
    desk = make_desk(session)
    _sample_patient(session, desk)
    assert _import(session, desk, BIOCHEMISTRY).results == 3
    again = _import(session, desk, BIOCHEMISTRY)
    assert again.ok and again.duplicate
    # The same MSH-10 from the same sender with other bytes (a re-sent file with a trailing CRLF) is the same message.
    resent = _import(session, desk, BIOCHEMISTRY.rstrip(b"\x1c") + b"\n")
    assert resent.ok and resent.duplicate and resent.status == "duplicate"
    assert len(_results(session)) == 3
    assert session.scalar(select(func.count()).select_from(LabMessage)) == 2


def test_results_crossing_a_cancellation_are_kept_and_the_order_stays_cancelled(session):
    """The lab had measured the specimen when the cancellation reached it: the results are real and shown, but the
    order (and with it ORCA's billing and the lab) stays off."""
    from app.core.audit import Actor
    from app.labs.services import cancel_order

    desk = make_desk(session)
    patient, order = _sample_patient(session, desk)
    cancel_order(session, desk["clinic"], Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id),
                 order, "患者の希望で中止")
    session.commit()

    outcome = _import(session, desk, BIOCHEMISTRY)

    assert outcome.ok and outcome.results == 3
    assert len(_results(session, patient_id=patient.id)) == 3
    order = session.get(LabOrder, order.id)
    assert (order.status, order.cancel_reason) == ("cancelled", "患者の希望で中止")


def test_a_corrected_result_replaces_the_final_and_keeps_the_history(client, session):
    desk = make_desk(session)
    patient, _ = _sample_patient(session, desk)
    _import(session, desk, BIOCHEMISTRY)
    corrected = BIOCHEMISTRY.replace(b"|20111220131032|", b"|20111221090000|").replace(
        b"||7.2|g/dl^g/dl^99XYZ|6.70-8.3||||F|", b"||6.4|g/dl^g/dl^99XYZ|6.70-8.3|L|||C|")
    outcome = _import(session, desk, corrected)
    assert outcome.ok and outcome.results == 1  # only the corrected value is new
    versions = _results(session, lab_code="K0101")
    assert [(v.value, v.result_status, v.version, v.superseded_at is not None) for v in versions] == [
        ("7.2", "F", 1, True), ("6.4", "C", 2, False)]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = client.get(f"/patients/{patient.id}/labs").get_data(as_text=True)
    assert "6.4" in page and "7.2" not in page and "訂正" in page
    history = client.get(f"/patients/{patient.id}/labs/results/{versions[0].lineage_id}/history")
    text = history.get_data(as_text=True)
    assert "7.2" in text and "6.4" in text and "検査会社からの訂正報告" in text
    # Ids are reserved before the bulk insert: a first report is its own lineage, a correction joins it, and the
    # timestamps written by the driver read back as the same aware times.
    assert [v.lineage_id for v in versions] == [versions[0].id, versions[0].id]
    assert all(r.lineage_id == r.id for r in _results(session) if r.version == 1)
    assert versions[0].collected_at.isoformat() == "2011-12-19T06:00:00+00:00"
    assert versions[1].recorded_at > versions[0].recorded_at


def test_cli_exit_code_says_whether_every_file_imported(app, session, tmp_path):
    desk = make_desk(session)
    _sample_patient(session, desk)
    good, bad = tmp_path / "good.hl7", tmp_path / "bad.hl7"
    good.write_bytes(BIOCHEMISTRY)
    bad.write_bytes((SAMPLES / "NEGATIVE_ras_o17_bad_msh12_1").read_bytes())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lab", "import", "--clinic", CLINIC, str(good), str(bad)])
    assert result.exit_code == 1
    assert "3件の結果を取り込みました" in result.output and "RAS^O17" in result.output
    kept = session.scalars(select(LabMessage).where(LabMessage.status == "failed")).one()
    assert kept.filename == str(bad) and "RAS^O17" in kept.error
    assert runner.invoke(args=["lab", "import", "--clinic", CLINIC, str(good)]).exit_code == 0


def test_failed_messages_are_shown_to_staff(client, session):
    desk = make_desk(session)
    _import(session, desk, (SAMPLES / "NEGATIVE_ras_o17_bad_msh12_1").read_bytes())
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    page = client.get("/labs/messages").get_data(as_text=True)
    assert "取り込めなかった検査結果（1件）" in page and "RAS^O17" in page


def test_push_endpoint_needs_the_clinic_token_and_answers_an_hl7_ack(client, session):
    desk = make_desk(session)
    _sample_patient(session, desk)
    url = f"/integrations/lab/{CLINIC}/results"
    headers = {"Content-Type": "x-application/hl7-v2+er7; charset=iso-2022-jp"}
    assert client.raw.post(url, data=BIOCHEMISTRY, headers={**headers, "Authorization": "Bearer wrong"}
                           ).status_code == 401
    response = client.raw.post(url, data=BIOCHEMISTRY, headers={**headers, "Authorization": f"Bearer {INBOUND_TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "x-application/hl7-v2+er7"
    assert "MSA|AA|" in response.data.decode("iso2022_jp")
    assert len(_results(session)) == 3


@pytest.fixture
def live_app(app):
    """The app served over real HTTP on a free port (the lab pushes to it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_order_to_pushed_results_end_to_end(app, client, session, lab_center, live_app):
    desk = make_desk(session, lab_center, patient_name="奥本 図子", patient_kana="オクモト ズコ")
    lab_center.set_push(CLINIC, f"{live_app}/integrations/lab/{CLINIC}/results", INBOUND_TOKEN)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], sets=["S002", "S004"])
    deliver(app)
    order = latest_order(session)
    assert order.status == "accepted"
    lab_center.release(order.order_number, kind="abnormal", only_first=True)
    assert latest_order(session).status == "partial"
    lab_center.release(order.order_number, kind="abnormal")
    assert latest_order(session).status == "complete"
    assert all(r["acked"] == "AA" for r in lab_center.results().values())
    page = client.get(f"/patients/{desk['patient'].id}/labs").get_data(as_text=True)
    assert "本検体は軽度の溶血を認めます" in page and "図示した経過" in page  # 本 図: delimiter bytes in JIS
    assert 'class="flag flag-H">H<' in page and 'class="flag flag-L">L<' in page
    assert "結果到着（完了）" in page


def test_polling_fetches_imports_and_acknowledges(app, client, session, lab_center):
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], sets=["S004"])
    deliver(app)
    order = latest_order(session)
    lab_center.release(order.order_number, kind="comment")
    response = client.post("/labs/poll", {}, form_page="/labs/messages")
    assert response.status_code == 302
    assert latest_order(session).status == "complete"
    assert [r["acked"] for r in lab_center.results().values()] == ["AA"]
    assert "奥多摩営業所" in _results(session, lab_code="K0201")[0].comment
    lab_center.release(order.order_number, kind="corrected")
    client.post("/labs/poll", {}, form_page="/labs/messages")
    assert [v.result_status for v in _results(session, lab_code="K0201")] == ["F", "C"]


def test_the_background_poller_imports_what_the_lab_holds(app, client, session, lab_center):
    from app.labs.poller import LabPoller

    desk = make_desk(session, lab_center)
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    place_order(client, desk["patient"], sets=["S005"])
    deliver(app)
    lab_center.release(latest_order(session).order_number, kind="abnormal")
    LabPoller(app.extensions["db_sessionmaker"], 300).run_once()
    assert latest_order(session).status == "complete"
    assert {r.value for r in _results(session)} == {"(+)", "(−)"}


def test_a_message_stored_but_never_imported_is_imported_by_the_next_poll_pass(app, client, session, lab_center):
    """An import that broke after the raw copy was kept (the database refused it, the process died) leaves the
    message `received`; the poller imports it from its stored copy once it is a few minutes old, not before."""
    desk = make_desk(session, lab_center)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], sets=["S004"])
    deliver(app)
    order = latest_order(session)
    raw = _oru_without_spm(desk["patient"], order, "STRANDED1")
    now = datetime.now(UTC)
    stored = LabMessage(clinic_id=desk["clinic"].id, source="push", raw=raw, status="received",
                        sha256=hashlib.sha256(raw).hexdigest(), received_at=now - timedelta(minutes=1))
    session.add(stored)
    session.commit()
    factory = app.extensions["db_sessionmaker"]
    assert import_stranded(factory, desk["clinic"].id, now) == 0  # a minute old: maybe still importing
    assert import_stranded(factory, desk["clinic"].id, now + timedelta(minutes=5)) == 1
    session.expire_all()
    assert session.get(LabMessage, stored.id).status == "imported"
    assert session.get(LabMessage, stored.id).result_count == 2 and len(_results(session)) == 2


def _oru_without_spm(patient, order, control: str, *, crp: str = "0.35", status: str = "F") -> bytes:
    """An ORU^R01 naming our order number (OBR-2) but no specimen: CRP and white cells, the first with a comment."""
    day = date.today().strftime("%Y%m%d")
    text = (f"MSH|^~\\&|LAB|LAB|KAMIKARTE||{day}1200||ORU^R01^ORU_R01|{control}|P|2.5||||||~ISO IR87||ISO 2022-1994\r"
            f"PID|1||{patient.orca_patient_id}^^^^PI||山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19580302|M\r"
            f"ORC|SC|{order.order_number}\rOBR|1|{order.order_number}||LAB^臨床検査^99LAB|||{day}0900\r"
            f"OBX|1|NM|5C070000002306201^ＣＲＰ^JC10||{crp}|mg/dL^mg/dL^99LAB|0.00-0.14|H|||{status}\r"
            "NTE|1||奥歯の治療中とのこと\r"
            f"OBX|2|NM|2A990000001930952^白血球数^JC10||9.1|10*3/uL^10\\S\\3/μL^99LAB|3.3-8.6|H|||{status}\r")
    return text.encode("iso2022_jp")


def test_an_oru_r01_without_spm_is_matched_by_our_order_number(client, session):
    desk = make_desk(session)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161", "K0201"])
    order = latest_order(session)
    outcome = import_message(session, desk["clinic"].id, _oru_without_spm(desk["patient"], order, "ORU0001"),
                             source="push")
    assert outcome.ok, outcome.error
    results = {r.lab_code: r for r in _results(session)}
    assert results["K0161"].comment == "奥歯の治療中とのこと" and results["K0201"].unit == "10^3/μL"
    assert {r.specimen_number for r in results.values()} == {s.specimen_number for s in order.specimens}
    assert latest_order(session).status == "complete"


def test_a_correction_without_spm_replaces_the_final_it_corrects(client, session):
    """Found by the order number alone, a corrected CRP is a new version of the final (not a second current
    result); the white cells reported again unchanged add nothing."""
    desk = make_desk(session)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    place_order(client, desk["patient"], items=["K0161", "K0201"])
    order = latest_order(session)
    assert import_message(session, desk["clinic"].id, _oru_without_spm(desk["patient"], order, "ORU0001"),
                          source="push").ok
    corrected = _oru_without_spm(desk["patient"], order, "ORU0002", crp="0.52", status="C")

    outcome = import_message(session, desk["clinic"].id, corrected, source="push")

    assert outcome.ok, outcome.error
    assert outcome.results == 2  # the white cells' C has the same value but another status: a new version
    session.expire_all()
    crp = list(session.scalars(select(LabResult).where(LabResult.lab_code == "K0161").order_by(LabResult.version)))
    assert [(r.value, r.result_status, r.version, r.superseded_at is None) for r in crp] == [
        ("0.35", "F", 1, False), ("0.52", "C", 2, True)]
    assert crp[1].lineage_id == crp[0].id
    assert latest_order(session).status == "complete"
