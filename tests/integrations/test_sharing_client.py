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
    found = client.search(MEMBER)
    kinds = {r["resourceType"] for r in found}
    assert kinds == {"Condition", "AllergyIntolerance", "Observation", "MedicationRequest", "Organization"}
    # The registering institutions come along (as a search with _include answers): their names are the service's.
    names = [r["name"] for r in found if r["resourceType"] == "Organization"]
    assert names == ["みなと総合病院", "かもめ循環器クリニック"]


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


def test_the_consent_is_read_from_orcas_six_information_flags():
    """ORCA's names (patientgetv2 ResultOfQualificationConfirmation 6-52-13…30): a flag "1" per item with its
    ConsTime and AvailableTime; the consent runs from the latest consent to the earliest end; the 2024 flags
    (online eligibility's own records) do not count; a time that is not a date is refused with its field."""
    from app.integrations.orca.errors import OrcaProtocolError
    from app.integrations.orca.parsing import read_patient

    base = {"Patient_ID": "00001", "WholeName": "山田　太郎", "WholeName_inKana": "ヤマダ　タロウ",
            "BirthDate": "1958-03-02", "Sex": "1"}
    only_2024 = {"FaceInfExistence": "True", "DiagnosisInfoConsFlg": "1",
                 "DiagnosisInfoAvailableTime": "20261231235959"}
    assert read_patient(base | {"ResultOfQualificationConfirmation": only_2024}).sharing_consent is None
    two = only_2024 | {"DiagnosisNameConsFlg": "1", "DiagnosisNameConsTime": "20261101091230",
                       "DiagnosisNameAvailableTime": "20271031235959", "TestInfoConsFlg": "1",
                       "TestInfoConsTime": "2026-11-05T10:00:00", "TestInfoAvailableTime": "2027-06-30",
                       "PrescriptionInfoConsFlg": "0", "PrescriptionInfoConsTime": "",
                       "PrescriptionInfoAvailableTime": ""}
    consent = read_patient(base | {"ResultOfQualificationConfirmation": two}).sharing_consent
    assert consent is not None and consent.kinds == ("傷病名", "検査情報")
    assert (consent.given_on, consent.valid_until) == (date(2026, 11, 5), date(2027, 6, 30))
    broken = two | {"TestInfoAvailableTime": "来年"}
    with pytest.raises(OrcaProtocolError, match="検査情報閲覧有効期限（TestInfoAvailableTime=来年）"):
        read_patient(base | {"ResultOfQualificationConfirmation": broken})
