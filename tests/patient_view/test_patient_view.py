"""The patient screen through HTTP: choosing and handing over, what the patient sees, the locked session refused
everywhere else (every route of the application), the way out with the password (failures counted), the time-out
back to the lock, the access log of each showing, and the print-out."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from app.clinics.audit_labels import access_label
from app.clinics.models import StaffUser
from app.core.models import AccessLogEntry, AuditEntry
from app.patient_view.choice import Choice
from app.patient_view.handover import AFTER_TIMEOUT, ALWAYS_OPEN, WHILE_SHOWING
from app.patient_view.printout import summary_context
from app.patient_view.screen import build_screen
from app.printing.html_pdf import render_html
from bench.summary import History, seed_history
from tests.factories import DEMO_PASSWORD, make_clinic, make_patient, make_user
from tests.helpers import HTMLClient, counted_statements
from tests.patient_view.records import seed_patient_records

ALL_SECTIONS = ["diagnoses", "allergies", "medicines", "labs", "tests", "letter"]


@pytest.fixture
def ward(session):
    clinic = make_clinic(session, idle_lock_minutes=10)
    doctor = make_user(session, clinic, role="doctor", display_name="医師 一郎")
    data = seed_patient_records(session, clinic)
    other = make_patient(session, clinic, name="別人 花子", kana="ベツジン ハナコ")
    session.commit()
    return {"clinic": clinic, "doctor": doctor, "other": other, **data}


def _hand_over(client, ward, sections=None, letter_id=None):
    patient_id = ward["patient"].id
    client.get(f"/patients/{patient_id}/patient-view")
    form = {"sections": sections or ALL_SECTIONS, "letter_id": str(letter_id or ward["letter_id"])}
    return client.post(f"/patients/{patient_id}/patient-view", form)


def _logged_in(client, ward):
    client.login(ward["doctor"].login_id, ward["doctor"].totp_secret)
    return client


def test_the_setup_page_offers_the_sections_and_only_confirmed_letters(client, ward):
    _logged_in(client, ward)
    page = client.get(f"/patients/{ward['patient'].id}/patient-view").get_data(as_text=True)
    assert "この内容で患者さんに渡す" in page and "同じ内容を印刷する" in page
    assert "みなと総合病院" in page and "下書き病院" not in page
    assert "患者さんに見せる" in client.get(f"/patients/{ward['patient'].id}").get_data(as_text=True)


def test_the_patient_sees_the_chosen_sections_in_plain_words(client, ward):
    _logged_in(client, ward)
    response = _hand_over(client, ward, ["diagnoses", "medicines", "labs", "tests", "letter"])
    assert response.status_code == 302 and response.location.endswith("/patient-view")
    page = client.get("/patient-view").get_data(as_text=True)
    # Diagnoses: our words with furigana, the recorded name beside; without an entry, the name itself; suspected.
    assert "<ruby>血圧<rt>けつあつ</rt></ruby>が高い状態" in page and "カルテの病名：高血圧症" in page
    assert "細菌性腸炎" in page and "うたがい" in page and "急性上気道炎" not in page  # cured: not current
    # Medicines with when to take them: 朝・昼・夕 after meals, the 頓服 when needed.
    assert "今日出たお薬" in page and "アムロジピンＯＤ錠２．５ｍｇ「トーワ」" in page and "1日3錠（1回1錠）" in page
    assert "朝・昼・夕　食事のあとに" in page and 'class="picto"' in page
    assert "必要なとき（疼痛時）に使います" in page
    # Lab results: the value, the range, our one-line explanation, the trend of three values, the flag in words.
    assert "<strong>45</strong> U/L" in page and "基準の範囲：13-30" in page and "基準より高め" in page
    assert "肝臓" in page and 'class="pv-trend"' in page and "AST(GOT)の推移" in page
    # Upcoming tests and the letter with its addressee.
    assert "ヘモグロビン・エーワンシー" in page and "過去１〜２か月の血糖" in page
    assert "みなと総合病院 循環器内科" in page and "港 次郎 先生" in page and "狭心症の精査" in page
    # Not chosen, and no staff chrome: no allergy, no menu, no other screen's link.
    assert "えび" not in page and "受付一覧" not in page and "患者検索" not in page and "ログアウト" not in page


def test_bad_choices_are_refused_with_a_message_and_nothing_handed_over(client, ward, session):
    _logged_in(client, ward)
    patient_id = ward["patient"].id
    client.get(f"/patients/{patient_id}/patient-view")
    none = client.post(f"/patients/{patient_id}/patient-view", {"sections": []})
    assert none.status_code == 422 and "一つ以上選んでください" in none.get_data(as_text=True)
    unknown = client.post(f"/patients/{patient_id}/patient-view", {"sections": ["diagnoses", "notes"]})
    assert unknown.status_code == 422
    draft = client.post(f"/patients/{patient_id}/patient-view",
                        {"sections": ["letter"], "letter_id": str(ward["draft_id"])})
    assert draft.status_code == 422 and "確定した紹介状だけ" in draft.get_data(as_text=True)
    assert client.get("/reception").status_code == 200  # still the staff member's session
    assert not session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "patient_view")).all()


def test_each_showing_is_in_the_access_log_with_what_was_chosen(client, ward, session):
    _logged_in(client, ward)
    _hand_over(client, ward, ["diagnoses", "letter"])
    client.get("/patient-view")
    rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "patient_view")
                           .order_by(AccessLogEntry.id)).all()
    assert [r.resource for r in rows] == [f"patient_view:いまの病気・紹介状#{ward['letter_id']}",
                                          "patient_view.screen"]
    assert {(r.user_id, r.patient_id) for r in rows} == {(ward["doctor"].id, ward["patient"].id)}
    # The administrator's 操作・閲覧記録 says it in staff language, with what was shown.
    assert access_label(rows[0].action, rows[0].resource) == \
        f"患者への提示：患者用画面（タブレットを患者に渡す）（いまの病気・紹介状#{ward['letter_id']}）"
    assert access_label(rows[1].action, rows[1].resource) == "患者への提示：患者用画面"


def _handed_over_client(client, ward):
    _logged_in(client, ward)
    _hand_over(client, ward)
    client.get("/patient-view")  # its page carries the CSRF token a form on it would send
    return client


def _any_value(rule, arg):
    """A value the route's converter accepts (the rule refuses before any record is looked up)."""
    converter = rule._converters[arg]
    if isinstance(converter, IntegerConverter):
        return 1
    return sorted(converter.items)[0] if isinstance(converter, AnyConverter) else "x"


def test_a_handed_over_session_is_refused_everywhere_else(app, client, ward):
    """Every route of the application but the patient screen's own, as a page and as a script, GET and POST."""
    _handed_over_client(client, ward)
    token = client.token()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ALWAYS_OPEN or rule.endpoint in WHILE_SHOWING:
            continue
        values = {arg: ward["other"].id if arg == "patient_id" else _any_value(rule, arg) for arg in rule._converters}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(m for m in rule.methods if m in {"GET", "POST"}):
            if method == "GET":
                page = client.raw.get(url)
                script = client.raw.get(url, headers={"Accept": "application/json"})
            else:
                page = client.raw.post(url, data={"csrf_token": token})
                script = client.raw.post(url, json={}, headers={"X-CSRFToken": token, "Accept": "application/json"})
            if url.startswith("/api/"):  # the published API always answers as to a script
                assert page.status_code == 403 and page.json["error"] == "patient_view", f"{method} {url}"
            else:
                assert page.status_code in (302, 303) and page.location.endswith("/patient-view"), \
                    f"{method} {url}: {page.status_code} {page.location}"
            assert script.status_code == 403 and script.json["error"] == "patient_view", f"{method} {url} (json)"
            checked += 2
    assert checked > 300
    # Still handed over, still the same patient.
    assert ward["patient"].name in client.get("/patient-view").get_data(as_text=True)


