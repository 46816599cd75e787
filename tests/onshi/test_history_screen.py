"""「薬剤情報（オンライン資格確認）」 over real HTTP through the terminal simulator: fetched with consent, kept as
received, reused within the consent window unless asked again, grouped by month with source and 自院/他院, filtered;
the 診療情報 and 特定健診 tabs; every reason why nothing new is shown; late replies matched or discarded."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from app.core.models import AccessLogEntry, AuditEntry
from app.onshi.models import HistoryFetch
from simulators.onshi import handlers
from tests.onshi.conftest import consent, desk_with, person
from tests.sharing.records import CLINIC_A


def _open(client, desk, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return client.get(f"/patients/{desk['patient'].id}/onshi?{query}")


def _again(client, desk, tab="medication"):
    page = f"/patients/{desk['patient'].id}/onshi?tab={tab}"
    return client.post(f"/patients/{desk['patient'].id}/onshi/fetch", {"tab": tab}, form_page=page)


def test_medication_history_fetched_kept_and_shown_by_month(client, session, orca, onshi):
    desk = desk_with(session, onshi, orca)
    person(onshi, identity=("01130012", "75131378", "7812312", "00"))  # as ORCA's insurance gives it
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}"
    client.post(f"{page}/onshi/consent", {}, form_page=page)  # the consent from ORCA's eligibility result
    html = _open(client, desk).get_data(as_text=True)
    assert "アムロジピンＯＤ錠２．５ｍｇ「トーワ」" in html and "みなと総合病院" in html and "さくら薬局 新宿店" in html
    assert "電子処方箋の処方" in html and "電子処方箋の調剤" in html and "レセプト" in html
    assert "他院" in html and "自院" in html and "1日1回朝食後" in html
    assert "アレグラ錠６０ｍｇ" not in html  # 8 months ago: outside the default six months
    months = re.findall(r'class="onshi-month">(\d{4})年(\d{1,2})月<', html)
    assert len(months) >= 5 and [(int(y), int(m)) for y, m in months] == sorted(
        [(int(y), int(m)) for y, m in months], reverse=True)  # newest first
    fetch = session.scalars(select(HistoryFetch)).one()
    assert fetch.status == "received" and fetch.with_diagnosis and fetch.requested_by_name == "医師 一郎"
    assert fetch.reply_name == f"YZKsiquc01res_{fetch.request_id}.xml"
    assert fetch.reply_sha256 == hashlib.sha256(fetch.reply_body).hexdigest()
    assert b"<DrugC>620007817</DrugC>" in fetch.reply_body  # kept as received
    # A year, filtered: the ENT clinic's antihistamine appears; one institution; a drug by name.
    year = _open(client, desk, months=12).get_data(as_text=True)
    assert "アレグラ錠６０ｍｇ" in year and "にしぐち耳鼻咽喉科" in year
    ortho = _open(client, desk, months=12, institution="1310000025").get_data(as_text=True)
    assert "セレコックス錠" in ortho and "アムロジピン" not in ortho  # its e-prescriptions only
    assert "badge-info\">レセプト<" not in ortho  # its drugs' receipts are the pharmacy's
    pharmacy = _open(client, desk, months=12, institution="1340000029", drug="レバミピド").get_data(as_text=True)
    assert "レバミピド錠１００ｍｇ「あすか」" in pharmacy
    assert "アレグラ" not in pharmacy and "アムロジピン" not in pharmacy
    # Reused within the consent window: one request only at the terminal, until the doctor asks again.
    assert len(onshi.terminal.requests_seen()) == 1
    assert _again(client, desk).status_code == 302
    assert len(onshi.terminal.requests_seen()) == 2 and len(session.scalars(select(HistoryFetch)).all()) == 2
    # 診療情報 and 特定健診 tabs.
    procedures = _open(client, desk, tab="procedures", months=12).get_data(as_text=True)
    assert "112007410" in procedures and "再診料" in procedures and "ＨｂＡ１ｃ" in procedures
    checkups = _open(client, desk, tab="checkups").get_data(as_text=True)
    assert "ＨｂＡ１ｃ（ＮＧＳＰ）" in checkups and "予備群該当" in checkups and "<polyline" in checkups
    # The same view as a received 健康診断結果報告書 (templates/_checkup_report.html): five reports, every item
    # with value, unit and judgement, the newest with each number's years and arrow.
    assert checkups.count('class="checkup-title"') == 5 and checkups.count('class="list checkup-items"') == 5
    assert '<th scope="col">判定</th>' in checkups and "↓" in checkups
    assert re.search(r"\d{4}年 [\d.]+ → \d{4}年 [\d.]+", checkups)
    logged = session.scalars(select(AccessLogEntry.resource).where(
        AccessLogEntry.patient_id == desk["patient"].id)).all()
    assert "patient.onshi.medication" in logged and "patient.onshi.checkups" in logged
    assert sum(1 for r in logged if r.startswith("onshi.medication ")) == 2  # each fetch
    original = client.get(f"/patients/{desk['patient'].id}/onshi/files/{fetch.id}")
    assert original.status_code == 200 and original.data == fetch.reply_body


def test_no_consent_means_no_request_and_says_what_to_do(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = _open(client, desk).get_data(as_text=True)
    assert "閲覧同意が記録されていません" in html and "カードリーダー" in html and "資格確認結果を読み直す" in html
    consent(session, desk, hours=-1)
    html = _open(client, desk).get_data(as_text=True)
    assert "有効期限が過ぎています" in html
    assert onshi.terminal.requests_seen() == []


def test_the_service_refusing_is_kept_and_shown(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi, consent_hours=None)  # our record says yes; the service holds no consent (e.g. withdrawn)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = _open(client, desk).get_data(as_text=True)
    assert "閲覧同意がないか、有効期限が過ぎています" in html and "最新の情報を取得できませんでした" in html
    fetch = session.scalars(select(HistoryFetch)).one()
    assert fetch.status == "refused" and fetch.reply_body and fetch.content is None


def test_an_unreadable_reply_is_kept_whole_and_shown_with_its_reason(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    consent(session, desk)
    onshi.state.fault = "other_patient"
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = _open(client, desk).get_data(as_text=True)
    assert "受け取った情報を読めません" in html and "別の患者" in html and "アムロジピン" not in html
    fetch = session.scalars(select(HistoryFetch)).one()
    assert fetch.status == "unreadable" and fetch.content is None and b"<DrugC>" in fetch.reply_body
    onshi.state.fault = "unknown_code"
    html = client.get(_again(client, desk).location).get_data(as_text=True)
    assert "未知のコード体系" in html
    onshi.state.fault = None
    onshi.terminal.set_fault("garbage")
    html = client.get(_again(client, desk).location).get_data(as_text=True)
    assert "XMLとして読めません" in html


def test_terminal_down_says_so(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    consent(session, desk)
    onshi.terminal.set_fault("down")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = _open(client, desk).get_data(as_text=True)
    assert "資格確認端末の中継が応答しません" in html
    assert session.scalars(select(HistoryFetch)).one().status == "failed"


def _answer_late(onshi, folder):
    """The terminal writes, late, the reply to the request left in its req folder (the service's own answer)."""
    request = next((folder / "req").glob("YZKsiquc01req_*.xml"))
    request_id = request.stem.split("_", 1)[1]
    _, body = handlers(onshi.state)["YZKsiquc01"](CLINIC_A, request_id, request.read_bytes())
    (folder / "res" / f"YZKsiquc01res_{request_id}.xml").write_bytes(body)
    return request_id


def _folder(tmp_path):
    for name in ("req", "res"):
        (tmp_path / name).mkdir()
    return tmp_path


def test_a_late_reply_is_matched_later_by_its_request_id(client, session, onshi, tmp_path):
    folder = _folder(tmp_path)
    desk = desk_with(session, onshi, folder=folder, timeout=0.2)
    person(onshi)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    html = _open(client, desk).get_data(as_text=True)
    assert "応答がありません" in html and "アムロジピン" not in html
    assert session.scalars(select(HistoryFetch)).one().status == "abandoned"
    assert "応答がありません" in _open(client, desk).get_data(as_text=True)  # not asked again by itself
    request_id = _answer_late(onshi, folder)
    html = _open(client, desk).get_data(as_text=True)
    session.expire_all()
    fetch = session.scalars(select(HistoryFetch)).one()
    assert fetch.status == "received" and fetch.request_id == request_id and "アムロジピン" in html
    assert len(list((folder / "req").glob("*.xml"))) == 1  # one request only


def test_a_reply_after_the_consent_ran_out_is_discarded_with_a_log_entry(client, session, onshi, tmp_path):
    folder = _folder(tmp_path)
    desk = desk_with(session, onshi, folder=folder, timeout=0.2)
    person(onshi)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _open(client, desk)
    _answer_late(onshi, folder)
    consent(session, desk, hours=-1)  # the consent runs out before the reply is collected
    html = _open(client, desk).get_data(as_text=True)
    assert "有効期限が過ぎています" in html and "アムロジピン" not in html
    session.expire_all()
    late = session.scalars(select(HistoryFetch)).one()
    assert late.status == "discarded" and late.content is None and late.reply_body is None
    assert not list((folder / "res").iterdir())  # taken from the terminal, not kept
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "onshi.discard_late_reply")).one()
    assert entry.summary["request_id"] == late.request_id and entry.patient_id == desk["patient"].id


