"""Diagnosis rules: compose a coded diagnosis from the masters, validate it, record it, and correct, end or
withdraw it as a new version (the old one stays in the history). Every change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.core.dates import future_date_error
from app.core.errors import ValidationError
from app.core.jp import WarekiError, parse_date
from app.core.timeutil import japan_today
from app.core.versioning import current_of, record_first_version, record_new_version
from app.db import scoped
from app.diagnoses.models import OUTCOMES, SUSPECTED_SUFFIX, UNCODED, Diagnosis, Disease, Modifier
from app.sharing.registration import record_changed, record_confirmed
from app.sharing.withholding import WithholdingError, withhold_record

MAX_MODIFIERS = 6


class DiagnosisError(ValidationError):
    """A diagnosis that cannot be saved; `errors` maps field names to Japanese messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()), field=next(iter(errors)), errors=errors)


@dataclass
class DiagnosisInput:
    """What the form posted, read but not yet checked."""

    disease_code: str = ""
    prefix_codes: list[str] = field(default_factory=list)
    suffix_codes: list[str] = field(default_factory=list)
    is_suspected: bool = False
    is_main: bool = False
    started_on: str = ""
    outcome: str = "continuing"
    ended_on: str = ""

    @classmethod
    def from_form(cls, form: Any) -> DiagnosisInput:
        """Read the posted fields (modifier codes may repeat, in order)."""
        def codes(name: str) -> list[str]:
            return [c.strip()[:4] for c in form.getlist(name) if c.strip()]

        return cls(disease_code=(form.get("disease_code") or "").strip()[:7], prefix_codes=codes("prefix_code"),
                   suffix_codes=codes("suffix_code"), is_suspected=form.get("is_suspected") == "1",
                   is_main=form.get("is_main") == "1", started_on=(form.get("started_on") or "").strip()[:20],
                   outcome=(form.get("outcome") or "continuing").strip(),
                   ended_on=(form.get("ended_on") or "").strip()[:20])

    @classmethod
    def from_diagnosis(cls, item: Diagnosis) -> DiagnosisInput:
        """The current values of a diagnosis, to correct them."""
        return cls(disease_code=item.disease_code, prefix_codes=list(item.prefix_codes),
                   suffix_codes=[c for c in item.suffix_codes if c != SUSPECTED_SUFFIX], is_suspected=item.is_suspected,
                   is_main=item.is_main, started_on=item.started_on.isoformat(), outcome=item.outcome,
                   ended_on=item.ended_on.isoformat() if item.ended_on else "")


def _date(text: str, label: str, errors: dict[str, str], name: str) -> date | None:
    if not text:
        return None
    try:
        value = parse_date(text)
    except WarekiError as exc:
        errors[name] = f"{label}: {exc}"
        return None
    if too_far := future_date_error(value, "diagnosis", label):
        errors[name] = too_far
    return value


