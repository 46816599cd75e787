"""JP-CLINS profile URLs, identifier systems and code systems, as docs/standards/jp-clins.md lists them
(read from the public JP-CLINS example instances). Nothing here is invented: a system we cannot name from the
standard is not sent."""

from __future__ import annotations

ECS = "http://jpfhir.jp/fhir/eCS/StructureDefinition/"
CLINS = "http://jpfhir.jp/fhir/clins/StructureDefinition/"
CORE = "http://jpfhir.jp/fhir/core/StructureDefinition/"

PATIENT = ECS + "JP_Patient_eCS"
CONDITION = ECS + "JP_Condition_eCS"
ALLERGY = ECS + "JP_AllergyIntolerance_eCS"
LAB_RESULT = ECS + "JP_Observation_LabResult_eCS"
OBSERVATION_COMMON = ECS + "JP_Observation_Common_eCS"
MEDICATION_REQUEST = ECS + "JP_MedicationRequest_eCS"
ORGANIZATION = ECS + "JP_Organization_eCS"
PRACTITIONER = ECS + "JP_Practitioner_eCS"
ENCOUNTER = ECS + "JP_Encounter_eCS"
DOCUMENT_REFERENCE = ECS + "JP_DocumentReference_eCS"
CARE_PLAN = ECS + "JP_CarePlan_eCS"
CARE_PLAN_PCS = ECS + "JP_CarePlan_ePCS"  # as the public patient-summary example writes it
BUNDLE_CLINS = CLINS + "JP_Bundle_CLINS"
BUNDLE_REFERRAL = CLINS + "JP_Bundle_eReferral"
BUNDLE_PCS = CLINS + "JP_Bundle_ePCS"
COMPOSITION_REFERRAL = "http://jpfhir.jp/fhir/eReferral/StructureDefinition/JP_Composition_eReferral"

# --- JP Core: the profiles the /fhir facade and the bulk export claim (docs/standards/fhir-facade.md) ---------
CORE_PATIENT = CORE + "JP_Patient"
CORE_ENCOUNTER = CORE + "JP_Encounter"
CORE_CONDITION = CORE + "JP_Condition"
CORE_ALLERGY = CORE + "JP_AllergyIntolerance"
CORE_OBSERVATION = CORE + "JP_Observation_Common"
CORE_LAB_RESULT = CORE + "JP_Observation_LabResult"
CORE_VITAL_SIGNS = CORE + "JP_Observation_VitalSigns"
CORE_MEDICATION_REQUEST = CORE + "JP_MedicationRequest"
CORE_SERVICE_REQUEST = CORE + "JP_ServiceRequest_Common"
CORE_LAB_REPORT = CORE + "JP_DiagnosticReport_LabResult"
CORE_IMAGING_STUDY = CORE + "JP_ImagingStudy_Radiology"
CORE_IMMUNIZATION = CORE + "JP_Immunization"
CORE_PROFILES = frozenset({CORE_PATIENT, CORE_ENCOUNTER, CORE_CONDITION, CORE_ALLERGY, CORE_OBSERVATION,
                           CORE_LAB_RESULT, CORE_VITAL_SIGNS, CORE_MEDICATION_REQUEST, CORE_SERVICE_REQUEST,
                           CORE_LAB_REPORT, CORE_IMAGING_STUDY, CORE_IMMUNIZATION})

#: Every profile our validator accepts (a version suffix "|1" is allowed, as the examples write it).
KNOWN_PROFILES = frozenset({
    PATIENT, CONDITION, ALLERGY, LAB_RESULT, OBSERVATION_COMMON, MEDICATION_REQUEST, ORGANIZATION, PRACTITIONER,
    ENCOUNTER, DOCUMENT_REFERENCE, CARE_PLAN, CARE_PLAN_PCS, BUNDLE_CLINS, BUNDLE_REFERRAL, BUNDLE_PCS,
    COMPOSITION_REFERRAL,
    CORE + "JP_Encounter", CORE + "JP_Practitioner", CORE + "JP_Specimen", CORE + "JP_Patient",
    CORE + "JP_Organization", *CORE_PROFILES,
})
#: The profile a resource of each kind must carry in a 6-information registration.
#: (The facade's JP Core profiles stand in for them outside a registration.)
REQUIRED_PROFILE = {"Patient": (PATIENT, CORE_PATIENT), "Condition": (CONDITION, CORE_CONDITION),
                    "AllergyIntolerance": (ALLERGY, CORE_ALLERGY),
                    "MedicationRequest": (MEDICATION_REQUEST, CORE_MEDICATION_REQUEST),
                    "Observation": (LAB_RESULT, OBSERVATION_COMMON, CORE_LAB_RESULT, CORE_VITAL_SIGNS,
                                    CORE_OBSERVATION)}

# --- identifiers ---------------------------------------------------------------------------------------------
PATIENT_ID_PREFIX = "urn:oid:1.2.392.100495.20.3.51.1"  # + 医療機関コード(10)
PRACTITIONER_ID_PREFIX = "urn:oid:1.2.392.100495.20.3.41.1"  # + 医療機関コード(10)
INSURANCE_MEMBER = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
RESOURCE_INSTANCE = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier"
INSTITUTION_NO = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
INSTITUTION_EXT = "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber"
DEPARTMENT_EXT = "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department"
DEPARTMENT_CS = "http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment"
BUNDLE_IDENTIFIER = "http://jpfhir.jp/fhir/clins/bundle-identifier"
BUNDLE_RESOURCE_TYPE = "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS"
EHRSHRS_INDICATION = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_ehrshrs_indication"
NAME_REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
RP_GROUP = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/Medication-RPGroupNumber"
RP_INDEX = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/MedicationAdministrationIndex"

