"""The one way versions are written (app.core.versioning): version 1 of a lineage, a correction or withdrawal as
a new version with who, when and why, the audit entry, and the reason checked alike everywhere (required, never
over 200 characters and never cut); then the same refusal through HTTP in the four domains that use it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.models import AuditEntry
from app.core.timeutil import japan_today
from app.core.versioning import MAX_REASON, clean_reason, record_first_version, record_new_version
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis
from app.imaging.models import KeyImage
from app.notes.models import ProgressNote
from app.patients.profile_models import BloodType
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

TOO_LONG = "あ" * (MAX_REASON + 1)
REFUSED = f"修正・取消の理由は{MAX_REASON}文字以内で入力してください"


@pytest.fixture
def desk(session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    patient = make_patient(session, clinic)
    session.commit()
    actor = Actor(doctor.id, doctor.login_id, clinic.id, "doctor")
    return {"clinic": clinic, "doctor": doctor, "patient": patient, "actor": actor}


def _note(desk, **fields) -> ProgressNote:
    return ProgressNote(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id,
                        note_date=fields.pop("note_date", date(2026, 4, 1)), **fields)


def _text(version: ProgressNote) -> dict:
    return {"subjective": version.subjective, "plan": version.plan}


def test_clean_reason_folds_whitespace_and_strips_invisible_characters():
    assert clean_reason("  入力\n誤り\u202e \u200b ") == "入力 誤り"
    assert clean_reason("", required=False) == ""
    assert clean_reason("あ" * MAX_REASON) == "あ" * MAX_REASON


@pytest.mark.parametrize("reason, message", [("", "修正・取消の理由を入力してください"),
                                             (" \u200b\u2067 ", "修正・取消の理由を入力してください"),
                                             (TOO_LONG, REFUSED)])
def test_clean_reason_refuses_a_missing_or_too_long_reason_on_the_reason_field(reason, message):
    with pytest.raises(ValidationError) as caught:
        clean_reason(reason)
    assert caught.value.field == "change_reason" and message in caught.value.message
    assert caught.value.errors == {"change_reason": caught.value.message}


def test_a_missing_reason_can_have_its_own_message():
    with pytest.raises(ValidationError, match="過去の日付"):
        clean_reason(" ", missing="過去の日付の修正には理由が要ります")


def test_first_version_starts_a_lineage_with_who_when_and_an_audit_entry(session, desk):
    item = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛"), action="note.create",
                                snapshot=_text, extra={"note_date": "2026-04-01"})
    session.commit()
    assert (item.version, item.lineage_id, item.recorded_by_id) == (1, item.id, desk["doctor"].id)
    assert item.recorded_by_name == "医師 一郎" and item.recorded_at is not None and item.change_reason == ""
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "note.create")).one()
    assert (audit.entity_type, audit.entity_id, audit.patient_id) == ("progress_note", str(item.id),
                                                                      desk["patient"].id)
    assert audit.summary == {"before": {}, "after": {"subjective": "頭痛", "plan": ""}, "note_date": "2026-04-01",
                             "version": 1}


def test_a_correction_copies_the_fields_supersedes_the_old_and_records_why(session, desk):
    first = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛", plan="経過観察"),
                                 action="note.create", snapshot=_text)
    second = record_new_version(session, desk["actor"], first, {"plan": "鎮痛薬"}, action="note.revise",
                                reason=" 計画を\n追記 ", snapshot=_text)
    session.commit()
    assert first.superseded_at is not None and second.superseded_at is None
    assert (second.version, second.lineage_id, second.retracted) == (2, first.id, False)
    assert (second.subjective, second.plan, second.note_date) == ("頭痛", "鎮痛薬", date(2026, 4, 1))
    assert second.change_reason == "計画を 追記" and second.recorded_by_name == "医師 一郎"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "note.revise")).one()
    assert audit.summary == {"before": {"plan": "経過観察"}, "after": {"plan": "鎮痛薬"}, "version": 2,
                             "reason": "計画を 追記"}
    third = record_new_version(session, desk["actor"], second, {}, action="note.retract", reason="別患者",
                               retract=True)
    assert (third.version, third.retracted, third.plan, third.lineage_id) == (3, True, "鎮痛薬", first.id)


def test_a_replaced_version_cannot_be_changed_again(session, desk):
    first = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛"), action="note.create")
    record_new_version(session, desk["actor"], first, {"subjective": "腹痛"}, action="note.revise", reason="誤記")
    with pytest.raises(ValidationError) as caught:
        record_new_version(session, desk["actor"], first, {"subjective": "胸痛"}, action="note.revise", reason="誤記")
    assert caught.value.field == "_form" and "すでに修正または取消" in caught.value.message


def test_of_two_corrections_of_one_version_at_once_the_second_is_refused(app, session, desk):
    first = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛"), action="note.create")
    session.commit()
    other = app.extensions["db_sessionmaker"]()
    try:
        stale = other.get(ProgressNote, first.id)  # the other screen read it before the first save
        record_new_version(session, desk["actor"], first, {"subjective": "腹痛"}, action="note.revise", reason="誤記")
        session.commit()
        assert stale.superseded_at is None
        with pytest.raises(ValidationError, match="すでに修正または取消"):
            record_new_version(other, desk["actor"], stale, {"subjective": "胸痛"}, action="note.revise",
                               reason="誤記")
        other.rollback()
    finally:
        other.close()
    session.expire_all()
    assert [(n.version, n.subjective) for n in session.scalars(select(ProgressNote).where(
        ProgressNote.superseded_at.is_(None)))] == [(2, "腹痛")]


def test_a_too_long_reason_is_refused_and_nothing_is_written(session, desk):
    first = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛"), action="note.create")
    session.commit()
    with pytest.raises(ValidationError, match=REFUSED):
        record_new_version(session, desk["actor"], first, {"subjective": "腹痛"}, action="note.revise",
                           reason=TOO_LONG)
    session.rollback()
    assert first.superseded_at is None
    assert session.scalars(select(ProgressNote)).all() == [first]
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "note.revise")) is None


def test_an_optional_reason_may_be_empty_but_never_too_long(session, desk):
    first = record_first_version(session, desk["actor"], _note(desk, subjective="頭痛"), action="note.create")
    second = record_new_version(session, desk["actor"], first, {"subjective": "腹痛"}, action="note.revise",
                                reason="", reason_required=False)
    assert second.change_reason == ""
    with pytest.raises(ValidationError, match=REFUSED):
        record_new_version(session, desk["actor"], second, {"subjective": "胸痛"}, action="note.revise",
                           reason=TOO_LONG, reason_required=False)


# --- the four domains through HTTP: one refusal, shown on the form, nothing stored ----------------------------

def _blood_type(session, desk):
    item = record_first_version(session, desk["actor"], BloodType(clinic_id=desk["clinic"].id,
                                                                  patient_id=desk["patient"].id, abo="A", rh="+"),
                                action="profile.blood-type.create")
    page = f"/patients/{desk['patient'].id}/profile/blood-type/{item.id}/edit"
    return item, page, {"abo": "B", "rh": "+", "confirmed_by": "当院検査", "confirmed_on": "2024-02-01"}, page


def _diagnosis(session, desk):
    load_shipped_subsets(session)
    item = record_first_version(session, desk["actor"], Diagnosis(
        clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, disease_code="8833421", display_name="高血圧症",
        icd10="I10", started_on=date(2026, 4, 1)), action="diagnosis.create")
    page = f"/patients/{desk['patient'].id}/diagnoses/{item.id}/edit"
    return item, page, {"disease_code": "8833421", "started_on": "2026-04-01", "outcome": "cured",
                        "ended_on": "2026-05-01"}, page


def _progress_note(session, desk):
    day = japan_today() - timedelta(days=3)
    item = record_first_version(session, desk["actor"], _note(desk, note_date=day, subjective="頭痛"),
                                action="note.create")
    page = f"/patients/{desk['patient'].id}/notes/{day.isoformat()}"
    return item, page, {"subjective": "腹痛", "objective": "", "assessment": "", "plan": "", "base_version": "1"}, \
        f"{page}/edit"


def _key_image(session, desk):
    item = record_first_version(session, desk["actor"], KeyImage(
        clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, study_uid="1.2.3", series_uid="1.2.3.4",
        instance_uid="1.2.3.4.5", caption="右下肺野", image_bytes=b"png", image_sha256="0" * 64),
        action="key_image.create")
    return item, f"/patients/{desk['patient'].id}/key-images/{item.id}/caption", {"caption": "左下肺野"}, None


@pytest.mark.parametrize("arrange", [_blood_type, _diagnosis, _progress_note, _key_image],
                         ids=["profile", "diagnosis", "note", "key_image"])
def test_every_domain_refuses_a_reason_over_200_characters_as_a_form_error(client, session, desk, arrange):
    item, url, form, form_page = arrange(session, desk)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = client.post(url, form | {"change_reason": TOO_LONG}, form_page=form_page or f"/patients/"
                           f"{desk['patient'].id}/images")
    if form_page is None:  # the key-image list shows the refusal after its redirect
        assert response.status_code == 302
        response = client.get(response.location)
    else:
        assert response.status_code == 422
    assert REFUSED in response.get_data(as_text=True)
    session.expire_all()
    versions = session.scalars(select(type(item)).where(type(item).lineage_id == item.id)).all()
    assert [(v.version, v.superseded_at) for v in versions] == [(1, None)]
