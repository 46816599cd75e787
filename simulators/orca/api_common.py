"""What every simulated API handler gets and gives: the call (state, request record, query) and its Reply."""

from __future__ import annotations

import copy
import csv
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from simulators.orca.codec import Reply, header
from simulators.orca.state import ClinicState

#: Insurance fields of a 保険組合せ as the list and reception APIs show them (no combination rates).
INSURANCE_FIELDS = (
    "InsuranceProvider_Class", "InsuranceProvider_Number", "InsuranceProvider_WholeName",
    "HealthInsuredPerson_Symbol", "HealthInsuredPerson_Number", "HealthInsuredPerson_Branch_Number",
    "HealthInsuredPerson_Continuation", "HealthInsuredPerson_Assistance", "RelationToInsuredPerson",
    "HealthInsuredPerson_WholeName", "Certificate_StartDate", "Certificate_ExpiredDate",
)
PUBLIC_FIELDS = ("PublicInsurance_Class", "PublicInsurance_Name", "PublicInsurer_Number",
                 "PublicInsuredPerson_Number", "Certificate_IssuedDate", "Certificate_ExpiredDate")
PUBLIC_RATE_FIELDS = ("Rate_Admission", "Money_Admission", "Rate_Outpatient", "Money_Outpatient")
#: The 医科診療行為マスター the app ships, read as a file (the simulator imports nothing of the app): ORCA's 点数マスタ.
PROCEDURE_MASTER = Path(__file__).resolve().parents[2] / "app" / "billing" / "data" / "procedures.csv"


@cache
def procedure_points() -> dict[str, Decimal]:
    """Points of each 診療行為 in use, by code."""
    with PROCEDURE_MASTER.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: Decimal(row["points"]) for row in csv.DictReader(handle)
                if row["end_date"] == "99999999"}


@dataclass
class Call:
    """One API call: the clinic's ORCA, the request record and the query (class=…)."""

    state: ClinicState
    record: dict[str, Any]
    query: dict[str, str]

    def field(self, name: str) -> str:
        """A leaf of the request record as stripped text ("" when unset or not text)."""
        value = self.record.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def request_number(self) -> str:
        """Request_Number from the body, else class from the query (※ "Request_Number empty → class")."""
        return self.field("Request_Number") or self.query.get("class", "").strip()

    def reply(self, name: str, result: str, message: str, reskey: str = "Patient Info", *,
              pad: dict[str, int] | None = None, warnings: list[str] | None = None, **fields: Any) -> Reply:
        """A reply with the common header (warnings go before Reskey, as in the acceptmodv2 sample)."""
        record = header(self.state.now(), result, message, reskey)
        if warnings:
            record = {k: v for k, v in record.items() if k != "Reskey"}
            record["Api_Warning_Message_Information"] = [{"Api_Warning_Message": w} for w in warnings]
            record["Reskey"] = reskey
        return Reply(name, {**record, **fields}, pad or {})


def combination_view(combo: dict[str, Any], *, rates: bool = False) -> dict[str, Any]:
    """A 保険組合せ as acceptlstv2 / acceptmodv2 show it (patientgetv2 also shows the rates)."""
    if rates:
        return copy.deepcopy(combo)
    view = {"Insurance_Combination_Number": combo["Insurance_Combination_Number"],
            "Insurance_Nondisplay": combo.get("Insurance_Nondisplay", "N")}
    view.update({k: combo[k] for k in INSURANCE_FIELDS if k in combo})
    publics = combo.get("PublicInsurance_Information") or []
    if publics:
        view["PublicInsurance_Information"] = [{k: p[k] for k in PUBLIC_FIELDS + PUBLIC_RATE_FIELDS if k in p}
                                               for p in publics]
    return view


def listed_patient(patient: dict[str, Any]) -> dict[str, Any]:
    """A patient as patientlst2v2 / patientlst3v2 show it: insurances and 公費 listed apart, not as combinations."""
    listed = ClinicState.brief(patient)
    listed["Home_Address_Information"] = copy.deepcopy(patient.get("Home_Address_Information") or {})
    listed["Outpatient_Class"] = "2"
    insurances: list[dict[str, Any]] = []
    publics: list[dict[str, Any]] = []
    for combo in patient["HealthInsurance_Information"]:
        insurance = {k: combo[k] for k in INSURANCE_FIELDS if k in combo}
        if insurance.get("InsuranceProvider_Number") and insurance not in insurances:
            insurances.append(insurance)
        for public in combo.get("PublicInsurance_Information") or []:
            entry = {k: public[k] for k in PUBLIC_FIELDS if k in public}
            if entry not in publics:
                publics.append(entry)
    listed["HealthInsurance_Information"] = insurances[:3]
    listed["PublicInsurance_Information"] = publics[:4]
    return listed


def has_gaiji(text: str) -> bool:
    """Whether a name holds a character outside JIS X 0208 (ORCA's 外字, e.g. 髙 はしご高)."""
    for char in unicodedata.normalize("NFKC", text):
        if char.isspace():
            continue
        try:
            char.encode("iso2022_jp")
        except UnicodeEncodeError:
            return True
    return False


def name_key(text: str) -> str:
    """A name for matching: NFKC (half-width kana → full-width), spaces removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())
