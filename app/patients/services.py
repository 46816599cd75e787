"""Patient search (as clerks type) and the patient master kept in step with ORCA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from app.core.audit import Actor, record_audit, summarize_change
from app.core.jp import WarekiError, name_search_key, parse_date, parse_era_year, strip_control_chars
from app.db import scoped, utcnow
from app.patients.models import SEX_LABELS, Patient

MAX_QUERY_LENGTH = 100
SEARCH_LIMIT = 50
_SEX_WORDS = {"男": "M", "男性": "M", "女": "F", "女性": "F"}


@dataclass(frozen=True)
class SearchQuery:
    """What a typed search string means: a name key, an ID, a birth date, a sex."""

    name_key: str = ""
    number: str = ""
    birth_date: date | None = None
    #: An era year alone (S58, 平成元): the first and last day of that year of the era.
    born_between: tuple[date, date] | None = None
    sex: str | None = None
    message: str = ""


def parse_search(text: str) -> SearchQuery:
    """Read a clerk's search string: name (any kana form, 異体字), ORCA/Kamikarte number, birth date, an era year
    alone (S58, 昭和58, 平成元: born in that year), sex."""
    # Control characters (NUL and friends) are never part of a name; PostgreSQL refuses NUL outright.
    text = strip_control_chars(text).strip()
    if len(text) > MAX_QUERY_LENGTH:
        return SearchQuery(message=f"検索語が長すぎます（{MAX_QUERY_LENGTH}文字以内で入力してください）")
    tokens = [t for t in re.split(r"[\s\u3000]+", text) if t]
    sex = None
    name_parts: list[str] = []
    number = ""
    birth: date | None = None
    born_between: tuple[date, date] | None = None
    for token in tokens:
        folded = token.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if token in _SEX_WORDS:
            sex = _SEX_WORDS[token]
            continue
        try:
            era_year = parse_era_year(token)
        except WarekiError as exc:
            return SearchQuery(message=str(exc))
        if era_year:
            born_between = era_year
            continue
        if re.fullmatch(r"\d{8}", folded) or re.search(r"[-/.年]", folded) and re.search(r"\d", folded):
            try:
                birth = parse_date(folded)
                continue
            except (WarekiError, ValueError):
                if re.fullmatch(r"\d{8}", folded):
                    number = folded
                    continue
        if re.fullmatch(r"[0-9]{1,10}", folded):
            number = folded
            continue
        name_parts.append(token)
    return SearchQuery(name_key=name_search_key("".join(name_parts)), number=number, birth_date=birth,
                       born_between=born_between, sex=sex)


@dataclass(frozen=True)
class PatientHit:
    """One line of the search results: only what the list shows (the search runs at every keystroke)."""

    id: int
    orca_patient_id: str
    name: str
    kana: str
    sex: str
    birth_date: date
    kana_key: str

    @property
    def sex_label(self) -> str:
        """男 / 女."""
        return SEX_LABELS.get(self.sex, "")


#: The columns of a PatientHit, in its field order (plain rows: loading whole Patient objects with their insurance
#: JSON was most of a search's database time).
_HIT_COLUMNS = (Patient.id, Patient.orca_patient_id, Patient.name, Patient.kana, Patient.sex, Patient.birth_date,
                Patient.kana_key)


def search_patients(
    session: Session, clinic_id: int, text: str, limit: int = SEARCH_LIMIT
) -> tuple[list[PatientHit], str]:
    """Patients of the clinic matching the search string, by kana; and a message when nothing could be searched."""
    query = parse_search(text)
    if query.message:
        return [], query.message
    if not (query.name_key or query.number or query.birth_date or query.born_between):
        if query.sex:
            return [], "氏名・患者番号・生年月日のいずれかも入力してください"
        return [], ""
    conditions = []
    if query.number:
        candidates = {query.number, query.number.zfill(5)}
        numbers = [Patient.orca_patient_id.in_(candidates)]
        if len(query.number) <= 9:
            numbers.append(Patient.id == int(query.number))
        conditions.append(or_(*numbers))
    if query.birth_date:
        conditions.append(Patient.birth_date == query.birth_date)
    if query.born_between:
        conditions.append(Patient.birth_date.between(*query.born_between))
    if query.sex:
        conditions.append(Patient.sex == query.sex)
    keys = {"clinic_id": clinic_id, "limit": limit + 1}
    if not query.name_key:
        stmt = select(*_HIT_COLUMNS).where(Patient.clinic_id == bindparam("clinic_id"), *conditions)
    if not query.name_key and query.born_between and not (query.number or query.birth_date):
        # A year of births is a thousand patients or more: the first ones in kana order, cut at the limit.
        rows = _hits(session, stmt.order_by(Patient.kana_key, Patient.id).limit(bindparam("limit")), keys)
    elif not query.name_key:
        # A number or a birth date matches a handful of rows: no ORDER BY, so the planner uses the number or
        # birth-date index instead of walking the kana index over the whole table.
        rows = sorted(_hits(session, stmt.limit(bindparam("limit")), keys), key=lambda p: (p.kana_key, p.id))
    else:
        # Two prefix ranges, each walked in its own index order and cut at the limit, then merged: an OR of
        # the two would make the database sort every match (thousands for a common family name). A name alone
        # (the usual search, at every keystroke) runs the statements built once.
        keys.update(low=query.name_key, high=query.name_key + "\U0010ffff")
        by_kana, by_name = (_BY_KANA.where(*conditions), _BY_NAME.where(*conditions)) if conditions \
            else (_BY_KANA, _BY_NAME)
        found = {p.id: p for p in _hits(session, by_kana, keys)}
        found.update((p.id, p) for p in _hits(session, by_name, keys))
        rows = sorted(found.values(), key=lambda p: (p.kana_key, p.id))
    if len(rows) > limit:
        return rows[:limit], f"{limit}件を超えて該当しました。氏名の続きや生年月日で絞り込んでください"
    return rows, "" if rows else "該当する患者はいません"


def _hits(session: Session, stmt: Any, keys: dict[str, Any]) -> list[PatientHit]:
    return [PatientHit(*row) for row in session.execute(stmt, keys)]


def _by_prefix(column: Any) -> Any:
    """The clinic's patients whose folded name (or kana) starts with the bound `low` (up to `high`), in that
    column's order, cut at the bound `limit` (clinic isolation as scoped() does)."""
    return (select(*_HIT_COLUMNS).where(Patient.clinic_id == bindparam("clinic_id"), column >= bindparam("low"),
                                        column < bindparam("high"))
            .order_by(column, Patient.id).limit(bindparam("limit")))


