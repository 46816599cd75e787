"""The FHIR facade through HTTP with a partner's bearer token: the CapabilityStatement, read and search of every
resource type on JP Core profiles (each validated with fhir.resources and our profile rules), _count paging with
next links, _lastUpdated, code, category, status, date; OperationOutcome for every error; another clinic's ids
answer 404; every call touching a patient is in the access log under the application's name."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import select

from app.core.models import AccessLogEntry
from app.sharing.fhir.validation import resource_problems
from tests.partners.helpers import issue_token
from tests.sharing.records import arrange
from tests.transfer.world import build

TYPES = ("Patient", "Encounter", "Condition", "AllergyIntolerance", "Observation", "MedicationRequest",
         "ServiceRequest", "DiagnosticReport", "DocumentReference", "ImagingStudy")


@pytest.fixture
def world(client, session):
    found = build(session)
    found["token"] = issue_token(client, found["clinic"].institution_code, ["fhir.read"])
    return found


def _get(client, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.raw.get(path, headers=headers)


def _bundle(client, path: str, token: str) -> dict:
    response = _get(client, path, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        assert resource_problems(entry["resource"]) == [], entry["resource"]["id"]
    return body


def _outcome(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    OperationOutcome.model_validate(body)
    return body


def test_capability_statement_lists_every_type_and_its_parameters(client):
    response = client.raw.get("/fhir/metadata")
    body = response.get_json()
    CapabilityStatement.model_validate(body)
    served = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert tuple(served) == TYPES
    assert served["Observation"]["profile"] == "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_LabResult"
    assert {p["name"] for p in served["Observation"]["searchParam"]} >= {"patient", "code", "category", "date",
                                                                         "_lastUpdated"}


def test_every_type_is_searched_and_read_on_its_profile(client, world):
    patient = f"pt-{world['patient'].id}"
    for resource_type in TYPES:
        query = "" if resource_type == "Patient" else f"?patient=Patient/{patient}"
        body = _bundle(client, f"/fhir/{resource_type}{query}", world["token"])
        assert body["total"] >= 1 and body["entry"], resource_type
        first = body["entry"][0]["resource"]
        assert first["meta"]["profile"][0].startswith("http://jpfhir.jp/fhir/")
        again = _get(client, f"/fhir/{resource_type}/{first['id']}", world["token"])
        assert again.status_code == 200 and again.get_json() == first
        if resource_type != "Patient":
            assert first.get("subject", first.get("patient"))["reference"] == f"Patient/{patient}"


def test_search_parameters(client, world):
    token, patient = world["token"], f"Patient/pt-{world['patient'].id}"
    assert _bundle(client, "/fhir/Condition?code=I10", token)["total"] == 1
    assert _bundle(client, "/fhir/Condition?code=http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full|I10",
                   token)["total"] == 1
    assert _bundle(client, "/fhir/Condition?category=problem-list-item", token)["total"] == 1  # 既往歴
    labs = _bundle(client, f"/fhir/Observation?patient={patient}&code=3D010000001926101", token)
    assert [e["resource"]["valueQuantity"]["value"] for e in labs["entry"]] == [135.0]
    vitals = _bundle(client, "/fhir/Observation?category=vital-signs", token)
    assert vitals["total"] == 1 and vitals["entry"][0]["resource"]["component"][0]["code"]["coding"][0]["code"] \
        == "8302-2"
    assert _bundle(client, "/fhir/Observation?category=laboratory", token)["total"] == 3  # two results, infection
    assert _bundle(client, "/fhir/Observation?date=2026-11-20", token)["total"] >= 2
    assert _bundle(client, "/fhir/Observation?date=gt2026-11-21", token)["total"] == 0
    assert _bundle(client, "/fhir/MedicationRequest?status=active&code=2329021F1102", token)["total"] == 1
    assert _bundle(client, "/fhir/MedicationRequest?status=cancelled", token)["total"] == 0
    assert _bundle(client, "/fhir/Encounter?status=finished", token)["total"] == 1
    assert _bundle(client, "/fhir/ServiceRequest?status=completed", token)["total"] == 1
    assert _bundle(client, "/fhir/Condition?_lastUpdated=gt2099-01-01", token)["total"] == 0
    assert _bundle(client, "/fhir/Condition?_lastUpdated=ge2026-11-20", token)["total"] == 2
    report = _bundle(client, "/fhir/DiagnosticReport", token)["entry"][0]["resource"]
    assert len(report["result"]) == 2 and report["basedOn"][0]["reference"].startswith("ServiceRequest/")
    # Only current versions: the key image was corrected once.
    images = _bundle(client, "/fhir/DocumentReference?_id=img-" + str(world["image"].id), token)
    assert images["total"] == 1 and images["entry"][0]["resource"]["status"] == "current"


def test_paging_with_next_links(client, world):
    token = world["token"]
    seen, path, pages = [], "/fhir/Observation?_count=2", 0
    while path:
        body = _bundle(client, path, token)
        seen += [e["resource"]["id"] for e in body["entry"]]
        assert len(body["entry"]) <= 2 and body["total"] == 8
        nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
        path = (urlsplit(nxt[0]).path + "?" + urlsplit(nxt[0]).query) if nxt else None
        pages += 1
    assert pages == 4 and len(seen) == len(set(seen)) == 8


def test_binary_serves_the_key_image_and_the_letter(client, world):
    token = world["token"]
    doc = _bundle(client, f"/fhir/DocumentReference?_id=img-{world['image'].id}", token)["entry"][0]["resource"]
    url = doc["content"][0]["attachment"]["url"]
    image = _get(client, f"/fhir/{url}", token)
    assert image.status_code == 200 and image.data == world["image"].image_bytes
    letter = _get(client, f"/fhir/Binary/letter-{world['letter'].id}", token)
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")


def test_errors_are_operation_outcomes(client, world, session):
    token = world["token"]
    assert _outcome(_get(client, "/fhir/Patient", None), 401)["issue"][0]["code"] == "login"
    other_token = issue_token(client, world["clinic"].institution_code, ["patient.read"])
    assert _outcome(_get(client, "/fhir/Patient", other_token), 403)["issue"][0]["code"] == "forbidden"
    assert "使えません" in _outcome(_get(client, "/fhir/Patient?name=山田", token), 400)["issue"][0]["details"]["text"]
    _outcome(_get(client, "/fhir/Observation?_count=0", token), 400)
    _outcome(_get(client, "/fhir/Observation?date=yesterday", token), 400)
    _outcome(_get(client, "/fhir/Observation?patient=12", token), 400)
    _outcome(_get(client, "/fhir/Observation?_page=x", token), 400)
    _outcome(_get(client, "/fhir/Medication", token), 404)
    _outcome(_get(client, "/fhir/Patient/dx-1", token), 404)
    _outcome(_get(client, "/fhir/Patient/nonsense", token), 404)
    _outcome(_get(client, "/fhir/Patient/pt-99999999999999999999", token), 404)
    _outcome(_get(client, "/fhir/Patient/pt-3000000000", token), 404)  # past a 32-bit id column
    _outcome(_get(client, "/fhir/Observation?_page=0.3000000000", token), 400)
    _outcome(_get(client, "/fhir/Observation?patient=Patient/pt-3000000000", token), 400)
    _outcome(_get(client, "/fhir/Binary/pt-1", token), 404)
    _outcome(_get(client, "/fhir/a/b/c", token), 404)
    response = client.raw.post("/fhir/Patient", json={"resourceType": "Patient"},
                               headers={"Authorization": f"Bearer {token}"})
    assert _outcome(response, 405) and response.headers["Allow"] == "GET"


def test_another_clinics_ids_answer_404_and_are_not_found(client, world, session):
    other = arrange(session, institution_code="1310156789", orca_patient_id="00009")
    foreign = other["patient"].id
    token = world["token"]
    _outcome(_get(client, f"/fhir/Patient/pt-{foreign}", token), 404)
    _outcome(_get(client, f"/fhir/Binary/letter-{world['letter'].id}",
                  issue_token(client, "1310156789", ["fhir.read"])), 404)
    assert _bundle(client, f"/fhir/Condition?patient=Patient/pt-{foreign}", token)["total"] == 0
    ids = {e["resource"]["id"] for e in _bundle(client, "/fhir/Patient", token)["entry"]}
    assert f"pt-{foreign}" not in ids and len(ids) == 2


def test_every_call_touching_a_patient_is_in_the_access_log(client, world, session):
    token, patient = world["token"], world["patient"]
    _get(client, f"/fhir/Patient/pt-{patient.id}", token)
    _get(client, f"/fhir/Observation?patient=Patient/pt-{patient.id}", token)
    rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.patient_id == patient.id)
                           .order_by(AccessLogEntry.id)).all()
    assert [(r.action, r.resource.split("?")[0]) for r in rows] == [
        ("view", f"fhir:Patient/pt-{patient.id}"), ("search", "fhir:Observation")]
    assert all(r.actor_login.startswith("app:") and r.user_id is None and r.partner_app_id for r in rows)
