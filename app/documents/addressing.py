"""Who a referral letter is addressed to: the one honorific after the addressee, and the clinic's 紹介先 address
book (hospital, department, doctor, address, phone, fax) the letter form is filled from."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from app.core.audit import Actor, record_audit, summarize_change
from app.db import scoped, utcnow
from app.documents.models import HONORIFICS, ReferralDestination

#: Honorifics and 脇付 a name may have been typed with; stripped so that exactly one is ever printed.
_TYPED_HONORIFIC = re.compile(r"[\s\u3000]*(先生|殿|様|御侍史|御机下|侍史|机下)$")
#: The address book's fields with their labels and length limits.
DESTINATION_FIELDS = {"institution": ("医療機関名", 200), "institution_code": ("医療機関コード", 10),
                      "department": ("診療科", 100), "doctor": ("医師名", 100), "postal_code": ("郵便番号", 8),
                      "address": ("住所", 200), "phone": ("電話番号", 30), "fax": ("FAX番号", 30)}
_NUMBER = re.compile(r"^[0-9０-９\-－ー()（）]*$")
_POSTAL = re.compile(r"^(\d{3}-?\d{4})?$")


class DestinationError(ValueError):
    """An address book entry that cannot be saved; `errors` maps field names to Japanese messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def strip_honorific(name: str) -> str:
    """The name without the honorifics typed after it (「港 一郎 先生 御侍史」 → 「港 一郎」)."""
    name = (name or "").strip()
    while True:
        bare = _TYPED_HONORIFIC.sub("", name).strip()
        if bare == name:
            return bare
        name = bare


def addressee(doctor: str, honorific: str) -> str:
    """The addressee line with exactly one honorific: 「港 一郎 先生」, 「港 一郎 御侍史」; without a name
    「担当医 先生」 or the 脇付 alone (「御侍史」)."""
    honorific = honorific if honorific in HONORIFICS else HONORIFICS[0]
    name = strip_honorific(doctor)
    if honorific == "先生":
        return f"{name or '担当医'} 先生"
    return f"{name} {honorific}" if name else honorific


def institution_code_error(code: str) -> str | None:
    """Why a 医療機関コード cannot be right (None when it is empty or 10 digits)."""
    if code and not (code.isascii() and code.isdigit() and len(code) == 10):
        return "医療機関コードは10桁の数字です（わからなければ空欄）"
    return None


def read_destination_form(form: Any) -> dict[str, str]:
    """The posted address book fields, trimmed; the doctor's name without an honorific."""
    values = {name: " ".join((form.get(name) or "").split()) for name in DESTINATION_FIELDS}
    values["doctor"] = strip_honorific(values["doctor"])
    return values


def _check(values: dict[str, str]) -> None:
    errors = {name: f"{label}は{limit}文字以内で入力してください"
              for name, (label, limit) in DESTINATION_FIELDS.items() if len(values.get(name, "")) > limit}
    if not values.get("institution"):
        errors["institution"] = "医療機関名を入力してください"
    if problem := institution_code_error(values.get("institution_code", "")):
        errors["institution_code"] = problem
    if not _POSTAL.match(values.get("postal_code", "")):
        errors["postal_code"] = "郵便番号は7桁の数字で入力してください（例: 160-0023）"
    for name in ("phone", "fax"):
        if not _NUMBER.match(values.get(name, "")):
            errors[name] = f"{DESTINATION_FIELDS[name][0]}は数字とハイフンで入力してください"
    if errors:
        raise DestinationError(errors)


def list_destinations(session: Session, clinic_id: int, *, retired: bool = False) -> list[ReferralDestination]:
    """The clinic's address book in name order: the entries in use, or (retired=True) the retired ones."""
    state = ReferralDestination.retired_at.is_not(None) if retired else ReferralDestination.retired_at.is_(None)
    return list(session.scalars(scoped(ReferralDestination, clinic_id).where(state).order_by(
        ReferralDestination.institution, ReferralDestination.department, ReferralDestination.doctor,
        ReferralDestination.id)))


def offered_destinations(session: Session, clinic_id: int, current_id: int | None) -> list[ReferralDestination]:
    """The entries a letter form offers: those in use, and the letter's own entry even if retired since."""
    entries = list_destinations(session, clinic_id)
    if current_id and all(entry.id != current_id for entry in entries):
        own = get_destination(session, clinic_id, current_id)
        entries += [own] if own else []
    return entries


def get_destination(session: Session, clinic_id: int, destination_id: int) -> ReferralDestination | None:
    """One entry of this clinic's address book (retired or not)."""
    return session.scalar(scoped(ReferralDestination, clinic_id).where(ReferralDestination.id == destination_id))


def _snapshot(entry: ReferralDestination) -> dict[str, str]:
    return {name: getattr(entry, name) for name in DESTINATION_FIELDS}


def create_destination(session: Session, clinic_id: int, actor: Actor, values: dict[str, str]) -> ReferralDestination:
    """Add an entry to the clinic's address book."""
    _check(values)
    entry = ReferralDestination(clinic_id=clinic_id, **values)
    session.add(entry)
    session.flush()
    record_audit(session, actor, "referral_destination.create", clinic_id=clinic_id,
                 entity_type="referral_destination", entity_id=entry.id, summary={"after": _snapshot(entry)})
    return entry


def update_destination(session: Session, actor: Actor, entry: ReferralDestination,
                       values: dict[str, str]) -> ReferralDestination:
    """Change an entry (letters already written keep the 紹介先 they were written with)."""
    _check(values)
    before = _snapshot(entry)
    for name, value in values.items():
        setattr(entry, name, value)
    if before != _snapshot(entry):
        record_audit(session, actor, "referral_destination.update", clinic_id=entry.clinic_id,
                     entity_type="referral_destination", entity_id=entry.id,
                     summary=summarize_change(before, _snapshot(entry)))
    return entry


def set_retired(session: Session, actor: Actor, entry: ReferralDestination, retired: bool) -> ReferralDestination:
    """Retire an entry (no longer offered on the letter form) or bring it back."""
    if (entry.retired_at is not None) != retired:
        entry.retired_at = utcnow() if retired else None
        record_audit(session, actor, "referral_destination.retire" if retired else "referral_destination.restore",
                     clinic_id=entry.clinic_id, entity_type="referral_destination", entity_id=entry.id)
    return entry


def chosen_destination(session: Session, clinic_id: int, raw: str | None,
                       current_id: int | None = None) -> ReferralDestination | None:
    """The address book entry picked on the letter form: None when none was picked; refused (DestinationError)
    when it is not one of this clinic's entries in use (the letter's own entry may since have been retired)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    entry = get_destination(session, clinic_id, int(raw)) if raw.isdigit() else None
    if entry is None or (entry.retired_at is not None and entry.id != current_id):
        raise DestinationError({"destination_id": "紹介先の登録が見つかりません。選び直してください"})
    return entry


def fill_from(entry: ReferralDestination | None, values: dict[str, str]) -> dict[str, str]:
    """The letter's 紹介先 fields filled from the entry where the form left them all empty (a form sent without
    the page's script); what the doctor typed or changed is kept."""
    targets = {"to_institution": "institution", "to_institution_code": "institution_code",
               "to_department": "department", "to_doctor": "doctor"}
    if entry is None or any(values.get(name) for name in targets):
        return values
    return {**values, **{name: getattr(entry, source) for name, source in targets.items()}}
