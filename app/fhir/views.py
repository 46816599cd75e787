"""The FHIR R4 facade: /fhir/metadata, read (/fhir/<type>/<id>), search (/fhir/<type>?…) and the files behind
DocumentReference (/fhir/Binary/<id>), for partner applications holding the scope fhir.read. Every answer is FHIR
JSON; every error an OperationOutcome; every patient a call touches is in the access log under the
application's name; another clinic's id answers 404 like one that does not exist."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from app.clinics.models import Clinic
from app.core.audit import log_access
from app.core.security import public
from app.db import db_session, get_scoped
from app.documents.models import ReferralLetter
from app.documents.printing import letter_pdf
from app.extensions import csrf
from app.fhir import bp
from app.fhir.capability import capability_statement
from app.fhir.kinds import split_id
from app.fhir.search import SearchError, next_link, read, search
from app.imaging.models import KeyImage
from app.partners.auth import partner, partner_actor, partner_error, require_scope
from app.patients.models import Patient
from app.sharing.sources import key_images_by_id

FHIR_JSON = "application/fhir+json"


def _base() -> str:
    return request.url_root.rstrip("/") + "/fhir"


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status, mimetype=FHIR_JSON)


def _refused(exc: SearchError) -> Response:
    return partner_error(exc.status, exc.code, exc.message, "fhir")


def _logged(patient_ids: set[int] | list[int], resource: str, action: str = "view") -> None:
    """The calling application's look at each patient, in the call's transaction (require_scope commits it with
    the call's rate-limit count)."""
    session = db_session()
    actor = partner_actor()
    for patient_id in sorted(patient_ids):
        log_access(session, actor, patient_id=patient_id, action=action, resource=f"fhir:{resource}"[:255])


@bp.get("/metadata")
@public
def metadata():
    """The CapabilityStatement (public, as FHIR servers publish it)."""
    return _answer(capability_statement(_base()))


@bp.get("/<resource_type>")
@require_scope("fhir.read", error_format="fhir")
def search_type(resource_type: str):
    """A searchset Bundle: one page of `_count` with a next link."""
    args = list(request.args.items(multi=True))
    try:
        found = search(db_session(), partner().clinic, resource_type, args)
    except SearchError as exc:
        return _refused(exc)
    _logged(found.patient_ids, f"{resource_type}?{request.query_string.decode()[:200]}", "search")
    links = [{"relation": "self", "url": request.url}]
    if found.next_page:
        links.append({"relation": "next", "url": next_link(_base(), resource_type, args, found.next_page)})
    return _answer({"resourceType": "Bundle", "type": "searchset", "total": found.total, "link": links,
                    "entry": [{"fullUrl": f"{_base()}/{r['resourceType']}/{r['id']}", "resource": r,
                               "search": {"mode": "match"}} for r in found.resources]})


@bp.get("/<resource_type>/<resource_id>")
@require_scope("fhir.read", error_format="fhir")
def read_resource(resource_type: str, resource_id: str):
    """One resource by id (404 OperationOutcome for an unknown id or another clinic's)."""
    try:
        resource, patient_id = read(db_session(), partner().clinic, resource_type, resource_id)
    except SearchError as exc:
        return _refused(exc)
    _logged([patient_id], f"{resource_type}/{resource_id}")
    return _answer(resource)


@bp.get("/Binary/<resource_id>")
@require_scope("fhir.read", error_format="fhir")
def binary(resource_id: str):
    """The file behind a DocumentReference: a key image as stored, or a referral letter as PDF."""
    session = db_session()
    clinic_id = partner().clinic_id
    found = split_id(resource_id)
    kinds = {"img": KeyImage, "letter": ReferralLetter}
    row = get_scoped(session, kinds[found[0].prefix], clinic_id, found[1]) \
        if found and found[0].prefix in kinds else None
    if row is None:
        return partner_error(404, "not-found", f"Binary/{resource_id} はありません", "fhir")
    _logged([row.patient_id], f"Binary/{resource_id}")
    if isinstance(row, KeyImage):
        return Response(row.image_bytes, mimetype=row.media_type)
    clinic = session.get(Clinic, clinic_id)
    images = key_images_by_id(session, clinic_id, row.patient_id, list(row.key_image_ids or []))
    pdf = letter_pdf(row, session.get(Patient, row.patient_id), clinic, images=images)
    return Response(pdf, mimetype="application/pdf")


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@public
def elsewhere(rest: str):
    """Anything else under /fhir: an OperationOutcome (405 for writes: the facade only reads)."""
    if request.method != "GET":
        response = partner_error(405, "not-supported", "このFHIRサーバーは参照と検索だけに対応しています", "fhir")
        response.headers["Allow"] = "GET"
        return response
    return partner_error(404, "not-found", f"/fhir/{rest} はありません", "fhir")


csrf.exempt(elsewhere)  # no cookie is ever read under /fhir; a write is refused with an OperationOutcome
