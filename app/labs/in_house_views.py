"""The entry screen of tests done in the clinic (院内検査): 尿定性, rapid tests, CRP and blood glucose."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from wtforms import StringField
from wtforms.validators import Optional

from app.core.errors import ValidationError
from app.core.forms import CleanForm, max_chars
from app.core.jp import strip_control_chars
from app.core.timeutil import japan_today
from app.core.web import current_actor, log_look, patient_view
from app.db import db_session
from app.labs import bp
from app.labs.in_house import BY_CODE, item_rows, record_in_house_results
from app.patients.models import Patient


class InHouseForm(CleanForm):
    """The day and a comment; the values come as one field per item code."""

    measured_on = StringField("検査日", validators=[Optional(), max_chars(10)])
    comment = StringField("コメント（検体・機器など）", validators=[Optional(), max_chars(200)])


@bp.route("/patients/<int:patient_id>/labs/in-house", methods=["GET", "POST"])
@patient_view("lab.order")
def in_house(patient: Patient):
    """Record in-house results; all of them or, when one is refused, none (the form comes back with the message)."""
    form = InHouseForm()
    values = {code: strip_control_chars(request.form.get(code, ""))[:20] for code in BY_CODE}
    error: ValidationError | None = None
    if form.validate_on_submit():
        db = db_session()
        try:
            measured_on = date.fromisoformat(form.measured_on.data) if form.measured_on.data else None
        except ValueError:
            error = ValidationError("検査日は 2026-12-07 の形で入力してください", field="measured_on")
        else:
            try:
                written = record_in_house_results(db, current_actor(), patient, values, measured_on=measured_on,
                                                  comment=form.comment.data or "")
            except ValidationError as exc:
                db.rollback()
                error = exc
            else:
                db.commit()
                flash(f"院内検査の結果を記録しました（{len(written)}項目）", "success")
                return redirect(url_for("labs.index", patient_id=patient.id))
    elif not form.is_submitted():
        form.measured_on.data = japan_today().isoformat()
        log_look(patient.id, "patient.labs")
    status = 422 if error is not None or form.errors else 200
    return render_template("labs/in_house.html", patient=patient, form=form, groups=item_rows(), values=values,
                           error=error, today=japan_today()), status