def test_a_slow_terminal_still_answers_and_a_lost_reply_is_said_then_asked_again(client, session, onshi):
    desk = desk_with(session, onshi, timeout=0.5)
    person(onshi)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    onshi.terminal.set_fault("slow", seconds=0.3)
    assert "アムロジピン" in _open(client, desk).get_data(as_text=True)
    onshi.terminal.set_fault("lost_reply")  # the service did the work; its reply never comes
    html = client.get(_again(client, desk).location).get_data(as_text=True)
    assert "応答がありません" in html and "アムロジピン" in html  # what came before is still shown, with its time
    lost = session.scalars(select(HistoryFetch).order_by(HistoryFetch.id.desc())).first()
    assert lost.status == "abandoned" and lost.reply_body is None
    html = client.get(_again(client, desk).location).get_data(as_text=True)
    assert "最新の情報を取得しました" in html and len(onshi.terminal.requests_seen()) == 3


def test_clerks_do_not_see_the_history(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    consent(session, desk)
    client.login(desk["clerk"].login_id, desk["clerk"].totp_secret)
    assert _open(client, desk).status_code == 403
    assert onshi.terminal.requests_seen() == []


def test_a_reply_that_never_comes_is_given_up_when_the_consent_runs_out(client, session, onshi):
    desk = desk_with(session, onshi, timeout=0.2)
    person(onshi)
    consent(session, desk)
    onshi.terminal.set_fault("lost_reply")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _open(client, desk)
    consent(session, desk, hours=-1)
    _open(client, desk)
    session.expire_all()
    lost = session.scalars(select(HistoryFetch)).one()
    assert lost.status == "discarded" and "応答が届かなかった" in lost.reason
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "onshi.discard_late_reply")).one()
