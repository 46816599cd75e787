"""定型文 and 診療録テンプレート through real HTTP: the clinic's kept by the administrator, a doctor's own by the
doctor; phrases found by kana in either script and width; a template's fields become plain SOAP text, numbers in
range and choices from the list; a change is a new version; a template that takes itself in is refused; Do and
自動転記 offer the earlier note and the day's records (vitals, prescriptions, lab orders) with their source."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.core.models import AuditEntry
from app.core.timeutil import japan_today
from app.db import utcnow
from app.labs.masters import load_shipped_subset as load_lab_master
from app.labs.models import LabItem, LabOrder, LabSpecimen
from app.notes.models import NotePhrase, NoteTemplate, ProgressNote
from app.patients.profile_models import VitalSign
from app.prescriptions.drug_master import load_shipped_subset as load_drug_master
from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.world import login

HYPERTENSION = ("[S] 自覚症状\n頭痛: choice あり/なし\n[O] バイタル\n収縮期血圧: number mmHg 60-260\n"
                "[P] 方針\n方針: text")


def _world(session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    admin = make_user(session, clinic, role="admin")
    doctor = make_user(session, clinic, role="doctor", display_name="内科 一郎")
    other = make_user(session, clinic, role="doctor", display_name="別の 医師")
    nurse = make_user(session, clinic, role="nurse")
    session.commit()
    return clinic, admin, doctor, other, nurse


def _phrase(client, status=302, **form):
    response = client.post("/notes/phrases", {"part": "", "scope": "own"} | form, form_page="/notes/library")
    assert response.status_code == status, response.get_data(as_text=True)[:1500]
    return response


def _template(client, status=302, **form):
    response = client.post("/notes/templates", {"scope": "own", "department": "", "purpose": ""} | form,
                           form_page="/notes/templates/new")
    assert response.status_code == status, response.get_data(as_text=True)[:1500]
    return response


def test_phrases_clinic_and_own_found_by_kana(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    login(client, admin)
    _phrase(client, scope="clinic", title="咽頭発赤なし", kana="いんとうほっせきなし",
            text="咽頭発赤なし、扁桃腫大なし", part="objective")
    bad = _phrase(client, 422, scope="clinic", title="x", kana="abc", text="x")
    assert "ひらがなかカタカナ" in bad.get_data(as_text=True)
    login(client, doctor)
    _phrase(client, title="経過観察", kana="ケイカカンサツ", text="症状悪化時は再診", part="plan")
    refused = _phrase(client, 422, scope="clinic", title="勝手に共通", kana="かって", text="x")
    assert "管理者が登録します" in refused.get_data(as_text=True)
    client.get("/notes/library")
    for query, titles in (("いんとう", ["咽頭発赤なし"]), ("ｲﾝﾄｳ", ["咽頭発赤なし"]), ("けいか", ["経過観察"]),
                          ("", ["経過観察", "咽頭発赤なし"]), ("%", []), ("発赤", ["咽頭発赤なし"]),
                          ("あ" * 500, [])):
        found = client.get("/notes/phrases.json", query_string={"q": query}).get_json()["phrases"]
        assert [p["title"] for p in found] == titles, query
    # Another doctor sees the clinic's phrases but not this doctor's own, and cannot retire them.
    login(client, other)
    found = client.get("/notes/phrases.json").get_json()["phrases"]
    assert [p["title"] for p in found] == ["咽頭発赤なし"]
    clinic_phrase = session.scalar(select(NotePhrase).where(NotePhrase.owner_id.is_(None)))
    client.get("/notes/library")
    assert client.post(f"/notes/phrases/{clinic_phrase.id}/retire", {"retire_reason": "不要"}).status_code == 404
    assert client.get(f"/notes/phrases/{clinic_phrase.id}/edit").status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(NotePhrase)) == 2
    login(client, nurse)
    assert client.get("/notes/library").status_code == 403
    assert client.get("/notes/phrases.json").status_code == 200


def _versions(session, model, lineage_id):
    """Every version of a phrase or a template (model), oldest first, as the database holds them now."""
    session.expire_all()
    return session.scalars(select(model).where(model.lineage_id == lineage_id).order_by(model.version)).all()


def test_a_phrase_change_is_a_new_version_with_who_when_why_and_retiring_keeps_it(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    login(client, doctor)
    _phrase(client, title="経過観察", kana="けいかかんさつ", text="症状悪化時は再診", part="plan")
    first = session.scalar(select(NotePhrase))
    edit = f"/notes/phrases/{first.id}/edit"
    page = client.get(edit)
    assert page.status_code == 200 and "いま第1版" in page.get_data(as_text=True)
    # A change without a reason is refused with what was typed kept; nothing is written.
    changed = {"phrase_id": str(first.id), "title": "経過観察", "kana": "けいかかんさつ", "part": "plan",
               "text": "症状悪化時は再診、1週間後に再診"}
    refused = client.post("/notes/phrases", changed | {"change_reason": "  "}, form_page=edit)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "変更の理由を入力してください" in html and "1週間後に再診" in html
    assert len(_versions(session, NotePhrase, first.lineage_id)) == 1
    saved = client.post("/notes/phrases", changed | {"change_reason": "再診の目安を追記"}, form_page=edit)
    assert saved.status_code == 302
    versions = _versions(session, NotePhrase, first.lineage_id)
    assert [(v.version, v.superseded_at is not None, v.recorded_by_name, v.change_reason) for v in versions] == [
        (1, True, "内科 一郎", ""), (2, False, "内科 一郎", "再診の目安を追記")]
    assert versions[0].text == "症状悪化時は再診"  # the old version is kept as it was
    # The list and the editor's search show the current version only.
    library = client.get("/notes/library").get_data(as_text=True)
    assert "1週間後に再診" in library and "第2版" in library
    found = client.get("/notes/phrases.json", query_string={"q": "けいか"}).get_json()["phrases"]
    assert [(p["id"], p["text"]) for p in found] == [(versions[1].id, "症状悪化時は再診、1週間後に再診")]
    # Saving from the old version (another tab) is refused: someone changed it first.
    stale = client.post("/notes/phrases", changed | {"text": "上書き", "change_reason": "古い画面から"},
                        form_page=edit)
    assert stale.status_code == 422 and "他の人が先に変更しました" in stale.get_data(as_text=True)
    # Saving unchanged writes no version.
    client.post("/notes/phrases", changed | {"phrase_id": str(versions[1].id), "change_reason": "同じ"},
                form_page=f"/notes/phrases/{versions[1].id}/edit")
    assert len(_versions(session, NotePhrase, first.lineage_id)) == 2
    # The history page: every version, who, when, why.
    history = client.get(f"/notes/phrases/{first.id}/history").get_data(as_text=True)
    assert "第2版" in history and "現在の版" in history and "変更の理由: 再診の目安を追記" in history
    assert history.index("1週間後に再診") < history.index(">症状悪化時は再診<")  # newest first
    assert history.count("この版で変更") == 1  # the text, in version 2
    # Retiring needs a reason; it is a last version, off the lists, kept in the history.
    current = f"/notes/phrases/{versions[1].id}/edit"
    no_reason = client.post(f"/notes/phrases/{versions[1].id}/retire", {"retire_reason": ""}, form_page=current)
    assert no_reason.status_code == 422 and "一覧から外す理由を入力してください" in no_reason.get_data(as_text=True)
    retired = client.post(f"/notes/phrases/{versions[1].id}/retire", {"retire_reason": "院内で使わなくなった"},
                          form_page=current)
    assert retired.status_code == 302
    versions = _versions(session, NotePhrase, first.lineage_id)
    assert [(v.version, v.retracted, v.superseded_at is None) for v in versions] == [
        (1, False, False), (2, False, False), (3, True, True)]
    assert client.get("/notes/phrases.json", query_string={"q": "けいか"}).get_json()["phrases"] == []
    library = client.get("/notes/library").get_data(as_text=True)
    assert "一覧から外しました" in library and "1週間後に再診" not in library and "定型文はまだありません" in library
    history = client.get(f"/notes/phrases/{first.id}/history").get_data(as_text=True)
    assert "一覧から外した版" in history and "外した理由: 院内で使わなくなった" in history
    # An old version's edit page sends the user to the history.
    assert client.get(edit).headers["Location"].endswith(f"/notes/phrases/{first.id}/history")
    # Each change is audited with who made it; another doctor cannot see this doctor's phrase history.
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "note_phrase")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["note_phrase.save", "note_phrase.save", "note_phrase.retire"]
    login(client, other)
    assert client.get(f"/notes/phrases/{first.id}/history").status_code == 404


def test_the_clinics_phrases_are_versioned_by_the_administrator_and_read_by_doctors(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    login(client, admin)
    _phrase(client, scope="clinic", title="咽頭発赤なし", kana="いんとうほっせきなし", text="咽頭発赤なし",
            part="objective")
    phrase = session.scalar(select(NotePhrase))
    edit = f"/notes/phrases/{phrase.id}/edit"
    client.get(edit)
    client.post("/notes/phrases", {"phrase_id": str(phrase.id), "title": "咽頭発赤なし", "kana": "いんとうほっせきなし",
                                   "part": "objective", "text": "咽頭発赤なし、扁桃腫大なし",
                                   "change_reason": "扁桃所見を追加"}, form_page=edit)
    login(client, nurse)
    assert client.get(f"/notes/phrases/{phrase.id}/history").status_code == 403
    login(client, doctor)
    history = client.get(f"/notes/phrases/{phrase.id}/history")
    assert history.status_code == 200 and "扁桃所見を追加" in history.get_data(as_text=True)
    assert "変更・外す" not in history.get_data(as_text=True)  # the clinic's: the administrator keeps it
    current = _versions(session, NotePhrase, phrase.lineage_id)[-1]
    assert client.get(f"/notes/phrases/{current.id}/edit").status_code == 404


def test_templates_fill_versions_and_self_reference(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    login(client, admin)
    _template(client, scope="clinic", name="再診 高血圧", department="内科", purpose="再診 高血圧",
              source=HYPERTENSION)
    template = session.scalar(select(NoteTemplate))
    unreadable = _template(client, 422, scope="clinic", name="壊れた", source="体温 number")
    assert "最初に [S] [O] [A] [P]" in unreadable.get_data(as_text=True)
    # A template taking itself in, directly or through another, is refused; nothing is saved.
    selfish = _template(client, 422, scope="clinic", name="自己参照", source="[S] 主訴\n@include 自己参照")
    assert "自分自身を取り込んでいます" in selfish.get_data(as_text=True)
    _template(client, scope="clinic", name="初診 内科", department="内科", purpose="初診",
              source="[S] 主訴\n主訴: text\n@include 再診 高血圧")
    loop = client.post("/notes/templates", {"lineage_id": str(template.lineage_id), "version_id": str(template.id),
                                            "scope": "clinic",
                                            "name": "再診 高血圧", "source": HYPERTENSION + "\n@include 初診 内科"},
                       form_page=f"/notes/templates/{template.id}/edit")
    assert loop.status_code == 422 and "再診 高血圧 → 初診 内科 → 再診 高血圧" in loop.get_data(as_text=True)
    # A change is a new version; the old one stays.
    client.post("/notes/templates", {"lineage_id": str(template.lineage_id), "version_id": str(template.id),
                                     "scope": "clinic", "name": "再診 高血圧",
                                     "department": "内科", "purpose": "再診 高血圧", "change_reason": "浮腫を追加",
                                     "source": HYPERTENSION + "\n浮腫: choice あり/なし"},
                form_page=f"/notes/templates/{template.id}/edit")
    versions = _versions(session, NoteTemplate, template.lineage_id)
    assert [(v.version, v.superseded_at is not None) for v in versions] == [(1, True), (2, False)]
    # The doctor fills it in: plain SOAP text; out-of-range numbers and unknown choices refused.
    login(client, doctor)
    patient = make_patient(session, clinic)
    session.commit()
    client.get(f"/patients/{patient.id}/notes/{japan_today().isoformat()}/edit")
    first_visit = session.scalar(select(NoteTemplate).where(NoteTemplate.name == "初診 内科"))
    fields = client.get(f"/notes/templates/{first_visit.id}.json").get_json()
    assert [s["title"] for s in fields["sections"]] == ["主訴", "自覚症状", "バイタル", "方針"]
    filled = client.post_json(f"/notes/templates/{first_visit.id}/fill",
                              {"values": {"0.0": "頭痛", "1.0": "なし", "2.0": "１４２", "3.0": "減塩指導"}})
    assert filled.get_json()["parts"] == {"subjective": "【主訴】\n主訴: 頭痛\n【自覚症状】\n頭痛: なし",
                                          "objective": "【バイタル】\n収縮期血圧: １４２ mmHg",
                                          "plan": "【方針】\n方針: 減塩指導"}
    for values, message in (({"2.0": "999"}, "60〜260mmHgの範囲"), ({"2.0": "NaN"}, "数値で入力"),
                            ({"1.0": "たぶん"}, "選択肢から選んで")):
        refused = client.post_json(f"/notes/templates/{first_visit.id}/fill", {"values": values})
        assert refused.status_code == 422 and message in refused.get_json()["message"], values
    assert client.post_json(f"/notes/templates/{first_visit.id}/fill", {"values": []}).status_code == 400
    # Doctors cannot change the clinic's templates; their own are theirs alone.
    assert client.get(f"/notes/templates/{first_visit.id}/edit").status_code == 404
    _template(client, name="小児 発熱（自分用）", department="小児科", purpose="発熱",
              source="[O] 所見\n体温: number ℃ 34-42")
    login(client, other)
    own = session.scalar(select(NoteTemplate).where(NoteTemplate.name == "小児 発熱（自分用）"))
    assert client.get(f"/notes/templates/{own.id}.json").status_code == 404


def test_a_template_change_is_a_new_version_with_who_when_why(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    login(client, doctor)
    _template(client, name="再診 高血圧", department="内科", purpose="再診", source=HYPERTENSION)
    first = session.scalar(select(NoteTemplate))
    edit = f"/notes/templates/{first.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert "いま第1版" in page and 'name="change_reason"' in page
    changed = {"lineage_id": str(first.lineage_id), "version_id": str(first.id), "scope": "own", "name": "再診 高血圧",
               "department": "内科",
               "purpose": "再診", "source": HYPERTENSION + "\n浮腫: choice あり/なし"}
    # Without a reason, or with one over 200 characters, it is refused as a phrase's is, what was typed kept and
    # nothing written.
    for reason, message in (("  ", "変更の理由を入力してください"),
                            ("理" * 201, "修正・取消の理由は200文字以内で入力してください（いま201文字です）")):
        refused = client.post("/notes/templates", changed | {"change_reason": reason}, form_page=edit)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in html and "浮腫: choice あり/なし" in html, reason
        assert len(_versions(session, NoteTemplate, first.lineage_id)) == 1
    saved = client.post("/notes/templates", changed | {"change_reason": "浮腫の所見を追加"}, form_page=edit)
    assert saved.status_code == 302
    versions = _versions(session, NoteTemplate, first.lineage_id)
    assert [(v.version, v.superseded_at is not None, v.recorded_by_id, v.recorded_by_name, v.change_reason)
            for v in versions] == [(1, True, doctor.id, "内科 一郎", ""),
                                   (2, False, doctor.id, "内科 一郎", "浮腫の所見を追加")]
    assert len(versions[0].body) == 3 and "浮腫" not in str(versions[0].body)  # the old version kept as it was
    # Saving unchanged writes no version.
    client.post("/notes/templates", changed | {"version_id": str(versions[1].id), "change_reason": "同じ"},
                form_page=f"/notes/templates/{versions[1].id}/edit")
    assert len(_versions(session, NoteTemplate, first.lineage_id)) == 2
    # A change made on a version someone else has replaced since is refused, what was typed kept: nothing is lost.
    stale = client.post("/notes/templates", changed | {"name": "再診 高血圧 改", "change_reason": "古い版から"},
                        form_page=f"/notes/templates/{versions[1].id}/edit")
    stale_html = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "他の人が先に変更しました" in stale_html and "再診 高血圧 改" in stale_html
    assert f'name="version_id" value="{first.id}"' in stale_html  # a second press is refused again
    assert len(_versions(session, NoteTemplate, first.lineage_id)) == 2
    # The history: every version newest first, who, when, why, what changed.
    library = client.get("/notes/library").get_data(as_text=True)
    assert f'href="/notes/templates/{versions[1].id}/history">第2版' in library
    history = client.get(f"/notes/templates/{first.id}/history").get_data(as_text=True)
    assert "テンプレート「再診 高血圧」の版の履歴" in history and "現在の版" in history
    assert "内科 一郎 ／ 変更の理由: 浮腫の所見を追加" in history
    assert history.index("浮腫: choice あり/なし") < history.index('id="version-1"')  # newest first
    assert history.count("この版で変更") == 1  # the content, in version 2
    # An old version's edit page sends the user to the history.
    assert client.get(edit).headers["Location"].endswith(f"/notes/templates/{first.id}/history")
    actions = session.scalars(select(AuditEntry.summary).where(AuditEntry.entity_type == "note_template")
                              .order_by(AuditEntry.id)).all()
    assert [(a["version"], a.get("reason")) for a in actions] == [(1, None), (2, "浮腫の所見を追加")]
    # Another doctor cannot see this doctor's template or its history; a nurse has no library.
    login(client, other)
    assert client.get(f"/notes/templates/{first.id}/history").status_code == 404
    login(client, nurse)
    assert client.get(f"/notes/templates/{first.id}/history").status_code == 403


def test_do_and_transfer_offer_the_earlier_note_and_the_days_records(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    patient = make_patient(session, clinic)
    session.add(VitalSign(clinic_id=clinic.id, patient_id=patient.id, lineage_id=None, measured_at=utcnow(),
                          systolic=142, diastolic=88, temperature_c=36.9, recorded_by_name="看護 花"))
    session.commit()
    login(client, doctor)
    last_week = japan_today().replace(day=1) if japan_today().day > 1 else japan_today()
    client.post(f"/patients/{patient.id}/notes/{last_week.isoformat()}",
                {"subjective": "頭痛なし", "assessment": "高血圧症 安定", "plan": "アムロジピン継続",
                 "base_version": "0"},
                form_page=f"/patients/{patient.id}/notes/{last_week.isoformat()}/edit")
    page = client.get(f"/patients/{patient.id}/notes/{japan_today().isoformat()}/edit?encounter_kind=other"
                      "&department_name=内科").get_data(as_text=True)
    assert "Do（" in page and "アムロジピン継続" in page and "高血圧症 安定" in page
    assert "【転記: バイタル" in page and "血圧 142/88mmHg" in page and "体温 36.9℃" in page and "看護 花" in page
    # Do from any earlier note: the one picked on the chart (この記録から Do), not only the previous one.
    older = japan_today() - timedelta(days=40)
    client.post(f"/patients/{patient.id}/notes/{older.isoformat()}",
                {"subjective": "初診時の訴え", "plan": "初回処方", "base_version": "0"},
                form_page=f"/patients/{patient.id}/notes/{older.isoformat()}/edit")
    first = session.scalar(select(ProgressNote).where(ProgressNote.note_date == older))
    chosen = client.get(f"/patients/{patient.id}/notes/{japan_today().isoformat()}/edit?encounter_kind=other"
                        f"&department_name=内科&do_from={first.id}").get_data(as_text=True)
    assert f"Do（{older:%Y/%m/%d}" in chosen and "初回処方" in chosen and "アムロジピン継続" not in chosen


def test_transfer_offers_the_days_prescriptions_and_lab_orders_into_p(client, session):
    clinic, admin, doctor, other, nurse = _world(session)
    patient = make_patient(session, clinic)
    load_lab_master(session)
    load_drug_master(session)
    drug = session.get(Drug, "620098801")  # ロキソニン錠６０ｍｇ of the shipped drug master
    rx = Prescription(clinic_id=clinic.id, patient_id=patient.id, doctor_name="内科 一郎", issued_on=japan_today(),
                      valid_until=japan_today())
    rx.rps.append(PrescriptionRp(number=1, form=1, usage_text="１日３回毎食後", quantity=5, lines=[
        PrescriptionLine(seq=1, drug_receipt_code=drug.receipt_code, drug_name=drug.name, dose=3, unit="錠")]))
    items = session.scalars(select(LabItem).order_by(LabItem.lab_code).limit(2)).all()
    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number="T-0001", ordered_on=japan_today(),
                     ordered_by_name="内科 一郎")
    order.specimens.append(LabSpecimen(clinic_id=clinic.id, patient_id=patient.id, seq=1, specimen_number="100001",
                                       specimen="血清", specimen_code="023", container="生化学",
                                       items=[{"lab_code": i.lab_code, "name": i.name} for i in items]))
    session.add_all([rx, order])
    session.commit()
    login(client, doctor)
    page = client.get(f"/patients/{patient.id}/notes/{japan_today().isoformat()}/edit").get_data(as_text=True)
    assert "【転記: 処方" in page and "ロキソニン錠６０ｍｇ 3錠" in page and "Rp1 内服 １日３回毎食後 5日分" in page
    assert "【転記: 検査オーダー T-0001（内科 一郎）】" in page and items[0].name in page
    assert page.count('data-part="plan"') >= 2  # both go to P
