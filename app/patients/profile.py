"""Business rules of the patient profile: add, correct and withdraw items as new versions, read the current
state and each item's history, vitals series for the trend charts. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, String, exists, literal, select, union_all
from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.forms import require_finite
from app.core.timeutil import japan_today
from app.core.versioning import current_of, record_first_version, record_new_version
from app.db import scoped
from app.patients.models import Patient
from app.patients.profile_forms import KINDS, ProfileKind, check_pregnancy
from app.patients.profile_models import Pregnancy, ProfileVersion, VitalSign
from app.prescriptions.drug_master import get_drug, search_drugs
from app.sharing.registration import record_changed, record_confirmed
from app.sharing.withholding import WithholdingError, withhold_record


class ProfileError(ValidationError):
    """A change that cannot be made; `errors` maps field names to Japanese messages, `candidates` are the drugs
    to choose from when a typed name matched several."""

    def __init__(self, errors: dict[str, str], candidates: list[Any] | None = None) -> None:
        super().__init__("; ".join(errors.values()), field=next(iter(errors)), errors=errors)
        self.candidates = candidates or []


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def snapshot(kind: ProfileKind, item: ProfileVersion) -> dict[str, Any]:
    """The item's own fields (and drug codes) as plain values, for audit summaries."""
    names = [f.name for f in kind.fields]
    if kind.uses_drug:
        names += ["drug_receipt_code", "drug_yj_code", "drug_match_code"]
    return {name: _jsonable(getattr(item, name)) for name in names}


def resolve_drug(session: Session, kind: ProfileKind, values: dict[str, Any], drug_code: str) -> None:
    """Fill the drug columns from the drug master at the chosen scope; raise ProfileError when the drug is
    unknown or the typed name matches several products (the candidates are returned to choose from)."""
    if not kind.uses_drug:
        return
    if values.get("category", "drug") != "drug":
        values.update(drug_scope=None, drug_receipt_code=None, drug_yj_code=None, drug_match_code=None)
        return
    drug = get_drug(session, drug_code) if drug_code else None
    if drug_code and drug is None:
        raise ProfileError({"substance": f"医薬品コード「{drug_code[:20]}」は医薬品マスターにありません"})
    if drug is None:
        typed = values.get("substance") or ""
        if not typed:
            raise ProfileError({"substance": "薬剤を医薬品マスターから選んでください"})
        hits = search_drugs(session, typed, limit=10)
        if len(hits) != 1:
            message = "該当する薬剤がありません" if not hits else "候補から薬剤を1つ選んでください"
            raise ProfileError({"substance": message}, candidates=hits)
        drug = get_drug(session, hits[0].receipt_code)
    scope = values.get("drug_scope") or "product"
    if scope != "product" and len(drug.yj_code) != 12:
        raise ProfileError({"drug_scope": "この薬剤には薬価基準コードがないため、成分・薬効分類では登録できません"})
    match_code = {"product": drug.yj_code, "ingredient": drug.ingredient_code, "class": drug.class_code}[scope]
    generic = drug.generic_name.removeprefix("【般】") if drug.generic_name else drug.name
    default_name = {"product": drug.name, "ingredient": f"{generic} と同成分の薬剤すべて",
                    "class": f"薬効分類 {drug.class_code}（{drug.name} と同じ分類）"}[scope]
    typed = values.get("substance") or ""
    values.update(drug_scope=scope, drug_receipt_code=drug.receipt_code, drug_yj_code=drug.yj_code or None,
                  drug_match_code=match_code or None,
                  # The typed name is kept for a class (the doctor's words, e.g. セフェム系) but a product or
                  # ingredient is always named as the master names it.
                  substance=typed if scope == "class" and typed and typed != drug.name else default_name)


def _current_statement(kind: ProfileKind) -> Select:
    """A kind's current items, newest first."""
    model = kind.model
    order = getattr(model, kind.sort_column)
    return select(model).where(*current_of(model)).order_by(order.desc(), model.id.desc())


#: Built once, by kind: the profile screen reads every kind on each view, and building a statement (and its cache
#: key) anew each time cost as much as running it.
_CURRENT = {slug: _current_statement(kind) for slug, kind in KINDS.items()}
#: The slugs of the kinds the patient has any current item of: one query, so that the overview reads only those
#: (most patients have a few of the nine kinds; an empty kind would otherwise cost a query of its own).
_PRESENT = union_all(*[select(literal(slug, String)).where(exists().where(*current_of(kind.model)))
                       for slug, kind in KINDS.items()])
