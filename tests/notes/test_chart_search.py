"""Full-text search of notes through HTTP on both databases: kanji, kana (either script), mixed-width and short
queries; every word must match; matches highlighted and the rest escaped; any query length or script answered
with results or a clear message; the clinic-wide search is for doctors, logs a look per patient shown, and never
shows another clinic's notes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.core.models import AccessLogEntry
from app.core.timeutil import japan_today
from app.notes.search_text import fold, highlight, parse_query
from tests.factories import make_patient
from tests.notes.chart_world import add_note, make_chart_world

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


def _marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


@pytest.fixture
def world(session):
    world = make_chart_world(session)
    today = japan_today()
    add_note(session, world.clinic, world.patient, today, author=world.doctor,
             subjective="3日前から咳嗽と37.8℃の発熱。ｾｷが止まらない",
             objective="ＳｐＯ２ 97% <script>alert(1)</script>",
             assessment="急性気管支炎")
    add_note(session, world.clinic, world.patient, today - timedelta(days=7), author=world.doctor,
             subjective="頭痛あり", objective="血圧 152/94", assessment="高血圧症", plan="アムロジピン継続")
    client_patient = make_patient(session, world.clinic, name="佐藤 花子", kana="サトウ ハナコ")
    add_note(session, world.clinic, client_patient, today, author=world.doctor, subjective="咳嗽が続く",
             assessment="咳喘息の疑い")
    world.second = client_patient
    return world


def _search(client, world, q):
    response = client.get(f"/patients/{world.patient.id}/chart", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_kanji_kana_and_width_find_the_note(client, world):
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = _search(client, world, "咳嗽")
    assert "急性気管支炎" in html and "高血圧症" not in html and "咳喘息" not in html  # this patient only
    assert _marks(html) == ["咳嗽"]
    # Katakana typed in hiragana finds the half-width katakana written; full-width letters fold to ASCII.
    assert _marks(_search(client, world, "せき")) == ["ｾｷ"]
    assert _marks(_search(client, world, "spo2")) == ["ＳｐＯ２"]
    assert _marks(_search(client, world, "ｱﾑﾛｼﾞﾋﾟﾝ")) == ["アムロジピン"]
    # Every word must occur (in any part of the note).
    both = _search(client, world, "頭痛　高血圧")
    assert "アムロジピン継続" in both and "急性気管支炎" not in both
    assert "該当する記録はありません" in _search(client, world, "頭痛 咳嗽")
    # One character (shorter than a trigram) is found too.
    assert "急性気管支炎" in _search(client, world, "咳")


def test_text_is_escaped_around_the_marks(client, world):
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = _search(client, world, "script")
    assert "<script>alert" not in html
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in html


@pytest.mark.parametrize(("query", "message"), [
    ("咳" * 201, "検索語は200文字以内で入力してください（いま201文字です）"),
    ("・ ・", "検索できる文字がありません"),
    ("a b c d e f g h i", "検索語は8語までにしてください"),
])
def test_queries_that_cannot_be_answered_are_told(client, world, query, message):
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    assert message in _search(client, world, query)


@pytest.mark.parametrize("query", ["_", "\\", '"', "' OR 1=1 --", "🩺", "𠮷野", "NEAR(a b)", "a*", "ᄀ", "100%"])
def test_any_script_or_symbol_is_answered(client, world, query):
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = _search(client, world, query)
    assert "急性気管支炎" not in html  # nothing matches these, and none of them is read as a pattern


def test_clinic_search_is_for_doctors_and_logs_each_patient(client, session, world):
    client.login(world.nurse.login_id, world.nurse.totp_secret)
    assert client.get("/chart/search?q=咳嗽").status_code == 403
    client.logout()
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = client.get("/chart/search", query_string={"q": "咳嗽"}).get_data(as_text=True)
    assert "急性気管支炎" in html and "咳喘息の疑い" in html and "佐藤 花子" in html
    looked = set(session.scalars(select(AccessLogEntry.patient_id).where(
        AccessLogEntry.resource == "clinic.chart.search")))
    assert looked == {world.patient.id, world.second.id}
    # Words of three characters or more go through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL).
    wide = client.get("/chart/search", query_string={"q": "spo2 97%"}).get_data(as_text=True)
    assert "<mark>ＳｐＯ２</mark> <mark>97%</mark>" in wide and "咳喘息" not in wide
    assert "<mark>咳喘息</mark>の疑い" in client.get("/chart/search?q=咳喘息").get_data(as_text=True)
    other = make_chart_world(session)
    add_note(session, other.clinic, other.patient, japan_today(), subjective="咳嗽（他院）")
    assert "咳嗽（他院）" not in client.get("/chart/search?q=咳嗽").get_data(as_text=True)


@pytest.mark.parametrize("rare_enough", [500, 1])
def test_clinic_search_of_one_or_two_characters_goes_through_their_index(client, session, world, monkeypatch,
                                                                         rare_enough):
    # 500: every word here is rare, found through the index; 1: every word counts as common, read in order.
    monkeypatch.setattr("app.notes.search.RARE_ENOUGH", rare_enough)
    add_note(session, world.clinic, world.second, japan_today() - timedelta(days=2), subjective="嗽咳 ｲﾎﾞ",
             objective="ＢＰ 130/80")
    client.login(world.doctor.login_id, world.doctor.totp_secret)

    def clinic(q):
        return client.get("/chart/search", query_string={"q": q}).get_data(as_text=True)

    one = clinic("咳")
    assert "急性気管支炎" in one and "<mark>咳</mark>喘息" in one and "嗽<mark>咳</mark>" in one
    pair = clinic("咳嗽")
    assert "急性気管支炎" in pair and "嗽咳" not in pair  # the pair in its order only
    assert "<mark>ｲﾎﾞ</mark>" in clinic("いぼ")  # hiragana for half-width katakana
    assert "<mark>ＢＰ</mark>" in clinic("bp")  # full-width letters, typed as ASCII
    assert "<mark>%</mark>" in clinic("%") and "該当する記録はありません" in clinic("疣")
    other = make_chart_world(session)
    add_note(session, other.clinic, other.patient, japan_today(), subjective="疣贅（他院）")
    assert "該当する記録はありません" in clinic("疣")
    # The index itself answers: SQLite's table of single-character tokens, PostgreSQL's GIN index of the grams.
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(text("SELECT rowid FROM note_search_chars WHERE note_search_chars MATCH '\"嗽 咳\"'"))
        assert len(found.all()) == 1
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(session.scalars(text(
            "EXPLAIN SELECT note_id FROM note_search_entry WHERE note_search_grams(body) @> ARRAY['咳']")))
        assert "ix_note_search_entry_body_grams" in plan
        assert session.scalar(text("SELECT note_search_grams('咳嗽 と' || chr(10) || 'x')")) == [
            "咳", "嗽", "と", "x", "咳嗽"]
        session.rollback()


def test_folding_keeps_positions_for_highlighting():
    assert fold("ｶﾞｽﾄﾛ　ＡＢＣ") == "ガストロ ABC"
    query = parse_query("がすとろ abc")
    assert str(highlight("胃ｶﾞｽﾄﾛ & ＡＢＣ", query.words)) == "胃<mark>ｶﾞｽﾄﾛ</mark> &amp; <mark>ＡＢＣ</mark>"
