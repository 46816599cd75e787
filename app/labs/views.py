"""Lab screens: the patient's result table with its orders, the order form (items and sets found as you type),
an order with its state and labels, a trend chart and a result's history; the incoming-message list for staff;
the endpoint a lab pushes results to; the HL7 documents themselves."""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.errors import ValidationError
from app.core.security import public, requires
from app.core.timeutil import japan_today
from app.core.web import (
    committed,
    current_actor,
    current_clinic,
    flashed,
    found,
    log_look,
    patient_view,
    record_file,
    versions_page,
)
from app.db import db_session
from app.extensions import csrf
from app.integrations.lab_center import LabCenterError
from app.labs import billing, bp, importer, lab_settings, masters, order_states, poller, results, sending, services
from app.labs.labels import SYMBOLOGIES, order_labels, render_labels
from app.labs.models import LabItem
from app.outbox.services import DeliveryError
from app.patients.models import Patient
from app.sharing import withholding

MAX_QUERY = 100
HL7_MEDIA_TYPE = "x-application/hl7-v2+er7"


def _order_or_404(patient, order_id: int):
    return found(services.get_order(db_session(), current_user.clinic_id, patient.id, order_id))


@bp.get("/masters/lab-items")
@requires("masters.read")
def item_search():
    """JSON: sets and tests matching ?q= (name, abbreviation, kana in any form, lab code or JLAC10)."""
    text = request.args.get("q", "")[:MAX_QUERY]
    sets, items = masters.search_items(db_session(), text)
    tubes = services.set_tubes(db_session(), sets)
    return jsonify({"q": text,
                    "sets": [{"code": s.code, "name": s.name, "kana": s.kana, "lab_codes": s.lab_codes,
                              "tubes": [{"specimen": t.specimen, "container": t.container, "tests": t.tests}
                                        for t in tubes[s.code]]} for s in sets],
                    "items": [{"code": i.lab_code, "name": i.name, "short_name": i.short_name, "kana": i.kana,
                               "jlac10": i.jlac10, "jlac11": i.jlac11, "specimen": i.specimen,
                               "container": i.container, "unit": i.unit} for i in items]})


@bp.get("/patients/<int:patient_id>/labs")
@patient_view("patient.read")
def index(patient: Patient):
    """The result table (tests × days, units, ranges, H/L, comments), a trend chart, and the orders."""
    db = db_session()
    before = None
    if request.args.get("before"):
        try:
            before = date.fromisoformat(request.args["before"][:10])
        except ValueError:
            before = None
    table = results.result_table(db, current_user.clinic_id, patient.id, patient.sex, before=before)
    trend_code = request.args.get("trend", "")[:16]
    chart = results.trend(db, current_user.clinic_id, patient.id, trend_code) if trend_code else None
    orders = services.list_orders(db, current_user.clinic_id, patient.id)
    log_look(patient.id, "patient.labs")
    return render_template("labs/index.html", patient=patient, today=japan_today(), table=table, chart=chart,
                           trend_code=trend_code, orders=orders,
                           withheld=withholding.withheld_lineages(db, current_user.clinic_id, patient.id))


def _render_form(patient, *, values=None, errors=None, status=200):
    db = db_session()
    query = request.args.get("q", "")[:MAX_QUERY]
    sets, items = masters.search_items(db, query)
    values = values or {"lab_codes": [], "set_codes": [], "ordered_on": japan_today().isoformat(), "comment": ""}
    chosen = services.items_for_codes(db, values["lab_codes"])
    chosen_sets = [s for s in sets if s.code in values["set_codes"]]
    return render_template("labs/order_form.html", patient=patient, today=japan_today(), q=query, sets=sets,
                           items=items, values=values, chosen=chosen, chosen_sets=chosen_sets, errors=errors or {},
                           tubes=services.set_tubes(db, sets),
                           connected=lab_settings.is_connected(current_user.clinic)), status


@bp.get("/patients/<int:patient_id>/labs/orders/new")
@patient_view("lab.order")
def new_order(patient: Patient):
    """The order form: sets and tests, searchable as you type (or with 検索 without JavaScript)."""
    values = {"lab_codes": request.args.getlist("lab_code"), "set_codes": request.args.getlist("set_code"),
              "ordered_on": request.args.get("ordered_on") or japan_today().isoformat(),
              "comment": request.args.get("comment", "")}
    return _render_form(patient, values=values)


