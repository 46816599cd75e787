"""Review screens of the access log and the audit trail in staff language, with CSV export (administrators)."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user
from wtforms import SelectChoice

from app.clinics import audit_listing as listing
from app.clinics import bp
from app.clinics.forms import AuditFilterForm
from app.clinics.services import list_staff
from app.core import audit_queries as q
from app.core.audit import log_access
from app.core.jp import parse_date
from app.core.paging import page_number
from app.core.security import requires
from app.core.timeutil import japan_today
from app.core.web import current_actor
from app.db import db_session


def _filter_from_request() -> tuple[AuditFilterForm, q.LogFilter, list[str]]:
    form = AuditFilterForm(request.args)
    staff = list_staff(db_session(), current_user.clinic_id)
    form.user_id.choices = [SelectChoice("", "すべて")] + [SelectChoice(str(u.id), f"{u.display_name}（{u.login_id}）")
                                                       for u in staff]
    errors: list[str] = []
    values: dict[str, object] = {}
    form.validate()
    errors.extend(e for field_errors in form.errors.values() for e in field_errors)
    patient = (form.patient_id.data or "").strip()
    if patient:
        if patient.isdigit():
            values["patient_id"] = int(patient)
        else:
            errors.append("患者IDは数字で入力してください")
    if form.user_id.data and str(form.user_id.data).isdigit():
        values["user_id"] = int(form.user_id.data)
    for name in ("date_from", "date_to"):
        raw = (getattr(form, name).data or "").strip()
        if raw:
            try:
                values[name] = parse_date(raw)
            except ValueError as exc:
                errors.append(f"{getattr(form, name).label.text}: {exc}")
    return form, q.LogFilter(**values), errors  # type: ignore[arg-type]


@bp.get("/audit")
@requires("audit.read")
def audit_log():
    """The audit trail (every write) and the access log (every look at a patient) in staff language, filtered
    and a page at a time."""
    form, flt, errors = _filter_from_request()
    db = db_session()
    tab = "access" if request.args.get("tab") == "access" else "audit"
    choices = listing.action_choices(tab)
    form.action.choices = [SelectChoice("", "すべて")] + [SelectChoice(k, v) for k, v in choices.items()]
    narrowed, note = listing.narrowed(db, current_user.clinic_id, flt, tab, form.action.data or "",
                                      (form.patient.data or "").strip())
    result = listing.log_page(db, current_user.clinic_id, None if errors else narrowed, tab,
                              page_number(request.args.get("page")))
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("clinics/audit.html", form=form, result=result, errors=errors, tab=tab,
                           note=note, kept=kept)


def _export(resource: str, name: str, find, write) -> Response:
    """The filtered entries as a CSV download: `find(db, clinic_id, filter)` the entries (none while the filter has
    errors), `write(db, entries)` the CSV; the export itself is logged as `resource`."""
    _form, flt, errors = _filter_from_request()
    db = db_session()
    entries = [] if errors else find(db, current_user.clinic_id, flt, limit=None)
    body = write(db, entries)
    log_access(db, current_actor(), patient_id=flt.patient_id, action="export", resource=resource)
    db.commit()
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{japan_today():%Y%m%d}.csv"'})


@bp.get("/audit.csv")
@requires("audit.read")
def audit_csv():
    """Export the filtered audit trail as CSV (the export itself is logged)."""
    return _export("audit.csv", "audit-trail", q.find_audit_entries, lambda _db, entries: q.audit_csv(entries))


@bp.get("/access-log.csv")
@requires("audit.read")
def access_csv():
    """Export the filtered access log as CSV (the export itself is logged)."""
    return _export("access-log.csv", "access-log", q.find_access_entries, lambda db, entries: q.access_csv(
        entries, {u.id: u.display_name for u in list_staff(db, current_user.clinic_id)}))
