"""Lab results are 6 information too: a final result imported from the lab is queued for the 電子カルテ情報共有サービス
in the import's transaction and delivered by the outbox as a JP-CLINS lab Observation (JLAC10)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.timeutil import japan_today
from app.labs.importer import import_message
from app.labs.masters import load_shipped_subset
from app.labs.models import LabOrder, LabSpecimen
from app.outbox import worker as outbox
from app.sharing.models import REGISTERED, SharingRegistration
from tests.labs.helpers import lab_settings
from tests.sharing.records import MEMBER, arrange, connect

LDL = "3F077000002327101"


def _message(patient, specimen_number: str, day, value: str) -> bytes:
    return (f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{day:%Y%m%d}1200||OUL^R22^OUL_R22|R{value}|P|2.5||||||"
            f"~ISO IR87||ISO 2022-1994\rPID|1||{patient.orca_patient_id}^^^^PI||"
            f"山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19580302|M\r"
            f"SPM|1|{specimen_number}||023^血清^JC10|||||||||||||{day:%Y%m%d}0900\rOBR|1|X1||LAB^臨床検査^99LAB\r"
            f"OBX|1|NM|{LDL}^LDL-コレステロール^JC10||{value}|mg/dL^mg/dL^99LAB|65-163||||F\r").encode("iso2022_jp")


def _order(session, desk, number: str, days_ago: int) -> None:
    clinic, patient = desk["clinic"], desk["patient"]
    order = LabOrder(clinic_id=clinic.id, patient_id=patient.id, order_number=f"L{number}",
                     ordered_on=japan_today() - timedelta(days=days_ago), status="accepted")
    order.specimens.append(LabSpecimen(clinic_id=clinic.id, patient_id=patient.id, seq=1, specimen_number=number,
                                       specimen="血清", specimen_code="023", container="生化学（分離剤入り）",
                                       items=[{"lab_code": "K0144", "jlac10": LDL, "name": "LDL-コレステロール"}]))
    session.add(order)
    session.commit()


def test_an_imported_result_is_registered_and_an_old_one_is_not(app, session, sharing):
    desk = arrange(session, integrations=connect(sharing=sharing) | lab_settings(), records=False)
    load_shipped_subset(session)
    session.commit()
    _order(session, desk, "0000001018", 3)
    _order(session, desk, "0000002014", 800)
    recent = import_message(session, desk["clinic"].id, _message(desk["patient"], "0000001018",
                                                                  japan_today() - timedelta(days=3), "128"),
                            source="file")
    old = import_message(session, desk["clinic"].id, _message(desk["patient"], "0000002014",
                                                               japan_today() - timedelta(days=800), "140"),
                         source="file")
    assert recent.ok and old.ok, (recent.error, old.error)
    [registration] = session.scalars(select(SharingRegistration)).all()  # the result of 800 days ago stays here
    assert registration.kind == "lab_result"
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    assert session.get(SharingRegistration, registration.id).status == REGISTERED
    held = sharing.registered()["patients"][MEMBER]["resources"]
    [observation] = [r for r in held if r["resourceType"] == "Observation"]
    assert LDL in {c["code"] for c in observation["code"]["coding"]}
    assert observation["valueQuantity"]["value"] == 128
