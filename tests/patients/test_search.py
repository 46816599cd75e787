"""Patient search as clerks type: kana in any form, 異体字, numbers, birth dates, sex; never a 500."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py


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


# --- what clerks type: an era year alone, and surnames written with other characters ------------------------

@pytest.fixture
def births(session):
    """Patients born around the era changes, and the サイトウ / ワタナベ / タカハシ … spellings."""
    clinic = make_clinic(session)
    clerk = make_user(session, clinic, role="clerk")
    people = {
        "s58": (date(1983, 6, 1), "田中　一郎", "タナカ　イチロウ"),
        "s58_last": (date(1983, 12, 31), "田中　二郎", "タナカ　ジロウ"),
        "s57": (date(1982, 12, 31), "田中　三郎", "タナカ　サブロウ"),
        "s64": (date(1989, 1, 7), "昭和　最後", "ショウワ　サイゴ"),
        "h1": (date(1989, 1, 8), "平成　最初", "ヘイセイ　サイショ"),
        "r5": (date(2023, 4, 1), "令和　五年", "レイワ　ゴネン"),
        "sai_1": (date(1970, 1, 1), "斉藤　一", "サイトウ　ハジメ"),
        "sai_2": (date(1970, 1, 2), "齋藤　二", "サイトウ　ツギ"),
        "sai_3": (date(1970, 1, 3), "斎藤　三", "サイトウ　ミツ"),
        "sai_4": (date(1970, 1, 4), "齊藤　四", "サイトウ　シロウ"),
        "watanabe": (date(1970, 2, 1), "渡邉󠄂　花", "ワタナベ　ハナ"),  # 邉 with an IVS selector, as the 戸籍 has it
        "tsuka": (date(1970, 3, 1), "大\ufa10　守", "オオツカ　マモル"),  # 塚: the compatibility ideograph U+FA10
        "yamazaki": (date(1970, 4, 1), "山嵜　光", "ヤマザキ　ヒカル"),
        "kuroshima": (date(1970, 5, 1), "黒嶋　涼", "クロシマ　リョウ"),
        "nakazawa": (date(1970, 6, 1), "中澤　蓮", "ナカザワ　レン"),
    }
    made = {key: make_patient(session, clinic, birth_date=born, name=name, kana=kana)
            for key, (born, name, kana) in people.items()}
    session.commit()
    return clerk, made


def _found(client, patients, q: str) -> set[str]:
    html = _hits(client, q)
    return {key for key, p in patients.items() if f'href="/patients/{p.id}"' in html}


@pytest.mark.parametrize(("q", "expected"), [
    ("S58", {"s58", "s58_last"}), ("s58", {"s58", "s58_last"}), ("昭和58", {"s58", "s58_last"}),
    ("昭和58年", {"s58", "s58_last"}), ("Ｓ５８", {"s58", "s58_last"}), ("S64", {"s64"}), ("H1", {"h1"}),
    ("平成元", {"h1"}), ("平成元年", {"h1"}), ("R5", {"r5"}), ("令和5", {"r5"}),
    ("タナカ S58", {"s58", "s58_last"}), ("たなか s57", {"s57"}), ("たなか じ S58", {"s58_last"}),
])
def test_an_era_year_alone_narrows_by_the_year_of_birth(client, births, q, expected):
    clerk, patients = births
    client.login(clerk.login_id, clerk.totp_secret)
    assert _found(client, patients, q) == expected, q


@pytest.mark.parametrize("q", ["H32", "平成0", "S99", "令和0"])
def test_an_era_year_the_era_does_not_have_gets_a_message(client, births, q):
    clerk, _patients = births
    client.login(clerk.login_id, clerk.totp_secret)
    response = client.get("/patients", query_string={"q": q})
    assert response.status_code == 200 and "という年はありません" in response.get_data(as_text=True)


SAITO = {"sai_1", "sai_2", "sai_3", "sai_4"}


@pytest.mark.parametrize(("q", "expected"), [
    ("斉藤", SAITO), ("斎藤", SAITO), ("齋藤", SAITO), ("齊藤", SAITO), ("さいとう", SAITO), ("斉藤 一", {"sai_1"}),
    ("齋藤　四", {"sai_4"}), ("渡辺", {"watanabe"}), ("渡邊", {"watanabe"}), ("渡邉", {"watanabe"}),
    ("大塚", {"tsuka"}), ("山崎", {"yamazaki"}), ("山﨑", {"yamazaki"}), ("黒島", {"kuroshima"}),
    ("黒嶌", {"kuroshima"}), ("中沢", {"nakazawa"}),
])
def test_surnames_are_found_whatever_character_the_clerk_types(client, births, q, expected):
    clerk, patients = births
    client.login(clerk.login_id, clerk.totp_secret)
    assert _found(client, patients, q) == expected, q


def test_the_stored_name_keeps_its_own_characters(client, births):
    clerk, patients = births
    client.login(clerk.login_id, clerk.totp_secret)
    html = _hits(client, "斉藤")
    assert "齋藤" in html and "齊藤" in html and "斎藤" in html
