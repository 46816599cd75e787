"""A file drop of many messages is imported in groups (one transaction each): the result is the same as one message
at a time — a correction right after its final finds the version it replaces, a control id seen earlier in the drop
is a duplicate, a refused message stays refused alone, and a message the database refuses fails alone while the
others of its group are imported."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.core.audit import Actor
from app.labs import services as labs
from app.labs.hl7 import split_message
from app.labs.importer import import_messages
from app.labs.masters import ItemMaster
from app.labs.models import LabItem, LabMessage, LabOrder, LabResult
from tests.factories import make_patient
from tests.helpers import counted_statements
from tests.labs.helpers import make_desk, panel_message

PANEL = ["K0101", "K0102", "K0103"]


def _orders(session, desk, count: int) -> list[LabOrder]:
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id)
    orders = [labs.create_order(session, desk["clinic"], actor, desk["patient"], labs.OrderInput(lab_codes=PANEL))
              for _ in range(count)]
    session.commit()
    return orders


def _drop(session, desk, orders: list[LabOrder]) -> list[tuple[bytes, str]]:
    """Finals for every order with, right after the second, a correction of its first item (in the same group of
    two-and-more), then a re-sent message under an earlier control id and a result for a specimen the clinic never
    ordered."""
    items = [session.get(LabItem, code) for code in PANEL]
    patient = desk["patient"].orca_patient_id
    day = date.today() - timedelta(days=1)
    drop = [panel_message(patient, order.specimens[0].specimen_number, items, f"F{n:04d}", day)
            for n, order in enumerate(orders)]
    drop.insert(2, panel_message(patient, orders[1].specimens[0].specimen_number, items[:1], "C0001", day,
                                 value="99.9", status="C"))
    drop.append(panel_message(patient, orders[2].specimens[0].specimen_number, items, "F0002", day, value="1.0"))
    drop.append(panel_message(patient, "9999999999", items, "X0001", day))
    return [(data, f"drop-{n}.hl7") for n, data in enumerate(drop)]


def test_a_drop_written_in_groups_imports_as_message_by_message(session):
    desk = make_desk(session)
    orders = _orders(session, desk, 5)

    outcomes = import_messages(session, desk["clinic"].id, _drop(session, desk, orders), source="file", group_size=3)

    assert [o.status for o in outcomes] == ["imported"] * 6 + ["duplicate", "failed"]
    assert "9999999999" in outcomes[-1].error and b"MSA|AE|" in outcomes[-1].ack
    session.expire_all()
    corrected = list(session.scalars(select(LabResult).where(
        LabResult.specimen_number == orders[1].specimens[0].specimen_number, LabResult.lab_code == "K0101")
        .order_by(LabResult.version)))
    assert [(r.value, r.result_status, r.version, r.superseded_at is None) for r in corrected] == [
        ("11.1", "F", 1, False), ("99.9", "C", 2, True)]
    assert corrected[1].lineage_id == corrected[0].id
    # The re-sent control id F0002 (other values) added nothing: order 2 keeps its first report.
    second = session.scalars(select(LabResult.value).where(
        LabResult.specimen_number == orders[2].specimens[0].specimen_number)).all()
    assert sorted(second) == ["11.1", "12.2", "13.3"]
    assert len(session.scalars(select(LabResult)).all()) == 5 * 3 + 1
    assert {o.status for o in session.scalars(select(LabOrder))} == {"complete"}
    states = dict(session.execute(select(LabMessage.filename, LabMessage.status)).all())
    assert states["drop-6.hl7"] == "duplicate" and states["drop-7.hl7"] == "failed"


def test_a_message_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_imported(session):
    desk = make_desk(session)
    orders = _orders(session, desk, 5)
    # The order of the fourth message now belongs to another patient while its specimen still names ours: the
    # message passes every check, and the database refuses its results (their order key names the wrong patient).
    other = make_patient(session, desk["clinic"], name="佐藤 花子", kana="サトウ ハナコ", birth_date=date(1970, 1, 1))
    session.execute(update(LabOrder).where(LabOrder.id == orders[3].id).values(patient_id=other.id))
    session.commit()
    drop = [payload for n, payload in enumerate(_drop(session, desk, orders)[:6]) if n != 2]  # the finals only

    outcomes = import_messages(session, desk["clinic"].id, drop, source="file", group_size=5)

    assert [o.status for o in outcomes] == ["imported", "imported", "imported", "failed", "imported"]
    assert "データベースが受け付けませんでした" in outcomes[3].error and b"MSA|AE|" in outcomes[3].ack
    session.expire_all()
    poisoned = orders[3].specimens[0].specimen_number
    numbers = {r.specimen_number for r in session.scalars(select(LabResult))}
    assert numbers == {o.specimens[0].specimen_number for o in orders} - {poisoned}
    failed = session.scalar(select(LabMessage).where(LabMessage.raw == drop[3][0]))
    assert (failed.status, failed.patient_id, failed.result_count) == ("failed", None, 0)
    assert session.get(LabOrder, orders[2].id).status == "complete"
    assert session.get(LabOrder, orders[3].id).status == "queued"


def test_order_states_follow_each_specimen_reported_within_and_across_drops(session):
    """An order of three containers: two reported in one group leave it partial, the third in a later drop
    completes it — worked out from what the import wrote, with no result read back."""
    desk = make_desk(session)
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id)
    order = labs.create_order(session, desk["clinic"], actor, desk["patient"],
                              labs.OrderInput(set_codes=["S001", "S004"]))
    session.commit()
    assert len(order.specimens) == 3
    patient, day = desk["patient"].orca_patient_id, date.today() - timedelta(days=1)

    def report(specimen, control: str) -> tuple[bytes, str]:
        items = [session.get(LabItem, item["lab_code"]) for item in specimen.items]
        return panel_message(patient, specimen.specimen_number, items, control, day), f"{control}.hl7"

    first = import_messages(session, desk["clinic"].id, [report(order.specimens[0], "A1"),
                                                         report(order.specimens[1], "A2")], source="file")
    assert [o.status for o in first] == ["imported", "imported"]
    session.expire_all()
    assert session.get(LabOrder, order.id).status == "partial"

    import_messages(session, desk["clinic"].id, [report(order.specimens[2], "B1")], source="file")
    session.expire_all()
    assert session.get(LabOrder, order.id).status == "complete"


def test_when_the_raw_messages_cannot_be_stored_nothing_is_imported_and_the_error_is_raised(session):
    """Raw messages are stored before anything else: if the database refuses them (here: a clinic that does not
    exist), no result is written and the caller gets the error."""
    desk = make_desk(session)
    orders = _orders(session, desk, 5)
    drop = [payload for n, payload in enumerate(_drop(session, desk, orders)[:6]) if n != 2]

    with pytest.raises(IntegrityError):
        import_messages(session, 987_654, drop, source="file", group_size=2)

    session.rollback()
    assert session.scalars(select(LabMessage)).all() == []
    assert session.scalars(select(LabResult)).all() == []


def test_a_group_is_read_and_written_in_as_many_statements_however_many_messages_it_holds(app, session):
    """What a group needs is read once for the group and its results inserted in one statement: a group of nine
    messages takes no more statements than a group of three (the raw messages stored first aside: SQLite hands
    back a new row's id one INSERT at a time)."""
    desk = make_desk(session)
    orders = _orders(session, desk, 12)
    finals = [payload for n, payload in enumerate(_drop(session, desk, orders)) if n != 2][:12]
    engine = app.extensions["db_engine"]

    def statements_to_import(drop: list[tuple[bytes, str]]) -> int:
        with counted_statements(engine) as statements:
            outcomes = import_messages(session, desk["clinic"].id, drop, source="file")
        assert [o.status for o in outcomes] == ["imported"] * len(drop)
        return len([s for s in statements if not s.startswith("INSERT INTO lab_message ")])

    assert statements_to_import(finals[:3]) == statements_to_import(finals[3:12])
    assert len(session.scalars(select(LabResult)).all()) == 12 * 3


def test_an_import_reads_only_the_master_items_its_messages_name(app, session):
    """A pushed message reads the few items it names (one IN query), not the whole master; a code the master holds
    only with another method (the last five characters) still finds the one item of that analyte and material,
    and a code of no item is not found."""
    desk = make_desk(session)
    items = [session.get(LabItem, code) for code in PANEL]
    assert session.scalar(select(func.count()).select_from(LabItem)) > 3 * len(PANEL)
    message = split_message(panel_message(desk["patient"].orca_patient_id, "1234567890", items, "M0001",
                                          date.today()))
    master = ItemMaster(session)
    master.preload([message])
    assert set(master.by_lab_code) == set(PANEL)
    other_method = items[0].jlac10[:12] + ("00000" if items[0].jlac10[12:] != "00000" else "99999")
    assert master.find_code([other_method, "", "JC10"]) is items[0]
    assert master.find_code(["ZZZZZZZZZZZZZZZZZ", "", "JC10"]) is None
    assert master.find_code(["", "", "", PANEL[1], "", "99LAB"]) is items[1]
