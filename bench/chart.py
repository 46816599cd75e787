"""Full-chart mode's benchmark (issue 22): a clinic of its own in full-chart mode with `notes` notes written straight
into the tables (SQL that generates them from a table of clinical phrases, with the search text folded as the app
folds it), one patient of them holding 1,000 notes over twenty years and a lab panel on each of their days.
Figures through HTTP: the chart opened (first page and a page deep in its history, each note with its day's
results), a patient's search, the clinic-wide search (kanji, kana, a rare word, a word
shorter than a trigram), the 2号紙 of 100 notes, and a schema of 2,000 strokes saved."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import create_engine, insert, text

from app.auth.passwords import hash_password
from app.clinics.models import Clinic, StaffUser
from app.core.jp import name_search_key
from app.core.timeutil import japan_today
from app.labs.models import LabResult
from app.notes.search import spaced
from app.notes.search_text import fold
from app.patients.models import Patient
from bench.seed import Doctor
from bench.server import Browser

CHART_PATIENT_NOTES = 1000
PATIENTS = 2000
SUBJECTIVE = ["咳嗽と喀痰が3日前から", "37.8℃の発熱と咽頭痛", "頭痛が続く。めまいなし", "腹痛と下痢が2日",
              "血圧の薬をもらいに来た", "腰痛で起き上がりにくい", "皮疹とかゆみ", "動悸と息切れ", "食欲低下",
              "夜間の咳で眠れない", "鼻汁・くしゃみ", "関節の痛み（右膝）", "のどがいがいがする", "胸やけ",
              "ふらつきあり", "帯状疱疹の痛みが残る"]
OBJECTIVE = ["SpO2 98% 体温36.8℃", "血圧 142/88 脈拍 72", "咽頭発赤あり 扁桃腫大なし", "胸部聴診 清",
             "腹部 平坦・軟 圧痛なし", "右下腹部に圧痛", "ＢＰ 156/94", "ラ音なし 心雑音なし", "浮腫なし",
             "ｸﾚｱﾁﾆﾝ 0.9 HbA1c 6.8%", "皮疹 体幹に散在", "膝関節 腫脹軽度"]
ASSESSMENT = ["急性上気道炎", "高血圧症", "2型糖尿病", "急性胃腸炎", "腰痛症", "気管支喘息", "アレルギー性鼻炎",
              "逆流性食道炎", "変形性膝関節症", "脂質異常症", "片頭痛"]
PLAN = ["アムロジピン5mg継続", "対症療法 3日後再診", "カロナール頓用", "ムコソルバン処方", "生活指導 減塩",
        "採血 次回", "湿布処方", "経過観察", "紹介状作成", "メトホルミン増量を検討"]
#: A rare finding: in one note of RARE_EVERY.
RARE, RARE_EVERY = "疣贅", 9973
#: Clinic-wide queries: kanji, hiragana for katakana, a rare word, mixed width, words shorter than a trigram (one
#: and two characters, common and rare).
CLINIC_QUERIES = ["急性胃腸炎", "あむろじぴん", "帯状疱疹", "ＳｐＯ２", "頭痛", "咳嗽 喀痰", "高血圧症 減塩",
                  "咳", "疣", RARE]
PATIENT_QUERIES = ["咳嗽", "ふらつき", "HbA1c", "右下腹部", "発熱"]


def _phrases(conn: Any) -> None:
    """The phrase table the generating SQL picks from: each phrase and its folded search form."""
    conn.execute(text("CREATE TEMPORARY TABLE bench_phrase (part INTEGER, k INTEGER, phrase TEXT, folded TEXT)"))
    rows = [{"part": part, "k": k, "phrase": p, "folded": fold(p)}
            for part, phrases in enumerate((SUBJECTIVE, OBJECTIVE, ASSESSMENT, PLAN))
            for k, p in enumerate(phrases)]
    conn.execute(text("INSERT INTO bench_phrase VALUES (:part, :k, :phrase, :folded)"), rows)


def _generate(conn: Any, clinic_id: int, first_patient: int, patients: int, first_id: int, count: int,
              days: int, author: tuple[int, str], spacing: int = 1) -> None:
    """`count` notes (ids from `first_id`) spread over `patients` patients and `days` days back from today, the
    n-th note `spacing` × n days back (modulo `days`)."""
    sizes = [len(SUBJECTIVE), len(OBJECTIVE), len(ASSESSMENT), len(PLAN)]
    picks = [f"JOIN bench_phrase p{i} ON p{i}.part = {i} AND p{i}.k = (g.n * {m}) % {size}"
             for i, (m, size) in enumerate(zip((7, 11, 13, 17), sizes, strict=True))]
    today = japan_today().isoformat()
    if conn.dialect.name == "postgresql":
        series = f"(SELECT generate_series(1, {count}) AS n) g"
        day = f"DATE '{today}' - ((g.n * {spacing}) % {days})"
    else:
        # Every value put into these statements is a number or a date made here.
        series = f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"  # noqa: S608
        series += " SELECT n FROM s) g"
        day = f"date('{today}', '-' || ((g.n * {spacing}) % {days}) || ' days')"
    source = f"FROM {series} {' '.join(picks)}"
    patient = f"{first_patient} + (g.n % {patients})"
    rare = f"CASE WHEN g.n % {RARE_EVERY} = 0 THEN :rare ELSE '' END"
    subjective = f"p0.phrase || ' 記録' || g.n || {rare}"
    conn.execute(text(
        "INSERT INTO progress_note (id, clinic_id, patient_id, lineage_id, version, note_date, subjective, objective,"
        " assessment, plan, key_image_ids, recorded_at, recorded_by_id, recorded_by_name, retracted, change_reason) "
        f"SELECT {first_id} + g.n, {clinic_id}, {patient}, {first_id} + g.n, 1, {day}, {subjective}, p1.phrase,"
        f" p2.phrase, p3.phrase, '[]', CURRENT_TIMESTAMP, :author_id, :author_name, false, '' {source}"),
        {"author_id": author[0], "author_name": author[1], "rare": f" {RARE}"})
    conn.execute(text(
        "INSERT INTO note_search_entry (note_id, clinic_id, patient_id, note_date, body) "
        f"SELECT {first_id} + g.n, {clinic_id}, {patient}, {day}, p0.folded || ' 記録' || g.n || {rare} || char(10) ||"
        f" p1.folded || char(10) || p2.folded || char(10) || p3.folded {source}"
        .replace("char(10)", "chr(10)" if conn.dialect.name == "postgresql" else "char(10)")),
        {"rare": f" {fold(RARE)}"})
    if conn.dialect.name == "sqlite":
        # The app writes the character table's row beside each entry (PostgreSQL's gram index needs nothing).
        conn.connection.driver_connection.create_function("bench_spaced", 1, spaced, deterministic=True)
        conn.execute(text("INSERT INTO note_search_chars (rowid, body) SELECT note_id, bench_spaced(body) "
                          "FROM note_search_entry WHERE note_id > :low AND note_id <= :high"),
                     {"low": first_id, "high": first_id + count})


#: The panel of the chart patient's visits (items and units of the shipped lab master): shown beside each note.
PANEL = [("K0101", "総蛋白", "g/dL", 7.0), ("K0102", "アルブミン", "g/dL", 4.3),
         ("K0132", "カリウム(K)", "mmol/L", 4.2), ("K0152", "HbA1c(NGSP)", "%", 6.4),
         ("K0161", "Ｃ反応性蛋白(CRP)", "mg/dL", 0.1)]


def _lab_results(conn: Any, clinic_id: int, patient_id: int) -> None:
    """The panel's results on every day of the patient's notes (one week apart for twenty years), some flagged H."""
    days = [japan_today() - timedelta(days=(n * 7) % 7300) for n in range(1, CHART_PATIENT_NOTES + 1)]
    now = datetime.now(UTC)
    conn.execute(insert(LabResult), [
        {"clinic_id": clinic_id, "patient_id": patient_id, "lab_code": code, "name": name, "unit": unit,
         "value": f"{base * (1.3 if n % 4 == 0 else 1):.1f}", "numeric_value": base * (1.3 if n % 4 == 0 else 1),
         "flag": "H" if n % 4 == 0 else "", "collected_on": day, "version": 1, "recorded_at": now}
        for n, day in enumerate(days) for code, name, unit, base in PANEL])
    conn.execute(text("UPDATE lab_result SET lineage_id = id WHERE patient_id = :patient AND lineage_id IS NULL"),
                 {"patient": patient_id})


def seed(url: str, notes: int) -> tuple[Doctor, int]:
    """The full-chart clinic, its doctor and patients, `notes` notes; (the doctor, the patient of 1,000 notes)."""
    rng = random.Random(22)
    doctor = Doctor("bench-chart", f"bench-{rng.random()}", pyotp.random_base32())
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        clinic_id = conn.execute(insert(Clinic).returning(Clinic.id), [{
            "name": "ベンチ電子カルテ内科", "institution_code": "1310123466", "postal_code": "", "address": "",
            "phone": "", "departments": [{"code": "01", "name": "内科"}], "is_full_chart_mode": True,
            "idle_lock_minutes": 10, "integrations": {}}]).scalar_one()
        doctor_id = conn.execute(insert(StaffUser).returning(StaffUser.id), [{
            "clinic_id": clinic_id, "login_id": doctor.login_id, "display_name": "電子 花子",
            "display_kana": "デンシ ハナコ", "role": "doctor", "is_active": True,
            "password_hash": hash_password(doctor.password), "must_change_password": False,
            "password_changed_at": now, "totp_secret": doctor.totp_secret, "totp_enrolled_at": now,
            "totp_last_step": 0, "failed_login_count": 0, "session_epoch": 0}]).scalar_one()
        ids = conn.execute(insert(Patient).returning(Patient.id), [{
            "clinic_id": clinic_id, "orca_patient_id": f"C{i:06d}", "name": f"記録　{i}子", "kana": f"キロク　{i}",
            "name_key": name_search_key(f"記録{i}子"), "kana_key": name_search_key(f"キロク{i}"), "sex": "F",
            "birth_date": date(1960, 1, 1) + timedelta(days=i), "insurances": [], "public_expenses": [],
            "postal_code": "", "address": "", "phone": ""} for i in range(PATIENTS + 1)]).scalars().all()
        chart_patient, others = ids[0], ids[1:]
        if others != list(range(others[0], others[0] + len(others))):
            raise SystemExit("the chart bench needs its patients' ids in one run")
        first_id = (conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM progress_note")).scalar_one() or 0) + 1
        _phrases(conn)
        author = (doctor_id, "電子 花子")
        # The patient of twenty years: 1,000 notes a week apart.
        _generate(conn, clinic_id, chart_patient, 1, first_id, CHART_PATIENT_NOTES, 7300, author, spacing=7)
        _generate(conn, clinic_id, others[0], len(others), first_id + CHART_PATIENT_NOTES + 1,
                  max(0, notes - CHART_PATIENT_NOTES), 3650, author)
        _lab_results(conn, clinic_id, chart_patient)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('progress_note', 'id'), "
                              "(SELECT MAX(id) FROM progress_note))"))
    engine.dispose()
    return doctor, chart_patient


def many_strokes(count: int = 2000, points: int = 20) -> dict:
    """A drawing of `count` pen strokes of `points` points each, pressing smoothly as a pen does, as the editor sends
    it (flat integers: x and y in tenths of a pixel, pressure in hundredths; also the tests')."""
    rng = random.Random(2)
    items = []
    for _ in range(count):
        x, y, pressure = rng.uniform(60, 540), rng.uniform(60, 740), 0.5
        stroke = []
        for _ in range(points):
            x, y = min(600, max(0, x + rng.uniform(-4, 4))), min(800, max(0, y + rng.uniform(-4, 4)))
            pressure = min(1.0, max(0.0, pressure + rng.uniform(-0.03, 0.03)))
            stroke += [round(x * 10), round(y * 10), round(pressure * 100)]
        items.append({"t": "pen", "c": "#d93025", "w": 3, "p": stroke})
    return {"v": 2, "items": items}


NAMES = ("chart_open", "chart_page_deep", "chart_search_patient", "chart_search_clinic", "chart_print_2go_100_notes",
         "schema_save_2000_strokes")


def cases(base_url: str, doctor: Doctor, patient: int, notes: int, samples: int,
          slow_samples: int) -> list[tuple[str, int, Callable[[], object], int, int]]:
    """(name, n, call, target ms, samples) of each chart figure (NAMES), for a browser logged in as the clinic's
    doctor."""
    browser = Browser(base_url)
    browser.login(doctor.login_id, doctor.password, doctor.totp_secret)
    rng = random.Random(5)
    chart = f"/patients/{patient}/chart"
    browser.get(chart)
    deep = {"after": f"{(japan_today() - timedelta(days=5000)).isoformat()}.999999999"}
    if "記録" not in browser.get(chart, **deep).text:
        raise SystemExit("the chart page deep in the history shows no notes: the bench data are wrong")
    year_ago = (japan_today() - timedelta(days=699)).isoformat()  # 100 notes a week apart
    pdf = {"from": year_ago, "to": japan_today().isoformat(), "sheet": "2"}
    browser.get(f"/patients/{patient}/schemas/new")
    # The JSON the editor's page sends, encoded once (the client's encoding is not the server's time).
    body = json.dumps({"base": "body_front", "title": "ベンチ", "note_date": japan_today().isoformat(),
                       "strokes": many_strokes(), "base_version": 0})
    headers = {"Content-Type": "application/json", "X-CSRFToken": browser.token(), "Accept": "application/json"}

    def save_schema() -> object:
        return browser.request("POST", f"/patients/{patient}/schemas", data=body.encode(), headers=headers)

    return [
        ("chart_open", CHART_PATIENT_NOTES, lambda: browser.get(chart), 100, samples),
        ("chart_page_deep", CHART_PATIENT_NOTES, lambda: browser.get(chart, **deep), 100, samples),
        ("chart_search_patient", CHART_PATIENT_NOTES, lambda: browser.get(chart, q=rng.choice(PATIENT_QUERIES)), 100,
         samples),
        ("chart_search_clinic", notes, lambda: browser.get("/chart/search", q=rng.choice(CLINIC_QUERIES)), 300,
         samples),
        ("chart_print_2go_100_notes", 100, lambda: browser.get(f"/patients/{patient}/chart/print.pdf", **pdf), 3000,
         slow_samples),
        ("schema_save_2000_strokes", 2000, save_schema, 300, slow_samples),
    ]
