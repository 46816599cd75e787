"""Read and search of the /fhir facade: one clinic's records as JP Core resources (the catalog of app/fhir/kinds.py,
built by the one mapping in app/sharing/fhir). Only current versions are served. Search parameters: `_id`,
`patient` (or `subject`), `_lastUpdated`, `date`, `code`, `category`, `status` where they apply (the
CapabilityStatement lists them per type), `_count` with a next link; an unknown parameter or a malformed value is a
SearchError (answered as OperationOutcome)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Date, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from app.core.timeutil import JST
from app.diagnoses.models import Diagnosis
from app.fhir.kinds import FACADE_TYPES, MAX_ID, Kind, kinds_of, load_env, options_for, split_id
from app.labs.models import LabOrder, LabResult
from app.patients.models import Patient
from app.patients.profile_models import Allergy, Contraindication
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import Visit
from app.sharing.fhir import clinical
from app.sharing.fhir import systems as S

DEFAULT_COUNT, MAX_COUNT = 50, 200
#: Parameters every type takes; and those of one type beyond them.
COMMON = ("_id", "_lastUpdated", "_count", "_page")
PARAMETERS: dict[str, tuple[str, ...]] = {
    "Patient": ("birthdate",),
    "Encounter": ("patient", "subject", "date", "status"),
    "Condition": ("patient", "subject", "code", "category", "clinical-status"),
    "AllergyIntolerance": ("patient", "code"),
    "Observation": ("patient", "subject", "date", "code", "category"),
    "MedicationRequest": ("patient", "subject", "code", "status", "authoredon"),
    "ServiceRequest": ("patient", "subject", "status", "authored"),
    "DiagnosticReport": ("patient", "subject", "date"),
    "DocumentReference": ("patient", "subject", "date"),
    "ImagingStudy": ("patient", "subject", "started"),
}
#: Which date parameter reads the kind's date column.
DATE_PARAMETERS = ("date", "birthdate", "authoredon", "authored", "started")
#: Categories → the kinds they select.
CATEGORIES = {"laboratory": {"lab", "inf"}, "vital-signs": {"vs"}, "encounter-diagnosis": {"dx"},
              "problem-list-item": {"hx"}}
#: Kinds whose resources have no category the search could match.
UNCATEGORISED = {"bt", "dis", "care", "preg"}


class SearchError(ValueError):
    """A request the facade cannot answer: `status` (400, 404) and a Japanese message."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


@dataclass
class Found:
    """Resources found, the patients they are about (for the access log), and the next page's token."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    patient_ids: set[int] = field(default_factory=set)
    total: int = 0
    next_page: str | None = None


def _column(kind: Kind, name: str) -> Any:
    return getattr(kind.model, name)


def _moment(value: str) -> tuple[datetime, datetime]:
    """The span a FHIR date or dateTime value covers (a day, or an instant)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(0), tzinfo=JST)
            return start, start + timedelta(days=1)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"日付の形式が正しくありません: {value}（例: 2026-11-20 または 2026-11-20T09:00:00+09:00）"
                          ) from exc
    if moment.tzinfo is None:
        raise SearchError(f"時刻にはタイムゾーンが必要です: {value}")
    return moment, moment


def _date_condition(column: Any, raw: str) -> Any:
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in ("eq", "ne", "gt", "lt", "ge", "le") else ("eq", raw)
    start, end = _moment(value)
    is_day = isinstance(column.type, Date)
    low, high = (start.astimezone(JST).date(), (end - timedelta(microseconds=1)).astimezone(JST).date()) \
        if is_day else (start, end)
    if prefix == "eq":
        return column.between(low, high) if is_day else (
            and_(column >= low, column < high) if high > low else column == low)
    if prefix == "ne":
        return ~(column.between(low, high)) if is_day else (column != low)
    return {"gt": column > high if is_day else column >= high, "ge": column >= low, "lt": column < low,
            "le": column <= high if is_day else column < high}[prefix]


def _token(raw: str) -> tuple[str | None, str]:
    system, bar, code = raw.partition("|")
    return (system or None, code) if bar else (None, raw)


