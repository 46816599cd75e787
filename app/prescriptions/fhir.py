"""An issued prescription as the 電子処方箋 FHIR document (JP_Bundle_ePrescriptionData), shaped after JAMI's
published examples (tests/samples/eprescription/, docs/standards/eprescription.md) and checked by parsing it
with the FHIR R4B models before it leaves.

Systems are the OIDs those examples use; the 一般名処方 code uses the JP core system jp-clins.md names. A unit
whose MERIT-9 code the examples do not show is sent as text only, never with a guessed code.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.core.timeutil import JST
from app.prescriptions.models import Prescription, PrescriptionLine, PrescriptionRp

PROFILE = "http://jpfhir.jp/fhir/ePrescription/StructureDefinition/"
JP_PROFILES = "http://jpfhir.jp/fhir/"
YJ = "urn:oid:1.2.392.100495.20.1.73"
GENERAL_NAME = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode"
USAGE = "urn:oid:1.2.392.200250.2.2.20.20"
UNIT = "urn:oid:1.2.392.100495.20.2.101"
RP_NUMBER = "urn:oid:1.2.392.100495.20.3.81"
RP_INDEX = "urn:oid:1.2.392.100495.20.3.82"
SUBSTITUTION = "urn:oid:1.2.392.100495.20.2.41"
UCUM = "http://unitsofmeasure.org"
#: MERIT-9 unit codes as JAMI's examples write them; other units go as text.
MERIT9_UNITS = {"錠": "TAB", "個": "KO", "本": "HON", "滴": "DROP"}
#: Rp form → route code and method (as in the examples: PO 口 / AP 外用; method 1 内服, 2 外用).
ROUTES = {1: ("PO", "口", "1", "内服"), 2: ("PO", "口", "1", "内服"), 3: ("AP", "外用", "2", "外用")}


class EPrescriptionError(ValueError):
    """A prescription that cannot become a valid 電子処方箋 document; str() is a Japanese message."""


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _quantity(value: float, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if unit in MERIT9_UNITS:
        quantity |= {"system": UNIT, "code": MERIT9_UNITS[unit]}
    return quantity


def _days(value: int) -> dict[str, Any]:
    return {"value": value, "unit": "日", "system": UCUM, "code": "d"}


def _split_name(name: str) -> tuple[str, str]:
    parts = name.replace("\u3000", " ").split(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (name, "")


def _human_names(name: str, kana: str) -> list[dict[str, Any]]:
    names = []
    for text, representation in ((name, "IDE"), (kana, "SYL")):
        if not text:
            continue
        family, given = _split_name(text)
        names.append({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation",
                                     "valueCode": representation}],
                      "use": "official", "text": text.replace(" ", "\u3000"), "family": family,
                      "given": [given] if given else []})
    return names


def _medication_request(rp: PrescriptionRp, line: PrescriptionLine, subject: str, authored: str) -> dict[str, Any]:
    if line.by_generic_name:
        if not line.generic_code:
            raise EPrescriptionError(f"{line.drug_name}に一般名コードがありません")
        coding = [{"system": GENERAL_NAME, "code": line.generic_code, "display": line.generic_name}]
    else:
        if len(line.yj_code) != 12:
            raise EPrescriptionError(f"{line.drug_name}に薬価基準コード（YJ）がないため電子処方箋にできません")
        coding = [{"system": YJ, "code": line.yj_code, "display": line.drug_name}]
    route, route_name, method, method_name = ROUTES.get(rp.form, ROUTES[1])
    timing: dict[str, Any] = {}
    if rp.usage_code:
        timing["code"] = {"coding": [{"system": USAGE, "code": rp.usage_code, "display": rp.usage_text}]}
    else:
        timing["code"] = {"text": rp.usage_text}
    dosage: dict[str, Any] = {
        "text": f"{rp.usage_text}　{line.dose:g}{line.unit}　{rp.quantity}{'回分' if rp.form == 2 else '日分'}",
        "timing": timing,
        "route": {"coding": [{"system": "http://jpfhir.jp/fhir/ePrescription/CodeSystem/route-codes",
                              "code": route, "display": route_name}]},
        "method": {"coding": [{"system": "urn:oid:1.2.392.200250.2.2.20.30", "code": method, "display": method_name}]},
    }
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest", "meta": {"profile": [PROFILE + "JP_MedicationRequest_ePrescriptionData"]},
        "identifier": [{"system": RP_NUMBER, "value": str(rp.number)}, {"system": RP_INDEX, "value": str(line.seq)}],
        "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": coding, "text": line.printed_name},
        "subject": {"reference": subject}, "authoredOn": authored, "dosageInstruction": [dosage],
    }
    if rp.form == 1:  # 内服: per day for so many days
        timing["repeat"] = {"boundsDuration": _days(rp.quantity)}
        dosage["doseAndRate"] = [{"rateRatio": {"numerator": _quantity(line.dose, line.unit),
                                                "denominator": _days(1) | {"value": 1}}}]
        request["dispenseRequest"] = {"quantity": _quantity(round(line.dose * rp.quantity, 5), line.unit),
                                      "expectedSupplyDuration": _days(rp.quantity)}
    elif rp.form == 2:  # 頓服: a dose each time, so many times
        dosage["doseAndRate"] = [{"doseQuantity": _quantity(line.dose, line.unit)}]
        request["dispenseRequest"] = {"quantity": _quantity(round(line.dose * rp.quantity, 5), line.unit)}
    else:  # 外用: the total
        request["dispenseRequest"] = {"quantity": _quantity(line.dose, line.unit)}
    if line.no_substitution:
        request["substitution"] = {"allowedCodeableConcept": {"coding": [
            {"system": SUBSTITUTION, "code": "1", "display": "変更不可"}]}, "reason": {"text": "医療上の必要性"}}
    return request


def _coverages(patient: Any, subject: str) -> list[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """(coverage urn, Coverage, payer urn, payer Organization) for the current insurance and 公費."""
    found = []
    for insurance in (patient.insurances or [])[:1]:
        payer, coverage = _urn(), _urn()
        relation = "1" if insurance.get("relation") == "本人" else "2"
        resource: dict[str, Any] = {
            "resourceType": "Coverage", "meta": {"profile": [PROFILE + "JP_Coverage_ePrescriptionData_insurance"]},
            "extension": [
                {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSymbol",
                 "valueString": insurance.get("symbol") or ""},
                {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonNumber",
                 "valueString": insurance.get("number") or ""},
                {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSubNumber",
                 "valueString": insurance.get("branch") or ""}],
            "status": "active", "beneficiary": {"reference": subject},
            "relationship": {"coding": [{"system": "urn:oid:1.2.392.100495.20.2.62", "code": relation,
                                         "display": "被保険者" if relation == "1" else "被扶養者"}]},
            "payor": [{"reference": payer}]}
        resource["extension"] = [e for e in resource["extension"] if e["valueString"]]
        if insurance.get("burden_percent") is not None:
            resource["costToBeneficiary"] = [{"type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "copaypct"}]},
                "valueQuantity": {"value": insurance["burden_percent"], "unit": "%", "system": UCUM, "code": "%"}}]
        organization = {"resourceType": "Organization",
                        "meta": {"profile": [PROFILE + "JP_Organization_ePrescriptionData_coveragePayer"]},
                        "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.61",
                                        "value": insurance.get("insurer_number", "")}],
                        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                              "code": "ins"}]}],
                        "name": insurance.get("name") or "保険者"}
        found.append((coverage, resource, payer, organization))
    for order, public in enumerate((patient.public_expenses or [])[:2], start=1):
        payer, coverage = _urn(), _urn()
        resource = {"resourceType": "Coverage",
                    "meta": {"profile": [PROFILE + "JP_Coverage_ePrescriptionData_publicPayment"]},
                    "status": "active", "subscriberId": public.get("recipient_number") or "",
                    "beneficiary": {"reference": subject}, "payor": [{"reference": payer}], "order": order}
        organization = {"resourceType": "Organization",
                        "meta": {"profile": [PROFILE + "JP_Organization_ePrescriptionData_coveragePayer"]},
                        "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.71",
                                        "value": public.get("payer_number") or ""}],
                        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                              "code": "other"}]}],
                        "name": public.get("name") or "公費負担者"}
        found.append((coverage, resource, payer, organization))
    return found


def build_bundle(prescription: Prescription, patient: Any, clinic: Any) -> dict[str, Any]:
    """The 電子処方箋 document of an issued prescription (a plain JSON dict)."""
    code = clinic.institution_code
    now = datetime.now(JST).isoformat(timespec="seconds")
    authored = prescription.issued_at.astimezone(JST).isoformat(timespec="seconds")
    subject, encounter, issuer, role, practitioner = _urn(), _urn(), _urn(), _urn(), _urn()
    entries: list[tuple[str, dict[str, Any]]] = []
    entries.append((subject, {
        "resourceType": "Patient", "meta": {"profile": [PROFILE + "JP_Patient_ePrescriptionData"]},
        "identifier": [{"system": f"urn:oid:1.2.392.100495.20.3.51.1{code}", "value": patient.orca_patient_id}],
        "name": _human_names(patient.name, patient.kana),
        "gender": {"M": "male", "F": "female"}.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat()}))
    entries.append((encounter, {"resourceType": "Encounter",
                                "meta": {"profile": [PROFILE + "JP_Encounter_ePrescriptionData"]},
                                "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                                "code": "AMB", "display": "外来"}}))
    section: list[dict[str, str]] = []
    for coverage, resource, payer, organization in _coverages(patient, subject):
        entries += [(coverage, resource), (payer, organization)]
        section += [{"reference": coverage}, {"reference": payer}]
    entries.append((issuer, {
        "resourceType": "Organization", "meta": {"profile": [PROFILE + "JP_Organization_ePrescriptionData_issuer"]},
        "extension": [
            {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_PrefectureNo",
             "valueIdentifier": {"system": "urn:oid:1.2.392.100495.20.3.21", "value": code[:2]}},
            {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_InsuranceOrganizationCategory",
             "valueIdentifier": {"system": "urn:oid:1.2.392.100495.20.3.22", "value": code[2]}},
            {"url": "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_InsuranceOrganizationNo",
             "valueIdentifier": {"system": "urn:oid:1.2.392.100495.20.3.23", "value": code[3:]}}],
        "identifier": [{"system": "http://jpfhir.jp/fhir/Common/IdSystem/insurance-medical-institution-no",
                        "value": code}],
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}],
        "name": clinic.name, "telecom": [{"system": "phone", "value": clinic.phone}] if clinic.phone else [],
        "address": [{"text": f"〒{clinic.postal_code} {clinic.address}".strip()}] if clinic.address else []}))
    family, given = _split_name(prescription.doctor_name)
    entries.append((practitioner, {
        "resourceType": "Practitioner", "meta": {"profile": [PROFILE + "JP_Practitioner_ePrescriptionData_author"]},
        "identifier": [{"system": f"urn:oid:1.2.392.100495.20.3.41.1{code}",
                        "value": str(prescription.doctor_id or 0)}],
        "name": [{"text": prescription.doctor_name, "family": family, "given": [given] if given else []}]}))
    entries.append((role, {
        "resourceType": "PractitionerRole",
        "meta": {"profile": [PROFILE + "JP_PractitionerRole_ePrescriptionData_author"]},
        "practitioner": {"reference": practitioner}, "organization": {"reference": issuer},
        "code": [{"coding": [{"system": "http://jpfhir.jp/fhir/Common/CodeSystem/practitioner-role-category",
                              "code": "doctor"}]}]}))
    for rp in prescription.rps:
        for line in rp.lines:
            urn = _urn()
            entries.append((urn, _medication_request(rp, line, subject, authored)))
            section.append({"reference": urn})
    composition = {
        "resourceType": "Composition", "meta": {"profile": [PROFILE + "JP_Composition_ePrescriptionData"]},
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber",
                       "valueString": "1"}],
        "identifier": {"system": "http://jpfhir.jp/fhir/Common/IdSystem/resourceInstance-identifier",
                       "value": f"{code}-{prescription.id}"},
        "status": "final",
        "type": {"coding": [{"system": "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes", "code": "57833-6",
                             "display": "処方箋"}]},
        "category": [{"coding": [{"system": "http://jpfhir.jp/fhir/ePrescription/CodeSystem/prescription-category",
                                  "code": "01", "display": "一般処方箋"}]}],
        "subject": {"reference": subject}, "encounter": {"reference": encounter}, "date": now,
        "author": [{"reference": role}, {"reference": issuer}], "title": "処方箋",
        "custodian": {"reference": issuer},
        "event": [{"code": [{"text": "処方箋交付"}], "period": {"start": prescription.issued_on.isoformat(),
                                                           "end": prescription.valid_until.isoformat()}}],
        "section": [{"title": "処方情報", "code": {"coding": [{
            "system": "http://jpfhir.jp/fhir/ePrescription/CodeSystem/prescription-section", "code": "01",
            "display": "処方情報セクション"}]}, "entry": section}]}
    entries.insert(0, (_urn(), composition))  # a document starts with its Composition
    bundle = {"resourceType": "Bundle", "meta": {"profile": [PROFILE + "JP_Bundle_ePrescriptionData"]},
              "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn()}, "type": "document", "timestamp": now,
              "entry": [{"fullUrl": urn, "resource": resource} for urn, resource in entries]}
    validate_bundle(bundle)
    return bundle


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Refuse a document that is not a valid R4B Bundle of the ePrescription shape (profiles, references)."""
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(bundle)
    except Exception as exc:  # noqa: BLE001 — the model library raises its own validation errors
        raise EPrescriptionError(f"電子処方箋の文書が FHIR として正しくありません: {str(exc).splitlines()[0]}") from exc
    if bundle.get("type") != "document" or not bundle.get("entry"):
        raise EPrescriptionError("電子処方箋の文書は type=document の Bundle である必要があります")
    first = bundle["entry"][0]["resource"]
    if first.get("resourceType") != "Composition":
        raise EPrescriptionError("文書の最初の entry が Composition ではありません")
    urls = {entry["fullUrl"] for entry in bundle["entry"]}
    for entry in bundle["entry"]:
        for reference in _references(entry["resource"]):
            if reference.startswith("urn:uuid:") and reference not in urls:
                raise EPrescriptionError(f"文書内で解決できない参照があります: {reference}")
        profiles = entry["resource"].get("meta", {}).get("profile", [])
        if not any(p.startswith(JP_PROFILES) for p in profiles):  # JP core or the ePrescription IG
            raise EPrescriptionError(f"{entry['resource']['resourceType']} に JP のプロファイルがありません")
    if not any(e["resource"]["resourceType"] == "MedicationRequest" for e in bundle["entry"]):
        raise EPrescriptionError("処方（MedicationRequest）がありません")


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []
