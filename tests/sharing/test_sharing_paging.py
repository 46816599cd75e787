"""The 6情報 page's long sections over real HTTP: a year of lab results is paged 20 rows at a time with its count
(「45件」, 「1〜20件目を表示」) and page links that open that section at the asked page; the other sections stay
on their first page, and a short section is not paged."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.core.timeutil import japan_today
from app.labs.models import LabResult
from tests.factories import make_lab_source
from tests.sharing.records import arrange


def _lab_results(session, desk, count):
    source = make_lab_source(session, desk["clinic"], desk["patient"])
    session.add_all(LabResult(**source, lab_code=f"{n:010d}", jlac10="3B035000002327201", name=f"検査{n:02d}",
                              value=str(n), numeric_value=float(n), unit="U/L",
                              collected_on=japan_today() - timedelta(days=n), version=1, recorded_at=datetime.now(UTC))
                    for n in range(1, count + 1))
    session.commit()


def _rows(html, kind):
    section = html.split(f'id="kind-{kind}"', 1)[1].split("</details>", 1)[0]
    return re.findall(r"<strong>(検査\d\d)</strong>", section), section


def test_a_long_lab_section_is_paged_with_its_count(client, session):
    desk = arrange(session)
    _lab_results(session, desk, 45)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/sharing"
    html = client.get(page).get_data(as_text=True)
    rows, section = _rows(html, "lab_result")
    assert rows == [f"検査{n:02d}" for n in range(1, 21)]  # newest first, 20 on a page
    assert "45件（他院 0・当院 45）" in section and "1〜20件目を表示" in section and "1 / 3ページ" in section
    assert f'href="{page}?section=lab_result&amp;page=2#kind-lab_result"' in section
    assert 'href="#kind-lab_result">検査 <span class="count">45件</span>' in html
    # The next pages, opened at the section; the last is short; a page past the end shows the last.
    html = client.get(f"{page}?section=lab_result&page=2").get_data(as_text=True)
    rows, section = _rows(html, "lab_result")
    assert rows == [f"検査{n:02d}" for n in range(21, 41)] and "21〜40件目を表示" in section
    assert re.search(r'<details class="fold" id="kind-lab_result" open', html)
    rows, section = _rows(client.get(f"{page}?section=lab_result&page=99").get_data(as_text=True), "lab_result")
    assert rows == [f"検査{n:02d}" for n in range(41, 46)] and "41〜45件目を表示" in section
    # A short section (one diagnosis) is neither paged nor folded.
    _, diagnoses = _rows(html, "condition")
    assert "高血圧症" in diagnoses and "ページ" not in diagnoses
