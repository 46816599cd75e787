"""The profile screens: one overview of everything, a vitals intake form, entry / correction forms, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.security import role_may
from app.core.timeutil import JST, japan_today
from app.core.web import current_actor, log_look, patient_view, versions_page
from app.db import db_session, utcnow
from app.diagnoses.services import current_diagnoses  # the doctor glances at the diagnoses here too
from app.patients import bp
from app.patients import profile as profiles
from app.patients.models import Patient
from app.patients.profile_forms import FOOD_ALLERGENS, KINDS, ProfileKind, parse_form, warnings_for
from app.sharing.registration import WITHHOLDABLE
from app.sharing.withholding import withheld_lineages

SPARK_WIDTH, SPARK_HEIGHT = 160, 40
#: Measure, label, unit, and the smallest range a chart spans, so that 36.4 → 36.5 ℃ draws as flat, not as a cliff.
SPARK_MEASURES = (("systolic", "収縮期血圧", "mmHg", 40), ("diastolic", "拡張期血圧", "mmHg", 30),
                  ("pulse", "脈拍", "/分", 30), ("temperature_c", "体温", "℃", 2.0), ("spo2", "SpO2", "%", 8),
                  ("weight_kg", "体重", "kg", 6))



def _kind_or_404(slug: str) -> ProfileKind:
    kind = KINDS.get(slug)
    if kind is None:
        abort(404)
    return kind


def sparkline(series: list[tuple[datetime, float]], min_span: float = 1) -> dict[str, Any] | None:
    """SVG polyline points for a small trend chart (None with fewer than two values)."""
    if len(series) < 2:
        return None
    values = [v for _, v in series]
    low, high = min(values), max(values)
    span = max(high - low, min_span)
    floor = (low + high - span) / 2  # centre a small variation in the chart
    step = (SPARK_WIDTH - 8) / (len(values) - 1)
    points = [(4 + i * step, SPARK_HEIGHT - 4 - (v - floor) / span * (SPARK_HEIGHT - 8))
              for i, v in enumerate(values)]
    return {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points), "last": points[-1], "low": low, "high": high,
            "width": SPARK_WIDTH, "height": SPARK_HEIGHT}


def _vitals_context(patient_id: int) -> dict[str, Any]:
    entries = profiles.vitals_history(db_session(), current_user.clinic_id, patient_id)
    latest = profiles.latest_vitals(entries)
    charts = [(label, unit, latest.value(name), sparkline(profiles.vital_series(entries, name), min_span))
              for name, label, unit, min_span in SPARK_MEASURES]
    return {"vitals": entries, "latest": latest, "charts": charts}


def _now_local() -> str:
    return utcnow().astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def _item_or_404(patient: Any, slug: str, item_id: int) -> tuple[ProfileKind, Any]:
    """The kind named in the URL and the current version of one of the patient's items of it, or 404."""
    kind = _kind_or_404(slug)
    item = profiles.get_current(db_session(), current_user.clinic_id, kind, patient.id, item_id)
    if item is None:
        abort(404)
    return kind, item


def _profile_context(patient: Any) -> dict[str, Any]:
    """What every profile page shows besides the patient: the kinds that apply to them and how to show values."""
    kinds = {slug: kind for slug, kind in KINDS.items() if not kind.female_only or patient.sex == "F"}
    return {"kinds": kinds, "warnings_for": warnings_for, "bmi": profiles.bmi, "food_allergens": FOOD_ALLERGENS}


def _common(patient: Any) -> dict[str, Any]:
    return {"patient": patient, "today": japan_today(), **_profile_context(patient)}


@bp.get("/patients/<int:patient_id>/profile")
@patient_view("patient.read", look="patient.profile")
def profile(patient: Patient):
    """Everything a doctor glances at before seeing the patient, on one screen."""
    common = _common(patient)
    # The kinds that apply to the patient, vitals aside: _vitals_context reads the newest of those once.
    kinds = {slug: kind for slug, kind in common["kinds"].items() if slug != "vitals"}
    overview = profiles.profile_overview(db_session(), current_user.clinic_id, patient.id, kinds)
    diagnoses = [d for d in current_diagnoses(db_session(), current_user.clinic_id, patient.id)
                 if d.outcome == "continuing"]
    return render_template("patients/profile.html", overview=overview, diagnoses=diagnoses,
                           withheld=withheld_lineages(db_session(), current_user.clinic_id, patient.id),
                           **_vitals_context(patient.id), **common)


@bp.get("/patients/<int:patient_id>/vitals")
@patient_view("patient.read", look="patient.vitals")
def vitals(patient: Patient):
    """The intake form: numeric keypad, last values shown, time set to now."""
    return render_template("patients/vitals.html", values={"measured_at": _now_local()}, errors={},
                           **_vitals_context(patient.id), **_common(patient))


def _render_form(patient: Any, kind: ProfileKind, values: dict[str, Any], errors: dict[str, str], *,
                 item: Any = None, candidates: list[Any] | None = None, status: int = 200) -> Any:
    if kind.slug == "vitals" and item is None:
        return render_template("patients/vitals.html", values=values, errors=errors, **_vitals_context(patient.id),
                               **_common(patient)), status
    return render_template("patients/profile_form.html", kind=kind, values=values, errors=errors, item=item,
                           candidates=candidates or [], withholdable=kind.model.__tablename__ in WITHHOLDABLE,
                           **_common(patient)), status


