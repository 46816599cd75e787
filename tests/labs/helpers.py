"""Arranging a clinic for lab tests: the lab link to the simulator, staff, a patient, an order placed over HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from app.labs.hl7 import escape
from app.labs.masters import load_shipped_subset
from app.labs.models import LabItem, LabOrder
from app.outbox import worker as outbox
from tests.factories import make_clinic, make_patient, make_user

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "hl7"
CLINIC = "1310123458"
INBOUND_TOKEN = "inbound-secret-a"


def lab_settings(lab_center=None, **extra) -> dict:
    """The clinic's lab link (to the simulator when given)."""
    settings = {"inbound_token": INBOUND_TOKEN, **extra}
    if lab_center is not None:
        settings.update(base_url=lab_center.base_url(CLINIC), token=lab_center.token(CLINIC))
    return {"lab_center": settings}


def make_desk(session, lab_center=None, *, patient_name="山田 太郎", patient_kana="ヤマダ タロウ", **settings) -> dict:
    """Clinic A linked to the lab, a doctor, a nurse, a clerk and a patient; the shipped master loaded."""
    clinic = make_clinic(session, institution_code=CLINIC, integrations=lab_settings(lab_center, **settings))
    desk = {"clinic": clinic,
            "doctor": make_user(session, clinic, role="doctor", display_name="上野 誠"),
            "nurse": make_user(session, clinic, role="nurse"),
            "clerk": make_user(session, clinic, role="clerk"),
            "patient": make_patient(session, clinic, name=patient_name, kana=patient_kana,
                                    birth_date=date(1958, 3, 2), sex="M")}
    load_shipped_subset(session)
    session.commit()
    return desk


def place_order(client, patient, *, sets=(), items=(), status=302):
    """POST the order form as a browser does; the response."""
    page = f"/patients/{patient.id}/labs/orders/new"
    response = client.post(f"/patients/{patient.id}/labs/orders",
                           {"set_code": list(sets), "lab_code": list(items), "ordered_on": "", "comment": ""},
                           form_page=page)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response


def latest_order(session) -> LabOrder:
    """The newest order (fresh from the database)."""
    session.expire_all()
    return session.scalars(select(LabOrder).order_by(LabOrder.id.desc())).first()


def deliver(app) -> None:
    """Run the outbox once, as the worker would."""
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)


def panel_message(orca_patient_id: str, specimen_number: str, items: list[LabItem], control: str, day: date, *,
                  value: str | None = None, status: str = "F") -> bytes:
    """An OUL^R22 (ISO-2022-JP) reporting every item of one serum specimen, as a lab's file drop carries them; each
    item gets a value of its own unless `value` is given, with a comment of delimiter-byte kanji."""
    stamp = f"{day:%Y%m%d}0930"
    lines = [f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{stamp}||OUL^R22^OUL_R22|{control}|P|2.5||||||~ISO IR87||"
             "ISO 2022-1994",
             f"PID|1||{orca_patient_id}^^^^PI||検査^太郎^^^^^L^I~ケンサ^タロウ^^^^^L^P||19580302|M",
             f"SPM|1|{specimen_number}||023^血清^JC10|||||||||||||{stamp}", "OBR|1|X||LAB^臨床検査^99LAB"]
    for index, item in enumerate(items, start=1):
        lines.append(f"OBX|{index}|NM|{item.jlac10}^{item.name}^JC10^{item.lab_code}^{item.short_name}^99LAB||"
                     f"{value or f'{10 + index}.{index % 10}'}|{escape(item.unit_ascii)}^{escape(item.unit)}^99LAB|"
                     f"{item.ref_male}||||{status}|||{stamp}")
    lines.append("NTE|1||本検体は軽度の溶血を認めます")
    return ("\r".join(lines) + "\r").encode("iso2022_jp")