@bp.post("/patients/<int:patient_id>/labs/orders")
@patient_view("lab.order")
def create_order(patient: Patient):
    """Record the order, number its specimens and queue it for the lab."""
    db = db_session()
    data = services.OrderInput.from_form(request.form)
    values = {"lab_codes": data.lab_codes, "set_codes": data.set_codes, "ordered_on": data.ordered_on,
              "comment": data.comment}
    order = committed(lambda: services.create_order(db, current_user.clinic, current_actor(), patient, data),
                      lambda exc: _render_form(patient, values=values, errors=exc.errors, status=422),
                      services.LabOrderError)
    flash(f"検査を依頼しました（依頼番号 {order.order_number}、検体 {len(order.specimens)}本）。"
          "検体ラベルを印刷してください", "success")
    return redirect(url_for("labs.show_order", patient_id=patient.id, order_id=order.id))


@bp.get("/patients/<int:patient_id>/labs/orders/<int:order_id>")
@patient_view("patient.read")
def show_order(patient: Patient, order_id: int):
    """One order: its specimens and tests, its state at the lab, labels and the message sent."""
    order = _order_or_404(patient, order_id)
    log_look(patient.id, f"lab_order:{order.id}")
    settings = lab_settings.settings_of(current_user.clinic)
    db = db_session()
    return render_template("labs/order.html", patient=patient, order=order, today=japan_today(), settings=settings,
                           symbologies=SYMBOLOGIES, connected=lab_settings.is_connected(current_user.clinic),
                           billing_shown=billing.is_available(current_user.clinic) or bool(order.orca_billing_status),
                           billing_plan=billing.plan(db, order), billing_labels=billing.STATUS_LABELS,
                           billing_waiting=billing.waiting_reason(db, order),
                           send_waiting=sending.send_waiting_reason(db, order),
                           cancellable=order_states.is_cancellable(order),
                           sharing_mark_row=withholding.mark_of(db, order))


@bp.post("/patients/<int:patient_id>/labs/orders/<int:order_id>/cancel")
@patient_view("lab.order")
def cancel_order(patient: Patient, order_id: int):
    """Cancel an order no result has come for: the lab is told, and its ORCA 中途データ is deleted."""
    order = _order_or_404(patient, order_id)
    db = db_session()
    back = url_for("labs.show_order", patient_id=patient.id, order_id=order_id)
    committed(lambda: services.cancel_order(db, current_user.clinic, current_actor(), order,
                                            request.form.get("reason", "")),
              lambda exc: flashed(str(exc), back), services.LabOrderError)
    flash("検査依頼を取り消しました（記録は残ります）", "success")
    return redirect(back)


def label_pdf(order, patient, clinic) -> bytes:
    """The labels of an order as a PDF with the clinic's label size and symbology."""
    settings = lab_settings.settings_of(clinic)
    return render_labels(order_labels(order, patient), width_mm=float(settings["label_width_mm"]),
                         height_mm=float(settings["label_height_mm"]), symbology=settings["barcode"])


@bp.get("/patients/<int:patient_id>/labs/orders/<int:order_id>/labels.pdf")
@patient_view("patient.read")
def labels(patient: Patient, order_id: int):
    """The specimen labels (one per container) as a PDF; the print is logged."""
    order = _order_or_404(patient, order_id)
    try:
        pdf = label_pdf(order, patient, current_user.clinic)
    except ValidationError as exc:
        flash(f"ラベルを印刷できません: {exc}", "error")
        return redirect(url_for("labs.show_order", patient_id=patient.id, order_id=order.id))
    log_look(patient.id, f"lab_labels:{order.id}", "print")
    return record_file(pdf, "application/pdf", f"labels-{order.order_number}.pdf", inline=True)