def compose(session: Session, data: DiagnosisInput, *, birth_date: date | None = None,
            keeping_code: str | None = None) -> dict[str, Any]:
    """Check a diagnosis against the masters and the date rules; the values to store, or DiagnosisError.

    `keeping_code`: on a correction, the code the diagnosis already has stays usable even if the master has
    since abolished it, so that a 転帰 can still be recorded.
    """
    errors: dict[str, str] = {}
    if len(data.prefix_codes) + len(data.suffix_codes) > MAX_MODIFIERS:
        errors["modifiers"] = f"修飾語は{MAX_MODIFIERS}個までです"
    disease = session.get(Disease, data.disease_code) if data.disease_code else None
    if not data.disease_code:
        errors["disease_code"] = "傷病名を傷病名マスターから選んでください"
    elif disease is None:
        errors["disease_code"] = f"傷病名コード「{data.disease_code}」は傷病名マスターにありません"
    elif disease.end_date is not None and disease.end_date <= japan_today() and disease.code != keeping_code:
        errors["disease_code"] = f"「{disease.name}」は{disease.end_date.isoformat()}で廃止された傷病名です"
    elif disease.code == UNCODED:
        errors["disease_code"] = "未コード化傷病名は使えません。傷病名マスターから選んでください"
    modifiers: dict[str, Modifier] = {}
    for code in data.prefix_codes + data.suffix_codes:
        modifier = session.get(Modifier, code)
        if modifier is None or modifier.end_date is not None:
            errors["modifiers"] = f"修飾語コード「{code[:4]}」は修飾語マスターにありません"
        else:
            modifiers[code] = modifier
    if "modifiers" not in errors:
        wrong = [modifiers[c].name for c in data.prefix_codes if modifiers[c].is_suffix]
        wrong += [modifiers[c].name for c in data.suffix_codes if not modifiers[c].is_suffix]
        if wrong:
            errors["modifiers"] = f"「{'」「'.join(wrong)}」の位置が違います（接頭語は病名の前、接尾語は後）"
    if disease is not None and disease.standalone_prohibited and not (data.prefix_codes or data.suffix_codes):
        errors["modifiers"] = f"「{disease.name}」は単独では使えない傷病名です。修飾語を付けてください"
    started = _date(data.started_on, "開始日", errors, "started_on")
    if not data.started_on:
        errors["started_on"] = "開始日を入力してください"
    if data.outcome not in OUTCOMES:
        errors["outcome"] = "転帰の選択肢にない値です"
    ended = _date(data.ended_on, "転帰日", errors, "ended_on")
    if data.outcome != "continuing" and not data.ended_on:
        errors["ended_on"] = f"転帰（{OUTCOMES.get(data.outcome, '')}）の日付を入力してください"
    if data.outcome == "continuing" and data.ended_on:
        errors["ended_on"] = "転帰日を入れるときは転帰（治癒・死亡・中止・転医）を選んでください"
    if started and birth_date and started < birth_date:
        errors["started_on"] = "開始日が生年月日より前です"
    if started and ended and ended < started:
        errors["ended_on"] = "転帰日が開始日より前です"
    if data.is_suspected and data.is_main:
        errors["is_main"] = "疑い病名は主病にできません"
    if errors:
        raise DiagnosisError(errors)
    suffixes = [c for c in data.suffix_codes if c != SUSPECTED_SUFFIX]
    if data.is_suspected:
        suffixes.append(SUSPECTED_SUFFIX)
        if SUSPECTED_SUFFIX not in modifiers:
            modifiers[SUSPECTED_SUFFIX] = session.get(Modifier, SUSPECTED_SUFFIX) or Modifier(name="の疑い")
    name = ("".join(modifiers[c].name for c in data.prefix_codes) + disease.name
            + "".join(modifiers[c].name for c in suffixes))
    return {"disease_code": disease.code, "display_name": name, "icd10": disease.icd10,
            "prefix_codes": list(data.prefix_codes), "suffix_codes": suffixes, "is_suspected": data.is_suspected,
            "is_main": data.is_main, "started_on": started, "outcome": data.outcome, "ended_on": ended}


def _snapshot(item: Diagnosis) -> dict[str, Any]:
    return {"disease_code": item.disease_code, "display_name": item.display_name, "icd10": item.icd10,
            "prefix_codes": list(item.prefix_codes), "suffix_codes": list(item.suffix_codes),
            "is_suspected": item.is_suspected, "is_main": item.is_main,
            "started_on": item.started_on.isoformat() if item.started_on else None, "outcome": item.outcome,
            "ended_on": item.ended_on.isoformat() if item.ended_on else None}


def add_diagnosis(session: Session, clinic_id: int, actor: Actor, patient_id: int, data: DiagnosisInput, *,
                  birth_date: date | None = None, withhold_reason: str | None = None) -> Diagnosis:
    """Record a new diagnosis for a patient. With `withhold_reason` it is marked 共有しない from the start
    (e.g. 未告知の病名): never registered with the 電子カルテ情報共有サービス."""
    values = compose(session, data, birth_date=birth_date)
    item = Diagnosis(clinic_id=clinic_id, patient_id=patient_id, **values)
    record_first_version(session, actor, item, action="diagnosis.create", snapshot=_snapshot)
    if withhold_reason is not None:
        try:
            withhold_record(session, actor, item, withhold_reason)
        except WithholdingError as exc:
            raise ValidationError(str(exc), field="withhold_reason") from exc
    _share(session, item)
    return item


