"""The day's SOAP note in full-chart mode through real HTTP: write, continue, every save a version with author and
time, a concurrent save refused without losing the text, a past day's change needs a reason; lab results copied
into O; key images (kept from a real Orthanc) attached; paper-chart clinics, clerks and other clinics refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.models import AccessLogEntry, AuditEntry
from app.core.timeutil import japan_today
from app.imaging.models import KeyImage
from app.labs.importer import import_message
from app.notes.models import ProgressNote
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.world import add_key_image, frames_of, login, make_world
from tests.labs.helpers import latest_order, make_desk, place_order
from tests.notes.test_visit_notes import _visit


@pytest.fixture
def world(session, orthanc_server):
    """The imaging tests' world: a clinic on the real Orthanc, a patient with studies."""
    return make_world(session, orthanc_server)


def _full_chart(session, clinic) -> None:
    clinic.is_full_chart_mode = True
    session.commit()


def _save(client, patient_id, day=None, *, base=0, status=302, **parts):
    day = (day or japan_today()).isoformat()
    form = {"subjective": "", "objective": "", "assessment": "", "plan": "", "base_version": str(base)} | parts
    visit = f"?visit_id={parts['visit_id']}" if "visit_id" in parts else ""
    response = client.post(f"/patients/{patient_id}/notes/{day}", form,
                           form_page=f"/patients/{patient_id}/notes/{day}/edit{visit}")
    assert response.status_code == status, response.get_data(as_text=True)[:1500]
    return response


def _notes(session, patient_id):
    session.expire_all()
    return session.scalars(select(ProgressNote).where(ProgressNote.patient_id == patient_id)
                           .order_by(ProgressNote.id)).all()


