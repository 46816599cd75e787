"""The load test's users: staff of many clinics, each logged in through the login form with the authenticator's
code, then working a realistic mix for their clinic — the reception list and its live refresh (mostly 304s),
patient search, the patient page and profile, the lab table, a prescription check, the prescription PDF and the
referral letter PDF.

Run by bench/load/run.py (`locust -f bench/load/locustfile.py --headless …`); the accounts file comes in
KAMIKARTE_LOAD_ACCOUNTS. Each simulated user takes an account of its own (an account logs in once per time step).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

import pyotp
from locust import FastHttpUser, between, task

ACCOUNTS = json.loads(open(os.environ["KAMIKARTE_LOAD_ACCOUNTS"], encoding="utf-8").read())  # noqa: SIM115
NEXT_ACCOUNT = itertools.cycle(ACCOUNTS)
KANA_QUERIES = ["ヤマ", "たかはし", "ｻﾄｳ", "スズキ ハナコ", "わたなべ", "イトウ", "ナカ", "コバヤシ"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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
        """Log in as a user does: the login form, then the authenticator's current code."""
        account = next(NEXT_ACCOUNT)
        self.record = account["record"]
        self.patient = self.record["patient_id"]
        self.etag = ""
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

    @task(6)
    def reception_list(self) -> None:
        self.client.get("/reception", name="/reception")

    @task(6)
    def patient_search(self) -> None:
        self.client.get("/patients", params={"q": random.choice(KANA_QUERIES)}, name="/patients?q=")

    @task(6)
    def patient_page(self) -> None:
        self.client.get(f"/patients/{self.patient}", name="/patients/[id]")

    @task(3)
    def profile(self) -> None:
        self.client.get(f"/patients/{self.patient}/profile", name="/patients/[id]/profile")

    @task(3)
    def lab_table(self) -> None:
        self.client.get(f"/patients/{self.patient}/labs", name="/patients/[id]/labs")

    @task(2)
    def prescription_check(self) -> None:
        self.client.post(f"/patients/{self.patient}/prescriptions/new", name="check (10 lines)",
                         data={"csrf_token": self.check_token, **self.record["check_form"]})

    @task(1)
    def prescription_pdf(self) -> None:
        self.client.get(f"/patients/{self.patient}/prescriptions/{self.record['prescription_id']}/print.pdf",
                        name="prescription PDF")

    @task(1)
    def letter_pdf(self) -> None:
        self.client.get(f"/patients/{self.patient}/letters/{self.record['letter_id']}/pdf", name="letter PDF")
