"""The patient's letter list over real HTTP: ten years of referral letters (fifty) are paged, newest first, with
their count and page links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from app.documents.models import ReferralLetter
from tests.sharing.records import arrange


def test_a_long_letter_list_is_paged_with_its_count(client, session):
    desk = arrange(session)
    first = date(2017, 1, 10)
    for n in range(50):
        day = first + timedelta(days=70 * n)
        session.add(ReferralLetter(clinic_id=desk["clinic"].id, patient_id=desk["patient"].id,
                                   author_id=desk["doctor"].id, author_name="医師 一郎",
                                   to_institution=f"紹介先{n:02d}", purpose="精査のお願い", written_on=day,
                                   created_at=datetime(day.year, day.month, day.day, 1, tzinfo=UTC)))
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/letters"
    html = client.get(page).get_data(as_text=True)
    shown = re.findall(r"<td>紹介先(\d\d)", html)
    assert shown == [f"{n:02d}" for n in range(49, 24, -1)]  # the newest 25
    assert "50通中 1〜25通目" in html and "1 / 2ページ" in html and f'href="{page}?page=2#letters"' in html
    older = re.findall(r"<td>紹介先(\d\d)", client.get(f"{page}?page=2").get_data(as_text=True))
    assert older == [f"{n:02d}" for n in range(24, -1, -1)]