def test_the_idle_lock_does_not_cut_in_while_handed_over(client, ward):
    _handed_over_client(client, ward)
    with client.raw.session_transaction() as sess:
        sess["last_seen"] = time.time() - 3600  # the staff session's own idle clock
        sess["handover"] = {**sess["handover"], "last_seen": time.time() - 60}
    assert client.get("/patient-view").status_code == 200


def test_leaving_takes_the_staff_members_password_and_wrong_ones_count(client, ward, session):
    _handed_over_client(client, ward)
    client.get("/patient-view/locked")
    wrong = client.post("/patient-view/leave", {"password": "nicht-richtig"})
    assert wrong.status_code == 302 and wrong.location.endswith("/patient-view/locked")
    assert "パスワードが正しくありません" in client.get("/patient-view/locked").get_data(as_text=True)
    session.expire_all()
    assert session.get(StaffUser, ward["doctor"].id).failed_login_count == 1
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.unlock_failed")) is not None
    assert client.get("/reception").location.endswith("/patient-view")  # still locked to the patient
    right = client.post("/patient-view/leave", {"password": DEMO_PASSWORD})
    assert right.status_code == 302 and right.location.endswith(f"/patients/{ward['patient'].id}")
    assert client.get("/reception").status_code == 200
    assert client.get("/patient-view").location.endswith("/reception")  # nothing handed over any more
    session.expire_all()
    assert session.get(StaffUser, ward["doctor"].id).failed_login_count == 0


def test_too_many_wrong_passwords_lock_the_account_and_end_the_session(client, ward, session):
    _handed_over_client(client, ward)
    client.get("/patient-view/locked")
    token = client.token()
    for _ in range(5):
        last = client.raw.post("/patient-view/leave", data={"password": "wrong", "csrf_token": token})
    assert last.location.endswith("/login")
    session.expire_all()
    assert session.get(StaffUser, ward["doctor"].id).locked_until is not None
    assert "/login" in client.get("/patient-view").location


def test_the_screen_times_out_back_to_the_lock(client, ward):
    _handed_over_client(client, ward)
    with client.raw.session_transaction() as sess:
        sess["handover"] = {**sess["handover"], "last_seen": time.time() - 11 * 60}
    response = client.get("/patient-view")
    assert response.status_code == 302 and response.location.endswith("/patient-view/locked")
    lock = client.get("/patient-view/locked").get_data(as_text=True)
    assert ward["patient"].name not in lock and "しばらく操作がなかった" in lock
    assert "患者さん用の画面に戻る" not in lock
    # Once locked it stays locked: a ping does not reopen it, and staff screens stay closed.
    assert client.post_json("/patient-view/ping", {}).status_code == 403
    assert client.get("/patient-view").location.endswith("/patient-view/locked")
    assert client.get("/reception").location.endswith("/patient-view/locked")
    assert client.post("/patient-view/leave", {"password": DEMO_PASSWORD}).status_code == 302
    assert client.get("/reception").status_code == 200


def test_activity_keeps_the_screen_open(client, ward):
    _handed_over_client(client, ward)
    with client.raw.session_transaction() as sess:
        sess["handover"] = {**sess["handover"], "last_seen": time.time() - 9 * 60}
    assert client.post_json("/patient-view/ping", {}).json == {"status": "ok"}
    with client.raw.session_transaction() as sess:
        assert time.time() - sess["handover"]["last_seen"] < 5
    assert client.get("/patient-view").status_code == 200


def test_the_print_out_is_a_pdf_of_the_same_choice_and_logged(client, ward, session):
    _logged_in(client, ward)
    client.get(f"/patients/{ward['patient'].id}/patient-view")
    response = client.post(f"/patients/{ward['patient'].id}/patient-view/print",
                           {"sections": ALL_SECTIONS, "letter_id": str(ward["letter_id"])})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    entry = session.scalar(select(AccessLogEntry).where(AccessLogEntry.action == "print"))
    assert entry.resource.startswith("patient_view.print:いまの病気・アレルギー・お薬")
    assert client.get("/reception").status_code == 200  # printing hands nothing over


