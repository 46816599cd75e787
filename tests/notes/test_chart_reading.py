"""Reading the chart through HTTP: the timeline newest first, paged by keyset through years with the same number
of queries on every page, filters by date and author, older-first order; a paper-chart clinic answers 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.timeutil import japan_today
from app.db import utcnow
from tests.factories import make_user
from tests.helpers import counted_statements
from tests.notes.chart_world import add_history, add_note, lab_result, make_chart_world
from tests.notes.test_chart_print import _records


def _shown(html: str) -> list[str]:
    return re.findall(r"記録(\d{4})", html)


def _next_link(html: str) -> str | None:
    match = re.search(r'<a class="button" rel="next" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_timeline_pages_through_years_with_the_same_queries(app, client, session):
    world = make_chart_world(session)
    add_history(session, world.clinic, world.patient, 130, author=world.doctor)  # about a year of notes
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    engine = app.extensions["db_engine"]
    url = f"/patients/{world.patient.id}/chart"
    seen, counts = [], []
    while url:
        with counted_statements(engine) as statements:
            response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen += _shown(html)
        counts.append(len(statements))
        url = _next_link(html)
    assert seen == [f"{i:04d}" for i in range(130)]  # newest first, none twice, none missed
    assert len(counts) == 7 and max(counts) == min(counts[:-1]) and max(counts) <= 14, counts


def test_filters_by_dates_author_and_order(client, session):
    world = make_chart_world(session)
    today = japan_today()
    add_note(session, world.clinic, world.patient, today, author=world.doctor, subjective="記録0001 医師の記録")
    add_note(session, world.clinic, world.patient, today - timedelta(days=10), author=world.nurse,
             subjective="記録0002 看護の記録")
    add_note(session, world.clinic, world.patient, today - timedelta(days=40), author=world.doctor,
             subjective="記録0003 先月の記録")
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    base = f"/patients/{world.patient.id}/chart"
    assert _shown(client.get(f"{base}?author={world.nurse.id}").get_data(as_text=True)) == ["0002"]
    since = (today - timedelta(days=20)).isoformat()
    assert _shown(client.get(f"{base}?from={since}").get_data(as_text=True)) == ["0001", "0002"]
    assert _shown(client.get(f"{base}?order=asc").get_data(as_text=True)) == ["0003", "0002", "0001"]
    # A date that cannot be read, or a reversed range, is said in Japanese; the chart still opens.
    bad = client.get(f"{base}?from=2026-13-40")
    assert bad.status_code == 200 and "開始日は 2026-12-07 の形で" in bad.get_data(as_text=True)
    reversed_range = client.get(f"{base}?from={today.isoformat()}&to={since}").get_data(as_text=True)
    assert "開始日は終了日より前の日付" in reversed_range
    assert "ページの指定が読めません" in client.get(f"{base}?after=garbage").get_data(as_text=True)


def test_filters_by_department_insurance_and_kind_of_the_visit(client, session):
    world = make_chart_world(session)
    today = japan_today()
    add_note(session, world.clinic, world.patient, today, author=world.doctor, subjective="記録0001 内科",
             department="内科", insurance="協会けんぽ 本人 3割")
    add_note(session, world.clinic, world.patient, today, author=world.doctor, subjective="記録0002 小児科",
             department="小児科", insurance="国保 3割")
    add_note(session, world.clinic, world.patient, today - timedelta(days=3), author=world.doctor,
             subjective="記録0003 電話", kind="phone", insurance="国保 3割")
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    base = f"/patients/{world.patient.id}/chart"
    page = client.get(base).get_data(as_text=True)
    assert '<option value="小児科" >小児科</option>' in page and ">電話再診</option>" in page  # what the notes carry
    assert _shown(client.get(f"{base}?department=小児科").get_data(as_text=True)) == ["0002"]
    assert _shown(client.get(f"{base}?insurance=国保 3割").get_data(as_text=True)) == ["0002", "0003"]
    assert _shown(client.get(f"{base}?kind=phone").get_data(as_text=True)) == ["0003"]
    assert "記録の種類は一覧から選んでください" in client.get(f"{base}?kind=nonsense").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/patients/{id}/chart", "/patients/{id}/chart?q=咳", "/chart/search?q=咳",
                                  "/patients/{id}/schemas", "/patients/{id}/schemas/new",
                                  "/patients/{id}/chart/print"])
def test_paper_chart_clinic_sees_none_of_it(client, session, path):
    world = make_chart_world(session, full_chart=False)
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    assert client.get(path.format(id=world.patient.id)).status_code == 404


def test_clerk_is_refused_and_other_clinic_gets_404(client, session):
    world = make_chart_world(session)
    other = make_chart_world(session)
    add_note(session, world.clinic, world.patient, japan_today(), subjective="秘密の記録")
    clerk = make_user(session, world.clinic, role="clerk")
    session.commit()
    client.login(clerk.login_id, clerk.totp_secret)
    assert client.get(f"/patients/{world.patient.id}/chart").status_code == 403
    client.logout()
    client.login(other.doctor.login_id, other.doctor.totp_secret)
    assert client.get(f"/patients/{world.patient.id}/chart").status_code == 404
    assert "秘密の記録" not in client.get("/chart/search?q=秘密").get_data(as_text=True)


def test_a_note_shows_its_days_prescriptions_and_orders_and_its_encounter(client, session):
    world = make_chart_world(session)
    today = japan_today()
    _records(session, world, today)  # a prescription and a lab order 20 days ago, with that day's note
    add_note(session, world.clinic, world.patient, today - timedelta(days=3), subjective="経過良好",
             department="内科", insurance="協会けんぽ 本人 3割")
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = client.get(f"/patients/{world.patient.id}/chart").get_data(as_text=True)
    older = html[html.index("咳と痰が1週間"):]
    assert "カルボシステイン錠500mg 3錠" in older and "<b>検査</b> CRP" in older
    newer = html[html.index("経過良好") - 2000:html.index("咳と痰が1週間")]
    assert "カルボシステイン" not in newer and "内科／協会けんぽ 本人 3割" in newer


def test_a_note_shows_its_days_lab_results_with_units_and_flags(client, session):
    world = make_chart_world(session)
    today = japan_today()
    add_note(session, world.clinic, world.patient, today - timedelta(days=7), subjective="記録0001 倦怠感")
    add_note(session, world.clinic, world.patient, today - timedelta(days=14), subjective="記録0002 初診")
    old_potassium = lab_result(world, today - timedelta(days=7), "K0132", "カリウム(K)", "5.9", "mmol/L", "H")
    session.add_all([old_potassium, lab_result(world, today - timedelta(days=7), "K0161", "Ｃ反応性蛋白(CRP)", "0.05",
                                            "mg/dL"),
                     lab_result(world, today - timedelta(days=7), "K0152", "HbA1c(NGSP)", "", "%", status="X"),
                     lab_result(world, today - timedelta(days=30), "K0102", "アルブミン", "3.1", "g/dL", "L")])
    session.flush()
    # A corrected result: only the current version is shown beside the note.
    old_potassium.lineage_id = old_potassium.id
    old_potassium.superseded_at = utcnow()
    corrected = lab_result(world, today - timedelta(days=7), "K0132", "カリウム(K)", "4.2", "mmol/L")
    corrected.lineage_id, corrected.version = old_potassium.id, 2
    session.add(corrected)
    session.commit()
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    html = client.get(f"/patients/{world.patient.id}/chart").get_data(as_text=True)
    week = html[html.index("記録0001"):html.index("記録0002")]
    assert "<b>検査結果</b>" in week and "カリウム(K) 4.2 mmol/L" in week and "5.9" not in week
    assert "Ｃ反応性蛋白(CRP) 0.05 mg/dL" in week and "HbA1c(NGSP) 検査不能 %" in week
    assert f'href="/patients/{world.patient.id}/labs"' in week
    # Another day's results are not shown under this note, nor those of a day without a note on the page.
    assert "<b>検査結果</b>" not in html[html.index("記録0002"):] and "アルブミン" not in html
    add_note(session, world.clinic, world.patient, today - timedelta(days=30), subjective="記録0003 採血")
    html = client.get(f"/patients/{world.patient.id}/chart").get_data(as_text=True)
    assert 'アルブミン 3.1 g/dL <span class="flag flag-L">L</span>' in html[html.index("記録0003"):]


def test_lab_results_beside_notes_keep_the_page_queries_bounded(app, client, session):
    world = make_chart_world(session)
    notes = add_history(session, world.clinic, world.patient, 45, author=world.doctor)
    session.add_all(lab_result(world, note.note_date, "K0161", "Ｃ反応性蛋白(CRP)", f"{i / 10:.1f}", "mg/dL",
                            "H" if i % 2 else "") for i, note in enumerate(notes))
    session.commit()
    client.login(world.doctor.login_id, world.doctor.totp_secret)
    engine = app.extensions["db_engine"]
    url, counts, shown = f"/patients/{world.patient.id}/chart", [], 0
    while url:
        with counted_statements(engine) as statements:
            html = client.get(url).get_data(as_text=True)
        counts.append(len(statements))
        shown += html.count("Ｃ反応性蛋白(CRP) ")
        url = _next_link(html)
    assert shown == 45 and len(counts) == 3 and counts[0] == counts[1] == counts[2], counts