def _code_condition(kind: Kind, raw: str) -> Any | None:
    """The condition `code` puts on a kind, or None when the kind cannot match (left out)."""
    system, code = _token(raw)
    model = kind.model
    if model is Diagnosis:
        if system in (None, S.ICD10):
            return model.icd10 == code.replace(".", "")
        return None
    if model is LabResult:
        if system in (None, S.JLAC10, S.JLAC10_CORE):
            return model.jlac10 == code if system else (model.jlac10 == code) | (model.lab_code == code)
        return model.lab_code == code if system == S.LAB_LOCAL else None
    if kind.prefix == "vs":
        return True if system in (None, S.LOINC) and code == clinical.VITAL_PANEL[0] else None
    if model in (Allergy, Contraindication):
        return model.drug_yj_code == code if system in (None, S.YJ) else None
    if model is Prescription:
        column = {None: PrescriptionLine.yj_code, S.YJ: PrescriptionLine.yj_code,
                  S.GENERAL_NAME: PrescriptionLine.generic_code}.get(system)
        if column is None:
            return None
        return exists().where(PrescriptionRp.prescription_id == model.id, PrescriptionLine.rp_id == PrescriptionRp.id,
                              column == code)
    return None


def _status_condition(kind: Kind, name: str, value: str) -> Any | None:
    model = kind.model
    if model is Visit:
        states = [k for k, v in clinical.ENCOUNTER_STATUS.items() if v == value]
    elif model is LabOrder:
        states = [k for k, v in clinical.ORDER_STATUS.items() if v == value]
    elif model is Prescription:
        states = {"active": ["issued"], "cancelled": ["cancelled"]}.get(value, [])
    elif model is Diagnosis and name == "clinical-status":
        from_status = {"active": ["continuing"], "resolved": ["cured"],
                       "inactive": ["died", "discontinued", "transferred"]}
        return model.outcome.in_(from_status.get(value, []))
    else:
        return None
    return model.status.in_(states)


def _conditions(kind: Kind, params: dict[str, list[str]]) -> list[Any] | None:
    """The kind's WHERE conditions for the parameters, or None when the kind is left out entirely."""
    model = kind.model
    where: list[Any] = []
    for value in params.get("_id", []):
        found = split_id(value)
        if found is None or found[0].prefix != kind.prefix:
            return None
        where.append(model.id == found[1])
    for name in ("patient", "subject"):
        for value in params.get(name, []):
            found = split_id(value.removeprefix("Patient/"))
            if found is None or found[0].prefix != "pt":
                raise SearchError(f"{name} は Patient/pt-番号 の形で指定してください: {value}")
            where.append(model.patient_id == found[1])
    for value in params.get("_lastUpdated", []):
        where.append(_date_condition(_column(kind, kind.updated), value))
    for name in DATE_PARAMETERS:
        for value in params.get(name, []):
            where.append(_date_condition(_column(kind, kind.date), value))
    for value in params.get("code", []):
        condition = _code_condition(kind, value)
        if condition is None:
            return None
        if condition is not True:
            where.append(condition)
    for value in params.get("category", []):
        _system, code = _token(value)
        if kind.prefix in UNCATEGORISED or kind.prefix not in CATEGORIES.get(code, {kind.prefix}):
            return None
    for name in ("status", "clinical-status"):
        for value in params.get(name, []):
            condition = _status_condition(kind, name, value)
            if condition is None:
                return None
            where.append(condition)
    return where


def _base_query(kind: Kind, clinic_id: Any) -> Any:
    model = kind.model
    query = select(model).where(model.clinic_id == clinic_id)
    if kind.versioned:
        query = query.where(model.superseded_at.is_(None), model.retracted.is_(False))
    if kind.prefix == "report":
        query = query.where(exists().where(LabResult.order_id == LabOrder.id, LabResult.clinic_id == clinic_id,
                                           LabResult.superseded_at.is_(None)))
    return query


