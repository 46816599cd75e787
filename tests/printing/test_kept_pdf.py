"""An issued prescription or a letter is drawn once per version of what it prints: a reprint over HTTP serves
the kept bytes (the same document, byte for byte), still logged as a print; a change of what it shows (the
patient's insurance card, their name) draws it again and keeps only the new version; clinics never share."""

from __future__ import annotations

from sqlalchemy import select

from app.core.models import AccessLogEntry, KeptPdf
from app.documents import printing as letter_printing
from app.documents.models import ReferralLetter
from app.printing import prescription as rx_drawing
from tests.documents.test_letters import _write
from tests.factories import make_clinic, make_patient, make_user
from tests.sharing.records import arrange


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of a module's drawing function (still drawing for real)."""
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_reprinted_prescription_is_the_kept_pdf_until_what_it_prints_changes(client, session, monkeypatch):
    desk = arrange(session)
    patient, rx = desk["patient"], desk["prescription"]
    drawn = _counting(monkeypatch, rx_drawing, "render_prescription_pdf")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    url = f"/patients/{patient.id}/prescriptions/{rx.id}/print.pdf"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200 and second.mimetype == "application/pdf"
    assert second.data == first.data and len(drawn) == 1
    prints = session.scalars(select(AccessLogEntry).where(AccessLogEntry.patient_id == patient.id,
                                                          AccessLogEntry.action == "print")).all()
    assert len(prints) == 2  # every print is logged, kept bytes or not
    assert client.get(f"{url}?paper=A4").status_code == 200 and len(drawn) == 2  # A4 is a document of its own

    patient.insurances = [{**patient.insurances[0], "number": "99999"}]  # a new card: the form shows it
    session.commit()
    third = client.get(url)
    assert third.status_code == 200 and third.data != first.data and len(drawn) == 3
    kept = session.scalars(select(KeptPdf).where(KeptPdf.document == f"prescription:{rx.id}:A5")).all()
    assert [row.pdf for row in kept] == [third.data]  # only the current version is kept


def test_a_reprinted_letter_is_the_kept_pdf_and_a_renamed_patient_draws_it_again(client, session, monkeypatch,
                                                                                   tmp_path):
    from tests.printing.pdf_tools import pdf_text

    desk = arrange(session)
    patient = desk["patient"]
    drawn = _counting(monkeypatch, letter_printing, "pdf_of_html")
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    _form, created = _write(client, patient)
    letter = session.scalars(select(ReferralLetter)).one()
    url = f"/patients/{patient.id}/letters/{letter.id}/pdf"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200 and second.data == first.data and len(drawn) == 1

    patient.name = "山田　次郎"
    session.commit()
    third = client.get(url)
    assert len(drawn) == 2 and "次郎" in pdf_text(third.data, tmp_path)


def test_another_clinic_never_gets_a_kept_pdf(client, session):
    desk = arrange(session)
    rx = desk["prescription"]
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    assert client.get(f"/patients/{desk['patient'].id}/prescriptions/{rx.id}/print.pdf").status_code == 200
    client.logout()
    other = make_clinic(session)
    outsider = make_user(session, other, role="doctor")
    make_patient(session, other)
    session.commit()
    client.login(outsider.login_id, outsider.totp_secret)
    assert client.get(f"/patients/{desk['patient'].id}/prescriptions/{rx.id}/print.pdf").status_code == 404


def test_pdfs_drawn_long_ago_are_dropped_when_another_is_drawn(client, session):
    from datetime import timedelta

    from app.core.kept_pdf import KEEP_DAYS
    from app.db import utcnow

    desk = arrange(session)
    old = KeptPdf(clinic_id=desk["clinic"].id, document="letter:999", fingerprint="0" * 64, pdf=b"%PDF-old",
                  created_at=utcnow() - timedelta(days=KEEP_DAYS + 1))
    session.add(old)
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    rx = desk["prescription"]
    assert client.get(f"/patients/{desk['patient'].id}/prescriptions/{rx.id}/print.pdf").status_code == 200
    session.expire_all()
    assert session.scalars(select(KeptPdf.document)).all() == [f"prescription:{rx.id}:A5"]
