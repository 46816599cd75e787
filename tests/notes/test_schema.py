"""シェーマ through HTTP: a drawing saved as checked vector strokes with a PNG the server renders (the pixels are
read back), shown inside the note of its day and in the patient's list, opened again and saved as a new version;
malformed or oversized stroke data refused with a message and nothing written; 2,000 strokes within 300 ms."""

from __future__ import annotations

import io
import subprocess  # noqa: S404 -- fixed commands on files this test wrote
import time
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.core.audit import Actor
from app.core.timeutil import japan_today
from app.notes.schema import SchemaInput, save_schema
from app.notes.schema_models import SchemaDrawing
from app.notes.schema_strokes import MAX_POINTS_PER_STROKE
from bench.chart import many_strokes
from tests.notes.chart_world import add_note, make_chart_world
from tests.notes.test_chart_print import _text

RED = "#d93025"


def _drawing(*items) -> dict:
    return {"items": list(items)}


PEN = {"t": "pen", "c": RED, "w": 8, "p": [[100, 400, 0.5], [300, 400, 0.5], [500, 400, 0.9]]}
LABEL = {"t": "text", "c": "#1a73e8", "x": 120, "y": 600, "s": "<b>圧痛</b>", "z": 24}


def _post(client, patient_id, strokes, *, schema_id=None, base_version=0, day=None, status=200, **extra):
    """Save as the editor does: JSON with the page's CSRF token; the answer's JSON (where next, or the errors)."""
    path = f"/patients/{patient_id}/schemas" + (f"/{schema_id}" if schema_id else "")
    body = {"base": "abdomen", "title": "右下腹部 圧痛", "note_date": (day or japan_today()).isoformat(),
            "strokes": strokes, "base_version": base_version} | extra
    client.get(f"/patients/{patient_id}/schemas/new")
    data = body if isinstance(strokes, dict | list) or strokes is None else None
    if data is None:  # a raw text: sent as the body itself, as a broken or hostile client might
        response = client.raw.post(path, data=strokes, content_type="application/json",
                                   headers={"X-CSRFToken": client.token()})
    else:
        response = client.post_json(path, data)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.get_json()


def _message(answer) -> str:
    return " ".join(answer["errors"].values())


def test_draw_show_in_note_and_edit_as_new_version(client, session):
    world = make_chart_world(session)
    add_note(session, world.clinic, world.patient, japan_today(), subjective="右下腹部痛")
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    editor = client.get(f"/patients/{world.patient.id}/schemas/new?base=abdomen").get_data(as_text=True)
    assert "schema-editor.js" in editor and "<svg class=\"schema-base\"" in editor
    _post(client, world.patient.id, _drawing(PEN, LABEL))
    first = session.scalars(select(SchemaDrawing)).one()
    assert first.strokes["items"][1]["s"] == "<b>圧痛</b>" and first.item_count == 2  # kept as text, shown escaped
    picture = Image.open(io.BytesIO(client.get(f"/patients/{world.patient.id}/schemas/{first.id}.png").data))
    assert picture.size == (600, 800)
    assert picture.convert("RGB").getpixel((200, 400)) == (0xD9, 0x30, 0x25)  # the red pen, rendered here
    chart = client.get(f"/patients/{world.patient.id}/chart").get_data(as_text=True)
    assert f"/schemas/{first.id}.png" in chart and "右下腹部痛" in chart
    listing = client.get(f"/patients/{world.patient.id}/schemas").get_data(as_text=True)
    assert "右下腹部 圧痛" in listing and "第1版" in listing
    # Opened again, an eraser stroke through the line is added: version 2, the first kept.
    reopened = client.get(f"/patients/{world.patient.id}/schemas/{first.id}/edit").get_data(as_text=True)
    assert "&lt;b&gt;圧痛&lt;/b&gt;" in reopened and "<b>圧痛</b>" not in reopened
    eraser = {"t": "eraser", "w": 40, "p": [[200, 300], [200, 500]]}
    _post(client, world.patient.id, _drawing(PEN, LABEL, eraser), schema_id=first.id, base_version=1)
    session.expire_all()
    versions = session.scalars(select(SchemaDrawing).order_by(SchemaDrawing.id)).all()
    assert [(v.version, v.superseded_at is not None) for v in versions] == [(1, True), (2, False)]
    second = Image.open(io.BytesIO(versions[1].png)).convert("RGB")
    assert second.getpixel((200, 400)) == (255, 255, 255)  # erased ink shows the paper
    assert second.getpixel((400, 400)) == (0xD9, 0x30, 0x25)
    # Saving from the first version again is refused: someone saved in between.
    answer = _post(client, world.patient.id, _drawing(PEN), schema_id=first.id, base_version=1, status=422)
    assert "すでに修正" in _message(answer) or "先に保存" in _message(answer)
    history = client.get(f"/patients/{world.patient.id}/schemas/{versions[1].id}/history").get_data(as_text=True)
    assert "第1版" in history and "第2版" in history


