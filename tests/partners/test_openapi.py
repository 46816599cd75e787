"""The OpenAPI document against the routes (neither can drift from the other), and schemathesis against the API:
no 500, no answer outside the document."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.partners.scopes import SCOPES
from tests.factories import make_clinic, make_patient
from tests.partners.helpers import register_partner, token_for


def _api_routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            found |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_document_and_routes_name_the_same_operations(client, app):
    response = client.raw.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == _api_routes(app)
    assert len(documented) >= 12
    declared = document["components"]["securitySchemes"]["partnerOAuth"]["flows"]["clientCredentials"]["scopes"]
    assert set(declared) == set(SCOPES) and "fhir.read" in declared
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            view = app.view_functions["api." + operation["operationId"]]
            assert operation["security"] == [{"partnerOAuth": list(view.required_scopes)}], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_every_api_route_has_a_scope_and_a_description(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document":
            view = app.view_functions[rule.endpoint]
            assert getattr(view, "required_scopes", None), rule.rule
            assert getattr(view, "api_doc", None), rule.rule


@pytest.fixture
def api_schema(app, session, client):
    """The document served by the app under test, with a clinic, a patient and a token of every API scope."""
    clinic = make_clinic(session)
    make_patient(session, clinic)
    session.commit()
    credentials = register_partner(client, clinic.institution_code, [s for s in SCOPES if s != "fhir.read"],
                                   rate_limit_per_minute=100_000)
    token = token_for(client, credentials)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case):
    # Every check but positive_data_acceptance: a schema-valid web booking naming a department ORCA does not have
    # is refused by the reception rule (422), as the clerk's screen refuses it.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
