"""ORCA's own 薬剤併用禁忌チェック (contraindicationcheckv2), asked beside the local checks when the clinic is
connected to ORCA. ORCA checks the new drugs among themselves and against its record of the patient's medication.
ORCA down, refusing or answering garbage never hides the local checks: it becomes one 未確認 saying why."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.integrations.orca import (
    OrcaApiError,
    OrcaError,
    OrcaProtocolError,
    OrcaUnavailable,
    client_from_settings,
)
from app.prescriptions.checks import CheckResult
from app.prescriptions.services import DraftLine, DraftRp

SOURCE = "ORCA 薬剤併用禁忌チェック（contraindicationcheckv2）"
#: A check the doctor waits for: ORCA answers in well under a second; a slower one is reported as unreachable.
TIMEOUT_SECONDS = 3.0
MAX_DRUGS = 30  # the API takes 30 drugs a call


def orca_checks(clinic: Any, patient: Any, lines: list[tuple[DraftRp, DraftLine]], today: date) -> list[CheckResult]:
    """ORCA's findings (named as ORCA's), or why ORCA could not be asked; nothing when ORCA is not set up."""
    client = client_from_settings(clinic.integration("orca"), timeout=TIMEOUT_SECONDS)
    if client is None or not lines:
        return []
    if not patient.orca_patient_id:
        return [CheckResult("interaction", "unchecked", "患者がORCAに登録されていないため、ORCAの併用禁忌チェックを"
                            "行えません", SOURCE, "orca_unreachable")]
    drugs = list({line.drug.receipt_code: line.drug.name for _, line in lines}.items())[:MAX_DRUGS]
    try:
        answer = client.check_contraindications(patient.orca_patient_id, drugs, today)
    except (OrcaApiError, OrcaProtocolError) as exc:
        return [CheckResult("interaction", "unchecked", f"ORCAの併用禁忌チェックの結果を使えません: {exc.message_ja}",
                            SOURCE, "orca_error")]
    except (OrcaUnavailable, OrcaError) as exc:
        return [CheckResult("interaction", "unchecked", f"ORCAに問い合わせできなかったため、ORCAの併用禁忌チェックは"
                            f"未確認です（{exc.message_ja}）", SOURCE, "orca_unreachable")]
    results = []
    seen: set[frozenset[str]] = set()
    for found in answer.interactions:
        pair = frozenset({found.medication_code, found.contra_code})
        if pair in seen:  # ORCA lists a pair under each of its drugs
            continue
        seen.add(pair)
        symptom = f" — {found.symptom}" if found.symptom else ""
        results.append(CheckResult(
            "interaction", "stop", f"併用禁忌（ORCA）: {found.medication_name or found.medication_code} と "
            f"{found.contra_name or found.contra_code}{symptom}", f"{SOURCE} 相互作用コード {found.interact_code}"))
    for code, name, message in answer.unchecked:
        results.append(CheckResult("interaction", "unchecked", f"{name or code}: ORCAが併用禁忌を確認できませんでした"
                                   f"（{message}）", SOURCE, "orca_error"))
    return results
