"""The facade's CapabilityStatement (/fhir/metadata), built from the same tables the search reads
(kinds.FACADE_TYPES, search.PARAMETERS), so that it cannot say more or less than the server does."""

from __future__ import annotations

from typing import Any

from app.fhir.kinds import kinds_of
from app.fhir.search import COMMON, DATE_PARAMETERS, PARAMETERS
from app.sharing.fhir import systems as S

#: The search parameter types (FHIR SearchParamType).
TYPES = {"_id": "token", "_lastUpdated": "date", "_count": "number", "patient": "reference",
         "subject": "reference", "code": "token", "category": "token", "status": "token",
         "clinical-status": "token", **{name: "date" for name in DATE_PARAMETERS}}


def capability_statement(base_url: str, software_version: str = "1") -> dict[str, Any]:
    """What the facade serves: FHIR R4, JSON, read and search-type per resource on its JP Core profile,
    OAuth2 bearer tokens with the scope fhir.read."""
    resources = []
    for resource_type, names in PARAMETERS.items():
        profiles = list(dict.fromkeys(_profile(k.prefix) for k in kinds_of(resource_type)))
        resources.append({
            "type": resource_type, "profile": profiles[0], "supportedProfile": profiles,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": TYPES[name]} for name in (*COMMON[:2], *names)]})
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-08", "kind": "instance",
        "publisher": "Kamikarte", "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"],
        "software": {"name": "Kamikarte", "version": software_version},
        "implementation": {"description": "Kamikarte FHIR facade（JP Core、参照と検索）", "url": base_url},
        "rest": [{"mode": "server",
                  "security": {"service": [{"coding": [{
                      "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                      "code": "OAuth"}]}],
                      "description": "OAuth2 client credentials（POST /oauth/token）。スコープ fhir.read が必要です。"},
                  "resource": resources}]}


def _profile(prefix: str) -> str:
    """The JP Core profile a kind's resources claim first."""
    return {"pt": S.CORE_PATIENT, "visit": S.CORE_ENCOUNTER, "img": S.DOCUMENT_REFERENCE,
            "study": S.CORE_IMAGING_STUDY, "order": S.CORE_SERVICE_REQUEST, "report": S.CORE_LAB_REPORT,
            "lab": S.CORE_LAB_RESULT, "vs": S.CORE_VITAL_SIGNS, "dx": S.CORE_CONDITION, "hx": S.CORE_CONDITION,
            "alg": S.CORE_ALLERGY, "ci": S.CORE_ALLERGY, "vac": S.CORE_IMMUNIZATION,
            "rx": S.CORE_MEDICATION_REQUEST, "note": S.DOCUMENT_REFERENCE,
            "letter": S.DOCUMENT_REFERENCE}.get(prefix, S.CORE_OBSERVATION)