def test_the_editors_flat_points_render_as_the_nested_ones_and_are_stored_flat(client, session):
    world = make_chart_world(session)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    flat = {**PEN, "p": [1000, 4000, 50, 3000, 4000, 50, 5000, 4000, 90]}
    _post(client, world.patient.id, {"v": 2, "items": [flat]})
    _post(client, world.patient.id, _drawing(PEN))
    first, second = session.scalars(select(SchemaDrawing).order_by(SchemaDrawing.id)).all()
    assert first.strokes["items"][0]["p"] == second.strokes["items"][0]["p"] == flat["p"]
    assert first.png == second.png
    picture = Image.open(io.BytesIO(first.png)).convert("RGB")
    assert picture.getpixel((200, 400)) == (0xD9, 0x30, 0x25) and picture.getpixel((200, 380)) == (255, 255, 255)


def test_drawn_from_the_note_editor_it_shows_in_that_note_and_its_print(client, session, tmp_path):
    world = make_chart_world(session)
    note = add_note(session, world.clinic, world.patient, japan_today(), subjective="右下腹部痛", department="外科")
    other = add_note(session, world.clinic, world.patient, japan_today(), subjective="皮疹", department="皮膚科")
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    day = japan_today().isoformat()
    editor = client.get(f"/patients/{world.patient.id}/notes/{day}/edit?lineage_id={note.lineage_id}")
    link = f"/patients/{world.patient.id}/schemas/new?base=abdomen&amp;day={day}&amp;from_note=1&amp;lineage_id=" \
           f"{note.lineage_id}"
    assert link in editor.get_data(as_text=True)
    opened = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="note_lineage_id" value="{note.lineage_id}"' in opened and "やめて経過記録に戻る" in opened
    back = f"/patients/{world.patient.id}/notes/{day}/edit?lineage_id={note.lineage_id}#tool-schema"
    assert _post(client, world.patient.id, _drawing(PEN), note_lineage_id=note.lineage_id,
                 return_to_note=True)["redirect"] == back
    drawing = session.scalars(select(SchemaDrawing)).one()
    assert drawing.note_lineage_id == note.lineage_id
    png = f"/schemas/{drawing.id}.png"
    assert png in client.get(back.split("#")[0]).get_data(as_text=True)  # in the note's editor
    assert png not in client.get(f"/patients/{world.patient.id}/notes/{day}/edit?lineage_id={other.lineage_id}") \
        .get_data(as_text=True)
    chart = client.get(f"/patients/{world.patient.id}/chart").get_data(as_text=True)
    assert chart.count(png) == 1 and chart.index(png) > chart.index("右下腹部痛") and "皮疹" in chart
    # Reopened from the editor and changed: a new version, still the note's, back to the editor.
    reopened = client.get(f"/patients/{world.patient.id}/schemas/{drawing.id}/edit?from_note=1&lineage_id="
                          f"{note.lineage_id}").get_data(as_text=True)
    assert 'name="return_to_note" value="1"' in reopened
    answer = _post(client, world.patient.id, _drawing(PEN, LABEL), schema_id=drawing.id, base_version=1,
                   note_lineage_id=note.lineage_id, return_to_note=True)
    assert answer["redirect"] == back
    current = session.scalars(select(SchemaDrawing).where(SchemaDrawing.superseded_at.is_(None))).one()
    assert (current.version, current.note_lineage_id) == (2, note.lineage_id)
    pdf = client.get(f"/patients/{world.patient.id}/chart/print.pdf?from={day}&to={day}&sheet=2").data
    text = _text(pdf, tmp_path)
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "chart.pdf")],  # noqa: S603,S607
                            check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert len(images) == 1 and text.index("右下腹部痛") < text.index("右下腹部 圧痛") < text.index("皮疹")
    # Another patient's note, or a note of another day, cannot hold the drawing.
    refused = _post(client, world.patient.id, _drawing(PEN), note_lineage_id=999999, status=422)
    assert "経過記録が見つからない" in _message(refused)


def test_another_clinic_cannot_open_a_drawing(client, session):
    world = make_chart_world(session)
    other = make_chart_world(session)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    _post(client, world.patient.id, _drawing(PEN))
    item = session.scalars(select(SchemaDrawing)).one()
    client.logout()
    client.login(other.doctor.login_id, other.doctor.totp_secret)
    for path in (f"/patients/{world.patient.id}/schemas/{item.id}.png", f"/patients/{other.patient.id}/schemas/"
                 f"{item.id}.png", f"/patients/{other.patient.id}/schemas/{item.id}/edit"):
        assert client.get(path).status_code == 404, path


