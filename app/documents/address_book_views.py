"""The clinic's 紹介先 address book: list, add, edit, retire and restore entries (doctors and admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.audit import log_access
from app.core.security import requires
from app.core.web import committed, current_actor, found
from app.db import db_session
from app.documents import addressing, bp


def _entry_or_404(destination_id: int):
    return found(addressing.get_destination(db_session(), current_user.clinic_id, destination_id))


@bp.get("/referral-destinations")
@requires("referral_book.manage")
def destinations():
    """The address book: entries in use, then the retired ones."""
    db = db_session()
    log_access(db, current_actor(), patient_id=None, action="view", resource="referral_destinations")
    db.commit()
    return render_template("documents/destinations.html",
                           entries=addressing.list_destinations(db, current_user.clinic_id),
                           retired=addressing.list_destinations(db, current_user.clinic_id, retired=True))


def _form(entry, values, errors, status: int = 200):
    return render_template("documents/destination_form.html", entry=entry, values=values, errors=errors,
                           fields=addressing.DESTINATION_FIELDS), status


def _save(entry):
    """Create (`entry` None) or change an entry from the posted form; on refusal the form again with its messages."""
    db = db_session()
    values = addressing.read_destination_form(request.form)

    def save_it():
        if entry is None:
            return addressing.create_destination(db, current_user.clinic_id, current_actor(), values)
        addressing.update_destination(db, current_actor(), entry, values)
        return entry

    entry = committed(save_it, lambda exc: _form(entry, values, exc.errors, 422), addressing.DestinationError)
    flash(f"紹介先「{entry.label}」を保存しました", "success")
    return redirect(url_for("documents.destinations"))


@bp.route("/referral-destinations/new", methods=["GET", "POST"])
@requires("referral_book.manage")
def new_destination():
    """Add an entry."""
    if request.method == "POST":
        return _save(None)
    return _form(None, {}, {})


@bp.route("/referral-destinations/<int:destination_id>/edit", methods=["GET", "POST"])
@requires("referral_book.manage")
def edit_destination(destination_id: int):
    """Change an entry (letters already written keep their 紹介先)."""
    entry = _entry_or_404(destination_id)
    if request.method == "POST":
        return _save(entry)
    db = db_session()
    log_access(db, current_actor(), patient_id=None, action="view", resource=f"referral_destination:{entry.id}")
    db.commit()
    return _form(entry, {name: getattr(entry, name) for name in addressing.DESTINATION_FIELDS}, {})


@bp.post("/referral-destinations/<int:destination_id>/<any(retire, restore):change>")
@requires("referral_book.manage")
def retire_destination(destination_id: int, change: str):
    """Retire an entry (no longer offered on the letter form) or bring it back."""
    entry = _entry_or_404(destination_id)
    db = db_session()
    addressing.set_retired(db, current_actor(), entry, change == "retire")
    db.commit()
    flash(f"紹介先「{entry.label}」を{'使用停止にしました' if change == 'retire' else '再び使えるようにしました'}",
          "success")
    return redirect(url_for("documents.destinations"))