_BY_KANA = _by_prefix(Patient.kana_key)
_BY_NAME = _by_prefix(Patient.name_key)


def get_patient(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    """One patient of this clinic (None for another clinic's)."""
    return session.scalar(_PATIENT, {"clinic_id": clinic_id, "patient_id": patient_id})


#: Built once: every patient screen reads its patient (building the statement cost more than running it).
_PATIENT = select(Patient).where(Patient.clinic_id == bindparam("clinic_id"), Patient.id == bindparam("patient_id"))


def find_by_orca_id(session: Session, clinic_id: int, orca_patient_id: str) -> Patient | None:
    """The patient with this ORCA number in this clinic."""
    return session.scalar(scoped(Patient, clinic_id).where(Patient.orca_patient_id == orca_patient_id))


_SNAPSHOT_KEYS = ("name", "kana", "sex", "birth_date", "postal_code", "address", "phone", "occupation",
                  "prescription_issue_choice", "insurances", "public_expenses")


def _snapshot(patient: Patient) -> dict[str, Any]:
    return {"name": patient.name, "kana": patient.kana, "sex": patient.sex,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "postal_code": patient.postal_code, "address": patient.address, "phone": patient.phone,
            "occupation": patient.occupation, "prescription_issue_choice": patient.prescription_issue_choice,
            "insurances": patient.insurances,
            "public_expenses": patient.public_expenses}


def _keep_known_burden(incoming: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ORCA's list APIs leave out 負担割合: keep the rate we know for the same card rather than erase it."""
    def card(item: dict[str, Any]) -> tuple[Any, ...]:
        return item.get("insurer_number"), item.get("symbol"), item.get("number"), item.get("branch")

    known = {card(item): item.get("burden_percent") for item in stored}
    return [{**item, "burden_percent": known.get(card(item))} if item.get("burden_percent") is None else item
            for item in incoming]


def upsert_patient(
    session: Session, clinic_id: int, actor: Actor, data: dict[str, Any], *, complete: bool = True
) -> Patient:
    """Create or update a patient from ORCA's data (ORCA is the source); changes are audited with before/after.

    `complete` is False for data from ORCA's list APIs, which lack some details (負担割合): the patient is then
    due for a refresh from patientgetv2.
    """
    patient = find_by_orca_id(session, clinic_id, data["orca_patient_id"])
    created = patient is None
    if patient is None:
        patient = Patient(clinic_id=clinic_id, orca_patient_id=data["orca_patient_id"])
        session.add(patient)
        before: dict[str, Any] = {}
    else:
        before = _snapshot(patient)
        if not complete and "insurances" in data:
            data = {**data, "insurances": _keep_known_burden(data["insurances"], patient.insurances or [])}
    after_data = {**before, **{k: v for k, v in data.items() if k in _SNAPSHOT_KEYS}}
    if "birth_date" in data and data["birth_date"] is not None:
        after_data["birth_date"] = data["birth_date"].isoformat()
    if not complete and not created and after_data == before:
        return patient  # nothing new in the list: keep the fuller details we already have
    for key in _SNAPSHOT_KEYS:
        if key in data:
            setattr(patient, key, data[key])
    patient.name_key = name_search_key(patient.name)
    patient.kana_key = name_search_key(patient.kana)
    patient.orca_synced_at = utcnow() if complete else None
    session.flush()
    after = _snapshot(patient)
    if created or after != before:
        record_audit(session, actor, "patient.create_from_orca" if created else "patient.update_from_orca",
                     clinic_id=clinic_id, entity_type="patient", entity_id=patient.id, patient_id=patient.id,
                     summary=summarize_change(before, after))
    return patient


def list_patient_ids(session: Session, clinic_id: int) -> list[int]:
    """Ids of a clinic's patients (for sync and tests)."""
    return list(session.scalars(select(Patient.id).where(Patient.clinic_id == clinic_id)))


def patient_labels(session: Session, clinic_id: int, ids: set[int]) -> dict[int, tuple[str, str]]:
    """(name, 患者番号) of some patients of a clinic, by id (for lists that say whom something was about)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: (p.name, p.orca_patient_id) for p in session.execute(
        select(Patient.id, Patient.name, Patient.orca_patient_id).where(
            Patient.clinic_id == clinic_id, Patient.id.in_(ids)))}