def test_write_continue_and_history(client, session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
    nurse = make_user(session, clinic, role="nurse", display_name="看護 花")
    patient = make_patient(session, clinic)
    session.commit()
    login(client, doctor)
    assert "経過記録（SOAP）" in client.get(f"/patients/{patient.id}").get_data(as_text=True)
    _save(client, patient.id, subjective="3日前から咳と37.8℃の発熱", objective="咽頭発赤あり\r\n胸部聴診 清",
          assessment="急性上気道炎", plan="対症療法。3日後再診")
    first, = _notes(session, patient.id)
    assert (first.version, first.lineage_id, first.recorded_by_name) == (1, first.id, "上野 誠")
    assert first.objective == "咽頭発赤あり\n胸部聴診 清"
    # The nurse adds vitals to O from her tablet: a second version by her; the first stays, superseded.
    login(client, nurse)
    _save(client, patient.id, base=1, subjective=first.subjective, objective=first.objective + "\nSpO2 98%",
          assessment=first.assessment, plan=first.plan)
    # Saving the same text again adds nothing.
    _save(client, patient.id, base=2, subjective=first.subjective, objective=first.objective + "\nSpO2 98%",
          assessment=first.assessment, plan=first.plan)
    versions = _notes(session, patient.id)
    assert [(v.version, v.superseded_at is not None, v.recorded_by_name) for v in versions] == [
        (1, True, "上野 誠"), (2, False, "看護 花")]
    assert {v.lineage_id for v in versions} == {first.id}
    chart = client.get(f"/patients/{patient.id}/notes").get_data(as_text=True)
    assert "SpO2 98%" in chart and "急性上気道炎" in chart and "第2版" in chart
    history = client.get(f"/patients/{patient.id}/notes/versions/{first.id}").get_data(as_text=True)
    assert "第1版" in history and "第2版" in history and "上野 誠" in history and "看護 花" in history
    audit = session.scalars(select(AuditEntry.action).where(AuditEntry.patient_id == patient.id)
                            .order_by(AuditEntry.id)).all()
    assert audit == ["note.create", "note.revise"]
    looks = session.scalars(select(AccessLogEntry.resource).where(AccessLogEntry.patient_id == patient.id)).all()
    assert {"patient.notes", "patient.notes.edit", "patient.notes.history"} <= set(looks)


def test_a_concurrent_save_is_refused_and_the_text_kept(client, session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
    patient = make_patient(session, clinic)
    session.commit()
    login(client, doctor)
    _save(client, patient.id, subjective="頭痛")
    # A second tablet still shows the empty form (version 0) and saves over it: refused, text returned.
    response = _save(client, patient.id, base=0, status=422, subjective="腹痛（別タブレットの入力）")
    page = response.get_data(as_text=True)
    assert "上野 誠さんが" in page and "もう一度保存してください" in page and "腹痛（別タブレットの入力）" in page
    assert [n.subjective for n in _notes(session, patient.id)] == ["頭痛"]
    empty = _save(client, patient.id, japan_today() - timedelta(days=3), status=422)
    assert "経過記録が空です" in empty.get_data(as_text=True)
    future = _save(client, patient.id, japan_today() + timedelta(days=1), status=422, subjective="x")
    assert "経過記録の日付が未来の日付になっています" in future.get_data(as_text=True)
    assert client.get(f"/patients/{patient.id}/notes/2026-13-40/edit").status_code == 404
    too_long = _save(client, patient.id, base=1, status=422, plan="あ" * 20_001)
    assert "20,000文字以内" in too_long.get_data(as_text=True)


def test_changing_an_earlier_days_note_needs_a_reason(client, session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    session.commit()
    login(client, doctor)
    last_week = japan_today() - timedelta(days=7)
    _save(client, patient.id, last_week, assessment="高血圧症")  # a note written late, for that day
    refused = _save(client, patient.id, last_week, base=1, status=422, assessment="本態性高血圧症")
    assert "修正理由を入力してください" in refused.get_data(as_text=True)
    _save(client, patient.id, last_week, base=1, assessment="本態性高血圧症", change_reason="病名の記載誤り")
    current = _notes(session, patient.id)[-1]
    assert (current.version, current.change_reason, current.note_date) == (2, "病名の記載誤り", last_week)
    history = client.get(f"/patients/{patient.id}/notes/versions/{current.id}").get_data(as_text=True)
    assert "病名の記載誤り" in history
    assert history.count("この版で修正") == 1 and '<dd class="changed">本態性高血圧症' in history


def _ldl_result(client, session, desk, day) -> None:
    """An LDL result of `day` for the desk's patient, ordered through the page and imported as the lab sends it."""
    patient = desk["patient"]
    place_order(client, patient, items=["K0144"])
    number = latest_order(session).specimens[0].specimen_number
    message = (f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{day:%Y%m%d}1200||OUL^R22^OUL_R22|N0001|P|2.5||||||"
               f"~ISO IR87||ISO 2022-1994\rPID|1||{patient.orca_patient_id}^^^^PI||山田^太郎^^^^^L^I||19580302|M\r"
               f"SPM|1|{number}||023^血清^JC10|||||||||||||{day:%Y%m%d}0900\rOBR|1|X1||LAB^臨床検査^99LAB\r"
               f"OBX|1|NM|3F077000002327101^LDL-コレステロール^JC10||172|mg/dL^mg/dL^99LAB|65-163|H|||F\r"
               f"NTE|1||本日の検体は乳び\r").encode("iso2022_jp")
    assert import_message(session, desk["clinic"].id, message, source="file").ok


def test_lab_results_are_copied_into_todays_objective(client, session):
    desk = make_desk(session)
    _full_chart(session, desk["clinic"])
    patient = desk["patient"]
    login(client, desk["doctor"])
    day = japan_today() - timedelta(days=2)
    _ldl_result(client, session, desk, day)
    page = client.get(f"/patients/{patient.id}/labs").get_data(as_text=True)
    assert "本日の経過記録（O）に転記" in page and f'name="days" value="{day.isoformat()}"' in page
    _save(client, patient.id, objective="腹部平坦・軟")
    response = client.post(f"/patients/{patient.id}/notes/today/lab-results", {"days": [day.isoformat()]},
                           form_page=f"/patients/{patient.id}/labs")
    assert response.status_code == 302 and f"/notes/{japan_today().isoformat()}/edit" in response.location
    note = _notes(session, patient.id)[-1]
    assert note.version == 2
    assert note.objective == (f"腹部平坦・軟\n\n【検査結果 {day:%Y/%m/%d} 採取】\n"
                              "LDL-コレステロール(LDL-C) 172 mg/dL H\n※本日の検体は乳び")
    nothing = client.post(f"/patients/{patient.id}/notes/today/lab-results", {"days": ["2001-01-01"]},
                          form_page=f"/patients/{patient.id}/labs")
    assert nothing.status_code == 302 and _notes(session, patient.id)[-1].version == 2


def test_with_two_visits_today_the_doctor_chooses_the_note_results_go_to(client, session):
    desk = make_desk(session)
    _full_chart(session, desk["clinic"])
    patient = desk["patient"]
    internal = _visit(session, desk["clinic"], patient, "内科", "上野 誠", "協会けんぽ 本人 3割")
    pediatric = _visit(session, desk["clinic"], patient, "小児科", "小児 花子", "国保 3割", minutes=30)
    login(client, desk["doctor"])
    day = japan_today() - timedelta(days=1)
    _ldl_result(client, session, desk, day)
    _save(client, patient.id, visit_id=str(internal.id), subjective="高血圧のフォロー")
    labs = f"/patients/{patient.id}/labs"
    # Not chosen: asked which, the chosen days carried along, nothing written.
    asked = client.post(f"/patients/{patient.id}/notes/today/lab-results", {"days": [day.isoformat()]},
                        form_page=labs)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "転記・添付する経過記録（受付）を選んでください" in page
    assert "内科 上野 誠" in page and "小児科 小児 花子（受付・まだ記載なし）" in page
    assert f'name="days" value="{day.isoformat()}"' in page and len(_notes(session, patient.id)) == 1
    # The pediatric visit chosen: its note is begun with the results in O; the internal one is untouched.
    chosen = client.post(f"/patients/{patient.id}/notes/today/lab-results",
                         {"days": [day.isoformat()], "note_target": f"visit:{pediatric.id}"}, form_page=labs)
    assert chosen.status_code == 302
    first, second = _notes(session, patient.id)
    assert (first.visit_id, first.objective, first.version) == (internal.id, "", 1)
    assert second.visit_id == pediatric.id and second.department_name == "小児科" and "LDL" in second.objective
    assert f"lineage_id={second.lineage_id}" in chosen.location
    # Now both have notes: the internal one chosen by its note.
    client.post(f"/patients/{patient.id}/notes/today/lab-results",
                {"days": [day.isoformat()], "note_target": f"note:{first.lineage_id}"}, form_page=labs)
    assert "LDL" in _notes(session, patient.id)[-1].objective and _notes(session, patient.id)[-1].lineage_id == \
        first.lineage_id
    stale = client.post(f"/patients/{patient.id}/notes/today/lab-results",
                        {"days": [day.isoformat()], "note_target": "note:999999"}, form_page=labs)
    assert stale.status_code == 422 and "選んだ経過記録が見つからない" in stale.get_data(as_text=True)


def test_a_key_image_goes_to_the_note_chosen_among_todays(client, session, world):
    _full_chart(session, world.clinic)
    internal = _visit(session, world.clinic, world.patient, "内科", "上野 誠", "協会けんぽ 本人 3割")
    surgery = _visit(session, world.clinic, world.patient, "外科", "外科 次郎", "協会けんぽ 本人 3割", minutes=20)
    login(client, world.doctor)
    for visit in (internal, surgery):
        _save(client, world.patient.id, visit_id=str(visit.id), subjective=f"{visit.department_name}の記録")
    internal_note, surgery_note = _notes(session, world.patient.id)
    viewer = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
    assert 'name="note_target"' in viewer and f'value="note:{surgery_note.lineage_id}"' in viewer
    add_key_image(client, world, caption="右下肺野に浸潤影")
    item = session.scalars(select(KeyImage).where(KeyImage.patient_id == world.patient.id)).one()
    # From the list with no note chosen: asked which, nothing attached yet.
    images = f"/patients/{world.patient.id}/images"
    asked = client.post(f"/patients/{world.patient.id}/notes/today/key-images/{item.id}", form_page=images)
    assert asked.status_code == 422 and "外科 外科 次郎" in asked.get_data(as_text=True)
    client.post(f"/patients/{world.patient.id}/notes/today/key-images/{item.id}",
                {"note_target": f"note:{surgery_note.lineage_id}"}, form_page=images)
    notes = {n.lineage_id: n for n in _notes(session, world.patient.id) if n.superseded_at is None}
    assert notes[surgery_note.lineage_id].key_image_ids == [item.id]
    assert notes[internal_note.lineage_id].key_image_ids == []
    assert "本日の経過記録に添付済み" in client.get(images).get_data(as_text=True)


def test_key_images_attach_to_todays_note_as_kept(client, session, world):
    _full_chart(session, world.clinic)
    login(client, world.doctor)
    add_key_image(client, world, caption="右下肺野に浸潤影")
    item = session.scalars(select(KeyImage).where(KeyImage.patient_id == world.patient.id)).one()
    page = client.get(f"/patients/{world.patient.id}/images").get_data(as_text=True)
    assert "本日の経過記録に添付" in page
    response = client.post(f"/patients/{world.patient.id}/notes/today/key-images/{item.id}",
                           form_page=f"/patients/{world.patient.id}/images")
    assert response.status_code == 302
    client.post(f"/patients/{world.patient.id}/notes/today/key-images/{item.id}",
                form_page=f"/patients/{world.patient.id}/images")  # twice is once
    note, = _notes(session, world.patient.id)
    assert note.key_image_ids == [item.id]
    assert "本日の経過記録に添付済み" in client.get(f"/patients/{world.patient.id}/images").get_data(as_text=True)
    chart = client.get(f"/patients/{world.patient.id}/notes").get_data(as_text=True)
    assert f"/key-images/{item.id}/image" in chart and "右下肺野に浸潤影" in chart
    # The caption is corrected later: the note keeps showing the image as it was attached.
    client.post(f"/patients/{world.patient.id}/key-images/{item.id}/caption",
                {"caption": "右下葉の浸潤影", "change_reason": "部位の訂正"},
                form_page=f"/patients/{world.patient.id}/images")
    chart = client.get(f"/patients/{world.patient.id}/notes").get_data(as_text=True)
    assert "右下肺野に浸潤影" in chart
    # The edit form can drop it (no box ticked) and cannot attach another patient's or an invented image.
    _save(client, world.patient.id, base=1, subjective="経過観察")
    assert _notes(session, world.patient.id)[-1].key_image_ids == []
    bad = _save(client, world.patient.id, base=2, status=422, subjective="経過観察", key_image_ids=["999999"])
    assert "キー画像が見つかりません" in bad.get_data(as_text=True)
    superseded = _save(client, world.patient.id, base=2, status=422, subjective="経過観察",
                       key_image_ids=[str(item.id)])
    assert "キー画像が見つかりません" in superseded.get_data(as_text=True)


def test_paper_chart_clinics_clerks_and_other_clinics_are_refused(client, session):
    paper = make_clinic(session)
    doctor = make_user(session, paper, role="doctor")
    patient = make_patient(session, paper)
    full = make_clinic(session, is_full_chart_mode=True)
    other_doctor = make_user(session, full, role="doctor")
    clerk = make_user(session, full, role="clerk")
    other_patient = make_patient(session, full)
    session.commit()
    login(client, doctor)
    # A paper-chart clinic has no notes at all (every route of it: tests/notes/test_paper_chart.py).
    assert client.get(f"/patients/{patient.id}/notes").status_code == 404
    assert "経過記録（SOAP）" not in client.get(f"/patients/{patient.id}").get_data(as_text=True)
    client.post(f"/patients/{patient.id}/notes/{japan_today().isoformat()}", {"subjective": "x"},
                form_page=f"/patients/{patient.id}")
    assert _notes(session, patient.id) == []
    assert client.get(f"/patients/{other_patient.id}/notes").status_code == 404
    login(client, other_doctor)
    _save(client, other_patient.id, subjective="咳")
    note, = _notes(session, other_patient.id)
    assert client.get(f"/patients/{other_patient.id}/notes/versions/{note.id}").status_code == 200
    assert client.get(f"/patients/{patient.id}/notes/versions/{note.id}").status_code == 404
    login(client, clerk)
    assert client.get(f"/patients/{other_patient.id}/notes").status_code == 403
    assert client.post(f"/patients/{other_patient.id}/notes/{japan_today().isoformat()}",
                       {"subjective": "x", "base_version": "1"}, form_page="/reception").status_code == 403


def test_the_viewer_keeps_a_key_image_and_attaches_it_to_todays_note_at_once(client, session, world):
    _full_chart(session, world.clinic)
    login(client, world.doctor)
    html = client.get(f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
    assert "本日の経過記録にも添付する" in html
    f = frames_of(html)[0]
    response = client.post(f"/patients/{world.patient.id}/images/{world.ct_uid}/key-images", {
        "series_uid": f["series"], "instance_uid": f["instance"], "frame": f["frame"], "wc": "", "ww": "",
        "caption": "肺野条件 右S6結節", "attach_to_note": "1"})
    assert response.status_code == 302
    item = session.scalars(select(KeyImage).where(KeyImage.patient_id == world.patient.id)).one()
    note, = _notes(session, world.patient.id)
    assert note.key_image_ids == [item.id] and note.note_date == japan_today()
    # A clerk keeps no key images and writes no notes: neither the form nor the box is offered.
    login(client, world.clerk)
    assert "本日の経過記録にも添付する" not in client.get(
        f"/patients/{world.patient.id}/images/{world.ct_uid}").get_data(as_text=True)