def test_clerks_may_not_hand_over(client, ward, session):
    clerk = make_user(session, ward["clinic"], role="clerk")
    session.commit()
    client.login(clerk.login_id, clerk.totp_secret)
    assert client.get(f"/patients/{ward['patient'].id}/patient-view").status_code == 403
    assert "患者さんに見せる" not in client.get(f"/patients/{ward['patient'].id}").get_data(as_text=True)


def test_the_allowed_routes_are_the_screens_own():
    assert AFTER_TIMEOUT < WHILE_SHOWING
    assert all(endpoint.startswith("patient_view.") for endpoint in WHILE_SHOWING)


def test_the_screen_reads_the_same_number_of_statements_for_a_long_history(app, client, session):
    """Every section is one bounded read: ten times the history, the same statements (bench/summary.py's patient)."""
    clinic = make_clinic(session)
    nurse = make_user(session, clinic, role="nurse")
    session.commit()
    small = seed_history(session, clinic.id, History(results=40, prescriptions=3, letters=2, vitals=2, diagnoses=2),
                         orca_id="SMALL001")
    large = seed_history(session, clinic.id, History(results=400, prescriptions=30, letters=20, vitals=2,
                                                     diagnoses=20), orca_id="LARGE001")
    client.login(nurse.login_id, nurse.totp_secret)
    counts = []
    for patient_id in (small, large):
        client.get(f"/patients/{patient_id}/patient-view")
        client.post(f"/patients/{patient_id}/patient-view", {"sections": ALL_SECTIONS[:-1]})
        with counted_statements(app.extensions["db_engine"]) as statements:
            assert client.get("/patient-view").status_code == 200
        counts.append(len(statements))
        client.get("/patient-view/locked")  # the page whose form leaves
        assert client.post("/patient-view/leave", {"password": DEMO_PASSWORD}).status_code == 302
    assert counts[0] == counts[1] <= 12


def test_the_print_out_says_the_furigana_in_brackets(app, ward, session):
    """Paper has no ruby layout: the same plain words with their readings after them."""
    with app.app_context():
        choice = Choice(("diagnoses", "medicines", "labs", "letter"), ward["letter_id"])
        screen = build_screen(session, ward["clinic"].id, ward["patient"].id, choice, ward["today"])
        html = render_html("patient_summary", summary_context(screen, ward["patient"], ward["clinic"]))
    assert "血圧（けつあつ）が高い状態" in html and "<ruby>" not in html
    assert "朝・昼・夕　食事のあとに" in html and 'class="picto"' in html and 'class="pv-trend"' in html
    assert "みなと総合病院" in html and "港 次郎 先生" in html and "えび" not in html


def test_a_cookie_copied_before_the_handover_is_held_to_the_lock(app, client, ward):
    """The handover is kept on the server's login session: replaying the cookie from before it reaches no staff
    screen and not the patient screen either, only the lock page and the way out with the password."""
    _logged_in(client, ward)
    before = client.raw.get_cookie("kamikarte_session").value
    _hand_over(client, ward)
    copy = HTMLClient(app.test_client())
    copy.raw.set_cookie("kamikarte_session", before)
    assert copy.get("/reception").location.endswith("/patient-view/locked")
    assert copy.get(f"/patients/{ward['other'].id}").location.endswith("/patient-view/locked")
    assert copy.get("/patient-view").location.endswith("/patient-view/locked")
    assert "しばらく操作がなかった" in copy.get("/patient-view/locked").get_data(as_text=True)
    assert copy.post("/patient-view/leave", {"password": DEMO_PASSWORD}).status_code == 302
    assert copy.get("/reception").status_code == 200  # given back: the server's mark is cleared for both
    assert client.get("/reception").status_code == 302  # the original cookie still says handed over
