"""Free text is stored and printed without bidirectional controls and other invisible characters (issue 19): the
one function (app.core.jp.strip_control_chars), the base form's filter, and the services that store free text
typed into the chart, each through HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, StringField, TextAreaField

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.forms import CleanForm
from app.core.jp import strip_control_chars
from app.core.timeutil import japan_today
from app.core.versioning import record_first_version
from app.documents.services import read_form
from app.imaging.models import KeyImage
from app.notes.models import ProgressNote
from app.patients.profile_models import Vaccination
from app.printing.html_pdf import _environment
from tests.factories import make_clinic, make_patient, make_user

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaves differently on SQLite: see tests/conftest.py

#: The invisible characters a pasted or crafted text brings: bidi embeddings, overrides, isolates and marks,
#: zero-width characters, BOM, soft hyphen, word joiner, an invisible operator, a tag, NUL and ESC.
INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
             "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\u2062", "\ufeff", "\u00ad", "\u180e",
             "\U000e0041", "\x00", "\x1b", "\x7f"]
SPOOF = "ロキソニン\u202e錠\u206660\u2069mg\u200b"


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
@pytest.mark.parametrize("multiline", [False, True])
def test_every_invisible_character_is_stripped(char, multiline):
    assert strip_control_chars(f"頭{char}痛", multiline=multiline) == "頭痛"


def test_multiline_text_keeps_its_line_breaks_and_tabs_all_folded_to_newline():
    typed = "S:\t頭痛\r\nO:\r血圧 128/78\u2028A:\u2029P:\x85経過観察"
    assert strip_control_chars(typed, multiline=True) == "S:\t頭痛\nO:\n血圧 128/78\nA:\nP:\n経過観察"
    assert strip_control_chars("改行\r\nなし\tタブ") == "改行なしタブ"


def test_variation_selectors_of_names_and_visible_text_are_kept():
    ivs = "葛\U000e0100飾区 渡邉\U000e0104"  # 異体字 selectors (category Mn) are part of a name
    assert strip_control_chars(ivs) == ivs
    assert strip_control_chars("①ｶﾀｶﾅ Ⅲ ＡＢＣ 😀") == "①ｶﾀｶﾅ Ⅲ ＡＢＣ 😀"


class _Typed(CleanForm):
    class Meta:
        csrf = False

    name = StringField("名前")
    memo = TextAreaField("メモ")
    password = PasswordField("パスワード")


def test_the_base_form_cleans_text_fields_and_leaves_passwords_alone(app):
    with app.test_request_context():
        form = _Typed(MultiDict({"name": SPOOF, "memo": f"一行目\r\n{SPOOF}", "password": "pa\u200bss"}))
        assert form.validate()
        assert form.data == {"name": "ロキソニン錠60mg", "memo": "一行目\nロキソニン錠60mg", "password": "pa\u200bss"}


def test_letter_fields_are_read_without_invisible_characters():
    values = read_form(MultiDict({"course": f"経過\r\n{SPOOF}", "to_institution": "みなと\u202e病院"}))
    assert values["course"] == "経過\nロキソニン錠60mg" and values["to_institution"] == "みなと病院"


@pytest.mark.parametrize("template", ["referral_letter", "outpatient_prescription"])
def test_print_templates_output_text_without_invisible_characters_whenever_it_was_stored(template):
    page = _environment(template).from_string("<p>{{ course }}</p>{{ n }}").render(course=f"経過\n{SPOOF}<b>", n=3)
    assert page == "<p>経過\nロキソニン錠60mg&lt;b&gt;</p>3"


@pytest.fixture
def desk(session):
    clinic = make_clinic(session, is_full_chart_mode=True)
    desk = {"clinic": clinic, "doctor": make_user(session, clinic, role="doctor"),
            "admin": make_user(session, clinic, role="admin"), "patient": make_patient(session, clinic)}
    session.commit()
    client_user = desk["doctor"]
    desk["actor"] = Actor(client_user.id, client_user.login_id, clinic.id, "doctor")
    return desk


def test_a_progress_note_is_stored_without_invisible_characters(client, session, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    day = japan_today().isoformat()
    page = f"/patients/{desk['patient'].id}/notes/{day}"
    response = client.post(page, {"subjective": f"頭痛\u202e\r\n{SPOOF}", "objective": "", "assessment": "",
                                  "plan": "\ufeff経過観察\u2067", "base_version": "0"}, form_page=f"{page}/edit")
    assert response.status_code == 302
    note = session.scalars(select(ProgressNote)).one()
    assert (note.subjective, note.plan) == ("頭痛\nロキソニン錠60mg", "経過観察")


def test_a_profile_item_keeps_line_breaks_in_its_memo_but_no_invisible_characters(client, session, desk):
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    patient = desk["patient"]
    response = client.post(f"/patients/{patient.id}/profile/vaccinations",
                           {"vaccine": "インフルエンザ\u200bHAワクチン", "administered_on": "2026-04-01",
                            "site": "左\u202e上腕", "notes": f"副反応なし\r\n{SPOOF}"},
                           form_page=f"/patients/{patient.id}/profile/vaccinations/new")
    assert response.status_code == 302
    item = session.scalars(select(Vaccination)).one()
    assert (item.vaccine, item.site) == ("インフルエンザHAワクチン", "左上腕")
    assert item.notes == "副反応なし\nロキソニン錠60mg"


def test_a_key_image_caption_and_the_reason_are_stored_without_invisible_characters(client, session, desk):
    uid = "1.2.392.200036.9116.2.6.1.48"
    item = record_first_version(session, desk["actor"], KeyImage(
        clinic_id=desk["clinic"].id, patient_id=desk["patient"].id, study_uid=uid, series_uid=uid, instance_uid=uid,
        caption="右下肺野", image_bytes=b"png", image_sha256="0" * 64, study_date=date(2026, 4, 1)),
        action="key_image.create")
    session.commit()
    client.login(desk["doctor"].login_id, desk["doctor"].totp_secret)
    response = client.post(f"/patients/{desk['patient'].id}/key-images/{item.id}/caption",
                           {"caption": "左\u202e下肺野\u200b", "change_reason": "部位の\u2066訂正\u2069"},
                           form_page=f"/patients/{desk['patient'].id}/diagnoses")
    assert response.status_code == 302
    current = session.scalars(select(KeyImage).where(KeyImage.superseded_at.is_(None))).one()
    assert (current.caption, current.change_reason, current.version) == ("左下肺野", "部位の訂正", 2)


def test_clinic_settings_typed_through_the_base_form_are_stored_clean(client, session, desk):
    client.login(desk["admin"].login_id, desk["admin"].totp_secret)
    form = {"name": "新宿\u202eさくら内科\u200b", "institution_code": "1310123458", "address": "東京都\u2067新宿区",
            "departments": "01 内科\r\n09\u200b 小児科", "idle_lock_minutes": "5"}
    response = client.post("/admin/clinic", form, form_page="/admin/clinic")
    assert response.status_code == 302
    session.expire_all()
    clinic = session.get(Clinic, desk["clinic"].id)
    assert (clinic.name, clinic.address) == ("新宿さくら内科", "東京都新宿区")
    assert clinic.departments == [{"code": "01", "name": "内科"}, {"code": "09", "name": "小児科"}]