#: The vitals entries the profile screens show (its list and trend charts), newest first.
VITALS_SHOWN = 50
_VITALS_SHOWN = _CURRENT["vitals"].limit(VITALS_SHOWN)


def current_items(session: Session, clinic_id: int, kind: ProfileKind, patient_id: int) -> list[Any]:
    """The items as they stand now (withdrawn ones left out), newest first."""
    return list(session.scalars(_CURRENT[kind.slug], {"clinic_id": clinic_id, "patient_id": patient_id}))


def get_current(session: Session, clinic_id: int, kind: ProfileKind, patient_id: int, item_id: int) -> Any | None:
    """One current version by id (None when it is another clinic's, another patient's, or superseded)."""
    model = kind.model
    return session.scalar(scoped(model, clinic_id).where(model.id == item_id, model.patient_id == patient_id,
                                                         model.superseded_at.is_(None),
                                                         model.retracted.is_(False)))


def item_history(session: Session, clinic_id: int, kind: ProfileKind, patient_id: int, lineage_id: int) -> list[Any]:
    """Every version of one item, oldest first."""
    model = kind.model
    return list(session.scalars(scoped(model, clinic_id).where(model.patient_id == patient_id,
                                                               model.lineage_id == lineage_id)
                                .order_by(model.version)))


def _check_values(session: Session, clinic_id: int, kind: ProfileKind, patient_id: int,
                  values: dict[str, Any], today: date | None = None) -> None:
    """Numbers are finite whoever parsed them (a NaN would pass every range check and reach the charts); 妊娠・授乳
    only for a female patient of an age it can be, with dates that make sense."""
    for spec in kind.fields:
        if spec.kind in ("int", "decimal"):
            require_finite(values.get(spec.name), label=spec.label, field=spec.name)
    if kind.female_only:
        patient = session.scalar(scoped(Patient, clinic_id).where(Patient.id == patient_id))
        errors = check_pregnancy(patient.sex if patient else "", patient.birth_date if patient else None, values,
                                 today or japan_today())
        if errors:
            raise ProfileError(errors)


def add_item(session: Session, clinic_id: int, actor: Actor, kind: ProfileKind, patient_id: int,
             values: dict[str, Any], *, withhold_reason: str | None = None) -> ProfileVersion:
    """Record a new item. For a `single` kind (blood type, 要介護度, 妊娠・授乳) the current item is corrected
    instead. With `withhold_reason` an allergy, 薬剤禁忌 or infection is marked 共有しない from the start (never
    registered with the 電子カルテ情報共有サービス)."""
    _check_values(session, clinic_id, kind, patient_id, values)
    if kind.single:
        existing = current_items(session, clinic_id, kind, patient_id)
        if existing:
            return correct_item(session, clinic_id, actor, kind, existing[0], values, reason="新しい情報で更新")
    item = kind.model(clinic_id=clinic_id, patient_id=patient_id, **values)
    record_first_version(session, actor, item, action=f"profile.{kind.slug}.create",
                         snapshot=lambda version: snapshot(kind, version))
    if withhold_reason is not None:
        try:
            withhold_record(session, actor, item, withhold_reason)
        except WithholdingError as exc:
            raise ProfileError({"withhold_reason": str(exc)}) from exc
    _share(session, item)
    return item


def _share(session: Session, item: ProfileVersion) -> None:
    """Queue a confirmed allergy, 薬剤禁忌 or infection for the 電子カルテ情報共有サービス (app.sharing decides
    which kinds are 6 information; no-op when the clinic is not connected)."""
    record_confirmed(session, item)



def _share_change(session: Session, old: ProfileVersion, new: ProfileVersion) -> None:
    """A correction or withdrawal reaches the 電子カルテ情報共有サービス as the service defines a change (取消 of the
    registered version, then 再登録); no-op when the clinic is not connected."""
    record_changed(session, old, new)


def _new_version(session: Session, actor: Actor, kind: ProfileKind, item: ProfileVersion, values: dict[str, Any],
                 reason: str, *, retract: bool) -> ProfileVersion:
    action = f"profile.{kind.slug}.{'retract' if retract else 'correct'}"
    new = record_new_version(session, actor, item, values, action=action, reason=reason, retract=retract,
                             snapshot=lambda version: snapshot(kind, version))
    _share_change(session, item, new)
    return new


def correct_item(session: Session, clinic_id: int, actor: Actor, kind: ProfileKind, item: ProfileVersion,
                 values: dict[str, Any], reason: str) -> ProfileVersion:
    """Replace an item by a corrected version; the old version stays visible in the history."""
    current = {spec.name: getattr(item, spec.name) for spec in kind.fields}
    _check_values(session, clinic_id, kind, item.patient_id, current | values)
    return _new_version(session, actor, kind, item, values, reason, retract=False)


