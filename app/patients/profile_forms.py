"""What each profile item asks for, and reading a posted form into values with Japanese messages.

One declarative spec per kind drives validation, the entry forms and the lists, so that nine kinds of
item do not need nine copies of the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.core.dates import future_date_error, future_datetime_error
from app.core.forms import to_number
from app.core.jp import WarekiError, parse_date, strip_control_chars
from app.core.timeutil import JST, japan_today
from app.patients import profile_models as models


@dataclass(frozen=True)
class FieldSpec:
    """One input: its type, label, limits (refused outside) and warning range (accepted, flagged)."""

    name: str
    label: str
    kind: str = "text"  # text, textarea, int, decimal, date, datetime, choice
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    low: float | None = None
    high: float | None = None
    warn_low: float | None = None
    warn_high: float | None = None
    unit: str = ""
    max_length: int = 200
    hint: str = ""
    #: For dates: the kind of date whose future window applies (app/core/dates.py FUTURE_WINDOW_DAYS); "" when the
    #: kind's own check bounds it.
    future: str = "record"
    #: Shown only when another field has one of these values ("category": ("drug",)).
    shown_when: tuple[str, tuple[str, ...]] | None = None

    @property
    def input_mode(self) -> str:
        """The tablet keyboard to open: a numeric keypad for numbers."""
        return {"int": "numeric", "decimal": "decimal"}.get(self.kind, "text")


@dataclass(frozen=True)
class ProfileKind:
    """A kind of profile item: URL slug, label, model, fields; `single` kinds have one current item."""

    slug: str
    label: str
    model: type[models.ProfileVersion]
    fields: tuple[FieldSpec, ...]
    single: bool = False
    uses_drug: bool = False
    #: Orders the current items (newest first by this column).
    sort_column: str = "recorded_at"
    extra_checks: Callable[[dict[str, Any], dict[str, str]], None] | None = field(default=None, compare=False)
    #: Recorded for female patients only (妊娠・授乳).
    female_only: bool = False

    def field(self, name: str) -> FieldSpec:
        """The field spec of that name."""
        return next(f for f in self.fields if f.name == name)


SEVERITIES = (("mild", "軽度"), ("moderate", "中等度"), ("severe", "重度"), ("anaphylaxis", "アナフィラキシー"),
              ("unknown", "不明"))
DRUG_SCOPES = (("product", "この製品"), ("ingredient", "同じ成分（一般名）すべて"), ("class", "同じ薬効分類すべて"))
INFECTION_KINDS = (("hbs_ag", "HBs抗原"), ("hcv_ab", "HCV抗体"), ("tpha", "梅毒 TPHA"), ("rpr", "梅毒 RPR"),
                   ("hiv_ab", "HIV抗体"), ("htlv1_ab", "HTLV-1抗体"), ("other", "その他"))
INFECTION_RESULTS = (("negative", "陰性（−）"), ("positive", "陽性（＋）"), ("equivocal", "判定保留（±）"))
CARE_LEVELS = (("support1", "要支援1"), ("support2", "要支援2"), ("care1", "要介護1"), ("care2", "要介護2"),
               ("care3", "要介護3"), ("care4", "要介護4"), ("care5", "要介護5"), ("not_applicable", "非該当"))
DISABILITY_KINDS = (("physical", "身体障害者手帳"), ("mental", "精神障害者保健福祉手帳"), ("intellectual", "療育手帳"))
PREGNANCY_STATUSES = (("pregnant", "妊娠中"), ("lactating", "授乳中"), ("possible", "妊娠の可能性あり"))
# 食品表示基準の特定原材料 (表示義務 8品目); anything else is typed in.
FOOD_ALLERGENS = ("えび", "かに", "くるみ", "小麦", "そば", "卵", "乳", "落花生（ピーナッツ）")


def _check_vitals(values: dict[str, Any], errors: dict[str, str]) -> None:
    measured = ("height_cm", "weight_kg", "systolic", "diastolic", "pulse", "temperature_c", "spo2")
    if not errors and all(values.get(k) is None for k in measured):
        errors["_form"] = "測定値を1つ以上入力してください"
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (systolic is None) != (diastolic is None) and "systolic" not in errors and "diastolic" not in errors:
        errors["diastolic" if diastolic is None else "systolic"] = "血圧は収縮期と拡張期の両方を入力してください"
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        errors["diastolic"] = f"拡張期（{diastolic}）が収縮期（{systolic}）以上です。入力を確認してください"


def _check_period(values: dict[str, Any], errors: dict[str, str]) -> None:
    start, end = values.get("valid_from"), values.get("valid_to")
    if start and end and end < start:
        errors["valid_to"] = "有効期間の終了日が開始日より前です"


def _check_infection(values: dict[str, Any], errors: dict[str, str]) -> None:
    if values.get("kind") == "other" and not values.get("kind_other"):
        errors["kind_other"] = "検査名を入力してください"


def _check_allergy(values: dict[str, Any], errors: dict[str, str]) -> None:
    if values.get("category") != "drug" and not values.get("substance"):
        errors["substance"] = "原因（アレルゲン）を入力してください"


KINDS: dict[str, ProfileKind] = {k.slug: k for k in (
    ProfileKind("vitals", "バイタル", models.VitalSign, (
        # The order a nurse measures at intake; Enter moves from one to the next.
        FieldSpec("measured_at", "測定日時", "datetime", required=True),
        FieldSpec("systolic", "血圧（収縮期）", "int", low=40, high=300, warn_low=90, warn_high=179, unit="mmHg"),
        FieldSpec("diastolic", "血圧（拡張期）", "int", low=20, high=200, warn_high=109, unit="mmHg"),
        FieldSpec("pulse", "脈拍", "int", low=20, high=250, warn_low=50, warn_high=120, unit="/分"),
        FieldSpec("temperature_c", "体温", "decimal", low=30, high=43, warn_low=35.0, warn_high=38.4, unit="℃"),
        FieldSpec("spo2", "SpO2", "int", low=50, high=100, warn_low=94, unit="%"),
        FieldSpec("weight_kg", "体重", "decimal", low=0.5, high=300, unit="kg"),
        FieldSpec("height_cm", "身長", "decimal", low=20, high=250, unit="cm"),
    ), sort_column="measured_at", extra_checks=_check_vitals),
    ProfileKind("blood-type", "血液型", models.BloodType, (
        FieldSpec("abo", "ABO式", "choice", required=True,
                  choices=(("A", "A型"), ("B", "B型"), ("O", "O型"), ("AB", "AB型"), ("unknown", "不明"))),
        FieldSpec("rh", "Rh式", "choice", required=True, choices=(("+", "Rh(+)"), ("-", "Rh(−)"), ("unknown", "不明"))),
        FieldSpec("confirmed_by", "確認者・確認方法", required=True, max_length=100,
                  hint="例: 当院検査（検査技師 田中）"),
        FieldSpec("confirmed_on", "確認日", "date", required=True),
        FieldSpec("notes", "メモ", "textarea"),
    ), single=True),
    ProfileKind("allergies", "アレルギー", models.Allergy, (
        FieldSpec("category", "種類", "choice", required=True,
                  choices=(("drug", "薬剤"), ("food", "食物"), ("other", "その他"))),
        FieldSpec("drug_scope", "薬剤の範囲", "choice", choices=DRUG_SCOPES, shown_when=("category", ("drug",))),
        FieldSpec("substance", "原因（薬剤名・アレルゲン）", hint="薬剤は医薬品マスターから選びます。食物は例: "
                  + "、".join(FOOD_ALLERGENS)),
        FieldSpec("reaction", "症状", hint="例: 蕁麻疹、呼吸困難"),
        FieldSpec("severity", "重症度", "choice", required=True, choices=SEVERITIES),
        FieldSpec("onset_on", "発現日", "date"),
        FieldSpec("notes", "メモ", "textarea"),
    ), uses_drug=True, extra_checks=_check_allergy),
    ProfileKind("contraindications", "薬剤禁忌", models.Contraindication, (
        FieldSpec("drug_scope", "薬剤の範囲", "choice", required=True, choices=DRUG_SCOPES),
        FieldSpec("substance", "薬剤", hint="医薬品マスターから選びます"),
        FieldSpec("reason", "理由", required=True, hint="例: 妊娠中、腎機能低下"),
    ), uses_drug=True),
    ProfileKind("past-history", "既往歴", models.PastHistory, (
        FieldSpec("disease", "病名・手術", required=True),
        FieldSpec("period", "時期", max_length=100, hint="例: 2015年、2010年〜2012年、小児期"),
        FieldSpec("notes", "メモ", "textarea"),
    )),
    ProfileKind("infections", "感染症", models.Infection, (
        FieldSpec("kind", "検査", "choice", required=True, choices=INFECTION_KINDS),
        FieldSpec("kind_other", "検査名（その他）", max_length=100, shown_when=("kind", ("other",))),
        FieldSpec("result", "結果", "choice", required=True, choices=INFECTION_RESULTS),
        FieldSpec("tested_on", "検査日", "date", required=True),
        FieldSpec("notes", "メモ", "textarea"),
    ), sort_column="tested_on", extra_checks=_check_infection),
    ProfileKind("vaccinations", "予防接種歴", models.Vaccination, (
        FieldSpec("vaccine", "ワクチン", required=True, max_length=100, hint="例: インフルエンザHAワクチン"),
        FieldSpec("administered_on", "接種日", "date", required=True),
        FieldSpec("dose_number", "回数", "int", low=1, high=20, unit="回目"),
        FieldSpec("lot_number", "ロット番号", max_length=50),
        FieldSpec("site", "接種部位", max_length=50, hint="例: 左上腕"),
        FieldSpec("notes", "メモ", "textarea"),
    ), sort_column="administered_on"),
    ProfileKind("disability", "障害", models.Disability, (
        FieldSpec("kind", "手帳の種類", "choice", required=True, choices=DISABILITY_KINDS),
        FieldSpec("grade", "等級", required=True, max_length=20, hint="例: 2級、A1"),
        FieldSpec("certificate_number", "手帳番号", max_length=50),
        FieldSpec("notes", "メモ", "textarea"),
    )),
    ProfileKind("pregnancy", "妊娠・授乳", models.Pregnancy, (
        FieldSpec("status", "状態", "choice", required=True, choices=PREGNANCY_STATUSES),
        FieldSpec("since", "開始日（確認日）", "date", required=True),
        FieldSpec("due_on", "分娩予定日", "date", shown_when=("status", ("pregnant",)), hint="妊娠中は必須です",
                  future=""),  # bounded by its own rule: at most 43 weeks after 開始日 (check_pregnancy)
        FieldSpec("ended_on", "終了日", "date", hint="分娩・授乳終了などで終わった日（終わるまでは空欄）"),
        FieldSpec("notes", "メモ", "textarea"),
    ), single=True, sort_column="since", female_only=True),
    ProfileKind("care-level", "要介護度", models.CareLevel, (
        FieldSpec("level", "要介護度", "choice", required=True, choices=CARE_LEVELS),
        FieldSpec("valid_from", "認定有効期間（開始）", "date", future="certification_start"),
        FieldSpec("valid_to", "認定有効期間（終了）", "date", hint="終了日は将来の日付で構いません",
                  future="certification_end"),
    ), single=True, extra_checks=_check_period),
)}

#: Ages (at the start of the state) at which pregnancy or lactation may be recorded.
PREGNANCY_AGES = (10, 60)
#: A pregnancy is dated from its confirmation: the delivery is at most this many days later (43 weeks), and one
#: more than this many days overdue has surely ended (the 終了日 is asked for).
PREGNANCY_MAX_DAYS, OVERDUE_DAYS = 301, 28
#: Lactation recorded as still going on began at most this long ago (3 years).
LACTATION_MAX_DAYS = 3 * 366


def choice_label(kind: ProfileKind, name: str, value: str | None) -> str:
    """The Japanese label of a stored choice value."""
    for key, label in kind.field(name).choices:
        if key == value:
            return label
    return value or ""


def _number(spec: FieldSpec, text: str) -> tuple[Any, str | None]:
    folded = text.translate(str.maketrans("０１２３４５６７８９．－", "0123456789.-")).strip()
    try:
        value = to_number(folded, integer=spec.kind == "int")
    except ValueError:
        kind = "整数" if spec.kind == "int" else "数値"
        return None, f"{spec.label}は{kind}で入力してください"
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        low = f"{spec.low:g}" if spec.low is not None else ""
        high = f"{spec.high:g}" if spec.high is not None else ""
        return None, (f"{spec.label} {folded}{spec.unit} はありえない値です"
                      f"（{low}〜{high}{spec.unit}の範囲で入力してください）")
    return value, None


def _datetime(spec: FieldSpec, text: str, now: datetime) -> tuple[datetime | None, str | None]:
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None, "日時の形式が正しくありません"
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    if error := future_datetime_error(value, spec.label, now=now):
        return None, error
    return value, None


def parse_form(kind: ProfileKind, form: Mapping[str, str], *, now: datetime,
               today: date | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Read the posted fields of a kind into typed values; errors map a field name to a Japanese message."""
    today = today or japan_today()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in kind.fields:
        text = strip_control_chars(form.get(spec.name, "") or "", multiline=spec.kind == "textarea").strip()
        if spec.shown_when and form.get(spec.shown_when[0]) not in spec.shown_when[1]:
            text = ""
        if not text:
            if spec.required:
                verb = "選んで" if spec.kind == "choice" else "入力して"
                errors[spec.name] = f"{spec.label}を{verb}ください"
            values[spec.name] = "" if spec.kind in ("text", "textarea") else None
            continue
        if spec.kind in ("text", "textarea"):
            limit = 2000 if spec.kind == "textarea" else spec.max_length
            if len(text) > limit:
                errors[spec.name] = f"{spec.label}は{limit}文字以内で入力してください"
            values[spec.name] = text
        elif spec.kind == "choice":
            if text not in {key for key, _ in spec.choices}:
                errors[spec.name] = f"{spec.label}の選択肢にない値です"
            values[spec.name] = text
        elif spec.kind in ("int", "decimal"):
            values[spec.name], error = _number(spec, text)
            if error:
                errors[spec.name] = error
        elif spec.kind == "date":
            try:
                values[spec.name] = parse_date(text)
            except WarekiError as exc:
                errors[spec.name] = f"{spec.label}: {exc}"
                continue
            if spec.future and (too_far := future_date_error(values[spec.name], spec.future, spec.label,
                                                              today=today)):
                errors[spec.name] = too_far
        elif spec.kind == "datetime":
            values[spec.name], error = _datetime(spec, text, now)
            if error:
                errors[spec.name] = error
    if kind.extra_checks:
        kind.extra_checks(values, errors)
    return values, errors


