"""Consent and the national service's 6 information: record the consent from the online eligibility data (via
ORCA), and — only while it is valid — fetch a patient's 6 information and health checks from the service, each
entry marked with its source institution and date, checked by our JP-CLINS validator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.audit import Actor, record_audit
from app.core.timeutil import japan_today
from app.db import scoped, utcnow
from app.integrations.orca import OrcaError
from app.integrations.sharing_service import SharingClient, SharingConsentRequired, SharingError
from app.reception.orca_sync import orca_client_for
from app.sharing.fhir import mapping
from app.sharing.fhir import systems as S
from app.sharing.fhir.validation import profile_problems
from app.sharing.models import CONSENT_SOURCE, NationalEntryCopy, SharingConsent

#: Condition.clinicalStatus codes as the 6情報 page says them.
CONDITION_STATUS = {"active": "継続", "recurrence": "再発", "relapse": "再燃", "inactive": "終了",
                    "remission": "寛解", "resolved": "治癒"}
ORDER = ["condition", "drug_allergy", "other_allergy", "infection", "contraindication", "lab_result", "medication"]


class SharingUnavailable(Exception):
    """Sharing is not set up for the clinic, or the patient cannot be identified; str() is for staff."""


def settings_of(clinic: Clinic) -> dict[str, Any]:
    """The clinic's connection to the service (base_url with a token or a client certificate), empty when not set
    up."""
    settings = clinic.integration("sharing")
    return settings if settings.get("base_url") and (settings.get("token") or settings.get("cert")) else {}


def client_for(clinic: Clinic, timeout: float = 10.0) -> SharingClient | None:
    """The clinic's client of the service, or None when not set up."""
    settings = settings_of(clinic)
    if not settings:
        return None
    cert = settings.get("cert")
    return SharingClient(settings["base_url"], settings.get("token") or "", timeout=timeout,
                         cert=tuple(cert) if isinstance(cert, list) else cert)


# --- consent -------------------------------------------------------------------------------------------------

def current_consent(session: Session, clinic_id: int, patient_id: int) -> SharingConsent | None:
    """The latest recorded consent of a patient."""
    return session.scalar(scoped(SharingConsent, clinic_id).where(SharingConsent.patient_id == patient_id)
                          .order_by(SharingConsent.recorded_at.desc(), SharingConsent.id.desc()).limit(1))


def consent_problem(consent: SharingConsent | None, today: date | None = None) -> str | None:
    """Why nothing may be fetched (Japanese), or None when the consent is valid today."""
    today = today or japan_today()
    if consent is None:
        return ("患者の同意が記録されていません。受付でマイナ保険証による同意を得たうえで、"
                "「資格確認から同意を取り込む」を押してください。")
    if consent.valid_until < today:
        return (f"患者の同意の有効期限（{consent.valid_until:%Y-%m-%d}）が過ぎています。"
                "受付で改めて同意を得てから取り込んでください。")
    return None


def record_consent(session: Session, clinic_id: int, actor: Actor, patient_id: int, given_on: date,
                   valid_until: date, recorded_by: str = "") -> SharingConsent:
    """Store a consent (audited)."""
    consent = SharingConsent(clinic_id=clinic_id, patient_id=patient_id, given_on=given_on, valid_until=valid_until,
                             source=CONSENT_SOURCE, recorded_by_name=recorded_by or (actor.login_id or ""))
    session.add(consent)
    session.flush()
    record_audit(session, actor, "sharing.consent", clinic_id=clinic_id, entity_type="sharing_consent",
                 entity_id=consent.id, patient_id=patient_id,
                 summary={"after": {"given_on": given_on.isoformat(), "valid_until": valid_until.isoformat()}})
    return consent


def refresh_consent_from_orca(session: Session, clinic: Clinic, actor: Actor, patient: Any,
                              recorded_by: str = "") -> tuple[SharingConsent | None, str]:
    """Read the patient's online eligibility result from ORCA and record the consent it carries.
    Returns the current consent and a Japanese message saying what happened."""
    client = orca_client_for(clinic)
    if client is None:
        return current_consent(session, clinic.id, patient.id), "ORCAが設定されていないため資格確認結果を読めません"
    try:
        orca_patient = client.get_patient(patient.orca_patient_id)
    except OrcaError as exc:
        return current_consent(session, clinic.id, patient.id), f"資格確認結果を読めませんでした: {exc.message_ja}"
    found = orca_patient.sharing_consent
    if found is None:
        return current_consent(session, clinic.id, patient.id), "オンライン資格確認の結果に情報共有への同意がありません"
    existing = current_consent(session, clinic.id, patient.id)
    if existing and (existing.given_on, existing.valid_until) == (found.given_on, found.valid_until):
        return existing, "同意は記録済みです（変更はありません）"
    consent = record_consent(session, clinic.id, actor, patient.id, found.given_on, found.valid_until, recorded_by)
    expired = "。ただし有効期限が過ぎています" if found.valid_until < japan_today() else ""
    period = f"{found.given_on:%Y-%m-%d} 同意、{found.valid_until:%Y-%m-%d} まで有効"
    if found.kinds:
        period += f"：{'・'.join(found.kinds)}"
    return consent, f"同意を記録しました（{period}）{expired}"