def parse(resource_type: str, args: Iterable[tuple[str, str]]) -> tuple[dict[str, list[str]], int]:
    """The search parameters (unknown ones refused) and _count."""
    if resource_type not in FACADE_TYPES:
        raise SearchError(f"{resource_type} はこのサーバーにありません", 404, "not-supported")
    allowed = set(COMMON) | set(PARAMETERS[resource_type])
    params: dict[str, list[str]] = {}
    for name, value in args:
        if name not in allowed:
            raise SearchError(f"{resource_type} では検索パラメータ {name} を使えません"
                              f"（使えるもの: {', '.join(sorted(allowed))}）", code="not-supported")
        params.setdefault(name, []).append(value)
    raw = (params.get("_count") or [str(DEFAULT_COUNT)])[-1]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_COUNT:
        raise SearchError(f"_count は 1 から {MAX_COUNT} までの整数で指定してください: {raw}")
    return params, int(raw)


def search(session: Session, clinic: Any, resource_type: str, args: Iterable[tuple[str, str]]) -> Found:
    """One page of a search (kinds in catalog order, each by id; the page token is kind index + last id)."""
    params, count = parse(resource_type, args)
    kinds = [k for k in kinds_of(resource_type)]
    start_kind, after = 0, 0
    if params.get("_page"):
        token = params["_page"][-1].split(".")
        if (len(token) != 2 or not all(p.isdigit() and len(p) <= 10 for p in token) or int(token[0]) >= len(kinds)
                or int(token[1]) > MAX_ID):
            raise SearchError(f"_page が正しくありません: {params['_page'][-1]}")
        start_kind, after = int(token[0]), int(token[1])
    found = Found()
    rows: list[tuple[Kind, Any]] = []
    for index, kind in enumerate(kinds):
        where = _conditions(kind, params)
        if where is None:
            continue
        query = _base_query(kind, clinic.id).where(*where)
        found.total += session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if index < start_kind or len(rows) > count:
            continue
        if index == start_kind and after:
            query = query.where(kind.model.id > after)
        taken = list(session.scalars(query.order_by(kind.model.id).limit(count + 1 - len(rows))
                                     .options(*options_for(kind))))
        rows += [(kind, row) for row in taken]
    if len(rows) > count:
        kind, row = rows[count - 1]
        found.next_page = f"{kinds.index(kind)}.{row.id}"
        rows = rows[:count]
    env = load_env(session, clinic, [row for _kind, row in rows])
    for kind, row in rows:
        found.resources += kind.build(row, env)
        found.patient_ids.add(row.id if isinstance(row, Patient) else row.patient_id)
    return found


def read(session: Session, clinic: Any, resource_type: str, resource_id: str) -> tuple[dict[str, Any], int]:
    """One resource by id and the patient it is about; SearchError 404 for an id of another type, another
    clinic, a version no longer current, or none at all."""
    if resource_type not in FACADE_TYPES:
        raise SearchError(f"{resource_type} はこのサーバーにありません", 404, "not-supported")
    found = split_id(resource_id)
    missing = SearchError(f"{resource_type}/{resource_id} はありません", 404, "not-found")
    if found is None or found[0].resource_type != resource_type:
        raise missing
    kind, row_id = found
    row = session.scalars(_read_statement(kind), {"clinic_id": clinic.id, "row_id": row_id}).first()
    if row is None:
        raise missing
    resources = [r for r in kind.build(row, load_env(session, clinic, [row])) if r["id"] == resource_id]
    if not resources:
        raise missing
    return resources[0], row.id if isinstance(row, Patient) else row.patient_id


@cache
def _read_statement(kind: Kind) -> Any:
    """The read of one row of a kind by clinic and id, built once per kind (every read of the facade runs one)."""
    clinic_id = bindparam("clinic_id")
    return (_base_query(kind, clinic_id).where(kind.model.id == bindparam("row_id"))
            .options(*options_for(kind)))


def next_link(base: str, resource_type: str, args: Iterable[tuple[str, str]], page: str) -> str:
    """The URL of the next page: the same parameters with _page."""
    kept = [(k, v) for k, v in args if k != "_page"] + [("_page", page)]
    return f"{base}/{resource_type}?{urlencode(kept)}"
