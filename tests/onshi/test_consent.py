"""The card-reader consent to the histories: read from ORCA's eligibility result (the 2024 items), stored per kind
only when it changes, and shown on the patient page — valid until when, or expired / missing and what to do."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from app.core.models import AuditEntry
from app.integrations.orca.errors import OrcaProtocolError
from app.integrations.orca.parsing import read_history_consents
from app.integrations.orca.reader import Reader
from app.onshi.models import HistoryConsent
from tests.onshi.conftest import consent, desk_with


def _read(record):
    return read_history_consents(Reader(record, "資格確認結果"))


def test_the_2024_items_are_read_per_kind_with_their_times():
    found = _read({"PharmacistsInfoConsFlg": "1", "PharmacistsInfoConsTime": "20261207091230",
                   "PharmacistsInfoAvailableTime": "20261208091230", "DiagnosisInfoConsFlg": "0",
                   "DiagnosisInfoConsTime": "", "DiagnosisInfoAvailableTime": "",
                   "SpecificHealthCheckupsInfoConsFlg": "1", "SpecificHealthCheckupsInfoConsTime": "2026-12-07",
                   "SpecificHealthCheckupsInfoAvailableTime": "20261208"})
    by_kind = {c.kind: c for c in found}
    assert set(by_kind) == {"drug", "diagnosis", "checkup"}  # 手術 not answered: the clinic does not use it
    drug = by_kind["drug"]
    assert drug.flag == "1" and drug.given_at.isoformat() == "2026-12-07T09:12:30+09:00"
    assert drug.available_until.isoformat() == "2026-12-08T09:12:30+09:00"
    assert by_kind["diagnosis"].flag == "0" and by_kind["diagnosis"].available_until is None
    assert by_kind["checkup"].available_until.isoformat() == "2026-12-08T23:59:59+09:00"  # a bare day: its end


@pytest.mark.parametrize("record, message", [
    ({"PharmacistsInfoConsFlg": "9"}, "薬剤情報閲覧同意フラグ（PharmacistsInfoConsFlg=9）"),
    ({"PharmacistsInfoConsFlg": "1", "PharmacistsInfoAvailableTime": ""}, "薬剤情報閲覧有効期限"),
    ({"DiagnosisInfoConsFlg": "1", "DiagnosisInfoAvailableTime": "明日"}, "診療情報閲覧有効期限（DiagnosisInfo"),
])
def test_a_bad_consent_item_makes_the_result_unreadable(record, message):
    with pytest.raises(OrcaProtocolError, match=message):
        _read(record)


def test_consent_read_from_orca_is_shown_on_the_patient_page(client, session, orca, onshi):
    desk = desk_with(session, onshi, orca)
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    page = f"/patients/{desk['patient'].id}"
    before = client.get(page).get_data(as_text=True)
    assert "オンライン資格確認の閲覧同意" in before
    response = client.post(f"{page}/onshi/consent", {}, form_page=page)
    assert response.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "資格確認結果を読み直しました" in html
    rows = session.scalars(select(HistoryConsent).order_by(HistoryConsent.kind)).all()
    assert [(r.kind, r.flag) for r in rows] == [("checkup", "1"), ("diagnosis", "1"), ("drug", "1"),
                                                ("operation", "0")]
    drug = next(r for r in rows if r.kind == "drug")
    assert (drug.available_until - drug.given_at).total_seconds() == 24 * 3600
    block = html[html.index('id="onshi-consent"'):]
    block = block[:block.index("</section>")]
    until = f"{drug.available_until.astimezone(datetime.now().astimezone().tzinfo):%Y}"
    assert until in block and block.count("まで閲覧可") == 3 and block.count(">同意あり<") == 3
    assert "手術情報" in block and "同意なし" in block and "カードリーダー" in block
    assert "薬剤情報（オンライン資格確認）" not in block  # a clerk does not open the history
    # Read again with nothing changed: no new row, one audit entry per kind recorded.
    client.post(f"{page}/onshi/consent", {}, form_page=page)
    assert len(session.scalars(select(HistoryConsent)).all()) == 4
    audits = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "onshi.consent")).all()
    assert len(audits) == 4


def test_expired_and_missing_consent_say_what_to_do(client, session, onshi):
    desk = desk_with(session, onshi)
    consent(session, desk, hours=-2, kinds=("drug",))
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = client.get(f"/patients/{desk['patient'].id}").get_data(as_text=True)
    block = html[html.index('id="onshi-consent"'):]
    assert "同意の有効期限（" in block and "過ぎています" in block
    assert "資格確認の結果に記録がありません" in block  # 診療・特定健診・手術: nothing recorded
    assert block.count("もう一度同意を確認してもらってください") == 4
    assert "薬剤情報（オンライン資格確認）" in block  # the doctor's way to the history