def _share(session: Session, item: Diagnosis) -> None:
    """Queue the confirmed diagnosis for the 電子カルテ情報共有サービス (app.sharing; no-op when not set up)."""
    record_confirmed(session, item)



def _share_change(session: Session, old: Diagnosis, new: Diagnosis) -> None:
    """A correction or withdrawal reaches the 電子カルテ情報共有サービス as the service defines a change (取消 of the
    registered version, then 再登録); no-op when the clinic is not connected."""
    record_changed(session, old, new)


def _new_version(session: Session, actor: Actor, item: Diagnosis, values: dict[str, Any], reason: str, action: str,
                 *, retract: bool = False) -> Diagnosis:
    new = record_new_version(session, actor, item, values, action=f"diagnosis.{action}", reason=reason,
                             retract=retract, snapshot=_snapshot)
    _share_change(session, item, new)
    return new


def correct_diagnosis(session: Session, clinic_id: int, actor: Actor, item: Diagnosis, data: DiagnosisInput,
                      reason: str, *, birth_date: date | None = None) -> Diagnosis:
    """Save a corrected or ended (転帰) diagnosis as a new version."""
    values = compose(session, data, birth_date=birth_date, keeping_code=item.disease_code)
    return _new_version(session, actor, item, values, reason,
                        "end" if values["outcome"] != "continuing" and item.outcome == "continuing" else "correct")


def retract_diagnosis(session: Session, clinic_id: int, actor: Actor, item: Diagnosis, reason: str) -> Diagnosis:
    """Withdraw a diagnosis entered in error; it leaves the lists and stays in its history."""
    return _new_version(session, actor, item, {}, reason, "retract", retract=True)


def current_diagnoses(session: Session, clinic_id: int, patient_id: int) -> list[Diagnosis]:
    """The patient's diagnoses as they stand (main first, then newest start)."""
    return list(session.scalars(_CURRENT_DIAGNOSES, {"clinic_id": clinic_id, "patient_id": patient_id}))


#: Built once: the diagnoses screen, the profile and every prescription check read them.
_CURRENT_DIAGNOSES = (select(Diagnosis).where(*current_of(Diagnosis))
                      .order_by(Diagnosis.is_main.desc(), Diagnosis.started_on.desc(), Diagnosis.id.desc()))


def get_current(session: Session, clinic_id: int, patient_id: int, item_id: int) -> Diagnosis | None:
    """One current diagnosis by id (None for another clinic's, another patient's, or a superseded version)."""
    return session.scalar(scoped(Diagnosis, clinic_id).where(
        Diagnosis.id == item_id, Diagnosis.patient_id == patient_id, Diagnosis.superseded_at.is_(None),
        Diagnosis.retracted.is_(False)))


def history(session: Session, clinic_id: int, patient_id: int, lineage_id: int) -> list[Diagnosis]:
    """Every version of one diagnosis, oldest first."""
    return list(session.scalars(scoped(Diagnosis, clinic_id).where(Diagnosis.patient_id == patient_id,
                                                                   Diagnosis.lineage_id == lineage_id)
                                .order_by(Diagnosis.version)))


def modifier_names(session: Session, codes: list[str]) -> dict[str, str]:
    """Names of modifier codes (for re-showing a form)."""
    return {c: m.name for c in codes if (m := session.get(Modifier, c)) is not None}


def form_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """The posted form as a dict for re-rendering (lists kept)."""
    return {key: form.getlist(key) if key in ("prefix_code", "suffix_code") else form.get(key)
            for key in form.keys()}  # noqa: SIM118 — a MultiDict's keys, not the dict's