# --- the national service's 6 information ---------------------------------------------------------------------

@dataclass
class NationalEntry:
    """One entry the service holds, as shown beside ours."""

    kind: str
    title: str
    detail: str
    day: str
    institution_code: str
    institution_name: str
    warnings: list[str] = field(default_factory=list)
    #: The source's resource instance identifier (or a stand-in built from what the entry says) and its codes.
    key: str = ""
    codes: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckupSeries:
    """One health-check item of one kind of check over the years (oldest first)."""

    kind: str
    name: str
    unit: str
    points: list[tuple[str, float]]

    @property
    def trend(self) -> str:
        """↑ / ↓ / → between the last two results."""
        if len(self.points) < 2:
            return ""
        last, previous = self.points[-1][1], self.points[-2][1]
        return "↑" if last > previous else ("↓" if last < previous else "→")


@dataclass
class NationalView:
    """What the screen shows of the service: entries by kind and health checks, or why there are none."""

    entries: dict[str, list[NationalEntry]] = field(default_factory=dict)
    checkups: list[CheckupSeries] = field(default_factory=list)
    problem: str | None = None
    fetched: bool = False


def _institution(resource: dict[str, Any]) -> str:
    return next((e.get("valueIdentifier", {}).get("value", "") for e in resource.get("extension", [])
                 if e.get("url") == S.INSTITUTION_EXT), "")


def _text(concept: dict[str, Any] | None) -> str:
    concept = concept or {}
    return concept.get("text") or next((c.get("display") or c.get("code", "") for c in concept.get("coding", [])), "")


def classify(resource: dict[str, Any]) -> str | None:
    """Which of the 6 information a resource is (None for anything else)."""
    kind = resource.get("resourceType")
    if kind == "Condition":
        return "condition"
    if kind == "AllergyIntolerance":
        if resource.get("type") == "intolerance" and resource.get("category") == ["medication"]:
            return "contraindication"
        return "drug_allergy" if "medication" in (resource.get("category") or []) else "other_allergy"
    if kind == "Observation":
        profiles = [p.split("|")[0] for p in (resource.get("meta") or {}).get("profile", [])]
        if S.LAB_RESULT in profiles:
            return "lab_result"
        return "infection" if _text(resource.get("code")).startswith("感染症") else None
    if kind == "MedicationRequest":
        return "medication"
    return None


def _value(resource: dict[str, Any]) -> str:
    if "valueQuantity" in resource:
        quantity = resource["valueQuantity"]
        return f"{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
    return str(resource.get("valueString") or _text(resource.get("valueCodeableConcept")))


def institution_names(resources: list[dict[str, Any]]) -> dict[str, str]:
    """医療機関コード → name, from the Organization resources the service sends with its answer (never a table of
    our own: the service knows every institution that registered)."""
    return {identifier.get("value", ""): resource.get("name", "") for resource in resources
            if resource.get("resourceType") == "Organization"
            for identifier in resource.get("identifier", []) if identifier.get("system") == S.INSTITUTION_NO}


def _entry(resource: dict[str, Any], kind: str, institution_names: dict[str, str]) -> NationalEntry:
    code = _institution(resource)
    if kind == "condition":
        status = _text(resource.get("clinicalStatus"))
        title, detail = _text(resource.get("code")), CONDITION_STATUS.get(status, status)
        day = resource.get("onsetDateTime") or resource.get("recordedDate") or ""
    elif kind in ("drug_allergy", "other_allergy", "contraindication"):
        title = _text(resource.get("code"))
        reactions = [_text(m) for r in resource.get("reaction", []) for m in r.get("manifestation", [])]
        detail = "、".join(reactions + [n.get("text", "") for n in resource.get("note", [])])
        day = resource.get("recordedDate") or resource.get("onsetDateTime") or ""
    elif kind == "medication":
        title = _text(resource.get("medicationCodeableConcept"))
        detail = "、".join(d.get("text", "") for d in resource.get("dosageInstruction", []))
        if resource.get("status") in ("cancelled", "entered-in-error", "stopped"):
            detail = f"【中止・取消】{detail}"
        day = resource.get("authoredOn") or ""
    else:
        title, detail = _text(resource.get("code")), _value(resource)
        day = resource.get("effectiveDateTime") or ""
    return NationalEntry(kind, title or "（名称なし）", detail, str(day)[:10], code,
                         institution_names.get(code, ""), profile_problems(resource),
                         _key(resource, kind, code, title, str(day)[:10]), _codes(resource))


