"""The safety banner of every patient screen: what must not be missed before treating the patient — drug and
other allergies, 薬剤禁忌, positive infections, pregnancy or lactation (the profile's 妊娠・授乳 while it lasts, and
pregnancy diagnoses) — from our record and, while the patient's
consent to the 電子カルテ情報共有サービス is valid, from other institutions (marked 他院).

Two bounded queries per page: one UNION ALL over our own current records, one over the stored copy of other
institutions' entries (written by the 6-information screen's fetch; never a call to the service per page view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    CompoundSelect,
    Date,
    Select,
    String,
    bindparam,
    case,
    cast,
    exists,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.core.timeutil import japan_today
from app.core.versioning import current_of
from app.diagnoses.models import Diagnosis
from app.patients.profile_forms import PREGNANCY_STATUSES
from app.patients.profile_models import Allergy, Contraindication, Infection, Pregnancy
from app.sharing.fhir.mapping import INFECTION_NAMES, INFECTION_RESULTS
from app.sharing.models import NationalEntryCopy, NationalEntryDecision, SharingConsent

#: The banner's rows, in the order shown, with their labels (the label is always written: colour is never the
#: only signal).
SECTIONS = {"drug_allergy": "薬剤アレルギー", "other_allergy": "その他アレルギー", "contraindication": "薬剤禁忌",
            "infection": "感染症", "pregnancy": "妊娠・授乳"}
SEVERITY_LABELS = {"mild": "軽度", "moderate": "中等度", "severe": "重度", "anaphylaxis": "アナフィラキシー",
                   "unknown": ""}
#: Infection results worth a warning (a negative result is recorded but is no hazard).
WARNING_RESULTS = ("positive", "equivocal")
#: Pregnancy and lactation as a diagnosis records them: ICD-10 chapter O (妊娠、分娩及び産じょく), Z32.1 妊娠確認,
#: Z33 妊娠状態, Z34/Z35 妊娠の管理, Z39.1 授乳中の母親のケア; or the name (e.g. the suffix 「合併妊娠」).
PREGNANCY_ICD10 = ("O", "Z321", "Z33", "Z34", "Z35", "Z391")
PREGNANCY_WORDS = ("妊娠", "授乳")
#: The marker of a row read from the profile's 妊娠・授乳 item (a diagnosis row carries none).
PROFILE_ROW = "profile"


@dataclass(frozen=True)
class BannerItem:
    """One line of the banner: what, the detail, and — for another institution's entry — where from and when."""

    section: str
    title: str
    detail: str = ""
    institution: str = ""
    day: str = ""
    entry_id: int | None = None

    @property
    def is_other_institution(self) -> bool:
        """Whether the entry comes from another institution (shown as 他院)."""
        return self.entry_id is not None


@dataclass
class SafetyBanner:
    """The banner's content, by section (see SECTIONS)."""

    sections: dict[str, list[BannerItem]] = field(default_factory=lambda: {key: [] for key in SECTIONS})

    @property
    def has_allergy(self) -> bool:
        """Whether any allergy (drug or other, ours or 他院) is recorded."""
        return bool(self.sections["drug_allergy"] or self.sections["other_allergy"])

    @property
    def has_warning(self) -> bool:
        """Whether anything at all is shown in red."""
        return any(self.sections.values())

    @property
    def other_institution_count(self) -> int:
        """How many of the lines come from other institutions."""
        return sum(item.is_other_institution for items in self.sections.values() for item in items)

    def labelled(self) -> list[tuple[str, str, list[BannerItem]]]:
        """(section key, label, items) of the sections that have items, in order."""
        return [(key, label, self.sections[key]) for key, label in SECTIONS.items() if self.sections[key]]


def _own_statement() -> CompoundSelect:
    """Our current allergies, 薬剤禁忌, warning infections, 妊娠・授乳 not ended by `today` and pregnancy diagnoses:
    (section, title, detail, extra)."""
    text = String(300)
    allergies = select(case((Allergy.category == "drug", "drug_allergy"), else_="other_allergy"),
                       cast(Allergy.substance, text), cast(Allergy.reaction, text), cast(Allergy.severity, text)).where(
        *current_of(Allergy))
    contraindications = select(literal("contraindication"), cast(Contraindication.substance, text),
                               cast(Contraindication.reason, text), literal("")).where(*current_of(Contraindication))
    infections = select(literal("infection"), cast(Infection.kind, text), cast(Infection.kind_other, text),
                        cast(Infection.result, text)).where(*current_of(Infection),
                                                            Infection.result.in_(WARNING_RESULTS))
    pregnancy = select(literal("pregnancy"), cast(Diagnosis.display_name, text), cast(Diagnosis.icd10, text),
                       literal("")).where(
        *current_of(Diagnosis), Diagnosis.outcome == "continuing",
        or_(*[Diagnosis.icd10.startswith(code) for code in PREGNANCY_ICD10],
            *[Diagnosis.display_name.contains(word) for word in PREGNANCY_WORDS]))
    status = select(literal("pregnancy"), cast(Pregnancy.status, text), cast(Pregnancy.due_on, text),
                    literal(PROFILE_ROW)).where(
        *current_of(Pregnancy), or_(Pregnancy.ended_on.is_(None), Pregnancy.ended_on > bindparam("today", type_=Date)))
    return union_all(allergies, contraindications, infections, status, pregnancy)


