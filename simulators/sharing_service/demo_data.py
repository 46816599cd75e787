"""What "other institutions" registered about a patient, for the demo and the tests: JP-CLINS resources built
from real codes only (MEDIS disease numbers and ICD-10 from app/diagnoses/data/diseases.csv, YJ and 一般名 codes
from app/prescriptions/data/drugs.csv, JLAC10 core-item codes from app/sharing/data/lab_core.csv), with values
made up for a fictitious patient. The institutions are fictitious; their 医療機関コード pass the check digit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

ECS = "http://jpfhir.jp/fhir/eCS/StructureDefinition/"
MEMBER = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
INSTITUTION_EXT = "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber"
INSTITUTION_NO = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
INSTANCE = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier"

#: Fictitious other institutions (name, 医療機関コード).
HOSPITAL = ("みなと総合病院", "1310000009")
CARDIO = ("かもめ循環器クリニック", "1310000017")
#: The institutions the service knows (as it knows every registered institution): 医療機関コード → name.
INSTITUTIONS = {code: name for name, code in (HOSPITAL, CARDIO)}
#: 健診 kinds the service holds results of.
CHECKUP_KINDS = ("特定健診", "事業者健診", "学校職員健診", "任意健診")
#: Health-check items: (name, JLAC10 core code, unit, start value, yearly change).
CHECKUP_ITEMS = [("HbA1c(NGSP)", "3D046000001906202", "%", 6.1, 0.2),
                 ("LDL-コレステロール(LDL-C)", "3F077000002327101", "mg/dL", 128.0, 6.0),
                 ("中性脂肪(TG)", "3F015000002327101", "mg/dL", 140.0, 12.0),
                 ("クレアチニン(Cre)", "3C015000002327101", "mg/dL", 0.92, 0.04)]


def _common(kind: str, profile: str, institution: tuple[str, str], key: str, member: str) -> dict[str, Any]:
    return {"resourceType": kind, "meta": {"profile": [ECS + profile]}, "language": "ja",
            "extension": [{"url": INSTITUTION_EXT, "valueIdentifier": {"system": INSTITUTION_NO,
                                                                       "value": institution[1]}}],
            "identifier": [{"system": INSTANCE, "value": f"{institution[1]}-{key}"}],
            **({"patient": {"identifier": {"system": MEMBER, "value": member}}} if kind == "AllergyIntolerance"
               else {"subject": {"identifier": {"system": MEMBER, "value": member}}})}


def six_information(member: str, today: date) -> list[dict[str, Any]]:
    """Resources two other institutions registered for one patient."""
    found: list[dict[str, Any]] = []
    dm = _common("Condition", "JP_Condition_eCS", HOSPITAL, f"{member}-cond-1", member)
    dm |= {"clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                          "code": "active"}]},
           "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                              "code": "confirmed"}]},
           "code": {"coding": [{"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber",
                                "code": "20050020", "display": "２型糖尿病"},
                               {"system": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full",
                                "code": "E11"}], "text": "２型糖尿病"},
           "onsetDateTime": (today - timedelta(days=900)).isoformat(),
           "recordedDate": (today - timedelta(days=900)).isoformat()}
    found.append(dm)
    lipid = _common("Condition", "JP_Condition_eCS", CARDIO, f"{member}-cond-2", member)
    lipid |= {k: dm[k] for k in ("clinicalStatus", "verificationStatus")}
    lipid |= {"code": {"coding": [{"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber",
                                   "code": "20091221", "display": "脂質異常症"}], "text": "脂質異常症"},
              "onsetDateTime": (today - timedelta(days=400)).isoformat(),
              "recordedDate": (today - timedelta(days=400)).isoformat()}
    found.append(lipid)
    allergy = _common("AllergyIntolerance", "JP_AllergyIntolerance_eCS", HOSPITAL, f"{member}-alg-1", member)
    allergy |= {"clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "type": "allergy", "category": ["medication"], "criticality": "high",
        "code": {"coding": [{"system": "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code", "code": "6131001C2119",
                             "display": "アモキシシリン細粒２０％「ＴＣＫ」　２００ｍｇ"}], "text": "アモキシシリン"},
        "reaction": [{"manifestation": [{"text": "全身の発疹"}], "severity": "severe"}],
        "recordedDate": (today - timedelta(days=700)).isoformat()}
    found.append(allergy)
    food = _common("AllergyIntolerance", "JP_AllergyIntolerance_eCS", CARDIO, f"{member}-alg-2", member)
    food |= {"clinicalStatus": allergy["clinicalStatus"], "type": "allergy", "category": ["food"],
             "criticality": "low", "code": {"text": "そば"}, "reaction": [{"manifestation": [{"text": "口唇の腫れ"}]}],
             "recordedDate": (today - timedelta(days=300)).isoformat()}
    found.append(food)
    contra = _common("AllergyIntolerance", "JP_AllergyIntolerance_eCS", CARDIO, f"{member}-ci-1", member)
    contra |= {"clinicalStatus": allergy["clinicalStatus"], "type": "intolerance", "category": ["medication"],
               "criticality": "high", "code": {"text": "β遮断薬"}, "note": [{"text": "薬剤禁忌: 気管支喘息"}],
               "recordedDate": (today - timedelta(days=300)).isoformat()}
    found.append(contra)
    infection = _common("Observation", "JP_Observation_Common_eCS", HOSPITAL, f"{member}-inf-1", member)
    infection |= {"status": "final", "category": [{"coding": [{
        "system": "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS", "code": "laboratory"}]}],
        "code": {"text": "感染症 HCV抗体"}, "valueString": "陰性",
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                        "code": "NEG"}], "text": "陰性"}],
        "effectiveDateTime": (today - timedelta(days=650)).isoformat()}
    found.append(infection)
    for n, (local, name, jlac, value, unit, days) in enumerate([
            ("H-0041", "HbA1c(NGSP)", "3D046000001906202", 7.2, "%", 60),
            ("H-0012", "クレアチニン(Cre)", "3C015000002327101", 0.98, "mg/dL", 60)], start=1):
        lab = _common("Observation", "JP_Observation_LabResult_eCS", HOSPITAL, f"{member}-lab-{n}", member)
        lab |= {"status": "final", "category": infection["category"],
                "code": {"coding": [
                    {"system": "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS",
                     "code": local, "display": name},
                    {"system": "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS",
                     "code": jlac, "display": name},
                    {"system": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits", "code": jlac}], "text": name},
                "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
                "effectiveDateTime": (today - timedelta(days=days)).isoformat()}
        found.append(lab)
    found.append(medication(member, HOSPITAL, "med-1", "2171022F3013", "アムロジピンＯＤ錠２．５ｍｇ「トーワ」",
                            today - timedelta(days=30)))
    return found


def medication(member: str, institution: tuple[str, str], key: str, yj: str, name: str, day: date,
               dosage: str = "１日１回朝食後 1錠 28日分") -> dict[str, Any]:
    """One active prescription (MedicationRequest) an institution registered for the patient on `day`."""
    med = _common("MedicationRequest", "JP_MedicationRequest_eCS", institution, f"{member}-{key}", member)
    med |= {"status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code",
                                                      "code": yj, "display": name}], "text": name},
            "authoredOn": day.isoformat(), "dosageInstruction": [{"text": dosage}]}
    return med


def health_checks(member: str, today: date, kinds: tuple[str, ...] = ("特定健診", "任意健診")) -> list[dict[str, Any]]:
    """Five years of yearly health-check results of each kind given (values drift a little each year)."""
    found = []
    latest = today.year if (today.month, today.day) > (6, 20) else today.year - 1
    for k, kind in enumerate(kinds):
        for year in range(5):
            day = date(latest - 4 + year, 6, 10 + k)
            for n, (name, jlac, unit, start, step) in enumerate(CHECKUP_ITEMS):
                obs = _common("Observation", "JP_Observation_LabResult_eCS", HOSPITAL,
                              f"{member}-hc-{k}-{year}-{n}", member)
                obs |= {"status": "final",
                        "category": [{"coding": [{"system": "http://jpfhir.jp/fhir/core/CodeSystem/"
                                                  "JP_SimpleObservationCategory_CS", "code": "laboratory"}]},
                                     {"text": kind}],
                        "code": {"coding": [
                            {"system": "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS",
                             "code": f"HC-{n + 1:03d}", "display": name},
                            {"system": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits", "code": jlac}],
                            "text": name},
                        "valueQuantity": {"value": round(start + step * (year + k * 0.5), 2), "unit": unit,
                                          "system": "http://unitsofmeasure.org", "code": unit},
                        "effectiveDateTime": day.isoformat()}
                found.append(obs)
    return found