def _key(resource: dict[str, Any], kind: str, institution: str, title: str, day: str) -> str:
    instance = next((i["value"] for i in resource.get("identifier", [])
                     if i.get("system") == S.RESOURCE_INSTANCE and i.get("value")), "")
    return (instance or f"{institution}|{kind}|{title}|{day}")[:200]


def _codes(resource: dict[str, Any]) -> dict[str, str]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    found = {c["system"]: str(c["code"]) for c in concept.get("coding", []) if c.get("system") and c.get("code")}
    if resource.get("resourceType") == "AllergyIntolerance":  # our profile's allergy category, for adopting it
        found["category"] = "food" if "food" in (resource.get("category") or []) else "other"
    return found


def _checkups(resources: list[dict[str, Any]]) -> list[CheckupSeries]:
    series: dict[tuple[str, str], CheckupSeries] = {}
    for resource in resources:
        kind = next((c.get("text") for c in resource.get("category", []) if c.get("text")), "健診")
        quantity = resource.get("valueQuantity") or {}
        if not isinstance(quantity.get("value"), int | float):
            continue
        name = _text(resource.get("code"))
        item = series.setdefault((kind, name), CheckupSeries(kind, name, quantity.get("unit", ""), []))
        item.points.append((str(resource.get("effectiveDateTime", ""))[:10], float(quantity["value"])))
    for item in series.values():
        item.points.sort()
    return sorted(series.values(), key=lambda s: (s.kind, s.name))


def national_view(session: Session, clinic: Clinic, patient: Any) -> NationalView:
    """The patient's 6 information and health checks from the service — only with a valid consent."""
    view = NationalView(entries={kind: [] for kind in ORDER})
    problem = consent_problem(current_consent(session, clinic.id, patient.id))
    if problem:
        view.problem = problem
        return view
    client = client_for(clinic)
    if client is None:
        view.problem = "電子カルテ情報共有サービスの接続先が設定されていません（管理者の設定が必要です）"
        return view
    try:
        member = mapping.member_id(patient)
    except mapping.MappingError as exc:
        view.problem = str(exc)
        return view
    try:
        resources = client.search(member)
        checkups = client.health_checks(member)
    except SharingConsentRequired as exc:  # e.g. the consent expired at the service mid-session
        keep_national_entries(session, clinic.id, patient.id, {})  # the service no longer lets us show them
        view.problem = f"{exc.message_ja}。受付で改めて同意を得てください。"
        return view
    except SharingError as exc:
        view.problem = f"{exc.message_ja}。時間をおいて開き直してください（記録は失われていません）。"
        return view
    view.fetched = True
    names = institution_names(resources)
    for resource in resources:
        if _institution(resource) == clinic.institution_code:
            continue  # our own registrations: shown once, as ours, with their registration state
        kind = classify(resource)
        if kind:
            view.entries[kind].append(_entry(resource, kind, names))
    for entries in view.entries.values():
        entries.sort(key=lambda e: e.day, reverse=True)
    view.checkups = _checkups(checkups)
    keep_national_entries(session, clinic.id, patient.id, view.entries)
    return view


def national_copies(session: Session, clinic_id: int, patient_id: int) -> list[NationalEntryCopy]:
    """The stored copy of other institutions' entries of a patient (as the last fetch found them)."""
    return list(session.scalars(scoped(NationalEntryCopy, clinic_id).where(NationalEntryCopy.patient_id == patient_id)
                                .order_by(NationalEntryCopy.id)))


def keep_national_entries(session: Session, clinic_id: int, patient_id: int,
                          entries: dict[str, list[NationalEntry]]) -> None:
    """Bring the patient's stored copy of other institutions' entries up to what a fetch found (in the caller's
    transaction): the safety banner reads this copy instead of calling the service on every page. An entry keeps
    its row (and id) from one fetch to the next, so a page showing it can still act on it after another fetch."""
    stored = {row.entry_key: row for row in national_copies(session, clinic_id, patient_id)}
    now = utcnow()
    found: set[str] = set()
    for e in (e for items in entries.values() for e in items):
        if e.key in found:
            continue  # the same entry twice in one answer is shown once
        found.add(e.key)
        row = stored.get(e.key)
        if row is None:
            row = NationalEntryCopy(clinic_id=clinic_id, patient_id=patient_id, entry_key=e.key)
            session.add(row)
        row.kind, row.title, row.detail, row.day = e.kind, e.title[:300], e.detail, e.day
        row.institution_code, row.institution_name = e.institution_code[:10], e.institution_name[:100]
        row.codes, row.fetched_at = e.codes, now
    for key, row in stored.items():
        if key not in found:
            session.delete(row)  # no longer held at the service