# --- code systems --------------------------------------------------------------------------------------------
DISEASE_KEY = "http://medis.or.jp/CodeSystem/master-disease-keyNumber"
DISEASE_EXCODE = "http://medis.or.jp/CodeSystem/master-disease-exCode"
DISEASE_MODIFIER = "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber"
ICD10 = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
JLAC10 = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
JLAC10_CORE = "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS"
LAB_LOCAL = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS"
SPECIMEN_MATERIAL = "http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationSampleMaterialCode_CS"
OBSERVATION_CATEGORY = "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DRUG_ALLERGEN = "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS"
FOOD_ALLERGEN = "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS"
YJ = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
HOT9 = "http://medis.or.jp/CodeSystem/master-HOT9"
GENERAL_NAME = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode"
DRUG_NOCODED = "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS"
DRUG_UNIT = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUnitMERIT9Code"
USAGE_JAMI = "http://jami.jp/CodeSystem/MedicationUsage"
USAGE_EPRESCRIPTION = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription"
USAGE_UNCODED = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS"
ROUTE = "http://jpfhir.jp/fhir/core/CodeSystem/route-codes"
SUBSTITUTION = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationSubstitutionProhibittedCategory"
UCUM = "http://unitsofmeasure.org"
DOC_TYPE = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes"
DOC_SUBTYPE = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-subtypecodes"
DOC_SECTION = "http://jpfhir.jp/fhir/clins/CodeSystem/document-section"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"  # DocumentReference.type of the clinical-course text, as the examples code it
OBSERVATION_CATEGORY_HL7 = "http://terminology.hl7.org/CodeSystem/observation-category"  # vital-signs …
DICOM = "http://dicom.nema.org/resources/ontology/DCM"  # ImagingStudy modality
DICOM_UID = "urn:dicom:uid"  # ImagingStudy.identifier of a StudyInstanceUID (FHIR R4 ImagingStudy)

# --- Kamikarte's own systems: where no standard one exists (each listed in a bulk export's manifest) ---------
LOCAL = "http://kamikarte.jp/fhir/"
#: The whole record a resource was made from (columns FHIR has no element for), so that an export read back by
#: Kamikarte loses nothing (app/fhir/records.py).
RECORD_EXTENSION = LOCAL + "StructureDefinition/record"
#: Our kinds of profile items that no standard code names (血液型 as recorded, 既往歴, 障害, 要介護度, 妊娠・授乳).
PROFILE_ITEM = LOCAL + "CodeSystem/profile-item"
#: Our kinds of documents with no standard type code (the SOAP progress note, a key image).
DOCUMENT_KIND = LOCAL + "CodeSystem/document-kind"
LOCAL_SYSTEMS = (PROFILE_ITEM, DOCUMENT_KIND, RECORD_EXTENSION)

#: Code systems a coding may use: the table of jp-clins.md, the HL7 terminology it names, and the prefixes of
#: systems the public examples use that the table names only by family (JAMI method codes, MERIT-9 categories,
#: the lab's own drug code system urn …/DrugCode/<institution>).
KNOWN_SYSTEMS = frozenset({
    DISEASE_KEY, DISEASE_EXCODE, DISEASE_MODIFIER, ICD10, CONDITION_CLINICAL, CONDITION_VER, CONDITION_CATEGORY,
    ALLERGY_CLINICAL, ALLERGY_VER, JLAC10, JLAC10_CORE, LAB_LOCAL, SPECIMEN_MATERIAL, OBSERVATION_CATEGORY,
    INTERPRETATION, DRUG_ALLERGEN, FOOD_ALLERGEN, YJ, HOT9, GENERAL_NAME, DRUG_NOCODED, DRUG_UNIT, USAGE_JAMI,
    USAGE_EPRESCRIPTION, USAGE_UNCODED, ROUTE, SUBSTITUTION, UCUM, DOC_TYPE, DOC_SUBTYPE, DOC_SECTION,
    DEPARTMENT_CS, ENCOUNTER_CLASS, LOINC, BUNDLE_RESOURCE_TYPE, EHRSHRS_INDICATION, DICOM, PROFILE_ITEM,
    DOCUMENT_KIND,
})
KNOWN_SYSTEM_PREFIXES = ("http://terminology.hl7.org/CodeSystem/", "http://jpfhir.jp/fhir/core/CodeSystem/",
                         "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/", "http://jpfhir.jp/fhir/eCS/CodeSystem/",
                         "http://jpfhir.jp/fhir/clins/CodeSystem/", "http://jami.jp/CodeSystem/",
                         "http://jpfhir.jp/fhir/Common/CodeSystem/", "http://jpfhir.jp/fhir/CarePlan/CodeSystem/", "http://hl7.org/fhir/v2/",
                         "http://terminology.hl7.org/CodeSystem/v2-", "urn:oid:1.2.392.")
