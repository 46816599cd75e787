"""The 電子カルテ情報共有サービス client against its simulator (real HTTP): OperationOutcome errors become clear
Japanese messages with the right retry class, a slow service times out as retryable; and the ORCA client reads
the consent from the online eligibility result (ResultOfQualificationConfirmation)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.integrations.orca import OrcaClient
from app.integrations.sharing_service import (
    SharingClient,
    SharingConsentRequired,
    SharingRejected,
    SharingUnavailable,
)
from tests.integrations.conftest import CLINIC_A, japan_today

MEMBER = "01130012:1:2:00"


def _client(sharing, timeout: float = 5.0) -> SharingClient:
    return SharingClient(sharing.base_url(CLINIC_A), sharing.token(CLINIC_A), timeout=timeout)


def test_search_needs_consent_and_says_why(sharing):
    client = _client(sharing)
    with pytest.raises(SharingConsentRequired, match="閲覧同意がありません"):
        client.search(MEMBER)
    sharing.seed_patient(MEMBER, consent_until=(date.today() - timedelta(days=1)).isoformat())
    with pytest.raises(SharingConsentRequired, match="有効期限"):
        client.search(MEMBER)
    sharing.seed_patient(MEMBER, consent_until=(date.today() + timedelta(days=1)).isoformat(),
                         other_institutions=True)
    kinds = {r["resourceType"] for r in client.search(MEMBER)}
    assert kinds == {"Condition", "AllergyIntolerance", "Observation", "MedicationRequest"}


def test_refusals_and_failures_are_classified(sharing):
    with pytest.raises(SharingRejected, match="認証に失敗しました"):
        SharingClient(sharing.base_url(CLINIC_A), "wrong").search(MEMBER)
    with pytest.raises(SharingRejected, match="JP_Bundle_CLINS"):
        _client(sharing).register({"resourceType": "Bundle", "type": "batch"})
    sharing.set_fault("down")
    with pytest.raises(SharingUnavailable, match="サービス停止中です") as down:
        _client(sharing).search(MEMBER)
    assert down.value.retryable
    sharing.set_fault("slow", seconds=1.5)
    with pytest.raises(SharingUnavailable, match="時間内に応答しませんでした"):
        _client(sharing, timeout=0.3).search(MEMBER)


def test_orca_gives_the_consent_of_the_eligibility_result(orca):
    client = OrcaClient(orca.base_url(CLINIC_A), *orca.credentials(CLINIC_A))
    yamada = client.get_patient("00001").sharing_consent
    assert yamada is not None and yamada.given_on == japan_today() and yamada.valid_until > japan_today()
    expired = client.get_patient("00003").sharing_consent
    assert expired is not None and expired.valid_until < japan_today()
    assert client.get_patient("00006").sharing_consent is None
