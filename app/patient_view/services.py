"""The rules of showing a patient their own record: what may be chosen, and the access log of each showing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.audit import Actor, log_access
from app.core.errors import ValidationError
from app.patient_view.choice import Choice, parse_choice
from app.patient_view.screen import find_letter


def choose(session: Session, clinic_id: int, patient_id: int, sections: list[str], letter_id: str | None) -> Choice:
    """The staff member's choice, checked: known sections, and a letter that is this patient's and confirmed."""
    choice = parse_choice(sections, letter_id)
    if choice.letter_id is not None and find_letter(session, clinic_id, patient_id, choice.letter_id) is None:
        raise ValidationError("見せる紹介状を選んでください（確定した紹介状だけを選べます）", field="letter_id")
    return choice


def record_showing(session: Session, actor: Actor, patient_id: int, choice: Choice, action: str,
                   resource: str) -> None:
    """The access log of a showing (or its print-out): who, when, which patient and what was chosen."""
    log_access(session, actor, patient_id=patient_id, action=action, resource=f"{resource}:{choice.described()}")
