"""Lab results are 6 information too: a final result imported from the lab is queued for the 電子カルテ情報共有サービス
in the import's transaction and delivered by the outbox as a JP-CLINS lab Observation (JLAC10). A result the lab
corrects or deletes after it was registered is changed at the service as the service defines a change: 取消 of
the registered item, then 再登録 of the corrected one (a deletion is the 取消 alone)."""

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


def _message(patient, specimen_number: str, day, value: str, status: str = "F") -> bytes:
    return (f"MSH|^~\\&|LABCENTER|LABCENTER|KAMIKARTE||{day:%Y%m%d}1200||OUL^R22^OUL_R22|R{value}{status}|P|2.5||||||"
            f"~ISO IR87||ISO 2022-1994\rPID|1||{patient.orca_patient_id}^^^^PI||"
            f"山田^太郎^^^^^L^I~ヤマダ^タロウ^^^^^L^P||19580302|M\r"
            f"SPM|1|{specimen_number}||023^血清^JC10|||||||||||||{day:%Y%m%d}0900\rOBR|1|X1||LAB^臨床検査^99LAB\r"
            f"OBX|1|NM|{LDL}^LDL-コレステロール^JC10||{value}|mg/dL^mg/dL^99LAB|65-163||||{status}\r").encode("iso2022_jp")


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


def _registered_then(app, session, sharing, value: str, status: str):
    """A result registered at the service, then the lab's new report of it (correction C or deletion D)."""
    desk = arrange(session, integrations=connect(sharing=sharing) | lab_settings(), records=False)
    load_shipped_subset(session)
    session.commit()
    _order(session, desk, "0000001018", 3)
    day = japan_today() - timedelta(days=3)
    assert import_message(session, desk["clinic"].id, _message(desk["patient"], "0000001018", day, "128"),
                          source="file").ok
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    first = session.scalars(select(SharingRegistration)).one()
    assert first.status == REGISTERED
    report = import_message(session, desk["clinic"].id, _message(desk["patient"], "0000001018", day, value, status),
                            source="file")
    assert report.ok, report.error
    return desk, first


def _held(sharing):
    return [r for r in sharing.registered()["patients"][MEMBER]["resources"] if r["resourceType"] == "Observation"]


def test_a_corrected_result_replaces_the_registered_one_at_the_service(app, client, session, sharing):
    from app.outbox.models import OutboxMessage

    desk, first = _registered_then(app, session, sharing, "140", "C")
    second = session.scalars(select(SharingRegistration).where(SharingRegistration.id != first.id)).one()
    assert second.status == "queued" and second.subject_id != first.subject_id  # the new version's own state
    message = session.get(OutboxMessage, second.outbox_message_id)
    assert message.payload == {"registration_id": second.id, "withdraw": False, "replaces": first.id}
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    [observation] = _held(sharing)  # one item: the old value taken back (取消), the corrected one registered
    assert observation["valueQuantity"]["value"] == 140
    assert sharing.registered()["withdrawals"] == 1
    assert session.get(SharingRegistration, first.id).status == "replaced"
    assert session.get(SharingRegistration, second.id).status == REGISTERED
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    page = client.get(f"/patients/{desk['patient'].id}/sharing").get_data(as_text=True)
    assert "共有サービスから取り下げた当院の登録" in page and "訂正で置換済" in page
    assert "LDL-コレステロール(LDL-C) 128mg/dL" in page
    assert "前の版を取り消して登録しました（変更）" in page


def test_a_deleted_result_is_withdrawn_at_the_service(app, session, sharing):
    _, first = _registered_then(app, session, sharing, "128", "D")
    second = session.scalars(select(SharingRegistration).where(SharingRegistration.id != first.id)).one()
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    assert _held(sharing) == []
    assert session.get(SharingRegistration, first.id).status == "withdrawn"
    assert session.get(SharingRegistration, second.id).status == "withdrawn"


def test_a_correction_while_the_first_report_still_waits_leaves_only_the_corrected_value(app, session, sharing):
    """The service was down when the first report was to be registered; the correction arrives before the retry.
    Whatever the order the outbox then sends them in, the service ends with the corrected value alone."""
    desk = arrange(session, integrations=connect(sharing=sharing) | lab_settings(), records=False)
    load_shipped_subset(session)
    session.commit()
    _order(session, desk, "0000001018", 3)
    day = japan_today() - timedelta(days=3)
    import_message(session, desk["clinic"].id, _message(desk["patient"], "0000001018", day, "128"), source="file")
    sharing.set_fault("down")
    outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    first = session.scalars(select(SharingRegistration)).one()
    session.refresh(first)
    assert first.status == "retrying"
    import_message(session, desk["clinic"].id, _message(desk["patient"], "0000001018", day, "140", "C"),
                   source="file")
    for _ in range(2):
        outbox.run_once(app.extensions["db_sessionmaker"], base_delay=0)
    session.expire_all()
    [observation] = _held(sharing)
    assert observation["valueQuantity"]["value"] == 140
    assert session.get(SharingRegistration, first.id).status == "replaced"


def test_the_service_withdraws_only_with_the_patient_and_only_its_own_items(sharing):
    import requests

    from tests.sharing.records import CLINIC_A

    url, headers = sharing.base_url(CLINIC_A), {"Authorization": f"Bearer {sharing.token(CLINIC_A)}"}
    missing = requests.delete(f"{url}/Observation", params={"identifier": "x|1"}, headers=headers, timeout=5)
    assert missing.status_code == 400 and "patient.identifier" in missing.json()["issue"][0]["diagnostics"]
    nothing = requests.delete(f"{url}/Observation", params={"identifier": "x|1", "patient.identifier": f"m|{MEMBER}"},
                              headers=headers, timeout=5)
    assert nothing.status_code == 200 and "0件" in nothing.json()["issue"][0]["diagnostics"]
