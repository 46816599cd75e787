"""A synthetic full-size 支払基金 チェックマスタ for the prescription-check benchmark (issue 19): the published layout
(ZIP of three cp932 CSV files with a header line) at the published size — about 4,000 併用禁忌 pairs, 27,684 傷病名禁忌
rows and 1.2 million 適応・投与量 rows — spread over the drug codes given, so that each drug has a few dozen
rows as in the real edition. Benchmark data only: the pairs and limits are random, never shipped.

`prepare_full_check` loads it through the importer and connects the bench clinic to the 電子カルテ情報共有サービス
simulator, where the fully recorded patient (with a recorded consent) has 20 other institutions' prescriptions and
their allergies: what the check page and the safety banner read."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.diagnoses.models import Disease
from app.patients.models import Patient
from app.prescriptions.check_master import HEIYO, SHOBYO, TEKIO, Layout, import_check_master
from app.prescriptions.models import Drug
from app.sharing.fhir.mapping import member_id
from app.sharing.models import SharingConsent
from app.sharing.services import national_view

PAIRS = 4_000
DISEASE_RULES = 27_684
DOSE_RULES = 1_000_000


def _header(layout: Layout) -> list[str]:
    return [f"項目{n}" for n in range(1, layout.columns + 1)]


def _csv(layout: Layout, rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(",".join(_header(layout)) + "\r\n")
    for row in rows:
        buffer.write(",".join(row) + "\r\n")
    return buffer.getvalue().encode("cp932")


def write_synthetic_check_master(path: Path, drug_codes: list[str], disease_codes: list[str], *,
                                 pairs: int = PAIRS, disease_rules: int = DISEASE_RULES,
                                 dose_rules: int = DOSE_RULES, seed: int = 19) -> Path:
    """Write a ZIP at `path` (its name should carry the edition's yyyymmdd) with `pairs` 併用禁忌 pairs (each
    listed in both directions, as the published file does), `disease_rules` 傷病名禁忌 rows and `dose_rules`
    適応・投与量 rows over `drug_codes` (all must be in the drug master the import checks against) and
    `disease_codes` (7 digits). About one dose row in five defines a maximum dose, one in twenty a maximum of
    days; a drug's first row is its 無条件 (0000000) row."""
    rng = random.Random(seed)
    codes = sorted(set(drug_codes))
    heiyo: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    while len(seen) < pairs:
        a, b = rng.sample(codes, 2)
        if frozenset((a, b)) in seen:
            continue
        seen.add(frozenset((a, b)))
        for left, right in ((a, b), (b, a)):
            heiyo.append([left, right, "", "", "", "", "", "", "0", "R08"])
    shobyo = [[rng.choice(codes), rng.choice(disease_codes), "", "", "", "", "0", "R08"]
              for _ in range(disease_rules)]
    tekio: list[list[str]] = []
    per_drug = max(1, dose_rules // len(codes))
    for index in range(dose_rules):
        code = codes[(index // per_drug) % len(codes)]
        first = index % per_drug == 0
        row = [""] * TEKIO.columns
        row[0], row[1] = code, "0000000" if first else rng.choice(disease_codes)
        row[4], row[5], row[6], row[7] = "0", "0", "999", "1"
        row[12] = str(rng.choice((3, 4, 6, 8))) if first or rng.random() < 0.2 else ""
        row[14] = "30" if rng.random() < 0.05 else ""
        row[20], row[22], row[23] = ("1" if rng.random() < 0.5 else "0"), "0", "R08"
        tekio.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{HEIYO.prefix}_synthetic.csv", _csv(HEIYO, heiyo))
        archive.writestr(f"{SHOBYO.prefix}_synthetic.csv", _csv(SHOBYO, shobyo))
        archive.writestr(f"{TEKIO.prefix}_synthetic.csv", _csv(TEKIO, tekio))
    return path


def prepare_full_check(session: Session, clinic_id: int, patient_id: int, other_drugs: list[tuple[str, str]],
                       sharing_root: str, token: str, workdir: Path, dose_rules: int = DOSE_RULES) -> str:
    """Import the synthetic edition over the whole drug master (each drug its share of `dose_rules` rows), connect
    the clinic to the sharing simulator at `sharing_root`, record the patient's consent, give the simulator the
    patient's other institutions' entries and `other_drugs` as their active prescriptions, and fetch them once
    through the 6情報 page's service (the copy the banner reads). Returns the edition's version."""
    codes = list(session.scalars(select(Drug.receipt_code)))
    diseases = [c for c in session.scalars(select(Disease.code)) if len(c) == 7]
    path = write_synthetic_check_master(workdir / "check_master_20261201.zip", codes, diseases, dose_rules=dose_rules)
    version = import_check_master(session, path).version
    session.commit()
    clinic = session.get(Clinic, clinic_id)
    clinic.integrations = {**clinic.integrations, "sharing": {"base_url": f"{sharing_root}/clinic/"
                                                                           f"{clinic.institution_code}/fhir",
                                                               "token": token}}
    patient = session.get(Patient, patient_id)
    today = japan_today()
    session.add(SharingConsent(clinic_id=clinic_id, patient_id=patient_id, given_on=today - timedelta(days=30),
                               valid_until=today + timedelta(days=365), recorded_by_name="ベンチ"))
    medications = [{"yj": yj, "name": name, "days_ago": 3 + n} for n, (yj, name) in enumerate(other_drugs)]
    requests.post(f"{sharing_root}/_sim/patients", timeout=10, json={
        "member_id": member_id(patient), "consent_until": (today + timedelta(days=365)).isoformat(),
        "other_institutions": True, "medications": medications}).raise_for_status()
    view = national_view(session, clinic, patient)
    if view.problem:
        raise SystemExit(f"the sharing simulator could not be read: {view.problem}")
    session.commit()
    return version
