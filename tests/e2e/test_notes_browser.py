"""In a real browser on a tablet (820×1180): the doctor opens today's visit from the patient's chart, starts from a
診療録テンプレート, puts a 定型文 at the cursor, sees the draft saved by itself, confirms (確定) the note and reads it
back in the chart with its line breaks; the landscape tablet (1180×820) shows the same editor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.audit import Actor
from app.core.timeutil import japan_today
from app.db import utcnow
from app.notes import library
from app.notes.models import NoteDraft, ProgressNote
from app.reception.models import Visit
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.e2e


def _world(live_app):
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="みなと内科・小児科", is_full_chart_mode=True)
        admin = make_user(session, clinic, role="admin")
        doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        visit = Visit(clinic_id=clinic.id, patient_id=patient.id, visit_date=japan_today(),
                      accepted_at=utcnow() - timedelta(minutes=20), department_name="内科",
                      physician_name="上野 誠", insurance_summary="協会けんぽ 本人 3割")
        session.add(visit)
        session.commit()
        actor = Actor(admin.id, admin.login_id, clinic.id, "admin")
        library.save_template(session, actor, lineage_id=None, scope=library.CLINIC, name="再診 高血圧",
                              department="内科", purpose="再診 高血圧",
                              source="[S] 自覚症状\n頭痛: choice あり/なし\n"
                                     "[O] 診察\n血圧（収縮期）: number mmHg 60-260")
        library.save_phrase(session, actor, phrase_id=None, scope=library.CLINIC, title="咽頭発赤なし",
                            kana="いんとうほっせきなし", text="咽頭発赤なし、", part="objective")
        session.commit()
        ids = (doctor.login_id, doctor.totp_secret), patient.id, visit.id
        session.close()
    return ids


def test_doctor_writes_a_visit_note_with_template_phrase_and_autosave(page, live_server, live_app):
    login, patient_id, visit_id = _world(live_app)
    page.set_viewport_size({"width": 820, "height": 1180})
    _login(page, live_server.url, *login)
    page.goto(f"{live_server.url}/patients/{patient_id}/notes")
    page.click("text=記録を書く")
    screenshot(page, "note-new-chooser-tablet")
    page.click("a.button:has-text('内科 上野 誠')")
    page.wait_for_url(f"**/edit?visit_id={visit_id}")
    expect(page.locator(".note-encounter")).to_contain_text("協会けんぽ 本人 3割")
    # Template: fill in the fields, the server makes the SOAP text.
    page.click("#tool-template summary")
    page.click("#template-open")
    page.select_option("select[name='0.0']", "なし")
    page.fill("input[name='1.0']", "138")
    screenshot(page, "note-template-fields-tablet")
    page.click("#template-fields button[type=submit]")
    expect(page.locator("#f-objective")).to_have_value("【診察】\n血圧（収縮期）: 138 mmHg")
    expect(page.locator("#f-subjective")).to_have_value("【自覚症状】\n頭痛: なし")
    # 定型文 at the cursor: in the middle of O, between the heading and the blood pressure.
    page.evaluate("""() => { const o = document.getElementById('f-objective');
        o.focus(); const at = o.value.indexOf('血圧'); o.setSelectionRange(at, at); }""")
    page.click("#tool-phrases summary")
    page.fill("#phrase-query", "いんとう")
    page.click("#phrase-list button:has-text('咽頭発赤なし')")
    expect(page.locator("#f-objective")).to_have_value("【診察】\n咽頭発赤なし、血圧（収縮期）: 138 mmHg")
    page.fill("#f-assessment", "高血圧症 安定")
    screenshot(page, "note-editor-tablet-portrait")
    # The draft saves itself within a few seconds; the device keeps nothing once the server has it.
    expect(page.locator("#autosave-status")).to_contain_text("下書きを保存しました", timeout=10_000)
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        draft = session.scalars(select(NoteDraft)).one()
        assert draft.assessment == "高血圧症 安定" and draft.visit_id == visit_id
        session.close()
    kept = "() => Object.keys(localStorage).filter(k => k.startsWith('kamikarte.note-draft'))"
    assert page.evaluate(kept) == []
    # The connection drops: only the open note's four texts stay on the device, until the server has them.
    page.context.set_offline(True)
    page.fill("#f-plan", "アムロジピン継続。4週後再診")
    expect(page.locator("#autosave-status")).to_contain_text("接続が切れています", timeout=10_000)
    key, = page.evaluate(kept)
    stored = page.evaluate(f"() => JSON.parse(localStorage.getItem('{key}'))")
    assert set(stored) == {"parts", "at"} and stored["parts"]["plan"] == "アムロジピン継続。4週後再診"
    assert set(stored["parts"]) == {"subjective", "objective", "assessment", "plan"}
    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator("#autosave-status")).to_contain_text("下書きを保存しました", timeout=10_000)
    assert page.evaluate(kept) == []
    page.set_viewport_size({"width": 1180, "height": 820})
    screenshot(page, "note-editor-tablet-landscape")
    page.click("#confirm-note")
    page.wait_for_url(f"**/patients/{patient_id}/notes?saved=*")
    note = page.locator("article.note").first
    expect(note).to_contain_text("高血圧症 安定")
    expect(note).to_contain_text("協会けんぽ 本人 3割")
    assert "【診察】\n咽頭発赤なし、血圧（収縮期）: 138 mmHg" in note.locator(".soap dd").nth(1).inner_text()
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot(page, "notes-chart-tablet")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        saved = session.scalars(select(ProgressNote)).one()
        assert (saved.version, saved.visit_id, saved.department_name) == (1, visit_id, "内科")
        assert saved.plan == "アムロジピン継続。4週後再診"
        assert session.scalars(select(NoteDraft)).all() == []
        session.close()
    page.goto(f"{live_server.url}/notes/library")
    expect(page.locator("#phrases")).to_contain_text("いんとうほっせきなし")
    screenshot(page, "note-library-tablet")
