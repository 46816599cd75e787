"""Numbers are finite numbers (issue 19): the one reading of a typed number (app.core.forms.to_number), the guard
services keep, the validator every Float/Decimal form field gets; then every numeric field of the app through
HTTP, each refusing NaN and ±Infinity in their usual spellings with a Japanese message and storing nothing."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField

from app.clinics.models import Clinic
from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.forms import CleanForm, require_finite, to_number
from app.diagnoses.masters import load_shipped_subsets
from app.imaging import services as imaging
from app.patients import profile as profiles
from app.patients.profile_forms import KINDS
from app.patients.profile_models import Vaccination, VitalSign
from app.prescriptions.drug_master import load_shipped_subset as load_drugs
from app.prescriptions.models import Prescription
from tests.factories import make_clinic, make_patient, make_user

NOT_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e999", "ｎａｎ"]
STUDY = "1.2.392.200036.9116.2.6.1.48.1214245753.1506921033.705311"


@pytest.mark.parametrize("text, integer, expected", [("36.5", False, 36.5), ("３６．５", False, 36.5),
                                                     (" -2 ", True, -2), ("＋7", True, 7), (".5", False, 0.5)])
def test_to_number_reads_plain_decimal_notation(text, integer, expected):
    assert to_number(text, integer=integer) == expected


@pytest.mark.parametrize("text", [*NOT_NUMBERS, "9" * 400, "1_000", "0x10", "", "1.5.2"])
def test_to_number_refuses_everything_else(text):
    with pytest.raises(ValueError):
        to_number(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -math.inf, Decimal("NaN"), Decimal("-Infinity")])
def test_services_refuse_non_finite_numbers_with_a_japanese_message(value):
    with pytest.raises(ValidationError) as caught:
        require_finite(value, label="体温", field="temperature_c")
    assert caught.value.errors == {"temperature_c": "体温には数値として扱えない値（NaN・無限大）は使えません"}
    assert require_finite(36.5, label="体温", field="t") == 36.5 and require_finite(None, label="x", field="x") is None


class _Measures(CleanForm):
    class Meta:
        csrf = False

    ratio = FloatField("比率")
    amount = DecimalField("量")


@pytest.mark.parametrize("name, label", [("ratio", "比率"), ("amount", "量")])
@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity"])
def test_every_float_and_decimal_form_field_refuses_non_finite_values(app, name, label, typed):
    with app.test_request_context():
        form = _Measures(MultiDict({"ratio": "1.5", "amount": "2", name: typed}))
        assert not form.validate()
        assert form.errors == {name: [f"{label}には数値として扱えない値（NaN・無限大）は使えません"]}
        assert _Measures(MultiDict({"ratio": "1.5", "amount": "2"})).validate()


@pytest.fixture
def desk(session):
    clinic = make_clinic(session)
    desk = {"clinic": clinic, "doctor": make_user(session, clinic, role="doctor"),
            "admin": make_user(session, clinic, role="admin"), "patient": make_patient(session, clinic)}
    load_drugs(session)
    load_shipped_subsets(session)
    session.commit()
    return desk


def _login(client, user):
    client.login(user.login_id, user.totp_secret)


def test_the_profile_service_refuses_a_non_finite_vital_whoever_parsed_it(session, desk):
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id, "doctor")
    with pytest.raises(ValidationError, match="体温には数値として扱えない値"):
        profiles.add_item(session, desk["clinic"].id, actor, KINDS["vitals"], desk["patient"].id,
                          {"measured_at": None, "temperature_c": float("nan")})
    assert session.scalar(select(func.count(VitalSign.id))) == 0


def test_the_key_image_service_refuses_a_non_finite_window_before_asking_the_pacs(session, desk):
    actor = Actor(desk["doctor"].id, desk["doctor"].login_id, desk["clinic"].id, "doctor")
    with pytest.raises(ValidationError, match="ウィンドウ値"):
        imaging.add_key_image(session, desk["clinic"], actor, desk["patient"], study_uid=STUDY, series_uid=STUDY,
                              instance_uid=STUDY, frame=1, window=(float("nan"), 400.0), caption="胸部")


VITALS = [(spec.name, spec.label, "整数" if spec.kind == "int" else "数値")
          for spec in KINDS["vitals"].fields if spec.kind in ("int", "decimal")]


@pytest.mark.parametrize("name, label, kind", VITALS, ids=[v[0] for v in VITALS])
def test_each_vital_refuses_non_finite_values(client, session, desk, name, label, kind):
    _login(client, desk["doctor"])
    page = f"/patients/{desk['patient'].id}/vitals"
    for typed in NOT_NUMBERS:
        response = client.post(page, {"measured_at": "2026-04-01T09:00", name: typed}, form_page=page)
        assert response.status_code == 422, typed
        assert f"{label}は{kind}で入力してください" in response.get_data(as_text=True), typed
    assert session.scalar(select(func.count(VitalSign.id))) == 0


def test_a_vaccination_dose_number_refuses_non_finite_values(client, session, desk):
    _login(client, desk["doctor"])
    page = f"/patients/{desk['patient'].id}/profile/vaccinations/new"
    for typed in NOT_NUMBERS:
        response = client.post(f"/patients/{desk['patient'].id}/profile/vaccinations",
                               {"vaccine": "インフルエンザHAワクチン", "administered_on": "2026-04-01",
                                "dose_number": typed}, form_page=page)
        assert response.status_code == 422 and "回数は整数で入力してください" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Vaccination.id))) == 0


@pytest.mark.parametrize("field, message", [("rp0_l0_dose", "が数値ではありません"),
                                            ("rp0_quantity", "日分を数字で入力してください")])
def test_prescription_dose_and_days_refuse_non_finite_values(client, session, desk, field, message):
    _login(client, desk["doctor"])
    page = f"/patients/{desk['patient'].id}/prescriptions/new"
    form = {"rp_count": "1", "mode": "paper", "rp0_form": "1", "rp0_usage_code": "1013044400000000",
            "rp0_usage_text": "", "rp0_quantity": "14", "rp0_line_count": "1", "rp0_l0_drug": "620098801",
            "rp0_l0_dose": "3"}
    for typed in NOT_NUMBERS:
        for action in ("check", "issue"):
            response = client.post(page, form | {field: typed, "action": action}, form_page=page)
            assert message in response.get_data(as_text=True), (typed, action)
    assert session.scalar(select(func.count(Prescription.id))) == 0


@pytest.mark.parametrize("field", ["wc", "ww"])
def test_a_key_images_window_refuses_non_finite_values(client, session, desk, field):
    _login(client, desk["doctor"])
    patient = desk["patient"]
    for typed in NOT_NUMBERS:
        window = {"wc": "40", "ww": "400"} | {field: typed}
        response = client.post(f"/patients/{patient.id}/images/{STUDY}/key-images",
                               {"series_uid": STUDY, "instance_uid": STUDY, "frame": "1", "caption": "胸部"} | window,
                               form_page=f"/patients/{patient.id}/diagnoses")
        assert response.status_code == 302
        page = client.get(f"/patients/{patient.id}/diagnoses").get_data(as_text=True)
        assert "ウィンドウ値（WL/WW）は数値で指定してください" in page, typed
        shown = client.get(f"/patients/{patient.id}/images/{STUDY}/series/{STUDY}/instances/{STUDY}/frames/1"
                           "/rendered", query_string=window)
        assert shown.status_code == 400 and "数値で指定" in shown.get_data(as_text=True), typed


@pytest.mark.parametrize("field, label", [("label_width_mm", "ラベルの幅"), ("label_height_mm", "ラベルの高さ")])
def test_lab_label_sizes_refuse_non_finite_values(client, session, desk, field, label):
    _login(client, desk["admin"])
    for typed in NOT_NUMBERS:
        form = {"base_url": "", "label_width_mm": "50", "label_height_mm": "25", "barcode": "codabar"}
        response = client.post("/admin/lab", form | {field: typed}, form_page="/admin/lab")
        assert response.status_code == 422 and f"{label}をmm単位の整数で入力してください" in response.get_data(
            as_text=True), typed
    session.expire_all()
    assert "lab_center" not in (session.get(Clinic, desk["clinic"].id).integrations or {})


def test_the_idle_lock_minutes_refuse_non_finite_values(client, session, desk):
    _login(client, desk["admin"])
    form = {"name": "新宿さくら内科", "institution_code": "1310123458", "departments": "01 内科"}
    for typed in NOT_NUMBERS:
        response = client.post("/admin/clinic", form | {"idle_lock_minutes": typed}, form_page="/admin/clinic")
        assert "1〜60の数字を入力してください" in response.get_data(as_text=True), typed
    session.expire_all()
    assert session.get(Clinic, desk["clinic"].id).idle_lock_minutes == 10
