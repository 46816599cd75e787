"""傷病名 screens: the patient's list with an add form (disease search as you type, or by a plain search
without JavaScript), correction and 転帰, withdrawal, history; master search as JSON."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import committed, current_actor, flashed, found, patient_view, versions_page
from app.db import db_session
from app.diagnoses import bp, masters, services
from app.diagnoses.models import OUTCOMES, Disease
from app.patients.models import Patient
from app.sharing import withholding

MAX_QUERY = 100



def _render(patient, *, values=None, errors=None, item=None, status=200):
    db = db_session()
    query = request.args.get("q", "")[:MAX_QUERY]
    candidates = masters.search_diseases(db, query) if query else []
    values = values or {}
    chosen = db.get(Disease, values.get("disease_code") or "") if values.get("disease_code") else None
    prefixes, suffixes = masters.modifier_choices(db_session())
    template = "diagnoses/edit.html" if item else "diagnoses/index.html"
    items = [] if item else services.current_diagnoses(db, current_user.clinic_id, patient.id)
    return render_template(template, patient=patient, today=japan_today(), items=items, item=item, values=values,
                           errors=errors or {}, q=query, candidates=candidates, chosen=chosen, prefixes=prefixes,
                           suffixes=suffixes, outcomes=OUTCOMES,
                           withheld=withholding.withheld_lineages(db, current_user.clinic_id, patient.id)), status


@bp.get("/patients/<int:patient_id>/diagnoses")
@patient_view("patient.read", look="patient.diagnoses")
def index(patient: Patient):
    """Active and ended diagnoses with ICD-10, and the add form."""
    values = {"disease_code": request.args.get("disease_code", ""), "started_on": japan_today().isoformat()}
    return _render(patient, values=values)


@bp.post("/patients/<int:patient_id>/diagnoses")
@patient_view("diagnosis.write")
def add(patient: Patient):
    """Record a new diagnosis."""
    db = db_session()

    withhold = request.form.get("withhold_reason", "") if request.form.get("withhold") == "1" else None
    item = committed(lambda: services.add_diagnosis(
        db, current_user.clinic_id, current_actor(), patient.id, services.DiagnosisInput.from_form(request.form),
        birth_date=patient.birth_date, withhold_reason=withhold),
        lambda exc: _render(patient, values=services.form_values(request.form), errors=exc.errors, status=422))
    flash(f"傷病名「{item.display_name}」を登録しました", "success")
    return redirect(url_for("diagnoses.index", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>/diagnoses/<int:diagnosis_id>/edit")
@patient_view("diagnosis.write")
def edit(patient: Patient, diagnosis_id: int):
    """Correct a diagnosis or enter its 転帰."""
    item = found(services.get_current(db_session(), current_user.clinic_id, patient.id, diagnosis_id))
    data = services.DiagnosisInput.from_diagnosis(item)
    values = {**data.__dict__, "is_suspected": "1" if data.is_suspected else "", "is_main": "1" if data.is_main else ""}
    return _render(patient, values=values, item=item)


@bp.post("/patients/<int:patient_id>/diagnoses/<int:diagnosis_id>/edit")
@patient_view("diagnosis.write")
def correct(patient: Patient, diagnosis_id: int):
    """Save a correction or 転帰 as a new version."""
    db = db_session()
    item = found(services.get_current(db, current_user.clinic_id, patient.id, diagnosis_id))
    new = committed(lambda: services.correct_diagnosis(db, current_user.clinic_id, current_actor(), item,
                                                       services.DiagnosisInput.from_form(request.form),
                                                       request.form.get("change_reason", ""),
                                                       birth_date=patient.birth_date),
                    lambda exc: _render(patient, values=services.form_values(request.form), errors=exc.errors,
                                        item=item, status=422))
    flash(f"傷病名「{new.display_name}」を更新しました（修正前は履歴に残ります）", "success")
    return redirect(url_for("diagnoses.index", patient_id=patient.id))


@bp.post("/patients/<int:patient_id>/diagnoses/<int:diagnosis_id>/retract")
@patient_view("diagnosis.write")
def retract(patient: Patient, diagnosis_id: int):
    """Withdraw a diagnosis entered in error."""
    db = db_session()
    item = found(services.get_current(db, current_user.clinic_id, patient.id, diagnosis_id))
    committed(lambda: services.retract_diagnosis(db, current_user.clinic_id, current_actor(), item,
                                                 request.form.get("reason", "")),
              lambda exc: flashed(" ".join(exc.errors.values()),
                                  url_for("diagnoses.edit", patient_id=patient.id, diagnosis_id=diagnosis_id)))
    flash("傷病名を取り消しました（履歴に残ります）", "success")
    return redirect(url_for("diagnoses.index", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>/diagnoses/<int:diagnosis_lineage_id>/history")
@patient_view("patient.read")
def item_history(patient: Patient, diagnosis_lineage_id: int):
    """Every version of one diagnosis with who, when and why."""
    return versions_page("diagnoses/history.html", patient, services.history(
        db_session(), current_user.clinic_id, patient.id, diagnosis_lineage_id), "patient.diagnoses.history")


@bp.get("/masters/diseases")
@requires("masters.read")
def disease_search():
    """JSON: diseases matching ?q= (kana in any form or kanji), with ICD-10."""
    text = request.args.get("q", "")[:MAX_QUERY]
    return jsonify({"q": text, "items": [{"code": d.code, "name": d.name, "kana": d.kana, "icd10": d.icd10,
                                          "exchange_code": d.exchange_code}
                                         for d in masters.search_diseases(db_session(), text)]})


@bp.get("/masters/modifiers")
@requires("masters.read")
def modifier_search():
    """JSON: modifiers matching ?q= (&kind=接頭語|接尾語)."""
    text = request.args.get("q", "")[:MAX_QUERY]
    kind = request.args.get("kind") or None
    return jsonify({"q": text, "items": [{"code": m.code, "name": m.name, "kind": m.kind}
                                         for m in masters.search_modifiers(db_session(), text, kind)]})
