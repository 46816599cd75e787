"""The whole record behind a resource, carried in an extension of our own (systems.RECORD_EXTENSION), so that an
export read back by Kamikarte loses nothing FHIR has no element for (a diagnosis' modifiers, who recorded a
version and why, a prescription's checks …). Other systems read the standard elements and may ignore it.

What it holds: every column but the row's own id, clinic and patient (the resource's id and subject say those);
staff accounts (not exported: the names recorded beside them travel) and lab messages are left out; a column
naming another exported row holds that row's resource id, and the import maps it to the new row."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, LargeBinary, Numeric

from app.db import UTCDateTime
from app.fhir.kinds import Kind, rid
from app.labs.models import LabOrder, LabSpecimen
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from app.sharing.fhir import systems as S

#: Columns never carried: the row's place (id, clinic, patient), staff accounts, lab messages, stored bytes
#: (a key image's travel as a file of their own).
SKIPPED = frozenset({"id", "clinic_id", "patient_id", "recorded_by_id", "author_id", "doctor_id", "ordered_by_id",
                     "message_id", "destination_id", "image_bytes", "prescription_id", "rp_id"})
#: Children written inside their parent's record: relationship → (model, the child's foreign key).
CHILDREN = {Prescription: (("rps", PrescriptionRp, "prescription_id"),),
            PrescriptionRp: (("lines", PrescriptionLine, "rp_id"),),
            LabOrder: (("specimens", LabSpecimen, "order_id"),)}


class RecordError(ValueError):
    """A record in an export that cannot be read back (named, in Japanese)."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@lru_cache(maxsize=64)
def _carried(model: Any) -> tuple[str, ...]:
    """The columns of a model a record carries."""
    return tuple(c.key for c in model.__table__.columns
                 if c.key not in SKIPPED and not (c.key == "order_id" and model is LabSpecimen))


def row_values(model: Any, row: Any, refs: dict[str, str]) -> dict[str, Any]:
    """A row's carried columns as JSON values (references as resource ids), children included."""
    values: dict[str, Any] = {}
    for name in _carried(model):
        value = getattr(row, name)
        if value is None:
            pass
        elif name == "lineage_id":
            value = rid(refs["lineage_id"], value)
        elif name in refs:
            value = [rid(refs[name], v) for v in value] if isinstance(value, list) else rid(refs[name], value)
        elif isinstance(value, datetime | date | Decimal):
            value = _plain(value)
        values[name] = value
    for relation, child_model, _fk in CHILDREN.get(model, ()):
        values[relation] = [row_values(child_model, child, {}) for child in getattr(row, relation)]
    return values


def record_extension(kind: Kind, row: Any) -> dict[str, Any]:
    """The extension holding a row's record."""
    refs = {**dict(kind.refs), "lineage_id": kind.prefix}
    record = {"table": kind.model.__tablename__, "row": row_values(kind.model, row, refs)}
    return {"url": S.RECORD_EXTENSION,
            "valueString": json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))}


def with_record(kind: Kind, row: Any, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources of a row, the first carrying the record (a prescription's lines share one)."""
    if resources and kind.primary:
        first = resources[0]
        first["extension"] = [*first.get("extension", []), record_extension(kind, row)]
    return resources


def read_record(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The record a resource carries ({"table", "row"}), or None (a derived resource)."""
    for extension in resource.get("extension") or []:
        if extension.get("url") == S.RECORD_EXTENSION:
            try:
                record = json.loads(extension.get("valueString") or "")
            except ValueError as exc:
                raise RecordError(f"{resource.get('id', '?')}: 記録の拡張が JSON ではありません") from exc
            if not isinstance(record, dict) or not isinstance(record.get("row"), dict):
                raise RecordError(f"{resource.get('id', '?')}: 記録の拡張の形が正しくありません")
            return record
    return None


def _typed(column: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if isinstance(column.type, Numeric) and not isinstance(value, int | float):
        return Decimal(value)
    if isinstance(column.type, LargeBinary):
        raise RecordError("バイト列の列は記録に含められません")
    return value


def build_row(model: Any, values: dict[str, Any], resolve: Any, **fixed: Any) -> Any:
    """A new row (not added) from carried values; `resolve(prefix_ref)` maps a resource id to the new row id
    (lineage is left to the caller when it names the row itself). Unknown columns are refused."""
    columns = {c.key: c for c in model.__table__.columns}
    relations = {name: (child_model, fk) for name, child_model, fk in CHILDREN.get(model, ())}
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name in relations:
            child_model, _fk = relations[name]
            kwargs[name] = [build_row(child_model, child, resolve, **fixed) for child in value or []]
        elif name not in columns or name in SKIPPED:
            raise RecordError(f"{model.__tablename__}: 未知の列 {name}")
        elif isinstance(value, str) and name in _REF_COLUMNS:
            kwargs[name] = resolve(value)
        elif isinstance(value, list) and name in _REF_COLUMNS:
            kwargs[name] = [resolve(v) for v in value]
        else:
            kwargs[name] = _typed(columns[name], value)
    return model(**kwargs, **{k: v for k, v in fixed.items() if k in columns})


#: Columns that hold a resource id in a record (mapped to the new row's id on import).
_REF_COLUMNS = frozenset({"lineage_id", "order_id", "replaces_id", "visit_id", "key_image_ids"})
