"""Our records as JP-CLINS FHIR resources (the one place that maps them): Patient, Condition (傷病名),
AllergyIntolerance (drug and other allergies, 薬剤禁忌), Observation (感染症, 検体検査), MedicationRequest (処方),
and the 6-information registration Bundle. Shapes follow the public JP-CLINS examples
(tests/samples/jp-clins, docs/standards/jp-clins.md); every resource is validated before it is returned.

Inputs are our models (or anything with the same attributes), so the mapping reads no database itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.core.timeutil import JST
from app.sharing.fhir import systems as S
from app.sharing.fhir.validation import core_lab_codes, validate_bundle, validate_resource

#: Our allergy categories → FHIR AllergyIntolerance.category.
ALLERGY_CATEGORY = {"drug": "medication", "food": "food", "other": "environment"}
CRITICALITY = {"mild": "low", "moderate": "low", "severe": "high", "anaphylaxis": "high", "unknown": "unable-to-assess"}
REACTION_SEVERITY = {"mild": "mild", "moderate": "moderate", "severe": "severe", "anaphylaxis": "severe"}
#: Our infection test kinds as shown (the test names; no JLAC10 code is invented for them).
INFECTION_NAMES = {"hbs_ag": "HBs抗原", "hcv_ab": "HCV抗体", "tpha": "梅毒TP抗体", "rpr": "梅毒RPR",
                   "hiv_ab": "HIV抗体", "htlv1_ab": "HTLV-1抗体"}
#: Results → HL7 v3 ObservationInterpretation (POS / NEG / IND) and the Japanese word.
INFECTION_RESULTS = {"positive": ("POS", "陽性"), "negative": ("NEG", "陰性"), "equivocal": ("IND", "判定保留")}
#: 転帰 → Condition.clinicalStatus.
CLINICAL_STATUS = {"continuing": "active", "cured": "resolved", "died": "inactive", "discontinued": "inactive",
                   "transferred": "inactive"}
#: Rp form → route-codes code and name, as the JP-CLINS examples use them.
ROUTES = {1: ("PO", "口"), 2: ("PO", "口"), 3: ("AP", "外用")}
MERIT9_UNITS = {"錠": "TAB", "個": "KO", "本": "HON", "滴": "DROP", "カプセル": "CAP", "包": "HO"}
#: 6-information kinds as the screen and the outbox name them.
KINDS = {"condition": "傷病名", "drug_allergy": "薬剤アレルギー", "other_allergy": "その他アレルギー",
         "infection": "感染症", "contraindication": "薬剤禁忌", "lab_result": "検査", "medication": "処方"}


class MappingError(ValueError):
    """A record that cannot become a JP-CLINS resource (e.g. no insurance to identify the patient)."""


@dataclass(frozen=True)
class Context:
    """Who sends, about whom: the clinic's 医療機関コード, its department, the patient's member ID."""

    institution_code: str
    member_id: str
    patient_number: str = ""
    department_code: str = "01"
    department_name: str = "内科"


@dataclass(frozen=True)
class LabResult:
    """One lab result as the labs domain will hand it over (issue 7): JLAC10 + the lab's own code."""

    local_code: str
    name: str
    jlac10: str
    value: float | str
    unit: str
    effective: datetime
    abbreviation: str = ""
    #: The lab_result row it comes from (0 when it is not one of ours): its registration is kept by it; its lineage
    #: and order (what a 共有しない mark names).
    record_id: int = 0
    lineage_id: int = 0
    order_id: int = 0


def member_id(patient: Any) -> str:
    """The insurance-based identifier the service finds a patient by: 保険者番号:記号:番号:枝番."""
    for insurance in patient.insurances or []:
        insurer, number = str(insurance.get("insurer_number") or ""), str(insurance.get("number") or "")
        if insurer and number:
            branch = str(insurance.get("branch") or "00")
            return f"{insurer}:{insurance.get('symbol') or ''}:{number}:{branch}"
    raise MappingError("保険情報（保険者番号・記号・番号）がないため、電子カルテ情報共有サービスで患者を特定できません")


