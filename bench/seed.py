"""The benchmark's data set, written straight into the database (the figures are the requests, not the seeding):
patients and today's visits, the drug master, the logged-in doctor, and one patient with a full record — profile
(drug allergies, 薬剤禁忌, infections), current diagnoses and medicines, issued prescriptions, referral letters (one
with a kept CT slice) — whose pages are measured."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyotp
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.clinics.models import Clinic, StaffUser
from app.config import ROOT
from app.core.audit import Actor
from app.core.jp import name_search_key
from app.core.timeutil import JST, japan_today
from app.diagnoses.masters import load_shipped_subsets
from app.diagnoses.models import Diagnosis, Disease
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.imaging.services import sha256_hex
from app.patients.models import Patient
from app.patients.profile import add_item, resolve_drug
from app.patients.profile_forms import KINDS
from app.patients.profile_models import Infection
from app.prescriptions.drug_master import load_shipped_subset
from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
from app.reception.models import Visit

CLINIC_CODE = "1310123458"
#: The lab's bearer token for pushing results to the bench clinic (benchmark data only).
LAB_PUSH_TOKEN = "bench-lab-push-token"  # noqa: S105
FAMILY = [("山田", "ヤマダ"), ("髙橋", "タカハシ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("田中", "タナカ"),
          ("渡邉", "ワタナベ"), ("伊藤", "イトウ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
          ("吉田", "ヨシダ"), ("山本", "ヤマモト"), ("齋藤", "サイトウ"), ("松本", "マツモト"), ("井上", "イノウエ"),
          ("木村", "キムラ"), ("林", "ハヤシ"), ("清水", "シミズ"), ("山﨑", "ヤマザキ"), ("森", "モリ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"), ("健", "ケン"),
         ("さくら", "サクラ"), ("翔太", "ショウタ"), ("陽菜", "ヒナ"), ("大輔", "ダイスケ"), ("結衣", "ユイ")]


@dataclass(frozen=True)
class Doctor:
    """The account the benchmark logs in with."""

    login_id: str
    password: str
    totp_secret: str


@dataclass(frozen=True)
class Record:
    """The ids of the fully recorded patient's rows that the measured pages show."""

    patient_id: int
    prescription_id: int
    letter_id: int
    letter_with_image_id: int
    check_form: dict[str, str]
    #: (YJ code, name) of the 20 drugs other institutions prescribed (given to the sharing simulator).
    other_institution_drugs: list[tuple[str, str]]


def names() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Family and given names: the common ones above (they are what clerks type) and the simulator's gimei
    subset (a realistic spread: hundreds of family names, thousands of given names)."""
    families, givens = list(FAMILY) * 10, list(GIVEN)
    for line in (ROOT / "simulators" / "orca" / "data" / "names.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, kanji, kana = line.split("\t")
            (families if kind == "last" else givens).append((kanji, kana))
    return families, givens


def doctor_row(clinic_id: int, doctor: Doctor, now: datetime) -> dict:
    """A doctor's account row, enrolled in TOTP, ready to log in."""
    return {"clinic_id": clinic_id, "login_id": doctor.login_id, "display_name": "上野　誠",
            "display_kana": "ウエノ マコト", "role": "doctor", "is_active": True,
            "password_hash": hash_password(doctor.password), "must_change_password": False, "password_changed_at": now,
            "totp_secret": doctor.totp_secret, "totp_enrolled_at": now, "totp_last_step": 0, "failed_login_count": 0,
            "session_epoch": 0}


def patient_row(rng: random.Random, clinic_id: int, number: int, families: list, givens: list) -> dict:
    """A patient row of a random name (search keys as the app makes them) and birth date; ORCA number `number`."""
    family, given = rng.choice(families), rng.choice(givens)
    name, kana = f"{family[0]}　{given[0]}", f"{family[1]}　{given[1]}"
    return {"clinic_id": clinic_id, "orca_patient_id": f"{number:06d}", "name": name, "kana": kana,
            "name_key": name_search_key(name), "kana_key": name_search_key(kana), "sex": rng.choice("MF"),
            "birth_date": date(1930, 1, 1) + timedelta(days=rng.randrange(0, 33000)),
            "insurances": [], "public_expenses": [], "postal_code": "", "address": "", "phone": ""}


