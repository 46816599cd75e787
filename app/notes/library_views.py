"""The 定型文 and 診療録テンプレート screens of full-chart mode (the clinic's kept by an administrator, each doctor's
own by the doctor; a change to either is a new version with who, when and why, shown on its history page) and what
the note editor asks of them as JSON: phrases found by kana, a template's fields, the SOAP text its filled-in fields
make. A paper-chart clinic has none of it: every route answers 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from app.core.errors import ValidationError
from app.core.security import Role, requires
from app.core.web import committed, current_actor, flashed, found
from app.db import db_session
from app.notes import bp, library, templating
from app.notes.chart_views import full_chart_clinic
from app.notes.models import NoteTemplate


def _posted(id_field: str) -> tuple[Any, int | None]:
    """The form a library page posts (full-chart clinics only) and the id in its `id_field` — of the item it
    changes, None for a new one."""
    full_chart_clinic()
    return request.form, _posted_id(id_field)


def _posted_id(field: str) -> int | None:
    """An id the posted form carries in `field`, None when empty; one that is not a number answers 400."""
    try:
        return int(request.form.get(field) or 0) or None
    except ValueError:
        abort(400)


def _scopes() -> list[tuple[str, str]]:
    return [(library.CLINIC, "クリニック共通")] if current_user.role == Role.ADMIN else [(library.OWN, "自分用")]


def _template_for_editor(db: Session, template_id: int) -> NoteTemplate:
    """A template the writer may use (the clinic's or their own) in a full-chart clinic; 404 when there is none."""
    full_chart_clinic()
    return found(library.get_template(db, current_user.clinic_id, current_user.id, template_id))


def _library_page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    db = db_session()
    return render_template("notes/library.html", phrases=library.phrases(db, current_user.clinic_id,
                                                                          current_user.id, limit=500),
                           templates=library.templates(db, current_user.clinic_id, current_user.id),
                           parts=library.PART_CHOICES, scopes=_scopes(), errors=errors or {},
                           form=form or {}), status


@bp.get("/notes/library")
@requires("note.library")
def library_index():
    """The phrases and templates the user keeps (administrator: the clinic's; doctor: the clinic's to read and
    their own to keep)."""
    full_chart_clinic()
    return _library_page()


def _may_keep(owner_id: int | None) -> bool:
    return (owner_id is None and current_user.role == Role.ADMIN) or owner_id == current_user.id


def _phrase_page(phrase, errors: dict | None = None, form: dict | None = None, status: int = 200):
    """The page that changes a phrase or takes it off the lists, from its current version `phrase`."""
    form = form or {"title": phrase.title, "kana": phrase.kana, "part": phrase.part, "text": phrase.text}
    return render_template("notes/phrase_form.html", phrase=phrase, parts=library.PART_CHOICES, form=form,
                           errors=errors or {}), status


def _phrase_kept(phrase_id: int):
    """The version of a phrase the user keeps (the clinic's for an administrator, their own for a doctor); 404
    for one they do not keep or cannot see."""
    phrase = found(library.get_phrase(db_session(), current_user.clinic_id, current_user.id, phrase_id))
    if not _may_keep(phrase.owner_id):
        abort(404)
    return phrase


@bp.get("/notes/phrases/<int:phrase_id>/edit")
@requires("note.library")
def phrase_form(phrase_id: int):
    """Change a phrase (saved as its next version, with why) or take it off the lists."""
    full_chart_clinic()
    phrase = _phrase_kept(phrase_id)
    if phrase.superseded_at is not None or phrase.retracted:
        return flashed("この定型文には新しい版があるか、一覧から外されています。版の履歴をご覧ください",
                       url_for("notes.phrase_history", phrase_id=phrase.id))
    return _phrase_page(phrase)


@bp.post("/notes/phrases")
@requires("note.library")
def phrase_save():
    """Add a 定型文, or save a change to one as its next version (the version changed in the form, and why)."""
    form, phrase_id = _posted("phrase_id")
    db = db_session()

    def refused(exc: ValidationError):
        if phrase_id is None:
            return _library_page(exc.errors, dict(form), 422)
        return _phrase_page(_phrase_kept(phrase_id), exc.errors, dict(form), 422)

    phrase = committed(lambda: library.save_phrase(db, current_actor(), phrase_id=phrase_id,
                                                   scope=form.get("scope", ""), title=form.get("title", ""),
                                                   kana=form.get("kana", ""), text=form.get("text", ""),
                                                   part=form.get("part", ""), reason=form.get("change_reason", "")),
                       refused)
    flash(f"定型文「{phrase.title}」を保存しました（第{phrase.version}版）", "success")
    return redirect(url_for("notes.library_index") + "#phrases")


@bp.post("/notes/phrases/<int:phrase_id>/retire")
@requires("note.library")
def phrase_retire(phrase_id: int):
    """Take a phrase off the lists, with why (a last version; the history stays)."""
    form, _ = _posted("phrase_id")
    db = db_session()
    phrase = _phrase_kept(phrase_id)
    committed(lambda: library.retire_phrase(db, current_actor(), phrase_id, form.get("retire_reason", "")),
              lambda exc: _phrase_page(phrase, {"retire_reason" if exc.field == "change_reason" else exc.field:
                                                exc.message}, None, 422))
    flash(f"定型文「{phrase.title}」を一覧から外しました（履歴は残ります）", "success")
    return redirect(url_for("notes.library_index") + "#phrases")


def _history_page(kind: str, get: Callable, history: Callable, item_id: int, rows_of: Callable, *,
                  edit_endpoint: str, id_name: str, edit_label: str, anchor: str):
    """Every version of the phrase or template `item_id` the user can see (the clinic's or their own), newest
    first: what each said (`rows_of` a version: label and value, its name first), who changed it, when and why."""
    full_chart_clinic()
    db = db_session()
    item = found(get(db, current_user.clinic_id, current_user.id, item_id))
    versions = history(db, current_user.clinic_id, item.lineage_id)
    rows = [rows_of(v) for v in versions]
    edit_url = url_for(edit_endpoint, **{id_name: versions[-1].id}) if _may_keep(item.owner_id) else None
    return render_template("notes/library_history.html", kind=kind, title=rows[-1][0][1], versions=versions,
                           rows=rows, edit_url=edit_url, edit_label=edit_label,
                           back_url=url_for("notes.library_index") + anchor)


@bp.get("/notes/phrases/<int:phrase_id>/history")
@requires("note.library")
def phrase_history(phrase_id: int):
    """Every version of a phrase the user can see: what it said, who changed it, when and why."""
    return _history_page("定型文", library.get_phrase, library.phrase_history, phrase_id, lambda v: [
        ("見出し", v.title), ("よみ", v.kana), ("欄", library.PART_CHOICES.get(v.part, v.part)), ("本文", v.text)],
        edit_endpoint="notes.phrase_form", id_name="phrase_id", edit_label="変更・外す", anchor="#phrases")


@bp.get("/notes/phrases.json")
@requires("note.write")
def phrase_search():
    """The editor's phrase list: the clinic's and the writer's own, found by kana or title (any length or script
    of query: it is folded and cut, never refused)."""
    full_chart_clinic()
    found = library.phrases(db_session(), current_user.clinic_id, current_user.id, request.args.get("q", "")[:200])
    return jsonify({"phrases": [{"id": p.id, "title": p.title, "kana": p.kana, "text": p.text, "part": p.part,
                                 "own": p.owner_id is not None} for p in found]})


@bp.get("/notes/templates/new")
@bp.get("/notes/templates/<int:template_id>/edit")
@requires("note.library")
def template_form(template_id: int | None = None):
    """Write a new template, or the next version of one (its current version's source to change)."""
    full_chart_clinic()
    db = db_session()
    template = library.get_template(db, current_user.clinic_id, current_user.id, template_id) if template_id else None
    if template_id and (template is None or not _may_keep(template.owner_id)):
        abort(404)
    if template is not None and template.superseded_at is not None:
        return flashed("このテンプレートには新しい版があります。版の履歴をご覧ください",
                       url_for("notes.template_history", template_id=template.id))
    form = {"name": template.name, "department": template.department_name, "purpose": template.purpose,
            "source": templating.to_source(template.body)} if template else {}
    return render_template("notes/template_form.html", template=template, form=form, scopes=_scopes(), errors={})


@bp.post("/notes/templates")
@requires("note.library")
def template_save():
    """Save a template: a new one, or the next version of one (its lineage in the form, and why)."""
    form, lineage_id = _posted("lineage_id")
    version_id = _posted_id("version_id")  # the version the form was opened on
    db = db_session()

    def refused(exc: ValidationError):
        current = (library.current_template(db, current_user.clinic_id, current_user.id, lineage_id)
                   if lineage_id else None)
        return render_template("notes/template_form.html", template=current, form=dict(form), scopes=_scopes(),
                               errors=exc.errors), 422

    template = committed(lambda: library.save_template(
        db, current_actor(), lineage_id=lineage_id, scope=form.get("scope", ""), name=form.get("name", ""),
        department=form.get("department", ""), purpose=form.get("purpose", ""), source=form.get("source", ""),
        reason=form.get("change_reason", ""), version_id=version_id), refused)
    flash(f"テンプレート「{template.name}」を保存しました（第{template.version}版）", "success")
    return redirect(url_for("notes.library_index") + "#templates")


@bp.get("/notes/templates/<int:template_id>/history")
@requires("note.library")
def template_history(template_id: int):
    """Every version of a template the user can see: what it said, who changed it, when and why."""
    return _history_page("テンプレート", library.get_template, library.template_history, template_id, lambda v: [
        ("名前", v.name), ("診療科", v.department_name or "共通"), ("目的", v.purpose),
        ("内容", templating.to_source(v.body))],
        edit_endpoint="notes.template_form", id_name="template_id", edit_label="変更", anchor="#templates")


@bp.get("/notes/templates/<int:template_id>.json")
@requires("note.write")
def template_fields(template_id: int):
    """A template's sections with the templates it takes in, for the editor's fill-in form."""
    db = db_session()
    template = _template_for_editor(db, template_id)
    try:
        sections = library.expanded(db, current_user.clinic_id, current_user.id, template)
    except ValidationError as exc:
        return jsonify({"error": "invalid", "message": exc.message}), 422
    return jsonify({"id": template.id, "name": template.name, "version": template.version, "sections": sections})


@bp.post("/notes/templates/<int:template_id>/fill")
@requires("note.write")
def template_fill(template_id: int):
    """The SOAP text the filled-in fields make (JSON {values: {"0.1": "37.8", …}} → {subjective: …, …})."""
    db = db_session()
    template = _template_for_editor(db, template_id)
    data = request.get_json(silent=True)
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, dict) or len(values) > 500:
        return jsonify({"error": "bad_request", "message": "入力の形式が正しくありません"}), 400
    try:
        text = templating.fill(library.expanded(db, current_user.clinic_id, current_user.id, template),
                               {str(k): str(v)[:4000] for k, v in values.items()})
    except ValidationError as exc:
        return jsonify({"error": "invalid", "message": exc.message, "field": exc.field}), 422
    return jsonify({"parts": text})
