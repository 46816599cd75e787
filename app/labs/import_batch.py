"""What a result import reads from the database, read once for all its messages: the lab-item master
(ItemMaster) and a Batch of patients, orders, specimens and current results, kept up to date with what the import
writes (app.labs.importer and app.labs.import_writing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from app.db import among, scoped
from app.labs.models import LabItem, LabOrder, LabResult, LabSpecimen
from app.patients.models import Patient

#: Result states that count as reported (final, corrected) when an order's state is worked out.
FINAL = frozenset({"F", "C"})


@dataclass(frozen=True, slots=True)
class _Item:
    """A master item as plain values (read thousands of times an import: no ORM attribute machinery)."""

    lab_code: str
    jlac10: str
    name: str
    unit: str
    ref_male: str
    ref_female: str

    def reference_for(self, sex: str) -> str:
        """The reference range for a patient's sex."""
        return self.ref_female if sex == "F" else self.ref_male


@dataclass(frozen=True, slots=True)
class SpecimenRecord:
    """A specimen as an import needs it: its number, order, patient and the lab codes of its tests (read for
    thousands of specimens an import: plain values, not ORM objects)."""

    specimen_number: str
    order_id: int
    patient_id: int
    lab_codes: tuple[str, ...]


class ItemMaster:
    """The lab-item master, read once per import and kept for the next messages."""

    def __init__(self, session: Session) -> None:
        items = [_Item(i.lab_code, i.jlac10, i.name, i.unit, i.ref_male, i.ref_female)
                 for i in session.scalars(select(LabItem))]
        self.by_lab_code = {i.lab_code: i for i in items}
        self.by_jlac10 = {i.jlac10: i for i in items}
        self.by_prefix: dict[str, list[_Item]] = {}
        #: What the reading of results remembers about field texts read against this master
        #: (app.labs.result_reading).
        self.remembered: dict[Any, Any] = {}
        for item in items:
            self.by_prefix.setdefault(item.jlac10[:12], []).append(item)

    def find_code(self, parts: list[str]) -> _Item | None:
        """The master item OBX-3 (split into its unescaped components) names: JLAC10, else the lab's local code,
        else the one item with the same analyte, identification and material (lab.md's fallback when only the method
        differs)."""
        code, system = parts[0], parts[2] if len(parts) > 2 else ""
        alt_code = parts[3] if len(parts) > 3 else ""
        alt_system = parts[5] if len(parts) > 5 else ""
        if system in ("JC10", "JC11") or len(code) == 17:
            item = self.by_jlac10.get(code)
            if item:
                return item
        for local, local_system in ((code, system), (alt_code, alt_system)):
            if local and local_system.startswith("99") and local in self.by_lab_code:
                return self.by_lab_code[local]
        if len(code) == 17:
            candidates = self.by_prefix.get(code[:12], [])
            if len(candidates) == 1:
                return candidates[0]
        return None