def warnings_for(kind: ProfileKind, entry: Any) -> list[str]:
    """Values that were accepted but lie outside the usual range (shown beside them, never hidden)."""
    found = []
    for spec in kind.fields:
        value = getattr(entry, spec.name, None) if not isinstance(entry, Mapping) else entry.get(spec.name)
        if value is None or spec.kind not in ("int", "decimal"):
            continue
        if spec.warn_high is not None and value > spec.warn_high:
            found.append(f"{spec.label} {value:g}{spec.unit} は高値です")
        if spec.warn_low is not None and value < spec.warn_low:
            found.append(f"{spec.label} {value:g}{spec.unit} は低値です")
    return found


def check_pregnancy(sex: str, birth_date: date | None, values: Mapping[str, Any], today: date) -> dict[str, str]:
    """Whether a 妊娠・授乳 entry makes sense for this patient and these dates; errors by field (Japanese)."""
    errors: dict[str, str] = {}
    status, since = values.get("status"), values.get("since")
    due, ended = values.get("due_on"), values.get("ended_on")
    if sex != "F":
        return {"status": "妊娠・授乳は女性の患者にのみ登録できます"}
    if birth_date is not None and since is not None:
        age = since.year - birth_date.year - ((since.month, since.day) < (birth_date.month, birth_date.day))
        low, high = PREGNANCY_AGES
        if not low <= age <= high:
            errors["since"] = f"開始日の年齢（{age}歳）では妊娠・授乳を登録できません（{low}〜{high}歳）"
    if since is None:
        return errors
    if ended is not None and ended < since:
        errors["ended_on"] = "終了日が開始日より前です"
    if status == "pregnant":
        if due is None:
            errors["due_on"] = "妊娠中は分娩予定日を入力してください"
        elif due <= since:
            errors["due_on"] = "分娩予定日が開始日（確認日）以前です"
        elif (due - since).days > PREGNANCY_MAX_DAYS:
            errors["due_on"] = f"分娩予定日が開始日から{PREGNANCY_MAX_DAYS}日（43週）を超えています"
        elif ended is None and (today - due).days > OVERDUE_DAYS:
            errors["ended_on"] = "分娩予定日を4週以上過ぎています。終了日を入力するか、状態を変更してください"
    elif due is not None:
        errors["due_on"] = "分娩予定日は妊娠中のときだけ入力します"
    if status == "lactating" and ended is None and (today - since).days > LACTATION_MAX_DAYS:
        errors["since"] = "授乳の開始日が3年以上前です。終了日を入力してください"
    return errors