def seed_clinic(url: str, n_patients: int, n_visits: int) -> tuple[int, Doctor]:
    """One clinic (its lab may push results), one doctor with TOTP, `n_patients` patients, `n_visits` visits
    today; the clinic's id and the doctor's credentials."""
    rng = random.Random(42)
    doctor = Doctor("bench", f"bench-{rng.random()}", pyotp.random_base32())
    engine = create_engine(url)
    with engine.begin() as conn:
        clinic_id = conn.execute(insert(Clinic).returning(Clinic.id), [{
            "name": "ベンチ内科", "institution_code": CLINIC_CODE, "postal_code": "", "address": "", "phone": "",
            "departments": [{"code": "01", "name": "内科"}], "is_full_chart_mode": False, "idle_lock_minutes": 10,
            "integrations": {"lab_center": {"inbound_token": LAB_PUSH_TOKEN}}}]).scalar_one()
        now = datetime.now(UTC)
        conn.execute(insert(StaffUser), [doctor_row(clinic_id, doctor, now)])
        families, givens = names()
        rows = []
        for i in range(1, n_patients + 1):
            rows.append(patient_row(rng, clinic_id, i, families, givens))
            if len(rows) == 5000:
                conn.execute(insert(Patient), rows)
                rows = []
        if rows:
            conn.execute(insert(Patient), rows)
        today = japan_today()
        start = datetime.combine(today, datetime.min.time(), tzinfo=JST).replace(hour=9)
        visits = [{"clinic_id": clinic_id, "patient_id": rng.randrange(1, n_patients + 1), "visit_date": today,
                   "accepted_at": (start + timedelta(minutes=i)).astimezone(UTC), "orca_acceptance_id": f"{i:05d}",
                   "department_code": "01", "department_name": "内科", "physician_code": "1000" + str(i % 3),
                   "physician_name": f"医師{i % 3}", "status": rng.choice(["accepted", "in_exam", "paid"]),
                   "source": "orca", "revision": 1} for i in range(1, n_visits + 1)]
        conn.execute(insert(Visit), visits)
    engine.dispose()
    return clinic_id, doctor


def seed_drugs(session: Session, total: int) -> None:
    """The shipped drug master, padded to `total` products with variants of its rows (benchmark data only:
    codes starting with 9 that no real product has)."""
    load_shipped_subset(session)
    real = list(session.scalars(select(Drug)))
    rows = []
    for i in range(total - len(real)):
        base = real[i % len(real)]
        rows.append({"receipt_code": f"9{i:08d}", "name": f"{base.name}（{i}）", "kana": base.kana,
                     "name_key": base.name_key + str(i), "kana_key": base.kana_key + str(i), "unit": base.unit,
                     "yj_code": base.yj_code, "generic_code": base.generic_code, "generic_name": base.generic_name,
                     "generic_key": base.generic_key, "narcotic_class": 0, "is_generic": True,
                     "dosage_form": base.dosage_form})
    if rows:
        session.execute(insert(Drug), rows)
    session.commit()


def ct_slice_png() -> bytes:
    """A kept CT slice as the viewer stores one: 512×512 grey PNG, a body-shaped ring over noise."""
    picture = Image.effect_noise((512, 512), 40).convert("L")
    ImageDraw.Draw(picture).ellipse((60, 110, 452, 400), outline=220, width=18)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _prescription(clinic_id: int, patient_id: int, drugs: list[Drug], day: date,
                  as_needed: Drug | None = None) -> Prescription:
    """An issued prescription of `drugs` as 内服 for 14 days (still being taken today), the first by its 一般名,
    and optionally a 頓服."""
    rx = Prescription(clinic_id=clinic_id, patient_id=patient_id, doctor_name="上野　誠", issued_on=day,
                      valid_until=day + timedelta(days=3), status="issued", mode="paper", remarks="",
                      acknowledged_checks=[])
    rps = [(1, "内服・経口・１日３回朝昼夕食後", 3, 14, drugs)]
    if as_needed:
        rps.append((2, "疼痛時", None, 5, [as_needed]))
    for number, (form, usage, times, quantity, chosen) in enumerate(rps, start=1):
        rp = PrescriptionRp(number=number, form=form, usage_code="", usage_text=usage, times_per_day=times,
                            quantity=quantity)
        rp.lines = [PrescriptionLine(seq=i, drug_receipt_code=d.receipt_code, drug_name=d.name, yj_code=d.yj_code,
                                     by_generic_name=i == 1, generic_code=d.generic_code,
                                     generic_name=d.generic_name, no_substitution=False, dose=3 if form == 1 else 1,
                                     unit=d.unit) for i, d in enumerate(chosen, start=1)]
        rx.rps.append(rp)
    return rx


