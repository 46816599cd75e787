"""Lab demo for 山田 太郎 of clinic A (docs/demo.md): a year of monthly panels, each an order whose results
come in through the real import (an OUL^R22 per specimen, as the lab sends it), one of them corrected, with the
lab's comments; and today's order with its specimen labels, queued for the lab. Added once. Today's in-house 尿定性
and 血糖 are added at each start when missing."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic, StaffUser
from app.core.audit import Actor
from app.core.timeutil import JST, japan_today
from app.labs import services as labs
from app.labs.hl7 import escape
from app.labs.importer import import_message
from app.labs.in_house import record_in_house_results
from app.labs.masters import item_count, load_shipped_subset
from app.labs.models import LabItem, LabOrder, LabResult, LabSpecimen
from app.patients import services as patients

log = logging.getLogger(__name__)
CLINIC_A = "1310123458"
#: A monthly panel: 生活習慣病セット with liver tests and a blood count.
PANEL = ["K0111", "K0112", "K0113", "K0141", "K0142", "K0143", "K0144", "K0151", "K0152", "K0122", "K0123",
         "K0201", "K0202", "K0203", "K0204"]
#: Where each value starts a year ago and where it ends today (a patient whose lipids and HbA1c improve).
COURSE = {"K0111": (34, 26), "K0112": (48, 35), "K0113": (88, 52), "K0141": (246, 205), "K0142": (210, 150),
          "K0143": (41, 47), "K0144": (172, 128), "K0151": (126, 108), "K0152": (6.9, 6.2), "K0122": (0.98, 1.02),
          "K0123": (7.9, 6.8), "K0201": (6.1, 5.8), "K0202": (4.62, 4.55), "K0203": (14.6, 14.4),
          "K0204": (231, 226)}
COMMENTS = {"K0142": "本検体は乳びを認めます（食後採血の可能性）",
            "K0113": "図表の推移と併せてご確認ください（奥付参照）"}


def _value(code: str, month: int, months: int, item: LabItem) -> tuple[str, str]:
    start, end = COURSE[code]
    value = start + (end - start) * month / (months - 1)
    places = 2 if code in ("K0122", "K0202") else 1 if isinstance(start, float) or code in ("K0201",) else 0
    text = f"{value:.{places}f}"
    low, _, high = item.ref_male.partition("-")
    flag = "H" if high and value > float(high) else "L" if low and value < float(low) else ""
    return text, flag


def _message(patient, order: LabOrder, specimen: LabSpecimen, items: dict[str, LabItem], month: int, months: int,
             taken: datetime, control: str, corrected: str | None = None) -> bytes:
    stamp = taken.astimezone(JST).strftime("%Y%m%d%H%M")
    sent = (taken + timedelta(days=2 if corrected else 1)).astimezone(JST).strftime("%Y%m%d%H%M")
    family, _, given = patient.name.replace("\u3000", " ").partition(" ")
    kana_family, _, kana_given = patient.kana.replace("\u3000", " ").partition(" ")
    lines = [f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE|{CLINIC_A}|{sent}||OUL^R22^OUL_R22|{control}|P|2.5||||||"
             "~ISO IR87||ISO 2022-1994",
             f"PID|1||{patient.orca_patient_id}^^^^PI||{family}^{given}^^^^^L^I~{kana_family}^{kana_given}^^^^^L^P||"
             f"{patient.birth_date:%Y%m%d}|{patient.sex}",
             f"SPM|1|{specimen.specimen_number}||{specimen.specimen_code}^{specimen.specimen}^JC10|||||||||||||{stamp}",
             f"OBR|1|{order.order_number}|{specimen.specimen_number}|LAB^臨床検査^99LAB|||{stamp}",
             f"ORC|SC|{order.order_number}|{specimen.specimen_number}||CM"]
    for number, entry in enumerate(specimen.items, start=1):
        item = items[entry["lab_code"]]
        value, flag = _value(item.lab_code, month, months, item)
        status = "F"
        if corrected == item.lab_code:
            value, status = f"{float(value) * 0.9:.0f}", "C"
        lines.append(f"OBX|{number}|NM|{item.jlac10}^{item.name}^JC10^{item.lab_code}^{item.short_name}^99LAB||"
                     f"{value}|{escape(item.unit_ascii)}^{escape(item.unit)}^99LAB|{item.ref_male}|{flag}|||{status}|||{stamp}")
        if item.lab_code in COMMENTS and month == months - 1:
            lines.append(f"NTE|1||{COMMENTS[item.lab_code]}")
        if status == "C":
            lines.append("NTE|1||再検査により結果を訂正しました")
    return ("\r".join(lines) + "\r").encode("iso2022_jp")


def seed_lab_demo(session: Session) -> bool:
    """Give 山田 太郎 (clinic A) his lab history and today's order; False when not synced yet or already done."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    if clinic is None:
        return False
    if item_count(session) == 0:
        load_shipped_subset(session)
    yamada = patients.find_by_orca_id(session, clinic.id, "00001")
    if yamada is None or labs.list_orders(session, clinic.id, yamada.id, limit=1):
        return False
    doctor = session.scalar(select(StaffUser).where(StaffUser.clinic_id == clinic.id, StaffUser.login_id == "doctor"))
    items = {i.lab_code: i for i in session.scalars(select(LabItem))}
    months = 12
    today = japan_today()
    for month in range(months):
        day = today - timedelta(days=30 * (months - month))
        taken = datetime.combine(day, time(9, 30), tzinfo=JST)
        order = LabOrder(clinic_id=clinic.id, patient_id=yamada.id, order_number="", ordered_on=day,
                         ordered_at=taken, ordered_by_id=doctor.id if doctor else None,
                         ordered_by_name=doctor.display_name if doctor else "", status="accepted")
        session.add(order)
        session.flush()
        order.order_number = f"L{order.id:09d}"
        for seq, ((code, specimen, container), members) in enumerate(
                labs.group_by_container([items[c] for c in PANEL]), start=1):
            order.specimens.append(LabSpecimen(
                clinic_id=clinic.id, patient_id=yamada.id, seq=seq, specimen_number=labs.specimen_number(order.id, seq),
                specimen=specimen, specimen_code=code, container=container,
                items=[{"lab_code": i.lab_code, "jlac10": i.jlac10, "name": i.name, "short_name": i.short_name}
                       for i in members]))
        session.commit()
        for specimen in order.specimens:
            control = f"DEMO{order.id:05d}{specimen.seq:02d}"
            outcome = import_message(session, clinic.id, _message(yamada, order, specimen, items, month, months, taken,
                                                                  control), source="file", filename="demo")
            if not outcome.ok:
                raise RuntimeError(f"demo lab results did not import: {outcome.error}")
            if month == months - 2 and specimen.seq == 1:  # the lab corrects one value of last month's LDL
                outcome = import_message(session, clinic.id, _message(
                    yamada, order, specimen, items, month, months, taken, control + "C",
                    corrected="K0144"), source="file", filename="demo")
                if not outcome.ok:
                    raise RuntimeError(f"demo lab correction did not import: {outcome.error}")
    actor = Actor(doctor.id, doctor.login_id, clinic.id, doctor.role) if doctor else Actor(None, "system", clinic.id)
    labs.create_order(session, clinic, actor, yamada, labs.OrderInput(set_codes=["S001", "S004"]))
    session.commit()
    log.info("demo lab history added")
    return True


