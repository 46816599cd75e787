"""One simulated ORCA's memory: patients, receptions by day, PUSH notifications and 中途データ."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from simulators.orca.data import JST, LIST_ONLY_FIELDS, ClinicConfig, make_patients
from simulators.orca.visits import Reception, make_receptions

#: PUSH notifications older than this are deleted (pusheventgetv2: "about 7 days").
PUSH_KEEP = timedelta(days=7)
#: How long before the first look a seeded day's receptions count as made (their PUSH time).
SEEDED_BEFORE = timedelta(minutes=10)


class ClinicState:
    """Everything one clinic's ORCA holds; handlers run under `lock` (the server is threaded)."""

    def __init__(self, config: ClinicConfig, today: date | None = None) -> None:
        self.config = config
        self.fixed_today = today
        self.lock = threading.RLock()
        self.patients = make_patients(config, self.today())
        self.receptions: dict[date, list[Reception]] = {}
        self.last_acceptance: dict[date, int] = {}
        self.events: list[dict[str, Any]] = []
        self.event_counter = 0
        self.medical: list[dict[str, Any]] = []
        #: 初診算定日 per patient (medicalmodv23): a seeded patient's first visit computed its 初診.
        self.first_calculation: dict[str, date] = {
            pid: date.fromisoformat(p["FirstVisit_Date"]) for pid, p in self.patients.items()
            if p.get("FirstVisit_Date")}
        self.invoice_counter = 1000
        self.day(self.today())  # today's receptions (and their PUSH notifications) exist from the start

    # --- clock ---------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulator's clock in Japan (on the fixed day when one was given)."""
        now = datetime.now(JST).replace(microsecond=0)
        return datetime.combine(self.fixed_today, now.time(), tzinfo=JST) if self.fixed_today else now

    def today(self) -> date:
        """The clinic's day: the fixed one, else today in Japan."""
        return self.fixed_today or datetime.now(JST).date()

    # --- patients ------------------------------------------------------------------------------------

    def find_patient(self, raw_id: Any, *, exact: bool = False) -> dict[str, Any] | None:
        """A patient by number; reads accept "12" for "00012", `exact` asks for the padded number."""
        raw = str(raw_id or "").strip()
        if not raw.isdigit() or not raw.isascii():
            return None
        return self.patients.get(raw if exact else f"{int(raw):05d}")

    @staticmethod
    def public(patient: dict[str, Any]) -> dict[str, Any]:
        """The patient as patientgetv2 shows it."""
        return {k: v for k, v in patient.items() if k not in LIST_ONLY_FIELDS}

    @staticmethod
    def brief(patient: dict[str, Any]) -> dict[str, Any]:
        """Number, names, birth date and sex: the Patient_Information of lists and receptions."""
        return {k: patient[k] for k in ("Patient_ID", "WholeName", "WholeName_inKana", "BirthDate", "Sex")}

    @staticmethod
    def combination(patient: dict[str, Any], number: str) -> dict[str, Any] | None:
        """One of the patient's 保険組合せ by number."""
        return next((c for c in patient["HealthInsurance_Information"]
                     if c["Insurance_Combination_Number"] == number), None)

    def update_patient(self, patient_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a patient as a clerk does on screen 12; a patient_information notification follows."""
        patient = self.patients[patient_id]
        patient.update(changes)
        now = self.now()
        patient.update({"UpdateDate": now.date().isoformat(), "UpdateTime": now.strftime("%H:%M:%S")})
        self.notify("patient_information", {"Patient_Mode": "modify", "Patient_ID": patient_id,
                                            "Information_Date": now.date().isoformat(),
                                            "Information_Time": now.strftime("%H:%M:%S")})
        return patient

    # --- receptions ----------------------------------------------------------------------------------

    def day(self, day: date) -> list[Reception]:
        """A day's receptions, made on first look and kept; today's first look announces them as PUSH."""
        if day not in self.receptions:
            rows = make_receptions(self.config, self.patients, day, self.today())
            self.receptions[day] = rows
            self.last_acceptance[day] = len(rows)
            if day == self.today():
                # Never stamped in the future: a run just after midnight finds today's morning list as if made
                # before the simulator started (SEEDED_BEFORE ago), like any list made earlier in the day.
                made = max(self.now() - SEEDED_BEFORE, datetime.combine(day, time.min, tzinfo=JST))
                for row in rows:
                    self.notify("patient_accept", self.accept_body("add", row),
                                at=min(datetime.combine(day, row.at, tzinfo=JST), made))
        return self.receptions[day]

    def next_acceptance_id(self, day: date) -> str:
        """ORCA numbers a day's receptions 00001, 00002 …; a cancelled number is not given again."""
        self.day(day)
        self.last_acceptance[day] += 1
        return f"{self.last_acceptance[day]:05d}"

    def find_reception(self, day: date, acceptance_id: str) -> Reception | None:
        """A reception of a day by its Acceptance_Id."""
        return next((r for r in self.day(day) if r.acceptance_id == acceptance_id), None)

    def pay(self, reception: Reception) -> None:
        """会計 as the clerk does it in ORCA: Account_Time is set and patient_account is announced."""
        now = self.now()
        reception.account_time = now.strftime("%H:%M:%S")
        # A 会計 of a patient without a 初診算定日 computes the 初診: ORCA keeps its day.
        self.first_calculation.setdefault(reception.patient_id, reception.day)
        self.invoice_counter += 1
        invoice = f"{self.invoice_counter:07d}"
        self.notify("patient_account", {
            "Patient_Mode": "add", "Patient_ID": reception.patient_id, "Information_Date": now.date().isoformat(),
            "Information_Time": now.strftime("%H:%M:%S"), "Perform_Date": reception.day.isoformat(),
            "Medical_Information": [{"Insurance_Combination_Number": reception.combination,
                                     "Department_Code": reception.department_code,
                                     "Physician_Code": reception.physician_code, "Invoice_Number": invoice}]})

    @staticmethod
    def accept_body(mode: str, row: Reception) -> dict[str, Any]:
        """The body of a patient_accept notification (PUSH names the fields Accept_*, not Acceptance_*)."""
        return {"Patient_Mode": mode, "Patient_ID": row.patient_id, "Accept_Date": row.day.isoformat(),
                "Accept_Time": row.at.strftime("%H:%M:%S"), "Accept_Id": row.acceptance_id,
                "Department_Code": row.department_code, "Physician_Code": row.physician_code,
                "Insurance_Combination_Number": row.combination}

    # --- PUSH ----------------------------------------------------------------------------------------

    def notify(self, event: str, body: dict[str, Any], at: datetime | None = None) -> None:
        """Record a PUSH notification (id 1…65535, then again from 1; a UUID; time with +0900)."""
        self.event_counter = self.event_counter % 65535 + 1
        self.events.append({"data": {"uuid": str(uuid.uuid4()), "id": self.event_counter, "event": event,
                                     "user": self.config.user, "body": body,
                                     "time": (at or self.now()).strftime("%Y-%m-%dT%H:%M:%S+0900")}})

    def recent_events(self) -> list[dict[str, Any]]:
        """Notifications still kept (older than 7 days are gone)."""
        self.day(self.today())
        oldest = (self.now() - PUSH_KEEP).strftime("%Y-%m-%dT%H:%M:%S")
        self.events = [e for e in self.events if e["data"]["time"][:19] >= oldest]
        return self.events


def parse_day(value: Any) -> date | None:
    """A YYYY-MM-DD date, or None when it is not a calendar date."""
    try:
        return date.fromisoformat(str(value)) if len(str(value)) == 10 else None
    except ValueError:
        return None


def parse_time(value: Any) -> time | None:
    """An HH:MM:SS time, or None."""
    try:
        return time.fromisoformat(str(value)) if len(str(value)) == 8 else None
    except ValueError:
        return None