def _form_values(item: Any, kind: ProfileKind) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in kind.fields:
        value = getattr(item, spec.name)
        if spec.kind == "datetime" and value is not None:
            value = value.astimezone(JST).strftime("%Y-%m-%dT%H:%M")
        elif spec.kind == "date" and value is not None:
            value = value.isoformat()
        elif isinstance(value, float):
            value = f"{value:g}"
        values[spec.name] = "" if value is None else value
    if kind.uses_drug:
        values["drug_code"] = item.drug_receipt_code or ""
    return values


def _withhold_reason(kind: ProfileKind) -> str | None:
    """共有しない ticked on the add form of an item the service takes: the reason given (a doctor's decision)."""
    if request.form.get("withhold") != "1" or kind.model.__tablename__ not in WITHHOLDABLE:
        return None
    if not role_may(current_user.role, "sharing.withhold"):
        abort(403)
    return request.form.get("withhold_reason", "")


def _save(patient: Any, kind: ProfileKind, item: Any = None) -> Any:
    """Validate the posted form, then add (item None) or correct; re-render with messages on error."""
    form = request.form
    values, errors = parse_form(kind, form, now=utcnow())
    db = db_session()
    if not errors:
        try:
            profiles.resolve_drug(db, kind, values, form.get("drug_code", "").strip())
            if item is None:
                saved = profiles.add_item(db, current_user.clinic_id, current_actor(), kind, patient.id, values,
                                          withhold_reason=_withhold_reason(kind))
            else:
                saved = profiles.correct_item(db, current_user.clinic_id, current_actor(), kind, item, values,
                                              form.get("change_reason", ""))
        except ValidationError as exc:
            db.rollback()
            candidates = exc.candidates if isinstance(exc, profiles.ProfileError) else []
            return _render_form(patient, kind, dict(form), exc.errors, item=item, candidates=candidates, status=422)
        db.commit()
        for warning in warnings_for(kind, saved):
            flash(f"確認してください: {warning}", "warning")
        flash(f"{kind.label}を{'登録' if item is None else '修正'}しました", "success")
        return redirect(url_for("patients.profile", patient_id=patient.id) + f"#{kind.slug}")
    return _render_form(patient, kind, dict(form), errors, item=item, status=422)


@bp.post("/patients/<int:patient_id>/vitals")
@patient_view("profile.write")
def save_vitals(patient: Patient):
    """Save one set of vitals from the intake form."""
    return _save(patient, KINDS["vitals"])


@bp.get("/patients/<int:patient_id>/profile/<slug>/new")
@patient_view("profile.write")
def new_item(patient: Patient, slug: str):
    """An empty entry form for one kind."""
    kind = _kind_or_404(slug)
    if kind.slug == "vitals":
        return redirect(url_for("patients.vitals", patient_id=patient.id))
    existing = profiles.current_items(db_session(), current_user.clinic_id, kind, patient.id) if kind.single else []
    if existing:  # one blood type, one 要介護度: a new entry is a correction of the current one
        return redirect(url_for("patients.edit_item", patient_id=patient.id, slug=slug, item_id=existing[0].id))
    return _render_form(patient, kind, {}, {})


@bp.post("/patients/<int:patient_id>/profile/<slug>")
@patient_view("profile.write")
def add_item(patient: Patient, slug: str):
    """Record a new item."""
    return _save(patient, _kind_or_404(slug))


@bp.get("/patients/<int:patient_id>/profile/<slug>/<int:item_id>/edit")
@patient_view("profile.write")
def edit_item(patient: Patient, slug: str, item_id: int):
    """The correction form, filled with the current version."""
    kind, item = _item_or_404(patient, slug, item_id)
    log_look(patient.id, f"patient.profile.{slug}")
    return _render_form(patient, kind, _form_values(item, kind), {}, item=item)


@bp.post("/patients/<int:patient_id>/profile/<slug>/<int:item_id>/edit")
@patient_view("profile.write")
def correct_item(patient: Patient, slug: str, item_id: int):
    """Save a correction as a new version."""
    kind, item = _item_or_404(patient, slug, item_id)
    return _save(patient, kind, item)


@bp.post("/patients/<int:patient_id>/profile/<slug>/<int:item_id>/retract")
@patient_view("profile.write")
def retract_item(patient: Patient, slug: str, item_id: int):
    """Withdraw an item entered in error; it stays in its history."""
    kind, item = _item_or_404(patient, slug, item_id)
    db = db_session()
    try:
        profiles.retract_item(db, current_user.clinic_id, current_actor(), kind, item, request.form.get("reason", ""))
    except ValidationError as exc:
        db.rollback()
        flash(" ".join(exc.errors.values()), "error")
        return redirect(url_for("patients.edit_item", patient_id=patient.id, slug=slug, item_id=item_id))
    db.commit()
    flash(f"{kind.label}の記録を取り消しました（履歴に残ります）", "success")
    return redirect(url_for("patients.profile", patient_id=patient.id) + f"#{kind.slug}")


@bp.get("/patients/<int:patient_id>/profile/<slug>/<int:lineage_id>/history")
@patient_view("patient.read")
def item_history(patient: Patient, slug: str, lineage_id: int):
    """Every version of one item: who entered or changed it, when, and why."""
    kind = _kind_or_404(slug)
    return versions_page("patients/profile_history.html", patient, profiles.item_history(
        db_session(), current_user.clinic_id, kind, patient.id, lineage_id), f"patient.profile.{slug}.history",
        kind=kind, **_profile_context(patient))