def _others_statement(kinds: tuple[str, ...]) -> Select:
    """The stored copy of other institutions' entries of some kinds (the banner's sections, or their medicines for
    the patient summary), while the latest consent is valid `today`, leaving out entries a doctor has adopted (they
    are ours now) or dismissed."""
    latest_valid_until = (select(SharingConsent.valid_until).where(
        SharingConsent.clinic_id == bindparam("clinic_id"), SharingConsent.patient_id == bindparam("patient_id"))
        .order_by(SharingConsent.recorded_at.desc(), SharingConsent.id.desc()).limit(1).scalar_subquery())
    decided = exists().where(NationalEntryDecision.clinic_id == NationalEntryCopy.clinic_id,
                             NationalEntryDecision.patient_id == NationalEntryCopy.patient_id,
                             NationalEntryDecision.entry_key == NationalEntryCopy.entry_key)
    entry = NationalEntryCopy
    return (select(entry.id, entry.kind, entry.title, entry.detail, entry.day, entry.institution_code,
                   entry.institution_name)
            .where(entry.clinic_id == bindparam("clinic_id"), entry.patient_id == bindparam("patient_id"),
                   entry.kind.in_(kinds),
                   latest_valid_until >= bindparam("today", type_=Date), ~decided,
                   # An infection another institution found negative is no hazard either.
                   or_(entry.kind != "infection", ~entry.detail.contains("陰性")))
            .order_by(entry.day.desc(), entry.id))


#: Built once: a page view only binds the clinic, the patient and the day (building the statements cost more
#: than running them).
OWN_STATEMENT = _own_statement()
OTHERS_STATEMENT = _others_statement(("drug_allergy", "other_allergy", "contraindication", "infection"))
OTHER_MEDICINES_STATEMENT = _others_statement(("medication",))


def _own_item(section: str, title: str, detail: str, extra: str) -> BannerItem:
    if section in ("drug_allergy", "other_allergy"):
        severity = SEVERITY_LABELS.get(extra, "")
        return BannerItem(section, title, "・".join(part for part in (detail, severity) if part))
    if section == "infection":
        name = detail if title == "other" else INFECTION_NAMES.get(title, title)
        return BannerItem(section, name, INFECTION_RESULTS.get(extra, ("", extra))[1])
    if section == "pregnancy" and extra == PROFILE_ROW:
        due = f"分娩予定日 {detail[:10]}" if title == "pregnant" and detail else ""
        return BannerItem(section, dict(PREGNANCY_STATUSES).get(title, title), due)
    if section == "pregnancy":
        return BannerItem(section, title)
    return BannerItem(section, title, detail)


def read_banner(session: Session, clinic_id: int, patient_id: int, *, with_other_institutions: bool = True,
                today: date | None = None) -> SafetyBanner:
    """The safety banner of one patient of one clinic (two queries; one without other institutions)."""
    banner = SafetyBanner()
    today = today or japan_today()
    keys = {"clinic_id": clinic_id, "patient_id": patient_id, "today": today}
    for section, title, detail, extra in session.execute(OWN_STATEMENT, keys):
        banner.sections[section].append(_own_item(section, title or "", detail or "", extra or ""))
    if not with_other_institutions:
        return banner
    for item in _other_items(session, OTHERS_STATEMENT, keys):
        banner.sections[item.section].append(item)
    return banner


def _other_items(session: Session, statement: Select, keys: dict) -> list[BannerItem]:
    """Other institutions' entries read by one of the statements above, named with their institution."""
    return [BannerItem(kind, title, detail or "", name or f"医療機関コード {code or '不明'}", day or "", entry_id)
            for entry_id, kind, title, detail, day, code, name in session.execute(statement, keys)]


def read_other_medicines(session: Session, clinic_id: int, patient_id: int, today: date) -> list[BannerItem]:
    """Other institutions' medicines as the last 6-information fetch stored them (none without a valid consent):
    the drug, its detail (dose, usage), the institution and the day prescribed, newest first. One query."""
    return _other_items(session, OTHER_MEDICINES_STATEMENT,
                        {"clinic_id": clinic_id, "patient_id": patient_id, "today": today})