@bp.get("/patients/<int:patient_id>/labs/orders/<int:order_id>/order.hl7")
@patient_view("patient.read")
def order_message(patient: Patient, order_id: int):
    """The OML^O33 sent for this order, as the lab received it (ISO-2022-JP bytes)."""
    order = _order_or_404(patient, order_id)
    message = sending.sent_message(db_session(), order)
    if message is None:
        abort(404)
    log_look(patient.id, f"lab_order_hl7:{order.id}", "export")
    return record_file(message, HL7_MEDIA_TYPE, f"{order.order_number}.hl7")


@bp.get("/patients/<int:patient_id>/labs/messages/<int:lab_message_id>.hl7")
@patient_view("patient.read")
def result_message(patient: Patient, lab_message_id: int):
    """A result message of this patient exactly as it was received."""
    stored = importer.get_message(db_session(), current_user.clinic_id, lab_message_id)
    if stored is None or stored.patient_id != patient.id:
        abort(404)
    log_look(patient.id, f"lab_message:{stored.id}", "export")
    return record_file(stored.raw, HL7_MEDIA_TYPE, f"result-{stored.id}.hl7")


@bp.get("/patients/<int:patient_id>/labs/results/<int:result_lineage_id>/history")
@patient_view("patient.read")
def result_history(patient: Patient, result_lineage_id: int):
    """Every version of one result: the report, then each correction, with the message it came in."""
    return versions_page("labs/history.html", patient, results.history(
        db_session(), current_user.clinic_id, patient.id, result_lineage_id), "patient.labs.history")


@bp.get("/labs/messages")
@requires("lab.messages")
def messages():
    """Incoming result messages of the clinic, failed ones with their reason first."""
    db = db_session()
    failed = importer.failed_messages(db, current_user.clinic_id)
    recent = importer.recent_messages(db, current_user.clinic_id, limit=50)
    return render_template("labs/messages.html", failed=failed, recent=recent)


@bp.post("/labs/poll")
@requires("lab.messages")
def poll_now():
    """Fetch waiting results from the lab now (the poller does it on its own every few minutes)."""
    try:
        imported, failed = poller.poll_results(current_app.extensions["db_sessionmaker"], current_user.clinic_id)
    except (LabCenterError, DeliveryError) as exc:
        flash(f"検査会社から結果を取得できませんでした: {getattr(exc, 'message_ja', exc)}", "error")
    else:
        flash(f"検査結果を取得しました（取り込み {imported}件、取り込めなかったもの {failed}件）",
              "success" if not failed else "warning")
    return redirect(url_for("labs.messages"))


@bp.post("/integrations/lab/<institution_code>/results")
@public
@csrf.exempt
def receive_results(institution_code: str):
    """The endpoint a lab pushes OUL^R22 / ORU^R01 to (bearer token of the clinic's lab link); answers the ACK."""
    db = db_session()
    clinic = lab_settings.clinic_for_push(db, institution_code, request.headers.get("Authorization", ""))
    if clinic is None:
        return jsonify({"error": "unauthorized", "message": "認証に失敗しました"}), 401
    outcome = importer.import_message(db, clinic.id, request.get_data(cache=False), source="push")
    return current_app.response_class(outcome.ack, status=200 if outcome.ok else 422, mimetype=HL7_MEDIA_TYPE)


def lab_item(code: str) -> LabItem | None:
    """A master item by code (templates use it for names)."""
    return db_session().get(LabItem, code)


@bp.route("/admin/lab", methods=["GET", "POST"])
@requires("clinic.manage")
def settings():
    """The clinic's lab company link (Web API, tokens) and its specimen labels (size, barcode symbology)."""
    db = db_session()
    clinic = current_clinic()
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = lab_settings.update_settings(db, clinic, current_actor(), request.form)
        if not errors:
            db.commit()
            flash("検査会社・検体ラベルの設定を保存しました", "success")
            return redirect(url_for("labs.settings"))
        db.rollback()
    values = request.form if errors else lab_settings.settings_of(clinic)
    push_url = url_for("labs.receive_results", institution_code=clinic.institution_code, _external=True)
    stored = lab_settings.settings_of(clinic)
    return render_template("labs/settings.html", values=values, errors=errors, symbologies=SYMBOLOGIES,
                           push_url=push_url, has_token=bool(stored.get("token")),
                           has_inbound=bool(stored.get("inbound_token"))), 422 if errors else 200
