"""What each API route publishes about itself, attached where the route is declared (`documented`), and the
schemas it answers with. The OpenAPI document (openapi.py) is built from the URL map and these, so a route and
its description cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import g

from app.api.common import parse_query


@dataclass(frozen=True)
class RouteDoc:
    """One operation: its summary, answer schema, query parameters and request body."""

    summary: str
    response: dict[str, Any]
    status: int = 200
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    #: Query parameters that must be given.
    required: tuple[str, ...] = ()


def documented(summary: str, response: dict[str, Any], *, status: int = 200,
               query: dict[str, dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None,
               required: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach the route's description (put it under `require_scope`, so the scopes are known too)."""

    doc = RouteDoc(summary, response, status, query or {}, body, required)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            g.api_query = parse_query(doc.query, doc.required)  # checked against what the document says
            return view(*args, **kwargs)

        wrapped.api_doc = doc  # type: ignore[attr-defined]
        return wrapped

    return decorator


def ref(name: str) -> dict[str, Any]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(name: str) -> dict[str, Any]:
    """The schema of a list answer {"items": [...], "count": n}."""
    return {"type": "object", "required": ["items", "count"], "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": ref(name)}, "count": {"type": "integer"}}}


STR = {"type": "string"}
OPT_STR = {"type": ["string", "null"]}
INT = {"type": "integer"}
OPT_INT = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
OPT_DATE = {"type": ["string", "null"], "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
OPT_DATETIME = {"type": ["string", "null"], "format": "date-time"}
LIMIT = {"limit": {"type": "integer", "minimum": 1, "maximum": 200, "description": "返す件数の上限"}}
DAY = {"date": {"type": "string", "format": "date", "minLength": 10, "maxLength": 10,
                "description": "日付 YYYY-MM-DD（省略時は今日）"}}


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object schema whose every property is always present."""
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


#: The schemas the API answers with (components of the OpenAPI document).
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": STR, "message": {"type": "string", "description": "日本語の説明"}}},
    "PatientSearch": obj(items={"type": "array", "items": ref("Patient")}, count=INT,
                         message={"type": "string", "description": "検索できなかった・多すぎたときの説明"}),
    "Patient": obj(id=INT, orca_patient_id=STR, name=STR, kana=STR, sex={"type": "string", "enum": ["M", "F", "U"]},
                   birth_date=DATE),
    "ProfileItem": {"type": "object", "required": ["id", "lineage_id", "version", "recorded_at"],
                    "properties": {"id": INT, "lineage_id": OPT_INT, "version": INT, "recorded_at": DATETIME},
                    "additionalProperties": {"type": ["string", "number", "integer", "boolean", "null"]}},
    "Profile": {"type": "object", "additionalProperties": {"type": "array", "items": ref("ProfileItem")}},
    "Diagnosis": obj(id=INT, lineage_id=OPT_INT, version=INT, disease_code=STR, name=STR, icd10=STR,
                     is_suspected=BOOL, is_main=BOOL, started_on=DATE, outcome=STR, ended_on=OPT_DATE),
    "PrescriptionLine": obj(seq=INT, drug_receipt_code=STR, drug_name=STR, dose={"type": "number"}, unit=STR),
    "PrescriptionRp": obj(number=INT, usage_text=STR, times_per_day=OPT_INT, quantity=INT,
                          lines={"type": "array", "items": ref("PrescriptionLine")}),
    "Prescription": obj(id=INT, issued_on=DATE, valid_until=DATE, status=STR, mode=STR, doctor_name=STR,
                        rps={"type": "array", "items": ref("PrescriptionRp")}),
    "LabOrder": obj(id=INT, order_number=STR, ordered_on=DATE, status=STR,
                    item_codes={"type": "array", "items": STR}),
    "LabResult": obj(id=INT, lineage_id=OPT_INT, order_id=OPT_INT, lab_code=STR, jlac10=STR, name=STR, value=STR,
                     unit=STR, flag=STR, reference=STR, collected_on=OPT_DATE, recorded_at=DATETIME),
    "Document": obj(id=INT, kind=STR, written_on=OPT_DATE, status=STR, to_institution=STR, to_doctor=STR,
                    purpose=STR),
    "KeyImage": obj(id=INT, lineage_id=OPT_INT, study_uid=STR, series_uid=STR, instance_uid=STR, frame=INT,
                    caption=STR, recorded_at=DATETIME),
    "Visit": obj(id=INT, patient_id=INT, visit_date=DATE, accepted_at=DATETIME, acceptance_id=OPT_STR,
                 department_code=STR, department_name=STR, physician_code=STR, physician_name=STR, status=STR,
                 source=STR),
}
