"""The JP-CLINS mapping and validator: the public JP-CLINS examples pass (ErrorExample-* are refused with their
reason), every kind of our records maps to a resource that passes, and broken ones are refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.sharing.fhir import mapping
from app.sharing.fhir import systems as S
from app.sharing.fhir.validation import FhirValidationError, validate_bundle, validate_resource
from app.sharing.records import own_items, patient_bundle
from tests.sharing.records import arrange

EXAMPLES = Path(__file__).resolve().parents[1] / "samples" / "jp-clins"
GOOD = sorted(p for p in EXAMPLES.glob("*.json") if "ErrorExample" not in p.name)
NEGATIVE = {
    "MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json":
        "医薬品コード（YJ・一般名コード・標準コードなし）がありません",
    "MedicationRequest-ErrorExample-JP-MedReq-PO-SID-28days.json":
        "一般名コード 2124030F2ZZZ は一般名処方マスターにありません",
    "Observation-ErrorExample-ObsLabo-eGFR.json": "施設固有の検査項目コード",
}


def _validate(document: dict) -> None:
    (validate_bundle if document["resourceType"] == "Bundle" else validate_resource)(document)


def test_every_public_example_is_here():
    assert len(GOOD) == 58, f"JP-CLINS examples missing in {EXAMPLES} (see its PROVENANCE.md)"


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_public_examples_pass(path):
    _validate(json.loads(path.read_text(encoding="utf-8")))


def test_every_error_example_is_named_and_refused_with_its_reason():
    assert sorted(p.name for p in EXAMPLES.glob("*ErrorExample*.json")) == sorted(NEGATIVE)
    for name, reason in NEGATIVE.items():
        with pytest.raises(FhirValidationError) as refused:
            _validate(json.loads((EXAMPLES / name).read_text(encoding="utf-8")))
        assert any(reason in problem for problem in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("breaks, reason", [
    (lambda r: r["meta"].update(profile=["http://example.org/StructureDefinition/Other"]), "未知のプロファイル"),
    (lambda r: r["meta"].pop("profile"), "meta.profile がありません"),
    (lambda r: r["code"]["coding"].append({"system": "http://example.org/local", "code": "X1"}), "未知のコード体系"),
    (lambda r: r.update(clinicalStatus={"coding": [{"system": S.CONDITION_CLINICAL, "code": 12}]}),
     "FHIR として正しくありません"),
])
def test_broken_resources_are_refused(breaks, reason):
    resource = json.loads((EXAMPLES / "Condition-Example-JP-Condition-eCS-01.json").read_text(encoding="utf-8"))
    breaks(resource)
    with pytest.raises(FhirValidationError) as refused:
        validate_resource(resource)
    assert any(reason in p for p in refused.value.problems), refused.value.problems


def test_each_kind_of_our_records_maps_to_a_valid_jp_clins_resource(session):
    desk = arrange(session)
    items = own_items(session, desk["clinic"], desk["patient"])
    by_kind = {item.kind: item for item in items}
    assert set(by_kind) == {"condition", "drug_allergy", "other_allergy", "contraindication", "infection",
                            "medication"}
    condition = by_kind["condition"].resources[0]
    assert condition["meta"]["profile"] == [S.CONDITION]
    assert {"system": S.DISEASE_KEY, "code": "20061593", "display": "高血圧症"} in condition["code"]["coding"]
    assert {"system": S.ICD10, "code": "I10"} in condition["code"]["coding"]
    assert condition["subject"] == {"identifier": {"system": S.INSURANCE_MEMBER,
                                                   "value": "01130012:７５１３１３７８:7812312:00"}}
    assert condition["extension"][0]["valueIdentifier"] == {"system": S.INSTITUTION_NO, "value": "1310123458"}
    drug = by_kind["drug_allergy"].resources[0]
    assert drug["category"] == ["medication"] and drug["criticality"] == "high"
    assert drug["code"]["coding"] == [{"system": S.YJ, "code": "1149019F1560", "display": "ロキソニン錠６０ｍｇ"}]
    assert drug["meta"]["tag"][0]["code"] == "LTS"
    assert by_kind["other_allergy"].resources[0]["category"] == ["food"]
    contra = by_kind["contraindication"].resources[0]
    assert contra["type"] == "intolerance" and contra["note"][0]["text"] == "薬剤禁忌: 出血傾向"
    infection = by_kind["infection"].resources[0]
    assert infection["interpretation"][0]["coding"][0]["code"] == "NEG" and infection["valueString"] == "陰性"
    generic, brand = by_kind["medication"].resources
    assert generic["medicationCodeableConcept"]["coding"][0] == {
        "system": S.GENERAL_NAME, "code": "1149019F1ZZZ", "display": "【般】ロキソプロフェンＮａ錠６０ｍｇ"}
    assert brand["medicationCodeableConcept"]["coding"] == [
        {"system": S.YJ, "code": "2329021F1102", "display": "ムコスタ錠１００ｍｇ"}]
    assert generic["dosageInstruction"][0]["timing"]["code"]["coding"][0]["code"] == "1013044400000000"
    assert generic["dispenseRequest"]["quantity"] == {"value": 21, "unit": "錠", "system": S.DRUG_UNIT,
                                                      "code": "TAB"}


def test_patient_bundle_is_a_valid_clins_collection(session):
    desk = arrange(session)
    bundle = patient_bundle(session, desk["clinic"], desk["patient"])
    assert bundle["type"] == "collection" and bundle["meta"]["profile"] == [S.BUNDLE_CLINS]
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"] == [
        {"system": S.PATIENT_ID_PREFIX + "1310123458", "value": desk["patient"].orca_patient_id},
        {"system": S.INSURANCE_MEMBER, "value": "01130012:７５１３１３７８:7812312:00"}]
    assert [n["extension"][0]["valueCode"] for n in patient["name"]] == ["IDE", "SYL"]
    assert patient["name"][0]["family"] == "山田" and patient["name"][1]["given"] == ["タロウ"]
    assert {t["code"] for t in bundle["meta"]["tag"]} == {"Condition", "AllergyIntolerance", "Observation",
                                                          "MedicationRequest"}
    assert bundle["identifier"]["value"].startswith("1310123458^")
    broken = copy.deepcopy(bundle)
    broken["entry"].reverse()
    with pytest.raises(FhirValidationError, match="最初の entry が Patient"):
        validate_bundle(broken)
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["onsetDateTime"] = "昨日"
    with pytest.raises(FhirValidationError, match="Condition: FHIR として正しくありません"):
        validate_bundle(broken)
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["subject"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    with pytest.raises(FhirValidationError, match="文書内で解決できない参照"):
        validate_bundle(broken)


def test_lab_results_map_with_local_and_core_codes():
    from datetime import datetime

    ctx = mapping.Context("1310123458", "01130012:1:2:00", "00001")
    result = mapping.LabResult("0000181802", "カリウム", "3H015000002326101", 4.1, "mmol/L",
                               datetime(2026, 11, 1, 9, 0), "K")
    resource = mapping.lab_result_resource(result, ctx)
    systems = [c["system"] for c in resource["code"]["coding"]]
    assert systems == [S.LAB_LOCAL, S.JLAC10_CORE, S.JLAC10]
    assert resource["valueQuantity"]["value"] == 4.1


def test_a_patient_without_insurance_cannot_be_identified(session):
    desk = arrange(session, insurances=[])
    with pytest.raises(mapping.MappingError, match="保険情報"):
        patient_bundle(session, desk["clinic"], desk["patient"])


def test_a_resource_checked_before_is_not_parsed_again_but_any_change_is_checked_afresh(monkeypatch):
    """The memo of checked resources (pure function of the JSON): an identical resource is answered from it; an
    edited one — valid or broken — is parsed again, and a refused one stays refused."""
    from app.sharing.fhir import validation

    validation.forget_checked()
    parsed = []
    real = validation._parse
    monkeypatch.setattr(validation, "_parse", lambda r: parsed.append(r.get("id")) or real(r))
    resource = json.loads((EXAMPLES / "Condition-Example-JP-Condition-eCS-01.json").read_text(encoding="utf-8"))
    validate_resource(resource)
    validate_resource(copy.deepcopy(resource))
    assert len(parsed) == 1
    broken = copy.deepcopy(resource)
    broken["clinicalStatus"] = {"coding": [{"system": S.CONDITION_CLINICAL, "code": 12}]}
    for _ in range(2):
        with pytest.raises(FhirValidationError):
            validate_resource(broken)
    assert len(parsed) == 2
    resource["code"]["coding"].append({"system": "http://example.org/local", "code": "X1"})
    with pytest.raises(FhirValidationError, match="未知のコード体系"):
        validate_resource(resource)
    assert len(parsed) == 3
    validation.forget_checked()


def test_other_institutions_are_named_from_the_organizations_the_service_sends():
    from app.sharing.fhir import systems
    from app.sharing.services import institution_names

    answer = [{"resourceType": "Condition", "extension": [{"url": systems.INSTITUTION_EXT, "valueIdentifier": {
                  "system": systems.INSTITUTION_NO, "value": "1310000025"}}]},
              {"resourceType": "Organization", "name": "さくら医院",
               "identifier": [{"system": systems.INSTITUTION_NO, "value": "1310000025"}]},
              {"resourceType": "Organization", "name": "番号のない組織",
               "identifier": [{"system": "urn:x", "value": "1"}]}]
    assert institution_names(answer) == {"1310000025": "さくら医院"}
    assert institution_names(answer[:1]) == {}  # no Organization sent: the code alone is shown, no name invented