def retract_item(session: Session, clinic_id: int, actor: Actor, kind: ProfileKind, item: ProfileVersion,
                 reason: str) -> ProfileVersion:
    """Withdraw an item entered in error (取消); it leaves the current list and stays in the history."""
    return _new_version(session, actor, kind, item, {}, reason, retract=True)


# --- vitals ----------------------------------------------------------------------------------------------

def bmi(height_cm: float | None, weight_kg: float | None) -> float | None:
    """Body-mass index, one decimal (None when height or weight is missing)."""
    if not height_cm or not weight_kg:
        return None
    metres = height_cm / 100
    return round(weight_kg / (metres * metres), 1)


@dataclass(frozen=True)
class LatestVitals:
    """The last known value of each measure, with when it was taken (height carries over for BMI)."""

    values: dict[str, tuple[float, datetime]]

    def value(self, name: str) -> float | None:
        """The last value of one measure."""
        found = self.values.get(name)
        return found[0] if found else None

    @property
    def bmi(self) -> float | None:
        """BMI from the last height and last weight."""
        return bmi(self.value("height_cm"), self.value("weight_kg"))


VITAL_MEASURES = ("height_cm", "weight_kg", "systolic", "diastolic", "pulse", "temperature_c", "spo2")


def vitals_history(session: Session, clinic_id: int, patient_id: int) -> list[VitalSign]:
    """The newest VITALS_SHOWN current vitals entries, newest first."""
    return list(session.scalars(_VITALS_SHOWN, {"clinic_id": clinic_id, "patient_id": patient_id}))


def latest_vitals(entries: list[VitalSign]) -> LatestVitals:
    """From entries newest first: the last value of every measure."""
    found: dict[str, tuple[float, datetime]] = {}
    for entry in entries:
        for name in VITAL_MEASURES:
            value = getattr(entry, name)
            if value is not None and name not in found:
                found[name] = (value, entry.measured_at)
    return LatestVitals(found)


def vital_series(entries: list[VitalSign], name: str, points: int = 12) -> list[tuple[datetime, float]]:
    """Oldest-first (time, value) pairs of one measure, the last `points` of them, for a trend chart."""
    series = [(e.measured_at, getattr(e, name)) for e in entries if getattr(e, name) is not None]
    return list(reversed(series[:points]))


def profile_overview(session: Session, clinic_id: int, patient_id: int,
                     kinds: dict[str, ProfileKind] | None = None) -> dict[str, list[Any]]:
    """The current items of every kind (or of `kinds`), keyed by slug: one query for which kinds have any, then one
    for each of those."""
    present = set(session.scalars(_PRESENT, {"clinic_id": clinic_id, "patient_id": patient_id}))
    return {slug: current_items(session, clinic_id, kind, patient_id) if slug in present else []
            for slug, kind in (kinds or KINDS).items()}


def drug_allergies_and_contraindications(session: Session, clinic_id: int, patient_id: int) -> list[Any]:
    """Current drug allergies and contraindications (for the prescription checks and the 6 information)."""
    items: list[Any] = [a for a in current_items(session, clinic_id, KINDS["allergies"], patient_id)
                        if a.category == "drug"]
    return items + current_items(session, clinic_id, KINDS["contraindications"], patient_id)


def has_any_entry(session: Session, clinic_id: int, patient_id: int) -> bool:
    """Whether the patient has any profile item at all (the demo seed checks it)."""
    for kind in KINDS.values():
        model = kind.model
        if session.scalar(select(model.id).where(model.clinic_id == clinic_id, model.patient_id == patient_id)
                          .limit(1)):
            return True
    return False


def active_pregnancy(session: Session, clinic_id: int, patient_id: int, today: date | None = None) -> Any | None:
    """The patient's current 妊娠・授乳 entry while it lasts (not ended by `today`), or None."""
    today = today or japan_today()
    found = current_items(session, clinic_id, KINDS["pregnancy"], patient_id)
    return next((p for p in found if p.ended_on is None or p.ended_on > today), None)


def pregnancy_label(entry: Pregnancy) -> str:
    """妊娠中（分娩予定日 2027-05-10） / 授乳中 / 妊娠の可能性あり, as the banner and the checks say it."""
    label = KINDS["pregnancy"].field("status").choices
    text = dict(label).get(entry.status, entry.status)
    return f"{text}（分娩予定日 {entry.due_on:%Y-%m-%d}）" if entry.status == "pregnant" and entry.due_on else text
