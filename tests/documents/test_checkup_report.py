"""健康診断結果報告書 received from the 電子カルテ情報共有サービス shown whole: every item — numbers, coded answers
(尿蛋白 ＋, メタボリックシンドローム判定), text (医師の診断), 問診 — grouped as the report groups them, numbers with
their trend over the earlier reports; a report that does not validate is shown unreadable with the reasons."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.core.timeutil import japan_today
from app.documents.checkup import read_checkup_report
from app.documents.discharge import UnreadableDocument
from tests.sharing.records import MEMBER, arrange, connect

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "onshi" / "Bundle-Bundle-eCheckupReport-Sample-01.json"


@pytest.fixture
def desk(session, sharing):
    found = arrange(session, integrations=connect(sharing=sharing), records=False)
    sharing.seed_patient(MEMBER, consent_until=(japan_today() + timedelta(days=30)).isoformat())
    return found


def _sample_for(member: str) -> dict:
    bundle = json.loads(SAMPLE.read_text(encoding="utf-8"))
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["identifier"] = [{"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID",
                              "value": member}]
    return bundle


def test_the_jami_sample_is_read_whole_grouped_as_its_sections():
    report = read_checkup_report(_sample_for(MEMBER), MEMBER)
    assert [title for title, _items in report.groups] == ["健診セクション", "問診結果セクション"]
    items = {item.name: item for _title, group in report.groups for item in group}
    assert len(items) == 44  # every Observation of the sample, none dropped
    assert items["身長"].value == "162.3" and items["身長"].unit == "cm" and items["身長"].number == 162.3
    assert items["尿蛋白"].value == "－" and items["メタボリックシンドローム判定"].value == "非該当"
    assert items["医師の診断（判定）"].value == "肝機能がわずかに異常ですが支障はないと思われます。"
    assert items["飲酒"].value == "週1～2日"
    assert report.kind == "特定健診"
    # The sample's interpretations: N on eight values, H on the HbA1c (the letter kept beside the words).
    assert items["ＨｂＡ１ｃ（ＮＧＳＰ）"].judgement == "H 高値" and items["ＡＳＴ（ＧＯＴ）"].judgement == "基準範囲内"
    assert sum(1 for item in items.values() if item.judgement) == 9


def test_a_report_is_listed_and_shown_with_trends(client, desk, sharing):
    ids = sharing.seed_checkup_reports(MEMBER, "山田 太郎", years=5)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    index = client.get(f"/patients/{desk['patient'].id}/letters").get_data(as_text=True)
    assert index.count("健診結果</span>") == 5
    page = client.get(f"/patients/{desk['patient'].id}/letters/received/{ids[-1]}").get_data(as_text=True)
    assert "健診セクション" in page and "問診結果セクション" in page
    assert "尿蛋白" in page and "＋" in page and "基準該当" in page and "積極的支援" in page
    assert "血糖・脂質・尿蛋白が要医療です" in page and "週1～2日" in page
    assert page.count('class="spark"') >= 10  # the numbers, each with its line
    assert "ＨｂＡ１ｃ（ＮＧＳＰ）の推移" in page and "6.8" in page


def test_a_report_that_does_not_validate_is_shown_unreadable(client, desk, sharing):
    bundle = _sample_for(MEMBER)
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    del observation["valueQuantity"]
    document_id = sharing.seed_discharge_summary(MEMBER, bundle=bundle)  # the harness stores any bundle as given
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = client.get(f"/patients/{desk['patient'].id}/letters/received/{document_id}").get_data(as_text=True)
    assert "読み取れません" in page and "健診セクション（身長）: 結果の値がありません" in page
    assert "問診結果セクション</h3>" not in page


def test_a_dangling_reference_is_a_reason():
    bundle = _sample_for(MEMBER)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code")
                       != "1A010000000191111"]
    with pytest.raises(UnreadableDocument) as refused:
        read_checkup_report(bundle, MEMBER)
    assert refused.value.reasons == ["健診セクション: 参照先の結果（Observation）が文書の中にありません"]
