"""Route × scope, like the role matrix: every partner route (found by walking the URL map, so a new one is covered
at once) answers 403 insufficient_scope to a token lacking its scope and lets a token holding it through."""

from __future__ import annotations

from app.db import utcnow
from app.imaging.models import KeyImage
from app.partners.scopes import SCOPES
from tests.partners.helpers import bearer, issue_token

BOOKING = {"patient_id": 0, "department_code": "01", "physician_code": "10001"}


def _partner_routes(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        scopes = getattr(view, "required_scopes", None)
        if scopes:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, scopes


def _fhir_arguments(session, clinic, patient) -> dict:
    """A FHIR route's arguments naming the patient's records: the Patient, and a key image for Binary."""
    image = KeyImage(clinic_id=clinic.id, patient_id=patient.id, study_uid="1.2.3", series_uid="1.2.3.1",
                     instance_uid="1.2.3.1.1", frame=1, caption="胸部", image_bytes=b"\x89PNG",
                     image_sha256="0" * 64, recorded_at=utcnow())
    session.add(image)
    session.commit()
    return {"/fhir/Binary/<resource_id>": {"resource_id": f"img-{image.id}"},
            "/fhir/<resource_type>/<resource_id>": {"resource_type": "Patient", "resource_id": f"pt-{patient.id}"},
            "/fhir/<resource_type>": {"resource_type": "Patient"}}


def _refused_for_scope(response) -> bool:
    """403 insufficient_scope, as JSON or (the FHIR facade) as an OperationOutcome."""
    body = response.json
    if body.get("resourceType") == "OperationOutcome":
        return body["issue"][0]["code"] == "forbidden" and body["issue"][0]["diagnostics"] == "insufficient_scope"
    return body["error"] == "insufficient_scope"


def test_every_partner_route_checks_its_scope(app, client, session, partner_clinic):
    clinic, patient = partner_clinic
    tokens = {scope: issue_token(client, clinic.institution_code, [scope]) for scope in SCOPES}
    fhir = _fhir_arguments(session, clinic, patient)
    checked = 0
    for rule, method, needed in _partner_routes(app):
        arguments = fhir.get(rule.rule) or {arg: patient.id for arg in rule.arguments}
        url = rule.build(arguments, append_unknown=False)[1]
        if rule.rule == "/api/patients":
            url += "?q=ヨヤク"
        for scope, token in tokens.items():
            if method == "GET":
                response = client.raw.get(url, headers=bearer(token))
            else:
                response = client.raw.post(url, headers=bearer(token), json={**BOOKING, "patient_id": patient.id})
            if scope in needed:
                assert response.status_code in (200, 201), (method, rule.rule, scope, response.get_data())
            else:
                assert response.status_code == 403, (method, rule.rule, scope, response.status_code)
                assert _refused_for_scope(response), (method, rule.rule, scope)
            checked += 1
        assert client.raw.open(url, method=method).status_code == 401, (method, rule.rule)  # no token at all
    assert checked >= 12 * len(SCOPES)
