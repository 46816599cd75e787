"""In a real browser on a tablet: the doctor draws a シェーマ (pen strokes, an undo and a redo, the eraser, a text
label; clearing undone), saves it, finds it in the chart beside the day's note, and searches the chart with the
match marked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.core.timeutil import japan_today
from app.notes.schema_models import SchemaDrawing
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user
from tests.notes.chart_world import add_note

pytestmark = pytest.mark.e2e


def _stroke(page, points) -> None:
    """Draw with the mouse through the points (fractions of the canvas), where the canvas is now on screen."""
    canvas = page.locator("#schema-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
    page.mouse.up()


def _doctor_with_a_note(live_app, **note) -> tuple[tuple[str, str], int, int]:
    """A full-chart clinic's doctor and patient with today's note: (login, patient id, the note's lineage)."""
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="みなと内科", is_full_chart_mode=True)
        doctor = make_user(session, clinic, role="doctor", display_name="上野 誠")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ")
        written = add_note(session, clinic, patient, japan_today(), author=doctor, **note)
        found = (doctor.login_id, doctor.totp_secret), patient.id, written.lineage_id
        session.close()
    return found


@pytest.mark.parametrize("viewport", [{"width": 820, "height": 1180}, {"width": 1180, "height": 820}])
def test_doctor_draws_a_schema_and_searches_the_chart(page, live_server, live_app, viewport):
    login, patient_id, _lineage = _doctor_with_a_note(
        live_app, subjective="右下腹部痛が昨夜から", objective="McBurney点に圧痛", assessment="急性虫垂炎の疑い",
        plan="CT依頼")
    page.set_viewport_size(viewport)
    size = f"{viewport['width']}x{viewport['height']}"
    _login(page, live_server.url, *login)
    page.goto(f"{live_server.url}/patients/{patient_id}/schemas/new?base=abdomen")
    _stroke(page, [(0.6, 0.6), (0.7, 0.65), (0.75, 0.75)])
    page.click("[data-colour='#1a73e8']")
    _stroke(page, [(0.3, 0.3), (0.4, 0.3)])
    page.click("#schema-undo")
    page.click("#schema-redo")
    page.click("[data-tool=eraser]")
    _stroke(page, [(0.35, 0.25), (0.35, 0.35)])
    page.click("[data-tool=text]")
    page.fill("#schema-label", "圧痛")
    canvas = page.locator("#schema-canvas")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * 0.62, "y": box["height"] * 0.55})
    # すべて消す, then 元に戻す: everything is back.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#schema-clear")
    page.click("#schema-undo")
    page.fill("input[name=title]", "右下腹部 圧痛")
    screenshot(page, f"schema-editor-{size}")
    page.click("#schema-form button[type=submit]")
    page.wait_for_url(f"**/patients/{patient_id}/schemas#schema-*")
    expect(page.locator(".schema-list li").first).to_contain_text("右下腹部 圧痛")
    screenshot(page, f"schema-list-{size}")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        drawing = session.scalars(select(SchemaDrawing)).one()
        kinds = [item["t"] for item in drawing.strokes["items"]]
        session.close()
    assert kinds == ["pen", "pen", "eraser", "text"]
    page.goto(f"{live_server.url}/patients/{patient_id}/chart?q=ｍｃｂｕｒｎｅｙ+圧痛")
    expect(page.locator(".soap mark")).to_have_text(["McBurney", "圧痛"])
    page.goto(f"{live_server.url}/patients/{patient_id}/chart?q=虫垂炎")
    expect(page.locator(".soap mark")).to_have_text("虫垂炎")
    expect(page.locator(".note-schemas img")).to_have_count(1)
    screenshot(page, f"chart-search-{size}")


@pytest.mark.parametrize("viewport", [{"width": 820, "height": 1180}, {"width": 1180, "height": 820}])
def test_doctor_draws_from_the_note_editor_and_edits_it_again(page, live_server, live_app, viewport):
    login, patient_id, lineage = _doctor_with_a_note(live_app, subjective="右膝の痛み", department="整形外科")
    page.set_viewport_size(viewport)
    size = f"{viewport['width']}x{viewport['height']}"
    _login(page, live_server.url, *login)
    editor = f"{live_server.url}/patients/{patient_id}/notes/{japan_today().isoformat()}/edit?lineage_id={lineage}"
    page.goto(editor)
    page.click("#tool-schema summary")
    page.click("#tool-schema a:has-text('四肢')")
    _stroke(page, [(0.5, 0.5), (0.55, 0.55), (0.6, 0.52)])
    page.fill("input[name=title]", "右膝 腫脹")
    page.click("#schema-form button[type=submit]")
    page.wait_for_url(f"**/notes/*/edit?lineage_id={lineage}#tool-schema")
    expect(page.locator("#tool-schema img")).to_have_count(1)
    screenshot(page, f"note-editor-schema-{size}")
    # Reopened from the note: the earlier stroke is back on the canvas; another stroke makes version 2.
    page.click("#tool-schema a:has-text('開いて修正')")
    _stroke(page, [(0.3, 0.3), (0.35, 0.35)])
    page.click("#schema-form button[type=submit]")
    page.wait_for_url(f"**/notes/*/edit?lineage_id={lineage}#tool-schema")
    expect(page.locator("#tool-schema")).to_contain_text("第2版")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        current = session.scalars(select(SchemaDrawing).where(SchemaDrawing.superseded_at.is_(None))).one()
        strokes = [item["p"] for item in current.strokes["items"]]
        session.close()
    assert current.version == 2 and current.note_lineage_id == lineage and len(strokes) == 2
    assert all(type(v) is int for p in strokes for v in p) and all(len(p) % 3 == 0 for p in strokes)
    page.goto(f"{live_server.url}/patients/{patient_id}/chart")
    expect(page.locator(".note-schemas img")).to_have_count(1)
    screenshot(page, f"chart-note-schema-{size}")
