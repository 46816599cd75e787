"""Seeded benchmarks: patient search and the reception list (issue 4), drug search, prescription checks and the
院外処方箋 PDF (issue 6).

Each figure is measured through the whole Flask stack (routing, login, session, CSRF, templates, database),
in process, so it is the server's time for one request — what a clerk waits for, minus the network.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from app import create_app
from app.auth.passwords import hash_password
from app.cli import upgrade_database
from app.config import ROOT, TestConfig
from app.core.jp import search_key
from app.core.timeutil import JST, japan_today
from app.patients.models import Patient
from app.reception.models import Visit
from tests.helpers import HTMLClient

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
# Overridable so that two checkouts can benchmark side by side.
BENCH_DATABASE = os.environ.get("KAMIKARTE_BENCH_DATABASE", "kamikarte_bench")
FAMILY = [("山田", "ヤマダ"), ("髙橋", "タカハシ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("田中", "タナカ"),
          ("渡邉", "ワタナベ"), ("伊藤", "イトウ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
          ("吉田", "ヨシダ"), ("山本", "ヤマモト"), ("齋藤", "サイトウ"), ("松本", "マツモト"), ("井上", "イノウエ"),
          ("木村", "キムラ"), ("林", "ハヤシ"), ("清水", "シミズ"), ("山﨑", "ヤマザキ"), ("森", "モリ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"), ("健", "ケン"),
         ("さくら", "サクラ"), ("翔太", "ショウタ"), ("陽菜", "ヒナ"), ("大輔", "ダイスケ"), ("結衣", "ユイ")]


def names() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Family and given names: the common ones above (they are what clerks type) and the simulator's gimei
    subset (a realistic spread: hundreds of family names, thousands of given names)."""
    families, givens = list(FAMILY) * 10, list(GIVEN)
    for line in (ROOT / "simulators" / "orca" / "data" / "names.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, kanji, kana = line.split("\t")
            (families if kind == "last" else givens).append((kanji, kana))
    return families, givens


def seed(url: str, n_patients: int, n_visits: int) -> int:
    """An empty database with one clinic, one clerk, `n_patients` patients and `n_visits` visits today."""
    rng = random.Random(42)
    engine = create_engine(url)
    with engine.begin() as conn:
        clinic_id = conn.execute(text(
            "INSERT INTO clinic (name, institution_code, postal_code, address, phone, departments, "
            "is_full_chart_mode, idle_lock_minutes, integrations, created_at) VALUES "
            "('ベンチ内科', '1310123458', '', '', '', '[{\"code\": \"01\", \"name\": \"内科\"}]', false, 10, '{}', "
            ":now) RETURNING id"), {"now": datetime.now(UTC)}).scalar_one()
        conn.execute(text(
            "INSERT INTO staff_user (clinic_id, login_id, display_name, display_kana, role, is_active, "
            "password_hash, must_change_password, password_changed_at, totp_last_step, failed_login_count, "
            "session_epoch, created_at) VALUES (:c, 'bench', 'ベンチ', '', 'clerk', true, :h, false, :now, 0, 0, 0, "
            ":now)"), {"c": clinic_id, "h": hash_password(f"bench-{rng.random()}"), "now": datetime.now(UTC)})
        families, givens = names()
        rows = []
        for i in range(1, n_patients + 1):
            family, given = rng.choice(families), rng.choice(givens)
            name, kana = f"{family[0]}　{given[0]}", f"{family[1]}　{given[1]}"
            rows.append({"clinic_id": clinic_id, "orca_patient_id": f"{i:06d}", "name": name, "kana": kana,
                         "name_key": search_key(name), "kana_key": search_key(kana), "sex": rng.choice("MF"),
                         "birth_date": date(1930, 1, 1) + timedelta(days=rng.randrange(0, 33000)),
                         "insurances": [], "public_expenses": [], "postal_code": "", "address": "", "phone": ""})
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
    return clinic_id


def seed_drugs(url: str, total: int) -> None:
    """The shipped drug master, padded to `total` products with variants of its rows (benchmark data only:
    codes starting with 9 that no real product has)."""
    from app.prescriptions.drug_master import load_shipped_subset
    from app.prescriptions.models import Drug

    engine = create_engine(url)
    with Session(engine) as session:
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
        session.execute(insert(Drug), rows)
        session.commit()
    engine.dispose()


def check_case(app) -> Callable[[], object]:
    """All prescription checks for a 10-line prescription against 30 current medicines and the profile."""
    from app.prescriptions import checks, services
    from app.prescriptions.models import Drug

    with app.app_context():
        session = app.extensions["db_sessionmaker"]()
        drugs = list(session.scalars(select(Drug).where(Drug.yj_code != "").limit(40)))
        session.expunge_all()
        session.close()
    draft = services.Draft(rps=[services.DraftRp(form="1", usage_code="1013044400000000", quantity="14", lines=[
        services.DraftLine(drug_code=d.receipt_code, dose="1", drug=d) for d in drugs[i * 5:(i + 1) * 5]])
        for i in range(2)])
    today = date.today()
    current = [services.CurrentMedicine(d.receipt_code, d.name, d.yj_code, d.generic_code, today,
                                        today + timedelta(27), "当院処方") for d in drugs[10:40]]

    def call() -> object:
        return checks.run_checks(draft, allergies_and_contraindications=[], current=current, today=today)
    return call


def seed_prescription(url: str) -> tuple[int, int]:
    """An issued 5-line prescription (内服 4 lines, 頓服 1, one 一般名処方) of the first patient, for its PDF."""
    from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp

    engine = create_engine(url)
    with Session(engine) as session:
        patient = session.scalars(select(Patient).order_by(Patient.id).limit(1)).one()
        drugs = list(session.scalars(select(Drug).where(Drug.dosage_form == 1, Drug.generic_code != "")
                                     .order_by(Drug.receipt_code).limit(5)))
        today = japan_today()
        rx = Prescription(clinic_id=patient.clinic_id, patient_id=patient.id, doctor_name="上野　誠", issued_on=today,
                          valid_until=today + timedelta(days=3), status="issued", mode="paper", remarks="",
                          acknowledged_checks=[])
        for number, (form, usage, times, chosen) in enumerate(
                [(1, "内服・経口・１日３回朝昼夕食後", 3, drugs[:4]), (2, "疼痛時", None, drugs[4:])], start=1):
            rp = PrescriptionRp(number=number, form=form, usage_code="", usage_text=usage, times_per_day=times,
                                quantity=14 if form == 1 else 5)
            for seq, drug in enumerate(chosen, start=1):
                rp.lines.append(PrescriptionLine(
                    seq=seq, drug_receipt_code=drug.receipt_code, drug_name=drug.name, yj_code=drug.yj_code,
                    by_generic_name=seq == 1, generic_code=drug.generic_code, generic_name=drug.generic_name,
                    no_substitution=False, dose=3 if form == 1 else 1, unit=drug.unit))
            rx.rps.append(rp)
        session.add(rx)
        session.commit()
        ids = patient.id, rx.id
    engine.dispose()
    return ids


def sharing_cases(app) -> list[tuple]:
    """A patient with a typical record (8 diagnoses, 6 allergies and 禁忌, 3 infections, 5 prescriptions of 3
    drugs, 10 entries of other institutions): the safety banner's data; the 6-information bundle built and
    validated — as again (the unchanged resources' checks memoised) and cold (every resource parsed) —; a full
    referral letter as PDF."""
    from app.clinics.models import Clinic
    from app.diagnoses.masters import load_shipped_subsets
    from app.diagnoses.models import Diagnosis, Disease
    from app.documents.models import ReferralLetter
    from app.documents.printing import letter_pdf
    from app.patients.profile_models import Allergy, Contraindication, Infection
    from app.patients.safety import read_banner
    from app.prescriptions.models import Drug, Prescription, PrescriptionLine, PrescriptionRp
    from app.sharing.fhir.validation import forget_checked
    from app.sharing.models import NationalEntryCopy, SharingConsent
    from app.sharing.records import patient_bundle

    session = app.extensions["db_sessionmaker"]()
    load_shipped_subsets(session)
    clinic = session.get(Clinic, 1)
    patient = session.get(Patient, 1)
    patient.insurances = [{"insurer_number": "01130012", "symbol": "75131378", "number": "7812312", "branch": "00"}]
    diseases = list(session.scalars(select(Disease).where(Disease.medis_key != "").limit(8)))
    drugs = list(session.scalars(select(Drug).where(Drug.yj_code != "").limit(15)))
    today = date.today()
    rows: list = [Diagnosis(clinic_id=1, patient_id=1, disease_code=d.code, display_name=d.name, icd10=d.icd10,
                            started_on=today - timedelta(days=400)) for d in diseases]
    rows += [Allergy(clinic_id=1, patient_id=1, category="drug", substance=d.name, reaction="薬疹", severity="severe",
                     drug_scope="product", drug_yj_code=d.yj_code) for d in drugs[:4]]
    rows += [Allergy(clinic_id=1, patient_id=1, category="food", substance="そば", severity="mild")]
    rows += [Contraindication(clinic_id=1, patient_id=1, substance=drugs[5].name, reason="腎機能低下")]
    rows += [Infection(clinic_id=1, patient_id=1, kind=k, result="negative", tested_on=today)
             for k in ("hbs_ag", "hcv_ab", "tpha")]
    for n in range(5):
        rx = Prescription(clinic_id=1, patient_id=1, doctor_name="医師 一郎", issued_on=today, valid_until=today)
        rx.rps = [PrescriptionRp(number=1, form=1, usage_code="1013044400000000", usage_text="１日３回朝昼夕食後",
                                 quantity=14, lines=[PrescriptionLine(seq=i + 1, drug_receipt_code=d.receipt_code,
                                                                      drug_name=d.name, yj_code=d.yj_code, dose=3,
                                                                      unit=d.unit)
                                                     for i, d in enumerate(drugs[n * 3:n * 3 + 3])])]
        rows.append(rx)
    session.add_all(rows)
    session.flush()
    for row in rows:
        if hasattr(row, "lineage_id"):
            row.lineage_id = row.id
    text = "労作時の胸部圧迫感が半年前から続いています。安静時心電図は正常です。\n" * 6
    letter = ReferralLetter(clinic_id=1, patient_id=1, author_name="医師 一郎", to_institution="みなと総合病院",
                            to_department="循環器内科", to_doctor="港 一郎 先生", purpose="労作性狭心症の精査",
                            diagnoses="\n".join(d.name for d in diseases), history="虫垂炎（1990年）", course=text,
                            medicines="\n".join(d.name for d in drugs[:9]), lab_results="", allergies="そば：蕁麻疹",
                            images="", remarks="よろしくお願いいたします。", written_on=today)
    session.add(letter)
    # The safety banner's other institutions: a valid consent and ten entries stored by a 6-information fetch.
    session.add(SharingConsent(clinic_id=1, patient_id=1, given_on=today, valid_until=today + timedelta(days=365)))
    session.add_all(NationalEntryCopy(clinic_id=1, patient_id=1, kind=kind, entry_key=f"1310000009-bench-{n}",
                                      title=f"他院の記録{n}", detail="", day=today.isoformat(),
                                      institution_code="1310000009")
                    for n, kind in enumerate(["drug_allergy", "other_allergy", "contraindication", "infection",
                                              "condition"] * 2))
    session.commit()
    size = len(patient_bundle(session, clinic, patient)["entry"])
    def cold() -> object:
        forget_checked()  # every resource parsed again, as the first time a patient's record is shown
        return patient_bundle(session, clinic, patient)

    return [("safety_banner", lambda: read_banner(session, 1, 1), 5, 22),
            ("six_information_bundle", lambda: patient_bundle(session, clinic, patient), 50, size),
            ("six_information_bundle_cold", cold, 50, size),
            ("referral_letter_pdf", lambda: letter_pdf(letter, patient, clinic), 400, 1, 30),
            # The same letter with a key image as the viewer keeps one (a 512×512 CT slice as PNG).
            ("referral_letter_pdf_key_image", lambda: letter_pdf(letter, patient, clinic, images=[ct_slice()]), 400,
             1, 30)]


def ct_slice() -> object:
    """A key image like a kept CT slice: 512×512 grey PNG with a body-shaped disc and noise (benchmark data)."""
    import io

    from PIL import Image, ImageDraw

    from app.imaging.services import sha256_hex
    from app.sharing.sources import KeyImage

    rng = random.Random(3)
    picture = Image.effect_noise((512, 512), 40).convert("L")
    ImageDraw.Draw(picture).ellipse((60, 110, 452, 400), outline=220, width=18)
    picture.putpixel((rng.randrange(512), rng.randrange(512)), 255)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = buffer.getvalue()
    return KeyImage(id=1, title="右肺下葉に小結節", study_date="2026-11-15", image_bytes=data, media_type="image/png",
                    sha256=sha256_hex(data))


def measure(call: Callable[[], object], n: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds over n calls (after a few warm-up calls)."""
    for _ in range(5):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return round(statistics.median(samples), 2), round(samples[int(len(samples) * 0.95) - 1], 2)


def run(db: str, quick: bool, only: list[str] | None = None) -> None:
    """Seed, log in, measure, print one JSON object a line (only the cases whose name contains one of `only`,
    when given)."""
    n_patients = 10_000 if quick else 100_000
    n_requests = 200 if quick else 1000
    if db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    else:
        # A database of its own, so a benchmark never touches the test suite's.
        admin = create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
            conn.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
        admin.dispose()
        url = f"{POSTGRES_SERVER}/{BENCH_DATABASE}"
    upgrade_database(url)
    clinic_id = seed(url, n_patients, 300)
    from bench import imaging as imaging_bench

    orthanc = imaging_bench.start(url, clinic_id)
    n_drugs = 20_000
    seed_drugs(url, n_drugs)
    rx_patient, rx_id = seed_prescription(url)
    if db == "postgresql":  # fresh statistics, as autovacuum would have them on a live database
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        engine.dispose()
    app = create_app(replace(TestConfig(), DATABASE_URL=url))
    client = HTMLClient(app.test_client())
    # A logged-in clerk's session, as after password and TOTP (the login itself is not what is measured).
    with client.raw.session_transaction() as sess:
        sess["_user_id"] = "1:0"
        sess["_fresh"] = True
        sess["auth_at"] = time.time()
        sess["last_seen"] = time.time()
    rng = random.Random(7)

    def get(path: str, **query: str) -> Callable[[], object]:
        def call() -> object:
            response = client.raw.get(path, query_string=query)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            return response
        return call

    kana_prefixes = ["ヤマ", "たかはし", "ｻﾄｳ", "スズキ ハナコ", "わたなべ", "イトウ", "ナカ", "コバヤシ"]
    cases = [
        ("patient_search_kana", lambda: get("/patients", q=rng.choice(kana_prefixes))(), 20),
        ("patient_search_id", lambda: get("/patients", q=f"{rng.randrange(1, n_patients):06d}")(), 20),
        ("patient_search_birth_date", lambda: get("/patients", q=rng.choice(["1958-03-02", "S33.3.2", "19900101"]))(),
         20),
        ("reception_list", get("/reception"), 30),
        ("reception_list_sorted_kana", get("/reception", sort="kana", order="desc"), 30),
    ]
    drug_prefixes = ["ろきそ", "アムロ", "ﾑｺｿﾙ", "メイン", "くらり", "カロナール", "ヒルド", "アレグラ"]
    cases += [
        ("drug_search", lambda: get("/masters/drugs", q=rng.choice(drug_prefixes))(), 15, n_drugs),
        ("prescription_checks", check_case(app), 20, 10),
        # The whole request: load, lay out the 様式第二号, JAHIS symbol, ReportLab with the IPAex subset, access log.
        ("prescription_pdf", get(f"/patients/{rx_patient}/prescriptions/{rx_id}/print.pdf"), 30, 5),
    ]
    if orthanc is not None:
        cases += imaging_bench.cases(client, get)
    from bench.labs import import_case, label_order, seed_history

    history_patient = seed_history(app)
    label_patient, label_order_id = label_order(app)
    cases += [
        ("lab_result_table", get(f"/patients/{history_patient}/labs"), 50, 4080),
        ("lab_label_pdf", get(f"/patients/{label_patient}/labs/orders/{label_order_id}/labels.pdf"), 10, 3),
    ]
    cases += sharing_cases(app)
    wanted = [case for case in cases if not only or any(part in case[0] for part in only)]
    for case in wanted:
        name, call, target = case[:3]
        n = case[3] if len(case) > 3 else n_patients
        with client.raw.session_transaction() as sess:
            sess["last_seen"] = time.time()
        p50, p95 = measure(call, case[4] if len(case) > 4 else n_requests)
        print(json.dumps({"name": name, "n": n, "p50_ms": p50, "p95_ms": p95, "target_ms": target,
                          "db": db}), flush=True)
    # Import throughput: lines a second over a file drop of 17-result messages; p50/p95 are one pushed message.
    if only and not any(part in "lab_import" for part in only):
        app.extensions["db_engine"].dispose()
        if orthanc is not None:
            orthanc.stop()
        return
    figures = import_case(app, 300 if quick else 1500)
    print(json.dumps({"name": "lab_import", **figures, "target_ms": 50, "target_lines_per_s": 20000, "db": db}),
          flush=True)
    app.extensions["db_engine"].dispose()
    if orthanc is not None:
        orthanc.stop()


def main() -> None:
    """Parse the options and run the benchmarks on each database."""
    parser = argparse.ArgumentParser(description="Kamikarte benchmarks")
    parser.add_argument("--quick", action="store_true", help="a data set small enough for about a minute")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default="", help="comma-separated parts of case names to measure (default: all)")
    args = parser.parse_args()
    only = [part for part in args.only.split(",") if part] or None
    for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        run(db, args.quick, only)


if __name__ == "__main__":
    main()