def seed_in_house_demo(session: Session) -> bool:
    """Give 山田 太郎 (clinic A) today's 尿定性 and 血糖 measured at the clinic, recorded by the nurse, unless he
    already has an in-house result today (run at each start, so the demo's results stay today's)."""
    clinic = session.scalar(select(Clinic).where(Clinic.institution_code == CLINIC_A))
    yamada = patients.find_by_orca_id(session, clinic.id, "00001") if clinic is not None else None
    if yamada is None or session.scalar(select(LabResult.id).where(
            LabResult.clinic_id == clinic.id, LabResult.patient_id == yamada.id, LabResult.is_in_house.is_(True),
            LabResult.collected_on == japan_today()).limit(1)) is not None:
        return False
    nurse = session.scalar(select(StaffUser).where(StaffUser.clinic_id == clinic.id, StaffUser.login_id == "nurse"))
    actor = Actor(nurse.id, nurse.login_id, clinic.id, nurse.role) if nurse else Actor(None, "system", clinic.id)
    record_in_house_results(session, actor, yamada, {"IH-U-TP": "±", "IH-U-GLU": "1+", "IH-U-BLD": "−",
                                                     "IH-U-KET": "−", "IH-U-PH": "6.0", "IH-U-SG": "1.020",
                                                     "IH-BG": "142"}, comment="随時血糖（食後2時間）")
    session.commit()
    log.info("demo in-house results of today added")
    return True