def context_for(clinic: Any, patient: Any) -> Context:
    """The mapping context of a clinic's patient (MappingError without insurance)."""
    department = (clinic.departments or [{}])[0] if getattr(clinic, "departments", None) else {}
    return Context(clinic.institution_code, member_id(patient), patient.orca_patient_id,
                   department.get("code") or "01", department.get("name") or "内科")


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _instant(value: datetime | None) -> str:
    value = value or datetime.now(JST)
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(JST).isoformat(timespec="seconds")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _common(kind: str, profile: str, ctx: Context, instance: str, recorded: datetime | None,
            department: bool = False) -> dict[str, Any]:
    """Elements every 6-information resource has. The instance identifier names the item's lineage, not its
    version, so that registering a correction replaces the earlier version at the service."""
    extension = [{"url": S.INSTITUTION_EXT, "valueIdentifier": {"system": S.INSTITUTION_NO,
                                                                "value": ctx.institution_code}}]
    if department:
        extension.append({"url": S.DEPARTMENT_EXT, "valueCodeableConcept": {"coding": [
            {"system": S.DEPARTMENT_CS, "code": ctx.department_code, "display": ctx.department_name}]}})
    return {"resourceType": kind, "meta": {"lastUpdated": _instant(recorded), "profile": [profile]},
            "language": "ja", "extension": extension,
            "identifier": [{"system": S.RESOURCE_INSTANCE, "value": f"{ctx.institution_code}-{ctx.patient_number}-"
                                                                    f"{instance}"}]}


def _subject(ctx: Context) -> dict[str, Any]:
    return {"identifier": {"system": S.INSURANCE_MEMBER, "value": ctx.member_id}}


