"""Ids placed into an outside system's URL are percent-encoded: an id that came from outside (a document id) can
never change which resource of the service is called."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from app.integrations.sharing_service.client import SharingClient


class _Answer:
    status_code = 200

    def json(self) -> dict[str, Any]:
        return {"resourceType": "Bundle", "read_at": None}


@pytest.fixture
def called(monkeypatch) -> list[str]:
    urls: list[str] = []

    def record(*args: Any, **kwargs: Any) -> _Answer:
        urls.append(args[1] if len(args) > 1 else args[0])
        return _Answer()

    monkeypatch.setattr(requests, "request", record)
    monkeypatch.setattr(requests, "post", record)
    return urls


def test_a_document_id_cannot_leave_its_path_segment(called):
    client = SharingClient("https://sharing.example/clinic/1310123458/fhir", "token")
    client.fetch_document("../Patient?identifier=x#y")
    client.document_read_at("a/b")
    assert called == ["https://sharing.example/clinic/1310123458/fhir/Bundle/..%2FPatient%3Fidentifier%3Dx%23y",
                      "https://sharing.example/clinic/1310123458/fhir/Bundle/a%2Fb/_status"]

