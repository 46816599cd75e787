"""Notes per visit, drafts and 確定 through real HTTP: two visits of one day have two notes with their department,
doctor and insurance; a note without a reception names its own; autosaved drafts are rewritten in place and only
their author may confirm them; a confirmed version is never edited in place; the size limit; paper-chart clinics
answer 404."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.timeutil import japan_today
from app.db import utcnow
from app.notes.models import NoteDraft, ProgressNote
from app.reception.models import Visit
from tests.factories import make_clinic, make_patient, make_user
from tests.helpers import counted_statements
from tests.imaging.world import login


def _visit(session, clinic, patient, department, doctor, insurance, *, minutes=0, status="accepted"):
    visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=japan_today(),
                  accepted_at=utcnow() + timedelta(minutes=minutes), department_name=department,
                  physician_name=doctor, insurance_summary=insurance, status=status)
    session.add(visit)
    session.commit()
    return visit


def _world(session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor", display_name="内科 一郎")
    patient = make_patient(session, clinic)
    session.commit()
    return clinic, doctor, patient


def _notes(session, patient_id):
    session.expire_all()
    return session.scalars(select(ProgressNote).where(ProgressNote.patient_id == patient_id)
                           .order_by(ProgressNote.id)).all()


def _confirm(client, patient_id, form, *, page, status=302):
    base = {"subjective": "", "objective": "", "assessment": "", "plan": "", "base_version": "0"}
    response = client.post(f"/patients/{patient_id}/notes/{japan_today().isoformat()}", base | form, form_page=page)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response


def test_two_visits_of_one_day_have_two_notes(client, session):
    clinic, doctor, patient = _world(session)
    internal = _visit(session, clinic, patient, "内科", "内科 一郎", "協会けんぽ 本人 3割")
    pediatric = _visit(session, clinic, patient, "小児科", "小児 花子", "国保 3割", minutes=30)
    cancelled = _visit(session, clinic, patient, "皮膚科", "皮膚 太郎", "国保 3割", minutes=40, status="cancelled")
    login(client, doctor)
    chooser = client.get(f"/patients/{patient.id}/notes/new").get_data(as_text=True)
    assert "内科" in chooser and "小児科" in chooser and "皮膚科" not in chooser
    day = japan_today().isoformat()
    for visit, text in ((internal, "高血圧のフォロー"), (pediatric, "発熱 2日")):
        page = f"/patients/{patient.id}/notes/{day}/edit?visit_id={visit.id}"
        assert visit.department_name in client.get(page).get_data(as_text=True)
        _confirm(client, patient.id, {"visit_id": str(visit.id), "subjective": text}, page=page)
    notes = _notes(session, patient.id)
    assert [(n.visit_id, n.department_name, n.doctor_name, n.insurance_summary, n.subjective) for n in notes] == [
        (internal.id, "内科", "内科 一郎", "協会けんぽ 本人 3割", "高血圧のフォロー"),
        (pediatric.id, "小児科", "小児 花子", "国保 3割", "発熱 2日")]
    # The visit's department is the visit's: a forged department in the form is not taken.
    page = f"/patients/{patient.id}/notes/{day}/edit?visit_id={internal.id}"
    _confirm(client, patient.id, {"lineage_id": str(notes[0].lineage_id), "base_version": "1",
                                  "subjective": "高血圧のフォロー。頭痛なし", "department_name": "外科"}, page=page)
    assert _notes(session, patient.id)[-1].department_name == "内科"
    # A cancelled visit or another patient's cannot have a note.
    _confirm(client, patient.id, {"visit_id": str(cancelled.id), "subjective": "x"}, page=page, status=422)
    assert client.get(f"/patients/{patient.id}/notes/{day}/edit?visit_id={cancelled.id}").status_code == 404
    chart = client.get(f"/patients/{patient.id}/notes").get_data(as_text=True)
    assert "小児 花子" in chart and "国保 3割" in chart and "協会けんぽ 本人 3割" in chart


def test_a_note_without_a_reception_names_its_encounter(client, session):
    clinic, doctor, patient = _world(session)
    login(client, doctor)
    yesterday = (japan_today() - timedelta(days=1)).isoformat()
    start = client.get(f"/patients/{patient.id}/notes/start?day={yesterday}&encounter_kind=phone"
                       f"&department_name=内科&insurance_summary=後期高齢 1割")
    assert start.status_code == 302 and f"/notes/{yesterday}/edit" in start.location
    page = start.location
    form = {"encounter_kind": "phone", "department_name": "内科", "insurance_summary": "後期高齢 1割",
            "subjective": "電話で血圧の報告 132/80", "base_version": "0"}
    missing = client.post(f"/patients/{patient.id}/notes/{yesterday}", form | {"department_name": " "},
                          form_page=page)
    assert missing.status_code == 422 and "診療科を40文字以内で入力してください" in missing.get_data(as_text=True)
    wrong = client.post(f"/patients/{patient.id}/notes/{yesterday}", form | {"encounter_kind": "visit"},
                        form_page=page)
    assert wrong.status_code == 422
    assert client.post(f"/patients/{patient.id}/notes/{yesterday}", form, form_page=page).status_code == 302
    note, = _notes(session, patient.id)
    assert (note.visit_id, note.encounter_kind, note.department_name, note.insurance_summary,
            note.note_date.isoformat()) == (None, "phone", "内科", "後期高齢 1割", yesterday)
    assert "電話再診" in client.get(f"/patients/{patient.id}/notes").get_data(as_text=True)


def test_drafts_autosave_in_place_and_only_their_author_confirms(client, session):
    clinic, doctor, patient = _world(session)
    other = make_user(session, clinic, role="doctor", display_name="別の 医師")
    session.commit()
    visit = _visit(session, clinic, patient, "内科", "内科 一郎", "協会けんぽ 本人 3割")
    login(client, doctor)
    day = japan_today().isoformat()
    page = f"/patients/{patient.id}/notes/{day}/edit?visit_id={visit.id}"
    client.get(page)
    url = f"/patients/{patient.id}/notes/{day}/draft"
    first = client.post_json(url, {"visit_id": visit.id, "subjective": "咳", "base_version": 0})
    assert first.status_code == 200, first.get_data(as_text=True)
    draft_id = first.get_json()["draft_id"]
    again = client.post_json(url, {"draft_id": draft_id, "subjective": "咳 3日前から", "objective": "咽頭発赤"})
    assert again.get_json()["draft_id"] == draft_id
    session.expire_all()
    draft, = session.scalars(select(NoteDraft)).all()
    assert (draft.subjective, draft.objective, draft.visit_id, draft.department_name) == (
        "咳 3日前から", "咽頭発赤", visit.id, "内科")
    assert _notes(session, patient.id) == []  # a draft is not a version
    # Reopening the editor continues the draft; the chart lists it.
    assert "咳 3日前から" in client.get(page).get_data(as_text=True)
    assert "確定していない下書き" in client.get(f"/patients/{patient.id}/notes").get_data(as_text=True)
    too_long = client.post_json(url, {"draft_id": draft_id, "plan": "あ" * 20_001})
    assert too_long.status_code == 422 and "20,000文字以内" in too_long.get_json()["message"]
    assert client.post_json(url, ["not", "an", "object"]).status_code == 400
    # Another doctor can neither change nor confirm it.
    login(client, other)
    client.get(page)
    assert client.post_json(url, {"draft_id": draft_id, "subjective": "上書き"}).status_code == 422
    refused = _confirm(client, patient.id, {"draft_id": str(draft_id), "visit_id": str(visit.id),
                                            "subjective": "上書き"}, page=page, status=422)
    assert "他の職員のもの" in refused.get_data(as_text=True)
    assert _notes(session, patient.id) == [] and session.get(NoteDraft, draft_id) is not None
    # Its author confirms: version 1, the draft gone (a second login of the account: the next TOTP step).
    client.raw.delete_cookie("kamikarte_session")
    client.login(doctor.login_id, doctor.totp_secret, offset_steps=1)
    _confirm(client, patient.id, {"draft_id": str(draft_id), "visit_id": str(visit.id), "subjective": "咳 3日前から",
                                  "objective": "咽頭発赤"}, page=page)
    note, = _notes(session, patient.id)
    assert (note.version, note.subjective, note.recorded_by_name) == (1, "咳 3日前から", "内科 一郎")
    session.expire_all()
    assert session.scalars(select(NoteDraft)).all() == []


def test_a_confirmed_version_is_never_edited_in_place(client, session):
    clinic, doctor, patient = _world(session)
    visit = _visit(session, clinic, patient, "内科", "内科 一郎", "国保 3割")
    login(client, doctor)
    day = japan_today().isoformat()
    page = f"/patients/{patient.id}/notes/{day}/edit?visit_id={visit.id}"
    _confirm(client, patient.id, {"visit_id": str(visit.id), "assessment": "高血圧症"}, page=page)
    first, = _notes(session, patient.id)
    _confirm(client, patient.id, {"lineage_id": str(first.lineage_id), "base_version": "1",
                                  "assessment": "本態性高血圧症"}, page=page)
    # Saving over version 1 again (a stale tablet) is refused: version 1 stays as it was, version 2 current.
    stale = _confirm(client, patient.id, {"lineage_id": str(first.lineage_id), "base_version": "1",
                                          "assessment": "書き換え"}, page=page, status=422)
    assert "もう一度保存してください" in stale.get_data(as_text=True)
    versions = _notes(session, patient.id)
    assert [(v.version, v.assessment, v.superseded_at is not None) for v in versions] == [
        (1, "高血圧症", True), (2, "本態性高血圧症", False)]
    history = client.get(f"/patients/{patient.id}/notes/versions/{first.id}").get_data(as_text=True)
    assert "第1版" in history and "第2版" in history
    too_big = _confirm(client, patient.id, {"lineage_id": str(first.lineage_id), "base_version": "2",
                                            **{p: "あ" * 15_000 for p in ("subjective", "objective", "plan")}},
                       page=page, status=422)
    assert "全体で40,000文字以内" in too_big.get_data(as_text=True)
    assert len(_notes(session, patient.id)) == 2


def test_paper_chart_clinics_see_none_of_it(client, session):
    clinic = make_clinic(session, is_full_chart_mode=False)
    doctor = make_user(session, clinic, role="doctor")
    patient = make_patient(session, clinic)
    session.commit()
    login(client, doctor)
    for path in (f"/patients/{patient.id}/notes/new", "/notes/library", "/notes/phrases.json?q=せき",
                 "/notes/templates/new", "/notes/templates/1.json"):
        assert client.get(path).status_code == 404, path
    day = japan_today().isoformat()
    assert client.get(f"/patients/{patient.id}/notes").status_code == 404
    client.get(f"/patients/{patient.id}")  # a page of the clinic's, for the token
    assert client.post_json(f"/patients/{patient.id}/notes/{day}/draft", {"subjective": "x"}).status_code == 404
    assert session.scalars(select(NoteDraft)).all() == []


def test_a_confirm_runs_a_bounded_number_of_statements(app, client, session):
    clinic, doctor, patient = _world(session)
    visit = _visit(session, clinic, patient, "内科", "内科 一郎", "国保 3割")
    login(client, doctor)
    day = japan_today().isoformat()
    page = f"/patients/{patient.id}/notes/{day}/edit?visit_id={visit.id}"
    _confirm(client, patient.id, {"visit_id": str(visit.id), "subjective": "v1"}, page=page)
    lineage = _notes(session, patient.id)[0].lineage_id
    counts = []
    for version in (1, 2, 3, 4):
        token = client.token(page)
        with counted_statements(app.extensions["db_engine"]) as statements:
            response = client.post(f"/patients/{patient.id}/notes/{day}", {
                "csrf_token": token, "lineage_id": str(lineage), "base_version": str(version),
                "subjective": f"v{version + 1}", "objective": "", "assessment": "", "plan": ""})
        assert response.status_code == 302
        counts.append(len(statements))
    # The same work whatever the note's history: one version more does not cost a statement more.
    assert len(set(counts[1:])) == 1 and counts[-1] <= 20, counts
