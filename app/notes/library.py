"""The writer's library in full-chart mode: 定型文 (fixed phrases) and 診療録テンプレート, each the clinic's (kept by
an administrator) or one doctor's own (kept by that doctor). Phrases are found by their reading in kana; a
change to a phrase or a template is a new version of it (a phrase's with who, when and why; one taken off the lists
is a last, retracted version), and a template that takes itself in is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from app.core.audit import Actor
from app.core.errors import ValidationError
from app.core.jp import normalize_kana, strip_control_chars
from app.core.security import Role
from app.core.versioning import record_first_version, record_new_version
from app.db import scoped
from app.notes import templating
from app.notes.models import NotePhrase, NoteTemplate

CLINIC = "clinic"
OWN = "own"
MAX_PHRASE = 2_000
#: What a change to a phrase or a template without its reason is told.
CHANGE_REASON_REQUIRED = "変更の理由を入力してください"
PART_CHOICES = {"": "どこでも", "subjective": "S", "objective": "O", "assessment": "A", "plan": "P"}


def _visible(model, clinic_id: int, user_id: int):
    return scoped(model, clinic_id).where(or_(model.owner_id.is_(None), model.owner_id == user_id))


def _owner(actor: Actor, scope: str) -> int | None:
    """Who a new entry belongs to: the clinic (administrators only) or the writing doctor."""
    if scope == CLINIC:
        if actor.role != Role.ADMIN:
            raise ValidationError("クリニック共通の定型文・テンプレートは管理者が登録します", field="scope")
        return None
    if actor.role != Role.DOCTOR:
        raise ValidationError("個人の定型文・テンプレートは医師が登録します", field="scope")
    return actor.user_id


def _may_change(actor: Actor, owner_id: int | None) -> None:
    if (owner_id is None and actor.role != Role.ADMIN) or (owner_id is not None and owner_id != actor.user_id):
        raise ValidationError("この定型文・テンプレートは変更できません（クリニック共通は管理者、個人のものは本人）",
                              field="_form")


# 定型文 -------------------------------------------------------------------------------------------------------

def _current_phrases(clinic_id: int, user_id: int):
    return _visible(NotePhrase, clinic_id, user_id).where(NotePhrase.superseded_at.is_(None),
                                                          NotePhrase.retracted.is_(False))


def phrases(session: Session, clinic_id: int, user_id: int, query: str = "", *, limit: int = 50) -> list[NotePhrase]:
    """The current versions of the clinic's and the writer's own phrases (not taken off the lists) whose reading (or
    title) starts with or holds the query (kana folded: ひらがな, カタカナ and half-width alike), the writer's own
    first."""
    stmt = _current_phrases(clinic_id, user_id)
    key = normalize_kana(strip_control_chars(query or "").strip())[:60]
    if key:
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(NotePhrase.kana_key.like(f"%{escaped}%", escape="\\"),
                              NotePhrase.title.like(f"%{escaped}%", escape="\\")))
    stmt = stmt.order_by(NotePhrase.owner_id.is_(None), NotePhrase.kana_key, NotePhrase.id).limit(limit)
    return list(session.scalars(stmt))


def get_phrase(session: Session, clinic_id: int, user_id: int, phrase_id: int) -> NotePhrase | None:
    """One version of a phrase the user may see (the clinic's or their own)."""
    return session.scalar(_visible(NotePhrase, clinic_id, user_id).where(NotePhrase.id == phrase_id))


def phrase_history(session: Session, clinic_id: int, lineage_id: int) -> list[NotePhrase]:
    """Every version of one phrase, oldest first (the last one says so when it was taken off the lists)."""
    return list(session.scalars(scoped(NotePhrase, clinic_id).where(NotePhrase.lineage_id == lineage_id)
                                .order_by(NotePhrase.version)))


def _phrase_snapshot(phrase: NotePhrase) -> dict[str, Any]:
    return {"title": phrase.title, "kana": phrase.kana, "part": phrase.part, "text": phrase.text[:200]}


def _phrase_to_change(session: Session, actor: Actor, phrase_id: int) -> NotePhrase:
    """The version the actor changes: one they may change, and still current (else someone changed it first)."""
    phrase = get_phrase(session, actor.clinic_id, actor.user_id or 0, phrase_id)
    if phrase is None:
        raise ValidationError("定型文が見つかりません", field="_form")
    _may_change(actor, phrase.owner_id)
    if phrase.superseded_at is not None or phrase.retracted:
        raise ValidationError("この定型文は他の人が先に変更しました（または一覧から外されました）。開き直してください",
                              field="_form")
    return phrase


def save_phrase(session: Session, actor: Actor, *, phrase_id: int | None, scope: str, title: str, kana: str,
                text: str, part: str, reason: str = "") -> NotePhrase:
    """Add a phrase (the clinic's or the doctor's own) as its first version, or save a change to the version
    `phrase_id` the actor may change as the next version, with why (required). Saving it unchanged writes nothing;
    a version someone else replaced first is refused."""
    title = strip_control_chars(title or "").strip()
    kana = strip_control_chars(kana or "").strip()
    text = strip_control_chars(text or "", multiline=True).strip()
    if not title or len(title) > 60:
        raise ValidationError("見出しを60文字以内で入力してください", field="title")
    if not kana or len(kana) > 120 or any(not ("ぁ" <= c <= "ゖ" or "ァ" <= c <= "ヺ" or c in "ー・ 　") for c in
                                          normalize_kana(kana).replace(" ", "")):
        raise ValidationError("よみをひらがなかカタカナで120文字以内で入力してください", field="kana")
    if not text or len(text) > MAX_PHRASE:
        raise ValidationError(f"本文を{MAX_PHRASE:,}文字以内で入力してください", field="text")
    if part not in PART_CHOICES:
        raise ValidationError("入れる欄を選んでください", field="part")
    values = {"title": title, "kana": kana, "kana_key": normalize_kana(kana).replace(" ", ""), "text": text,
              "part": part}
    if not phrase_id:
        phrase = NotePhrase(clinic_id=actor.clinic_id, owner_id=_owner(actor, scope), **values)
        return record_first_version(session, actor, phrase, action="note_phrase.save", snapshot=_phrase_snapshot,
                                    extra={"clinic": phrase.owner_id is None})
    current = _phrase_to_change(session, actor, phrase_id)
    if {k: getattr(current, k) for k in values} == values:
        return current
    return record_new_version(session, actor, current, values, action="note_phrase.save", reason=reason,
                              missing_reason=CHANGE_REASON_REQUIRED, snapshot=_phrase_snapshot,
                              extra={"clinic": current.owner_id is None})


def retire_phrase(session: Session, actor: Actor, phrase_id: int, reason: str) -> NotePhrase:
    """Take a phrase off the lists: a last version marked retracted, with why (required); the history stays."""
    current = _phrase_to_change(session, actor, phrase_id)
    return record_new_version(session, actor, current, {}, action="note_phrase.retire", reason=reason,
                              retract=True, missing_reason="一覧から外す理由を入力してください",
                              snapshot=_phrase_snapshot, extra={"clinic": current.owner_id is None})


# 診療録テンプレート -----------------------------------------------------------------------------------------------

def templates(session: Session, clinic_id: int, user_id: int) -> list[NoteTemplate]:
    """The current versions of the clinic's and the writer's own templates, by department and name."""
    return list(session.scalars(_visible(NoteTemplate, clinic_id, user_id).where(
        NoteTemplate.superseded_at.is_(None), NoteTemplate.retracted.is_(False))
        .order_by(NoteTemplate.department_name, NoteTemplate.purpose, NoteTemplate.name)))


def get_template(session: Session, clinic_id: int, user_id: int, template_id: int) -> NoteTemplate | None:
    """One version of a template the writer may use (the clinic's or their own)."""
    return session.scalar(_visible(NoteTemplate, clinic_id, user_id).where(NoteTemplate.id == template_id))


def current_template(session: Session, clinic_id: int, user_id: int, lineage_id: int) -> NoteTemplate | None:
    """The current version of a template the writer may see (the clinic's or their own), by its lineage."""
    return session.scalar(_visible(NoteTemplate, clinic_id, user_id).where(
        NoteTemplate.lineage_id == lineage_id, NoteTemplate.superseded_at.is_(None)))


def template_history(session: Session, clinic_id: int, lineage_id: int) -> list[NoteTemplate]:
    """Every version of one template, oldest first."""
    return list(session.scalars(scoped(NoteTemplate, clinic_id).where(NoteTemplate.lineage_id == lineage_id)
                                .order_by(NoteTemplate.version)))


def _lookup(session: Session, clinic_id: int, user_id: int, skip_lineage: int | None, replacement: list[dict],
            name: str):
    by_name = {t.name: t for t in templates(session, clinic_id, user_id) if t.lineage_id != skip_lineage}

    def find(wanted: str) -> list[dict] | None:
        if wanted == name:
            return replacement
        found = by_name.get(wanted)
        return found.body if found else None
    return find


def expanded(session: Session, clinic_id: int, user_id: int, template: NoteTemplate) -> list[dict]:
    """The template's sections with every template it takes in filled in (as they stand now)."""
    return templating.expand(template.body, _lookup(session, clinic_id, user_id, template.lineage_id, template.body,
                                                    template.name), (template.name,))


def _template_snapshot(template: NoteTemplate) -> dict[str, Any]:
    return {"name": template.name, "department": template.department_name, "purpose": template.purpose,
            "source": templating.to_source(template.body)[:200]}


def save_template(session: Session, actor: Actor, *, lineage_id: int | None, scope: str, name: str, department: str,
                  purpose: str, source: str, reason: str = "", version_id: int | None = None) -> NoteTemplate:
    """Add a template as its first version, or save a change to one (`lineage_id`, edited from its version
    `version_id`) as its next version with why (required, as for a phrase). Saving it unchanged writes nothing.
    Refused: a change to a version someone else replaced first (as for a phrase: no change is silently lost), a
    template that takes itself in (directly or through others), one taking in a template that does not exist, an
    unreadable source, a missing or overlong reason."""
    name = strip_control_chars(name or "").strip()
    department = strip_control_chars(department or "").strip()
    purpose = strip_control_chars(purpose or "").strip()
    if not name or len(name) > 60:
        raise ValidationError("テンプレート名を60文字以内で入力してください", field="name")
    if len(department) > 40 or len(purpose) > 60:
        raise ValidationError("診療科は40文字、目的は60文字以内で入力してください", field="purpose")
    body = templating.parse(source)
    current = None
    if lineage_id:
        current = current_template(session, actor.clinic_id, actor.user_id or 0, lineage_id)
        if current is None:
            raise ValidationError("テンプレートが見つかりません", field="_form")
        _may_change(actor, current.owner_id)
        if current.id != version_id:
            raise ValidationError("このテンプレートは他の人が先に変更しました。開き直してください", field="_form")
    owner = current.owner_id if current is not None else _owner(actor, scope)
    clash = [t for t in templates(session, actor.clinic_id, actor.user_id)
             if t.name == name and t.lineage_id != lineage_id]
    if clash:
        raise ValidationError(f"「{name}」という名前のテンプレートがすでにあります", field="name")
    templating.expand(body, _lookup(session, actor.clinic_id, actor.user_id, lineage_id, body, name), (name,))
    values: dict[str, Any] = {"name": name, "department_name": department, "purpose": purpose, "body": body}
    if current is None:
        template = NoteTemplate(clinic_id=actor.clinic_id, owner_id=owner, **values)
        return record_first_version(session, actor, template, action="note_template.save",
                                    snapshot=_template_snapshot, extra={"clinic": owner is None})
    if {k: getattr(current, k) for k in values} == values:
        return current
    return record_new_version(session, actor, current, values, action="note_template.save", reason=reason,
                              missing_reason=CHANGE_REASON_REQUIRED, snapshot=_template_snapshot,
                              extra={"clinic": owner is None})


def for_editor(session: Session, clinic_id: int, user_id: int, department: str) -> dict[str, Any]:
    """What the editor offers: the templates (the visit's department first) as id, name, department, purpose."""
    found = templates(session, clinic_id, user_id)
    found.sort(key=lambda t: (t.department_name not in ("", department), t.department_name, t.purpose, t.name))
    return {"templates": [{"id": t.id, "name": t.name, "department": t.department_name, "purpose": t.purpose,
                           "own": t.owner_id is not None} for t in found]}
