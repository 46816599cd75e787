"""What a doctor or nurse chooses to show a patient: the sections of the patient screen (and which letter)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import ValidationError

#: The sections of the patient screen, in the order shown, with the words staff and patient see.
SECTIONS: dict[str, str] = {
    "diagnoses": "いまの病気", "allergies": "アレルギー", "medicines": "お薬", "labs": "検査の結果",
    "tests": "これからの検査", "letter": "紹介状（ほかの病院へのお手紙）",
}
#: Shown unless staff choose otherwise (a letter only when there is one to show).
DEFAULT_SECTIONS = ("diagnoses", "allergies", "medicines", "labs", "tests")


@dataclass(frozen=True)
class Choice:
    """The chosen sections (in screen order) and the letter shown in the letter section."""

    sections: tuple[str, ...]
    letter_id: int | None = None

    def as_state(self) -> dict[str, Any]:
        """The choice as the session keeps it."""
        return {"sections": list(self.sections), "letter_id": self.letter_id}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Choice:
        """The choice the session kept (unknown sections dropped)."""
        return cls(tuple(s for s in SECTIONS if s in state.get("sections", ())), state.get("letter_id"))

    def described(self) -> str:
        """What was shown, in Japanese, for the access log (紹介状 with its number)."""
        words = [("紹介状" if s == "letter" else SECTIONS[s]) + (f"#{self.letter_id}" if s == "letter" else "")
                 for s in self.sections]
        return "・".join(words)


def parse_choice(sections: list[str], letter_id: str | None) -> Choice:
    """The staff member's choice from the form: at least one known section; the letter section needs a letter."""
    chosen = tuple(s for s in SECTIONS if s in sections)
    if not chosen or len(chosen) != len(set(sections)):
        raise ValidationError("患者さんに見せる項目を一つ以上選んでください", field="sections")
    letter = None
    if "letter" in chosen:
        if not (letter_id or "").isdigit() or len(letter_id or "") > 18:
            raise ValidationError("見せる紹介状を選んでください（確定した紹介状だけを選べます）", field="letter_id")
        letter = int(letter_id or "0")
    return Choice(chosen, letter)
