"""Patient search as clerks type: kana in any form, 異体字, numbers, birth dates, sex; never a 500."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import make_clinic, make_patient, make_user


@pytest.fixture
def desk(session):
    clinic = make_clinic(session)
    clerk = make_user(session, clinic, role="clerk")
    patients = {
        "yamada": make_patient(session, clinic, orca_patient_id="00001", name="山田　太郎", kana="ヤマダ　タロウ",
                               birth_date=date(1958, 3, 2), sex="M"),
        "takahashi": make_patient(session, clinic, orca_patient_id="00002", name="髙橋　美咲", kana="タカハシ　ミサキ",
                                  birth_date=date(1990, 11, 20), sex="F"),
        "watanabe": make_patient(session, clinic, orca_patient_id="00004", name="渡邉　さくら", kana="ワタナベ　サクラ",
                                 birth_date=date(2019, 5, 1), sex="F"),
        "saito": make_patient(session, clinic, orca_patient_id="00005", name="齋藤　健", kana="サイトウ　ケン",
                              birth_date=date(1989, 1, 7), sex="M"),
        "yamasaki": make_patient(session, clinic, orca_patient_id="00010", name="山﨑　一", kana="ヤマサキ　ハジメ",
                                 birth_date=date(2001, 4, 5), sex="M"),
    }
    session.commit()
    return clerk, patients


def _hits(client, q: str) -> str:
    return client.get("/patients", query_string={"q": q}).get_data(as_text=True)


@pytest.mark.parametrize("q,who", [
    ("ヤマダ", "yamada"), ("やまだ", "yamada"), ("ﾔﾏﾀﾞ", "yamada"), ("ヤマダタロウ", "yamada"),
    ("やまだ　たろう", "yamada"),
    ("山田 太郎", "yamada"), ("山田太郎", "yamada"),
    ("高橋", "takahashi"), ("たかはし", "takahashi"), ("渡辺", "watanabe"), ("渡邊", "watanabe"), ("斎藤", "saito"),
    ("山崎", "yamasaki"), ("00002", "takahashi"), ("2", "takahashi"), ("1958-03-02", "yamada"),
    ("19580302", "yamada"), ("S33.3.2", "yamada"), ("昭和33年3月2日", "yamada"), ("H13.4.5", "yamasaki"),
    ("平成13年4月5日", "yamasaki"), ("2001/4/5", "yamasaki"), ("ヤマ 男 2001-04-05", "yamasaki"),
])
def test_finds_the_patient(client, desk, q, who):
    clerk, patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    html = _hits(client, q)
    assert f'href="/patients/{patients[who].id}"' in html, q


def test_sex_narrows_the_results(client, desk):
    clerk, patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    html = _hits(client, "ヤマ 女")
    assert f"/patients/{patients['yamada'].id}" not in html and "該当する患者はいません" in html


@pytest.mark.parametrize("q", ["'; DROP TABLE patient; --", "%", "_", "\\", "あ" * 500, "🙂", "\x00", "<script>"])
def test_any_string_gives_a_result_or_a_message(client, desk, q):
    clerk, _patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    response = client.get("/patients", query_string={"q": q})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split('id="patient-results"')[1]


def test_overlong_search_gets_a_message(client, desk):
    clerk, _patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    assert "検索語が長すぎます" in _hits(client, "あ" * 500)


def test_partial_results_for_live_search(client, desk):
    clerk, patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    html = client.get("/patients", query_string={"q": "たか", "partial": "1"}).get_data(as_text=True)
    assert "<html" not in html and f"/patients/{patients['takahashi'].id}" in html


def test_patient_header_shows_wareki_and_age(client, desk):
    clerk, patients = desk
    client.login(clerk.login_id, clerk.totp_secret)
    html = client.get(f"/patients/{patients['watanabe'].id}").get_data(as_text=True)
    assert "令和元年5月1日" in html and "2019-05-01" in html and "ワタナベ　サクラ" in html
