"""退院時サマリー received from the 電子カルテ情報共有サービス: listed beside received letters, read whole (dates,
diagnoses, course, discharge prescriptions, follow-up, attachments), and a bundle that does not validate shown as
unreadable with its reasons, nothing of it shown as the summary."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from app.core.timeutil import japan_today
from simulators.sharing_service.discharge import discharge_summary
from tests.sharing.records import MEMBER, arrange, connect


@pytest.fixture
def desk(session, sharing):
    found = arrange(session, integrations=connect(sharing=sharing), records=False)
    sharing.seed_patient(MEMBER, consent_until=(japan_today() + timedelta(days=30)).isoformat())
    return found


def _open(client, desk, document_id: str):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    return client.get(f"/patients/{desk['patient'].id}/letters/received/{document_id}")


def test_a_discharge_summary_is_listed_and_read_whole(client, desk, sharing):
    document_id = sharing.seed_discharge_summary(MEMBER, "山田 太郎", "ヤマダ タロウ")
    client.login(desk["nurse"].login_id, desk["nurse"].totp_secret)
    index = client.get(f"/patients/{desk['patient'].id}/letters").get_data(as_text=True)
    assert "退院時サマリー" in index and "みなと総合病院" in index
    page = client.get(f"/patients/{desk['patient'].id}/letters/received/{document_id}").get_data(as_text=True)
    discharged = date.today() - timedelta(days=7)  # the simulator's calendar is the machine's
    admitted = discharged - timedelta(days=20)
    assert f"{admitted:%Y/%m/%d} 入院 〜 {discharged:%Y/%m/%d} 退院（21日間）" in page
    assert "鉄欠乏性貧血" in page and "胃潰瘍" in page and "体動時の息切れ、疲労感" in page
    assert "ヘリコバクター・ピロリ抗体陽性のため除菌" in page
    assert "タケキャブ錠２０ｍｇ" in page and "1回1錠 1日1回 朝食後" in page and "28日" in page
    assert "2週間後に血液検査" in page
    link = f"/patients/{desk['patient'].id}/letters/received/{document_id}/attachments/1"
    assert "退院時検査結果一覧.txt" in page and link in page
    attachment = client.get(link)
    assert attachment.status_code == 200 and attachment.mimetype == "text/plain"
    assert "フェリチン 28 ng/mL" in attachment.get_data(as_text=True)
    assert attachment.headers["Content-Security-Policy"] == "sandbox"
    assert client.get(link.replace("/1", "/2")).status_code == 404


def _broken(change) -> dict:
    bundle = discharge_summary(MEMBER, "山田 太郎", "ヤマダ タロウ", japan_today(), "broken")
    change(bundle)
    return bundle


def _entry(bundle, kind):
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda b: _entry(b, "Encounter")["period"].pop("end"), "入院日と退院日（Encounter.period）がそろっていません"),
    (lambda b: _entry(b, "Encounter")["period"].update(start="2999-01-01"), "退院日が入院日より前になっています"),
    (lambda b: b["entry"].remove(next(e for e in b["entry"] if e["fullUrl"] == "urn:uuid:dx-ulcer")),
     "退院時診断の参照先（Condition）が文書の中にありません"),
    (lambda b: _entry(b, "DocumentReference")["content"][0]["attachment"].update(data="@@not base64@@"),
     "添付1のデータが base64 として読めません"),
    (lambda b: _entry(b, "Patient")["identifier"][0].update(value="06139999:1:2:00"),
     "文書の患者がこの患者ではありません"),
])
def test_a_summary_that_does_not_validate_is_shown_unreadable_with_the_reason(client, desk, sharing, change, reason):
    bundle = _broken(change)
    document_id = sharing.seed_discharge_summary(MEMBER, bundle=bundle)
    response = _open(client, desk, document_id)
    page = response.get_data(as_text=True)
    if reason == "文書の患者がこの患者ではありません":  # another patient's document is not shown at all
        assert response.status_code == 404
        return
    assert "読み取れません" in page and reason in page
    assert "入院中経過" not in page and "タケキャブ" not in page  # nothing of it shown as if it were read


def test_without_consent_no_summary_is_listed(client, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing), records=False)
    sharing.seed_patient(MEMBER)  # no consent
    document_id = sharing.seed_discharge_summary(MEMBER, "山田 太郎", "ヤマダ タロウ")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    index = client.get(f"/patients/{desk['patient'].id}/letters").get_data(as_text=True)
    assert "退院時サマリー" not in index
    assert client.get(f"/patients/{desk['patient'].id}/letters/received/{document_id}").status_code == 404


def test_the_simulators_summary_follows_the_published_definitions():
    samples = Path(__file__).resolve().parents[1] / "samples" / "jami-eDischargeSummary"
    composition = (samples / "jpComposition_eDisSummaryDef.fshdef").read_text(encoding="utf-8")
    bundle = (samples / "jpBundle_eDisSummaryDef.fshdef").read_text(encoding="utf-8")
    built = discharge_summary(MEMBER, "山田 太郎", "ヤマダ タロウ", japan_today(), "x")
    assert built["meta"]["profile"][0] in bundle
    first = built["entry"][0]["resource"]
    assert first["meta"]["profile"][0] in composition and "#18842-5" in composition
    used = set()
    stack = list(first["section"])
    while stack:
        section = stack.pop()
        used.add(section["code"]["coding"][0]["code"])
        stack += section.get("section", [])
    assert used == {"300", "322", "342", "352", "333", "324", "344", "444", "424", "210"}
    assert all(f"$referral-section#{code} " in composition for code in used)