def _split(name: str) -> tuple[str, str]:
    parts = name.replace("\u3000", " ").split(" ", 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (name, "")


def patient_resource(patient: Any, ctx: Context, *, check: bool = True) -> dict[str, Any]:
    """JP_Patient_eCS: our patient number and the insurance member ID; kanji and kana names."""
    names = []
    for text, representation in ((patient.name, "IDE"), (patient.kana, "SYL")):
        if text:
            family, given = _split(text)
            names.append({"extension": [{"url": S.NAME_REPRESENTATION, "valueCode": representation}],
                          "use": "official", "text": f"{family} {given}".strip(), "family": family,
                          **({"given": [given]} if given else {})})
    resource = {"resourceType": "Patient", "meta": {"profile": [S.PATIENT]}, "language": "ja",
                "identifier": [{"system": S.PATIENT_ID_PREFIX + ctx.institution_code, "value": patient.orca_patient_id},
                               {"system": S.INSURANCE_MEMBER, "value": ctx.member_id}],
                "name": names, "gender": {"M": "male", "F": "female"}.get(patient.sex, "unknown"),
                "birthDate": _day(patient.birth_date)}
    _checked(resource, check)
    return resource


def condition_resource(diagnosis: Any, ctx: Context, disease: Any = None, *, check: bool = True) -> dict[str, Any]:
    """JP_Condition_eCS from a diagnosis: MEDIS 病名管理番号 (from the disease master row) and ICD-10."""
    resource = _common("Condition", S.CONDITION, ctx, f"Condition-{diagnosis.lineage_id or diagnosis.id}",
                       diagnosis.recorded_at, department=True)
    coding = []
    if disease is not None and getattr(disease, "medis_key", ""):
        coding.append({"system": S.DISEASE_KEY, "code": disease.medis_key, "display": disease.name})
    if diagnosis.icd10:
        coding.append({"system": S.ICD10, "code": diagnosis.icd10})
    resource |= {
        "clinicalStatus": {"coding": [{"system": S.CONDITION_CLINICAL,
                                       "code": CLINICAL_STATUS.get(diagnosis.outcome, "active")}]},
        "verificationStatus": {"coding": [{"system": S.CONDITION_VER,
                                           "code": "provisional" if diagnosis.is_suspected else "confirmed"}]},
        "category": [{"coding": [{"system": S.CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": coding, "text": diagnosis.display_name} if coding else {"text": diagnosis.display_name},
        "subject": _subject(ctx), "onsetDateTime": _day(diagnosis.started_on),
        "recordedDate": _day(diagnosis.recorded_at.date()) if diagnosis.recorded_at else None}
    if diagnosis.ended_on:
        resource["abatementDateTime"] = _day(diagnosis.ended_on)
    _checked(_clean(resource), check)
    return resource


def _drug_code(item: Any) -> dict[str, Any]:
    coding = []
    yj = getattr(item, "drug_yj_code", None) or ""
    if getattr(item, "drug_scope", None) == "product" and len(yj) == 12:
        coding.append({"system": S.YJ, "code": yj, "display": item.substance})
    return {"coding": coding, "text": item.substance} if coding else {"text": item.substance}


def allergy_resource(allergy: Any, ctx: Context, *, check: bool = True) -> dict[str, Any]:
    """JP_AllergyIntolerance_eCS from an allergy (drug, food or other), tagged for long-term keeping (LTS)."""
    resource = _common("AllergyIntolerance", S.ALLERGY, ctx,
                       f"Allergy-{allergy.lineage_id or allergy.id}", allergy.recorded_at)
    resource["meta"]["tag"] = [{"system": S.EHRSHRS_INDICATION, "code": "LTS", "display": "長期保存"}]
    resource |= {
        "clinicalStatus": {"coding": [{"system": S.ALLERGY_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": S.ALLERGY_VER, "code": "confirmed"}]},
        "type": "allergy", "category": [ALLERGY_CATEGORY.get(allergy.category, "environment")],
        "criticality": CRITICALITY.get(allergy.severity, "unable-to-assess"),
        "code": _drug_code(allergy) if allergy.category == "drug" else {"text": allergy.substance},
        "patient": _subject(ctx), "onsetDateTime": _day(allergy.onset_on)}
    if allergy.reaction:
        reaction: dict[str, Any] = {"manifestation": [{"text": allergy.reaction}]}
        if allergy.severity in REACTION_SEVERITY:
            reaction["severity"] = REACTION_SEVERITY[allergy.severity]
        resource["reaction"] = [reaction]
    if allergy.notes:
        resource["note"] = [{"text": allergy.notes}]
    _checked(_clean(resource), check)
    return resource


def contraindication_resource(item: Any, ctx: Context, *, check: bool = True) -> dict[str, Any]:
    """薬剤禁忌 as JP_AllergyIntolerance_eCS with the drug as code (jp-clins.md): type intolerance, category
    medication, criticality high, the reason as a note — how our reader tells it from a drug allergy."""
    resource = _common("AllergyIntolerance", S.ALLERGY, ctx,
                       f"Contraindication-{item.lineage_id or item.id}", item.recorded_at)
    resource["meta"]["tag"] = [{"system": S.EHRSHRS_INDICATION, "code": "LTS", "display": "長期保存"}]
    resource |= {"clinicalStatus": {"coding": [{"system": S.ALLERGY_CLINICAL, "code": "active"}]},
                 "verificationStatus": {"coding": [{"system": S.ALLERGY_VER, "code": "confirmed"}]},
                 "type": "intolerance", "category": ["medication"], "criticality": "high",
                 "code": _drug_code(item), "patient": _subject(ctx),
                 "note": [{"text": f"薬剤禁忌: {item.reason}"}]}
    _checked(resource, check)
    return resource


def infection_resource(item: Any, ctx: Context, *, check: bool = True) -> dict[str, Any]:
    """感染症 as JP_Observation_Common_eCS: the test by name, the result as HL7 interpretation POS/NEG/IND."""
    resource = _common("Observation", S.OBSERVATION_COMMON, ctx,
                       f"Infection-{item.lineage_id or item.id}", item.recorded_at)
    code, word = INFECTION_RESULTS.get(item.result, ("IND", item.result))
    name = item.kind_other if item.kind == "other" else INFECTION_NAMES.get(item.kind, item.kind)
    resource |= {"status": "final",
                 "category": [{"coding": [{"system": S.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
                 "code": {"text": f"感染症 {name}"}, "subject": _subject(ctx),
                 "effectiveDateTime": _day(item.tested_on), "valueString": word,
                 "interpretation": [{"coding": [{"system": S.INTERPRETATION, "code": code}], "text": word}]}
    _checked(_clean(resource), check)
    return resource


def lab_result_resource(result: LabResult, ctx: Context, *, check: bool = True) -> dict[str, Any]:
    """JP_Observation_LabResult_eCS: the lab's own code (required), JLAC10 and, for core items, the core code."""
    resource = _common("Observation", S.LAB_RESULT, ctx, f"Lab-{result.local_code}-{result.effective:%Y%m%d%H%M}",
                       result.effective, department=True)
    coding = [{"system": S.LAB_LOCAL, "code": result.local_code, "display": result.name}]
    if result.jlac10 in core_lab_codes():
        coding.append({"system": S.JLAC10_CORE, "code": result.jlac10, "display": result.abbreviation or result.name})
    if result.jlac10:
        coding.append({"system": S.JLAC10, "code": result.jlac10, "display": result.abbreviation or result.name})
    value: dict[str, Any]
    if isinstance(result.value, int | float):
        value = {"valueQuantity": {"value": result.value, "unit": result.unit, "system": S.UCUM,
                                   "code": result.unit}} if result.unit else {"valueQuantity": {"value": result.value}}
    else:
        value = {"valueString": str(result.value)}
    resource |= {"status": "final",
                 "category": [{"coding": [{"system": S.OBSERVATION_CATEGORY, "code": "laboratory"}]}],
                 "code": {"coding": coding, "text": result.name}, "subject": _subject(ctx),
                 "effectiveDateTime": _instant(result.effective), **value}
    _checked(resource, check)
    return resource


def medication_request_resources(prescription: Any, ctx: Context, *, check: bool = True) -> list[dict[str, Any]]:
    """JP_MedicationRequest_eCS, one per drug line of an issued prescription (YJ or 一般名 code, usage)."""
    found = []
    for rp in prescription.rps:
        route, route_name = ROUTES.get(rp.form, ROUTES[1])
        for line in rp.lines:
            resource = _common("MedicationRequest", S.MEDICATION_REQUEST, ctx,
                               f"MedReq-{prescription.id}-{rp.number}-{line.seq}", prescription.issued_at)
            coding = []
            if line.by_generic_name and line.generic_code:
                coding.append({"system": S.GENERAL_NAME, "code": line.generic_code, "display": line.generic_name})
            if len(line.yj_code or "") == 12:
                coding.append({"system": S.YJ, "code": line.yj_code, "display": line.drug_name})
            if not coding:
                coding.append({"system": S.DRUG_NOCODED, "code": "NOCODED", "display": "標準コードなし"})
            timing: dict[str, Any] = {"code": {"text": rp.usage_text}}
            if len(rp.usage_code or "") == 16:
                timing["code"]["coding"] = [{"system": S.USAGE_JAMI, "code": rp.usage_code,
                                             "display": rp.usage_text}]
            if rp.form == 1:
                timing["repeat"] = {"boundsDuration": {"value": rp.quantity, "unit": "日", "system": S.UCUM,
                                                       "code": "d"}}
            quantity: dict[str, Any] = {"value": round(line.dose * (rp.quantity if rp.form in (1, 2) else 1), 5),
                                        "unit": line.unit}
            if line.unit in MERIT9_UNITS:
                quantity |= {"system": S.DRUG_UNIT, "code": MERIT9_UNITS[line.unit]}
            days = "回分" if rp.form == 2 else ("日分" if rp.form == 1 else "")
            resource["identifier"] += [{"system": S.RP_GROUP, "value": str(rp.number)},
                                       {"system": S.RP_INDEX, "value": str(line.seq)}]
            resource |= {
                "status": "active" if prescription.status == "issued" else "cancelled", "intent": "order",
                "medicationCodeableConcept": {"coding": coding, "text": line.printed_name},
                "subject": _subject(ctx), "authoredOn": _instant(prescription.issued_at),
                "dosageInstruction": [{"text": f"{rp.usage_text} {line.dose:g}{line.unit} "
                                               f"{rp.quantity if days else ''}{days}".strip(),
                                       "timing": timing,
                                       "route": {"coding": [{"system": S.ROUTE, "code": route,
                                                             "display": route_name}]}}],
                "dispenseRequest": {"quantity": quantity}}
            _checked(resource, check)
            found.append(resource)
    return found


def registration_bundle(patient: dict[str, Any], resources: list[dict[str, Any]], ctx: Context,
                        document_id: str | None = None) -> dict[str, Any]:
    """JP_Bundle_CLINS (type collection): the Patient first, then the resources, tagged with the types carried."""
    kinds = sorted({r["resourceType"] for r in resources}) or ["Patient"]
    now = datetime.now(JST)
    bundle = {"resourceType": "Bundle",
              "meta": {"profile": [S.BUNDLE_CLINS], "tag": [{"system": S.BUNDLE_RESOURCE_TYPE, "code": kind}
                                                            for kind in kinds]},
              "identifier": {"system": S.BUNDLE_IDENTIFIER,
                             "value": f"{ctx.institution_code}^{now.year}^{document_id or uuid.uuid4().hex}"},
              "type": "collection", "timestamp": _instant(now),
              "entry": [{"fullUrl": _urn(), "resource": r} for r in [patient, *resources]]}
    validate_bundle(bundle)
    return bundle


def _checked(resource: dict[str, Any], check: bool) -> None:
    """Validate a resource now, unless the caller puts it into a bundle that validate_bundle checks whole
    (each resource is then parsed once, not twice)."""
    if check:
        validate_resource(resource)


def _clean(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields in place (FHIR forbids nulls and empty strings)."""
    for key in [k for k, v in resource.items() if v is None or v == "" or v == []]:
        del resource[key]
    return resource