def seed_record(session: Session, clinic_id: int, patient_id: int) -> Record:
    """A patient seen for years: 8 current diagnoses, 3 drug allergies and 2 薬剤禁忌 (through the profile service,
    so their match codes are what a doctor's entry gives), a food allergy, 3 infections, 10 current prescriptions
    of 3 drugs (30 current medicines), two referral letters (one with a CT key image); 20 more drugs for other
    institutions' prescriptions; and the order form of a 10-line prescription that hits the profile (allergy, 禁忌),
    the current medicines and another institution's prescription (duplicates) when checked."""
    load_shipped_subsets(session)
    doctor = session.scalar(select(StaffUser).where(StaffUser.clinic_id == clinic_id))
    actor = Actor(doctor.id, doctor.login_id, clinic_id, doctor.role)
    patient = session.get(Patient, patient_id)
    patient.insurances = [{"insurer_number": "01130012", "symbol": "75131378", "number": "7812312", "branch": "00"}]
    diseases = list(session.scalars(select(Disease).where(Disease.medis_key != "").order_by(Disease.code).limit(8)))
    drugs = list(session.scalars(select(Drug).where(Drug.dosage_form == 1, Drug.generic_code != "",
                                                    Drug.receipt_code < "9").order_by(Drug.receipt_code).limit(61)))
    if len(drugs) < 61:
        raise SystemExit(f"the shipped drug master has {len(drugs)} oral products with a 一般名; 61 are needed")
    today = japan_today()
    session.add_all(Diagnosis(clinic_id=clinic_id, patient_id=patient_id, disease_code=d.code, display_name=d.name,
                              icd10=d.icd10, started_on=today - timedelta(days=400 + 30 * i))
                    for i, d in enumerate(diseases))
    session.add_all(Infection(clinic_id=clinic_id, patient_id=patient_id, kind=k, result="negative", tested_on=today)
                    for k in ("hbs_ag", "hcv_ab", "tpha"))
    for drug, scope in ((drugs[30], "product"), (drugs[31], "ingredient"), (drugs[32], "class")):
        values = {"category": "drug", "substance": "", "reaction": "薬疹", "severity": "severe", "drug_scope": scope}
        resolve_drug(session, KINDS["allergies"], values, drug.receipt_code)
        add_item(session, clinic_id, actor, KINDS["allergies"], patient_id, values)
    add_item(session, clinic_id, actor, KINDS["allergies"], patient_id,
             {"category": "food", "substance": "そば", "reaction": "蕁麻疹", "severity": "mild"})
    for drug, scope in ((drugs[33], "product"), (drugs[34], "ingredient")):
        values = {"substance": "", "reason": "腎機能低下", "drug_scope": scope}
        resolve_drug(session, KINDS["contraindications"], values, drug.receipt_code)
        add_item(session, clinic_id, actor, KINDS["contraindications"], patient_id, values)
    # The newest is the one printed: 内服 3 lines and a 頓服 (the 院外処方箋's usual shape).
    prescriptions = [_prescription(clinic_id, patient_id, drugs[n * 3:n * 3 + 3], today - timedelta(days=n),
                                   drugs[60] if n == 0 else None) for n in range(10)]
    session.add_all(prescriptions)
    png = ct_slice_png()
    key_image = KeyImage(clinic_id=clinic_id, patient_id=patient_id, study_uid="1.2.392.200036.9999.1",
                         series_uid="1.2.392.200036.9999.1.1", instance_uid="1.2.392.200036.9999.1.1.1",
                         study_date=today - timedelta(days=10), modality="CT", study_description="胸部CT",
                         caption="右肺下葉に小結節", media_type="image/png", image_bytes=png,
                         image_sha256=sha256_hex(png))
    session.add(key_image)
    session.flush()
    for row in [*session.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient_id)),
                *session.scalars(select(Infection).where(Infection.patient_id == patient_id)), key_image]:
        row.lineage_id = row.id
    course = "労作時の胸部圧迫感が半年前から続いています。安静時心電図は正常です。\n" * 6
    letters = [ReferralLetter(clinic_id=clinic_id, patient_id=patient_id, author_name="上野　誠",
                              to_institution="みなと総合病院", to_department="循環器内科", to_doctor="港 一郎 先生",
                              purpose="労作性狭心症の精査", diagnoses="\n".join(d.name for d in diseases),
                              history="虫垂炎（1990年）", course=course,
                              medicines="\n".join(d.name for d in drugs[:15]), lab_results="",
                              allergies="そば：蕁麻疹", images="胸部CT（右肺下葉に小結節）" if with_image else "",
                              key_image_ids=[key_image.id] if with_image else [], remarks="よろしくお願いいたします。",
                              written_on=today) for with_image in (False, True)]
    session.add_all(letters)
    session.commit()
    # Two Rps of five lines: current medicines again (重複), the allergy product and ingredient, a 禁忌 drug, one
    # another institution prescribed (重複 with it).
    form = check_form([drugs[0], drugs[4], drugs[30], drugs[31], drugs[33], drugs[35], *drugs[55:59]])
    return Record(patient_id, prescriptions[0].id, letters[0].id, letters[1].id, form,
                  [(d.yj_code, d.name) for d in drugs[35:55]])


def check_form(drugs: list[Drug]) -> dict[str, str]:
    """The order form of a 10-line prescription check: two Rp of five of `drugs`, one tablet three times a day for
    14 days."""
    form = {"action": "check", "mode": "paper", "remarks": "", "replaces_id": "", "rp_count": "2"}
    for i in range(2):
        form.update({f"rp{i}_form": "1", f"rp{i}_usage_code": "1013044400000000", f"rp{i}_usage_text": "",
                     f"rp{i}_quantity": "14", f"rp{i}_line_count": "5"})
        for j, drug in enumerate(drugs[i * 5:i * 5 + 5]):
            form.update({f"rp{i}_l{j}_drug": drug.receipt_code, f"rp{i}_l{j}_query": drug.name,
                         f"rp{i}_l{j}_dose": "1"})
    return form


def analyze(url: str) -> None:
    """Fresh planner statistics on PostgreSQL, as autovacuum keeps them on a live database."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