class Batch:
    """What the messages of one import read from the database, read once: patients, specimens with the other
    specimens of their orders, orders, and the current result of each (specimen, item, sub-ID) of those specimens.
    Kept up to date with what the import writes (remember), so that order states and corrections are worked out
    here instead of being read back from the table just written."""

    def __init__(self, session: Session, clinic_id: int, master: ItemMaster) -> None:
        self.session, self.clinic_id, self.master = session, clinic_id, master
        self.forget()

    def forget(self) -> None:
        """Drop everything read or remembered (after a rolled-back group: read again from the database)."""
        self.patients: dict[str, Patient | None] = {}
        self.specimens: dict[str, SpecimenRecord] = {}
        self.orders: dict[str, LabOrder | None] = {}
        self.order_specimens: dict[int, list[SpecimenRecord]] = {}
        self._lab_codes: dict[str, tuple[str, ...]] = {}  # the lab codes of each specimen's tests, by their JSON
        self.current: dict[tuple[str, str, str], tuple] = {}
        #: The sub-IDs with a current result, per (specimen number, lab code).
        self.sub_ids: dict[tuple[str, str], set[str]] = {}
        self.loaded_numbers: set[str] = set()

    def patient(self, orca_id: str) -> Patient | None:
        """The clinic's patient with this ORCA number."""
        if orca_id not in self.patients:
            self.patients[orca_id] = self.session.scalar(
                scoped(Patient, self.clinic_id).where(Patient.orca_patient_id == orca_id))
        return self.patients[orca_id]

    def order(self, number: str) -> LabOrder | None:
        """The clinic's order with this placer number (its specimens and their results read with it)."""
        if number not in self.orders:
            order = self.orders[number] = self.session.scalar(
                scoped(LabOrder, self.clinic_id).where(LabOrder.order_number == number))
            if order is not None:
                self._read_specimens(LabSpecimen.order_id == order.id)
        return self.orders[number]

    def preload(self, numbers: set[str]) -> None:
        """Read the specimens with these numbers, the other specimens of their orders, and the current results of
        all of them (a query for each 500 numbers)."""
        wanted = sorted(n for n in numbers if n and n not in self.loaded_numbers)
        for start in range(0, len(wanted), 500):
            self._read_specimens(LabSpecimen.order_id.in_(
                select(LabSpecimen.order_id).where(LabSpecimen.clinic_id == self.clinic_id, among(
                    self.session, LabSpecimen.specimen_number, wanted[start:start + 500]))))
        self.loaded_numbers.update(wanted)  # the numbers not found are known not to exist

    def _read_specimens(self, where: Any) -> None:
        """Read the clinic's specimens matching `where` that are not read yet, and their current results."""
        new = []
        # The tests are read as JSON text and decoded once per distinct text: the specimens of an order set share
        # the same list, and decoding each one's costs more than reading it.
        for number, order_id, patient_id, items_text in self.session.execute(
                select(LabSpecimen.specimen_number, LabSpecimen.order_id, LabSpecimen.patient_id,
                       cast(LabSpecimen.items, Text)).where(LabSpecimen.clinic_id == self.clinic_id, where)):
            if number in self.loaded_numbers or number in self.specimens:
                continue
            lab_codes = self._lab_codes.get(items_text)
            if lab_codes is None:
                lab_codes = self._lab_codes[items_text] = tuple(i["lab_code"] for i in json.loads(items_text))
            specimen = SpecimenRecord(number, order_id, patient_id, lab_codes)
            self.specimens[number] = specimen
            self.order_specimens.setdefault(order_id, []).append(specimen)
            new.append(number)
        new.sort()
        for start in range(0, len(new), 500):
            for row in self.session.execute(select(
                    LabResult.specimen_number, LabResult.lab_code, LabResult.sub_id, LabResult.id, LabResult.version,
                    LabResult.lineage_id, LabResult.value, LabResult.result_status, LabResult.flag, LabResult.comment)
                    .where(LabResult.clinic_id == self.clinic_id, LabResult.superseded_at.is_(None),
                           LabResult.specimen_number.in_(new[start:start + 500]))):
                self._set_current(row[0], row[1], row[2], tuple(row[3:]))
        self.loaded_numbers.update(new)

    def _set_current(self, number: str, lab_code: str, sub_id: str, values: tuple) -> None:
        self.current[(number, lab_code, sub_id)] = values
        self.sub_ids.setdefault((number, lab_code), set()).add(sub_id)

    def specimen(self, number: str) -> SpecimenRecord | None:
        """The clinic's specimen with this number."""
        if number not in self.loaded_numbers:
            self.preload({number})
        return self.specimens.get(number)

    def remember(self, rows: list[dict[str, Any]]) -> None:
        """Result rows about to be written become the current ones of their (specimen, item, sub-ID)."""
        current, sub_ids = self.current, self.sub_ids
        for row in rows:
            number, lab_code, sub_id = row["specimen_number"], row["lab_code"], row["sub_id"]
            current[(number, lab_code, sub_id)] = (row["id"], row["version"], row["lineage_id"], row["value"],
                                                   row["result_status"], row["flag"], row["comment"])
            subs = sub_ids.get((number, lab_code))
            if subs is None:
                sub_ids[(number, lab_code)] = {sub_id}
            else:
                subs.add(sub_id)

    def order_states(self, order_ids: set[int], new_rows: list[dict[str, Any]]) -> dict[int, str]:
        """complete or partial for each of these orders once `new_rows` are written: complete when every test of
        every specimen of the order has a current final (F) or corrected (C) result."""
        final_now = {(row["specimen_number"], row["lab_code"]) for row in new_rows if row["result_status"] in FINAL}
        replaced = {(row["specimen_number"], row["lab_code"], row["sub_id"]) for row in new_rows}

        def reported(number: str, lab_code: str) -> bool:  # runs for every test of every order touched
            if (number, lab_code) in final_now:
                return True
            return any((number, lab_code, sub) not in replaced and self.current[(number, lab_code, sub)][4] in FINAL
                       for sub in self.sub_ids.get((number, lab_code), ()))

        return {order_id: "complete" if all(reported(s.specimen_number, lab_code)
                                            for s in self.order_specimens.get(order_id, ()) for lab_code in s.lab_codes)
                else "partial" for order_id in order_ids}
