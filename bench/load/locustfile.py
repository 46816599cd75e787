"""The load test's users: staff of many clinics, each logged in through the login form with the authenticator's
code, then working a realistic mix for their clinic — the reception list and its live refresh (mostly 304s),
patient search, the patient page and profile, the lab table, a prescription check, the prescription PDF and the
referral letter PDF.

Run by bench/load/run.py (`locust -f bench/load/locustfile.py --headless …`); the accounts file comes in
KAMIKARTE_LOAD_ACCOUNTS. Each simulated user takes an account of its own (an account logs in once per time step).
With KAMIKARTE_LOAD_SHARED_SESSIONS=1 (the demo, whose few accounts are fewer than the users) each account logs in
once, the first user of it through the form, and the users after it work in that login's session (a copy of its
cookies): as several tablets of one doctor would, were they one browser.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

import pyotp
from gevent.lock import Semaphore
from locust import FastHttpUser, between, task

ACCOUNTS = json.loads(open(os.environ["KAMIKARTE_LOAD_ACCOUNTS"], encoding="utf-8").read())  # noqa: SIM115
NEXT_ACCOUNT = itertools.cycle(ACCOUNTS)
KANA_QUERIES = ["ヤマ", "たかはし", "ｻﾄｳ", "スズキ ハナコ", "わたなべ", "イトウ", "ナカ", "コバヤシ"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SHARED_SESSIONS = os.environ.get("KAMIKARTE_LOAD_SHARED_SESSIONS") == "1"
#: login ID → (cookies, CSRF token) of its one login, when sessions are shared; a lock per login ID.
SESSIONS: dict[str, tuple[list, str]] = {}
LOGGING_IN: dict[str, Semaphore] = {}
#: Users that have logged in; the statistics restart when the last one has, so that a step's figures are the
#: mix alone (a burst of argon2 logins at the start of a short step would otherwise weigh in every figure).
READY: list[int] = []


def csrf_from(html: str) -> str:
    """The CSRF token of a page's form."""
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


class ClinicStaff(FastHttpUser):
    """A doctor at a tablet: about three to four requests a second while seeing patients."""

    wait_time = between(0.1, 0.45)

    def on_start(self) -> None:
        """Log in (or, with shared sessions, take the account's one login)."""
        account = next(NEXT_ACCOUNT)
        self.record = account["record"]
        self.patient = self.record["patient_id"]
        self.etag = ""
        if not SHARED_SESSIONS:
            self.log_in(account)
        else:
            self.share_login(account)
        READY.append(1)
        if len(READY) == self.environment.parsed_options.num_users:
            self.environment.stats.reset_all()

    def share_login(self, account: dict) -> None:
        """The account's one login: made by the first user of it, its cookies copied by the others."""
        with LOGGING_IN.setdefault(account["login_id"], Semaphore()):
            if account["login_id"] not in SESSIONS:
                self.log_in(account)
                SESSIONS[account["login_id"]] = (list(self.client.cookiejar), self.check_token)
                return
        cookies, self.check_token = SESSIONS[account["login_id"]]
        for cookie in cookies:
            self.client.cookiejar.set_cookie(cookie)

    def log_in(self, account: dict) -> None:
        """Log in as a user does: the login form, then the authenticator's current code."""
        page = self.client.get("/login", name="login").text
        self.client.post("/login", name="login", allow_redirects=False,
                         data={"csrf_token": csrf_from(page), "login_id": account["login_id"],
                               "password": account["password"]})
        page = self.client.get("/login/verify", name="login").text
        with self.client.post("/login/verify", name="login", allow_redirects=False, catch_response=True,
                              data={"csrf_token": csrf_from(page),
                                    "code": pyotp.TOTP(account["totp_secret"]).now()}) as response:
            if response.status_code != 302:
                response.failure(f"second factor refused ({response.status_code})")
        self.check_token = csrf_from(self.client.get(f"/patients/{self.patient}/prescriptions/new",
                                                     name="/patients/[id]/prescriptions/new").text)

    @task(20)
    def reception_refresh(self) -> None:
        """The open reception list polls its revision; nothing changed answers 304."""
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get("/reception/revision", headers=headers, name="/reception/revision",
                             catch_response=True) as response:
            if response.status_code in (200, 304):
                self.etag = response.headers.get("ETag", self.etag)
                response.success()

    def fetch(self, method: str, path: str, name: str, pdf: bool = False, **kwargs) -> None:
        """One request of the mix; anything but the page (or PDF) itself — a redirect to the login or lock screen,
        a refused print — counts as a failure, never as a fast answer."""
        with self.client.request(method, path, name=name, allow_redirects=False, catch_response=True,
                                 **kwargs) as response:
            kind = response.headers.get("Content-Type", "")
            if response.status_code != 200 or (pdf and kind != "application/pdf"):
                response.failure(f"{response.status_code} {kind} {response.headers.get('Location', '')}")

    @task(6)
    def reception_list(self) -> None:
        self.fetch("GET", "/reception", "/reception")

    @task(6)
    def patient_search(self) -> None:
        self.fetch("GET", "/patients", "/patients?q=", params={"q": random.choice(KANA_QUERIES)})

    @task(6)
    def patient_page(self) -> None:
        self.fetch("GET", f"/patients/{self.patient}", "/patients/[id]")

    @task(3)
    def profile(self) -> None:
        self.fetch("GET", f"/patients/{self.patient}/profile", "/patients/[id]/profile")

    @task(3)
    def lab_table(self) -> None:
        self.fetch("GET", f"/patients/{self.patient}/labs", "/patients/[id]/labs")

    @task(2)
    def prescription_check(self) -> None:
        self.fetch("POST", f"/patients/{self.patient}/prescriptions/new", "check (10 lines)",
                   data={"csrf_token": self.check_token, **self.record["check_form"]})

    @task(1)
    def prescription_pdf(self) -> None:
        self.fetch("GET", f"/patients/{self.patient}/prescriptions/{self.record['prescription_id']}/print.pdf",
                   "prescription PDF", pdf=True)

    @task(1)
    def letter_pdf(self) -> None:
        patient = self.record.get("letter_patient_id", self.patient)
        self.fetch("GET", f"/patients/{patient}/letters/{self.record['letter_id']}/pdf", "letter PDF", pdf=True)
