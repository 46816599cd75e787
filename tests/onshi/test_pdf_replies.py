"""The PDF kinds of the history (薬剤情報, 特定健診情報) over real HTTP through the terminal simulator: the doctor asks
for the PDF, it is kept exactly as received with the time and who asked, listed beside the history and opened in
the browser's viewer; the screens and the prescription check keep reading the XML; a refusal in XML is shown."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.onshi.models import HistoryFetch
from tests.onshi.conftest import consent, desk_with, person


def _pdf(client, desk, tab):
    page = f"/patients/{desk['patient'].id}/onshi?tab={tab}"
    return client.post(f"/patients/{desk['patient'].id}/onshi/pdf", {"tab": tab}, form_page=page)


def test_the_doctor_asks_for_the_pdfs_keeps_and_opens_them(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = f"/patients/{desk['patient'].id}/onshi"
    assert "PDFはまだ取得していません" in client.get(page).get_data(as_text=True)
    response = _pdf(client, desk, "medication")
    assert response.status_code == 302 and response.headers["Location"].endswith("#onshi-pdf")
    kept = session.scalars(select(HistoryFetch).where(HistoryFetch.reply_format == "pdf")).one()
    assert kept.status == "received" and kept.kind == "medication" and kept.requested_by_name == "医師 一郎"
    assert kept.reply_name == f"YZKsiquc01res_{kept.request_id}.pdf" and kept.reply_body.startswith(b"%PDF-")
    assert kept.reply_sha256 == hashlib.sha256(kept.reply_body).hexdigest() and kept.content is None
    assert b"<FileCategory>3</FileCategory>" in kept.request_body  # 薬剤＋診療 as PDF (診療 agreed to)
    html = client.get(page).get_data(as_text=True)
    assert "PDFを開く" in html and "医師 一郎" in html and f"/onshi/files/{kept.id}" in html
    # The list still comes from the XML (the PDF is never read, nor used by the check).
    assert "アムロジピンＯＤ錠２．５ｍｇ「トーワ」" in html
    xml = session.scalars(select(HistoryFetch).where(HistoryFetch.reply_format == "xml")).one()
    assert xml.status == "received" and xml.content
    opened = client.get(f"/patients/{desk['patient'].id}/onshi/files/{kept.id}")
    assert opened.status_code == 200 and opened.mimetype == "application/pdf" and opened.data == kept.reply_body
    assert opened.headers["Content-Disposition"].startswith("inline")
    # A PDF asked for again is a new request, never a reuse; the checkup's PDF is its own kind.
    _pdf(client, desk, "medication")
    _pdf(client, desk, "checkups")
    pdfs = session.scalars(select(HistoryFetch).where(HistoryFetch.reply_format == "pdf")).all()
    assert sorted(p.kind for p in pdfs) == ["checkup", "medication", "medication"]
    checkup = next(p for p in pdfs if p.kind == "checkup")
    assert checkup.reply_name.startswith("TKKsiquc01res_") and checkup.reply_body.startswith(b"%PDF-")
    checkups = client.get(f"{page}?tab=checkups").get_data(as_text=True)
    assert f"/onshi/files/{checkup.id}" in checkups and checkups.count("PDFを開く") == 1
    logged = session.scalars(select(AccessLogEntry.resource).where(
        AccessLogEntry.patient_id == desk["patient"].id)).all()
    assert sum(1 for r in logged if r.startswith("onshi.medication.pdf ")) == 2
    assert sum(1 for r in logged if r.startswith("onshi.checkup.pdf ")) == 1
    assert f"patient.onshi.file {kept.request_id}" in logged


def test_a_pdf_refused_by_the_service_says_why(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi, consent_hours=None)  # the service holds no consent
    consent(session, desk)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = _pdf(client, desk, "checkups")
    assert response.status_code == 302
    kept = session.scalars(select(HistoryFetch).where(HistoryFetch.reply_format == "pdf")).one()
    assert kept.status == "refused" and kept.reply_name.endswith(".xml")
    html = client.get(f"/patients/{desk['patient'].id}/onshi?tab=checkups").get_data(as_text=True)
    assert "照会を拒否された" in html and "閲覧同意がないか、有効期限が過ぎています" in html
    assert "PDFを開く" not in html and "受け取ったファイル" in html


def test_no_pdf_is_asked_without_consent(client, session, onshi):
    desk = desk_with(session, onshi)
    person(onshi)
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _pdf(client, desk, "medication")
    assert onshi.terminal.requests_seen() == []
    assert session.scalars(select(HistoryFetch)).all() == []
