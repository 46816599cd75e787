"""A lab result's message and order must be the clinic's and the patient's own, on both databases: two composite
foreign keys. A wrong key is refused as an IntegrityError for the whole statement, and a message or order that
results refer to cannot be deleted or moved to another patient."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.audit import Actor
from app.db import utcnow
from app.labs import services as labs
from app.labs.models import LabMessage, LabOrder, LabResult
from tests.factories import make_clinic, make_patient
from tests.labs.helpers import make_desk


def _message(session, clinic_id: int, patient_id: int | None, tag: str) -> LabMessage:
    message = LabMessage(clinic_id=clinic_id, patient_id=patient_id, source="file", raw=tag.encode(),
                         sha256=tag.rjust(64, "0"), status="imported")
    session.add(message)
    session.flush()
    return message


def _order(session, desk, patient) -> LabOrder:
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id)
    return labs.create_order(session, desk["clinic"], actor, patient, labs.OrderInput(lab_codes=["K0101"]))


def _row(clinic_id: int, patient_id: int, message_id: int, order_id: int, number: int) -> dict:
    return {"id": 900_000 + number, "lineage_id": 900_000 + number, "clinic_id": clinic_id, "patient_id": patient_id,
            "message_id": message_id, "order_id": order_id, "specimen_number": "", "lab_code": "K0101",
            "jlac10": "", "name": "AST", "sub_id": "", "value_type": "NM", "value": "20", "numeric_value": 20.0,
            "unit": "U/L", "reference_range": "", "flag": "", "result_status": "F", "comment": "",
            "collected_at": None, "collected_on": date.today(), "version": 1, "recorded_at": utcnow(),
            "recorded_by_id": None, "recorded_by_name": "検査会社", "superseded_at": None, "retracted": False,
            "change_reason": ""}


@pytest.fixture
def keys(session):
    """Clinic A's patient with an order and a message; another patient of A, and clinic B, with theirs."""
    desk = make_desk(session)
    clinic, patient = desk["clinic"], desk["patient"]
    other = make_patient(session, clinic, name="佐藤 花子", kana="サトウ ハナコ", birth_date=date(1970, 1, 1), sex="F")
    clinic_b = make_clinic(session, institution_code="1312345679")
    patient_b = make_patient(session, clinic_b, name="鈴木 一郎", kana="スズキ イチロウ", birth_date=date(1960, 1, 1))
    keys = {"clinic": clinic, "patient": patient, "order": _order(session, desk, patient),
            "message": _message(session, clinic.id, patient.id, "a"),
            "other_order": _order(session, desk, other), "other_message": _message(session, clinic.id, other.id, "b"),
            "b_message": _message(session, clinic_b.id, patient_b.id, "c")}
    session.commit()
    return keys


def _insert(session, rows: list[dict]) -> None:
    session.execute(insert(LabResult), rows)
    session.commit()


def test_results_with_their_own_message_and_order_are_kept(session, keys):
    clinic, patient = keys["clinic"].id, keys["patient"].id
    _insert(session, [_row(clinic, patient, keys["message"].id, keys["order"].id, n) for n in range(3)])

    assert session.scalar(select(func.count()).select_from(LabResult)) == 3


@pytest.mark.parametrize("wrong", ["another patient's order", "another patient's message", "another clinic's message",
                                   "an order that does not exist"])
def test_a_result_with_a_wrong_key_refuses_the_whole_statement(session, keys, wrong):
    clinic, patient = keys["clinic"].id, keys["patient"].id
    message, order = keys["message"].id, keys["order"].id
    bad = {"another patient's order": {"order_id": keys["other_order"].id},
           "another patient's message": {"message_id": keys["other_message"].id},
           "another clinic's message": {"message_id": keys["b_message"].id},
           "an order that does not exist": {"order_id": 987_654}}[wrong]
    rows = [_row(clinic, patient, message, order, n) for n in range(3)]
    rows[1].update(bad)

    with pytest.raises(IntegrityError) as refused:
        _insert(session, rows)

    session.rollback()
    if session.get_bind().dialect.name == "postgresql":  # SQLite does not name the key it found broken
        assert "violates foreign key constraint \"fk_lab_result_" in str(refused.value)
    assert session.scalar(select(func.count()).select_from(LabResult)) == 0


def test_a_result_cannot_be_moved_to_another_patients_order(session, keys):
    clinic, patient = keys["clinic"].id, keys["patient"].id
    _insert(session, [_row(clinic, patient, keys["message"].id, keys["order"].id, 1)])

    with pytest.raises(IntegrityError):
        session.execute(update(LabResult).values(order_id=keys["other_order"].id))
        session.commit()
    session.rollback()


def test_a_message_or_order_with_results_can_be_neither_deleted_nor_given_another_patient(session, keys):
    clinic, patient = keys["clinic"].id, keys["patient"].id
    message, order = keys["message"].id, keys["order"].id
    _insert(session, [_row(clinic, patient, message, order, 1)])

    other = keys["other_order"].patient_id
    for statement in (delete(LabMessage).where(LabMessage.id == message),
                      update(LabMessage).where(LabMessage.id == message).values(patient_id=other),
                      update(LabOrder).where(LabOrder.id == order).values(patient_id=other)):
        with pytest.raises(IntegrityError):
            session.execute(statement)
            session.commit()
        session.rollback()
    # A message nothing refers to may still be changed (an import sets the patient of a message it stored).
    session.execute(update(LabMessage).where(LabMessage.id == keys["other_message"].id).values(status="failed"))
    session.commit()
    assert session.get(LabMessage, message).patient_id == patient
