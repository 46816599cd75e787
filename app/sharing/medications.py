"""Other institutions' prescriptions of a patient as the 電子カルテ情報共有サービス holds them (the 処方 of the
6 information), for the prescription checks (duplicates and 併用禁忌 are also looked for against them) — only with
a valid consent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from app.integrations.sharing_service import SharingError
from app.prescriptions.models import Drug
from app.prescriptions.services import CurrentMedicine
from app.sharing.fhir import mapping
from app.sharing.fhir import systems as S
from app.sharing.services import (  # _institution: the same package's reading of the source institution
    _institution,
    classify,
    client_for,
    consent_problem,
    current_consent,
    institution_names,
    settings_of,
)


@dataclass
class NationalMedicines:
    """Other institutions' current medicines, or why they could not be read (problem, in Japanese)."""

    medicines: list[CurrentMedicine] = field(default_factory=list)
    problem: str | None = None
    #: False when the clinic does not use the service at all (then nothing was expected to be compared).
    connected: bool = True


#: The resources do not say for how many days a medicine is taken: one prescribed within this many days (the usual
#: longest supply, 90日分) is taken as still being taken.
RECENT_DAYS = 90
#: Statuses of a MedicationRequest that no longer describe a medicine being taken.
ENDED = {"cancelled", "entered-in-error", "stopped", "completed"}


def _codes(resource: dict[str, Any]) -> tuple[str, str]:
    """(YJ code, 一般名コード) of the drug, "" where the resource has none."""
    coding = (resource.get("medicationCodeableConcept") or {}).get("coding") or []
    yj = next((c.get("code", "") for c in coding if c.get("system") == S.YJ), "")
    generic = next((c.get("code", "") for c in coding if c.get("system") == S.GENERAL_NAME), "")
    return str(yj), str(generic)


def _product_codes(session: Session, wanted: list[tuple[str, str]]) -> dict[str, str]:
    """A product of the drug master for each YJ or 一般名 code (its レセ電 code is what the check master names): the
    lowest レセ電 code among the products of that code, found by the codes' indexes in one query of a row per code
    (a 一般名 has dozens of products: reading them all cost more than the rest of the check page)."""
    yjs = {yj for yj, _ in wanted if yj}
    generics = {g for _, g in wanted if g}
    if not yjs and not generics:
        return {}
    by_yj = (select(Drug.yj_code, func.min(Drug.receipt_code)).where(Drug.yj_code.in_(yjs))
             .group_by(Drug.yj_code))
    by_generic = (select(Drug.generic_code, func.min(Drug.receipt_code)).where(Drug.generic_code.in_(generics))
                  .group_by(Drug.generic_code))
    return {code: product for code, product in session.execute(union_all(by_yj, by_generic))}


def other_institution_medicines(session: Session, clinic: Any, patient: Any, today: date) -> NationalMedicines:
    """Active prescriptions of other institutions from the last RECENT_DAYS days, each named with its institution."""
    if not settings_of(clinic):
        return NationalMedicines(
            problem="電子カルテ情報共有サービスに接続していないため、他院の処方とは照合していません", connected=False)
    problem = consent_problem(current_consent(session, clinic.id, patient.id), today)
    if problem:
        return NationalMedicines(problem="情報共有への同意が有効でないため、他院の処方とは照合していません")
    client = client_for(clinic, timeout=5.0)
    try:
        resources = client.search(mapping.member_id(patient)) if client else []
    except mapping.MappingError as exc:
        return NationalMedicines(problem=f"他院の処方を読めません: {exc}")
    except SharingError as exc:
        return NationalMedicines(problem=f"他院の処方を読めません: {exc.message_ja}")
    since = today - timedelta(days=RECENT_DAYS)
    wanted = []
    for resource in resources:
        code = _institution(resource)
        if classify(resource) != "medication" or code == clinic.institution_code:
            continue
        if resource.get("status") in ENDED:
            continue
        try:
            day = date.fromisoformat(str(resource.get("authoredOn") or "")[:10])
        except ValueError:
            continue
        if day < since or day > today:
            continue
        wanted.append((resource, code, day, *_codes(resource)))
    products = _product_codes(session, [(yj, generic) for *_, yj, generic in wanted])
    names = institution_names(resources)
    medicines = []
    for resource, code, day, yj, generic in wanted:
        name = (resource.get("medicationCodeableConcept") or {}).get("text") or "（名称なし）"
        institution = names.get(code, "")
        where = f"{institution}（医療機関コード {code}）" if institution else f"医療機関コード {code}"
        medicines.append(CurrentMedicine(products.get(yj) or products.get(generic, ""), name, yj, generic, day,
                                         day, f"他院処方 {where}"))
    return NationalMedicines(medicines)