def test_a_past_days_drawing_needs_a_reason_to_change(client, session):
    world = make_chart_world(session)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    _post(client, world.patient.id, _drawing(PEN), day=japan_today() - timedelta(days=3))
    item = session.scalars(select(SchemaDrawing)).one()
    refused = _post(client, world.patient.id, _drawing(PEN, LABEL), schema_id=item.id, base_version=1, status=422)
    assert "修正理由を入力してください" in _message(refused)
    _post(client, world.patient.id, _drawing(PEN, LABEL), schema_id=item.id, base_version=1,
          change_reason="所見の追記")


@pytest.mark.parametrize(("strokes", "message"), [
    ("", "何も描かれていません"),
    ("<svg onload=alert(1)>", "JSONではありません"),
    ('{"items": [{"t": "pen", "c": "#d93025", "w": 4, "p": [[NaN, 1]]}]}', "JSONではありません"),
    (_drawing({**PEN, "p": [[601, 10]]}), "範囲外"),
    (_drawing({**PEN, "p": [[10, -1]]}), "範囲外"),
    (_drawing({**PEN, "p": [[10, 10, 1.5]]}), "範囲外"),
    (_drawing({**PEN, "p": [[True, 10]]}), "数値ではありません"),
    (_drawing({**PEN, "p": [["10", 10]]}), "数値ではありません"),
    (_drawing({**PEN, "onclick": "x"}), "知らない項目"),
    (_drawing({**PEN, "c": "url(javascript:x)"}), "使えない色"),
    (_drawing({**PEN, "w": 500}), "範囲外"),
    (_drawing({"t": "image", "href": "http://x"}), "知らない項目"),
    (_drawing({**LABEL, "s": "あ" * 41}), "1〜40文字"),
    (_drawing({**PEN, "p": [[1, 1]] * (MAX_POINTS_PER_STROKE + 1)}), "1〜2000"),
    ({"items": [PEN] * 5001}, "5,000個まで"),
    ({"items": [PEN], "svg": "<g/>"}, "形が違います"),
    ({"items": []}, "何も描かれていません"),
    ("[1, 2]", "シェーマのデータが読めません"),
    ("[" * 100_000, "JSONではありません"),
    # The editor's flat form: integers, x and y in tenths of a pixel, pressure in hundredths, three to a point.
    (_drawing({**PEN, "p": [1000, 4000, 50.5]}), "整数"),
    (_drawing({**PEN, "p": [1000, True, 50]}), "整数"),
    (_drawing({**PEN, "p": [1000, 4000]}), "x・y・筆圧"),
    (_drawing({**PEN, "p": [6001, 4000, 50]}), "範囲外"),
    (_drawing({**PEN, "p": [1000, 4000, 101]}), "範囲外"),
    (_drawing({**PEN, "p": [1000, -1, 50]}), "範囲外"),
    (_drawing({**PEN, "p": [1, 1, 50] * (MAX_POINTS_PER_STROKE + 1)}), "1〜2000"),
])
def test_malformed_strokes_are_refused_and_nothing_is_written(client, session, strokes, message):
    world = make_chart_world(session)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    assert message in _message(_post(client, world.patient.id, strokes, status=422))
    assert session.scalar(select(func.count()).select_from(SchemaDrawing)) == 0


def test_oversized_stroke_data_is_refused(client, session):
    world = make_chart_world(session)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    assert "データが大きすぎます" in _message(_post(client, world.patient.id, " " * 3_000_001, status=422))


def test_two_thousand_strokes_save_and_render_within_300_ms(session):
    world = make_chart_world(session)
    strokes = many_strokes(2000, 20)
    timings = []
    # CPU time of this process (the checks, the render, SQLite's writes): on a machine shared with other jobs the
    # wall clock measures them too. bench/run times the same save through HTTP.
    for _ in range(5):
        started = time.process_time()
        item = save_schema(session, world.clinic, _actor(world), world.patient,
                           SchemaInput("body_front", "全身", japan_today(), strokes), today=japan_today())
        session.commit()
        timings.append(time.process_time() - started)
    assert item.item_count == 2000 and item.png.startswith(b"\x89PNG")
    assert min(timings) <= 0.3, timings


def _actor(world):
    return Actor(user_id=world.doctor.id, clinic_id=world.clinic.id, login_id=world.doctor.login_id, role="doctor")
