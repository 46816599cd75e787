"""The 指導料・管理料 rules as data (data/fee_rules.csv: each row with its 告示/通知 section and the 改定 it follows)
and their reading against one visit: what applies first, and why a fee that cannot apply is greyed.

A rule's `condition` names one fact of the visit (below); monthly limits, age limits, exclusive groups and the
online (情報通信機器) variants are columns of the row, not code."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache

from app.billing.procedures import DATA

#: 特定疾患等対象区分 of the 傷病名マスター that makes a disease a 特定疾患療養管理料 target (masters.md).
SPECIFIC_DISEASE_CLASS = "05"
#: 生活習慣病管理料's target diseases by ICD-10 (通知 B001-3(1): 脂質異常症, 高血圧症, 糖尿病).
LIFESTYLE_ICD10 = ("E10", "E11", "E12", "E13", "E14", "E78", "I10", "I11", "I12", "I13", "I15")
#: 告示 chapters whose procedures exclude 外来管理加算 (処置 J, 手術 K, リハビリ H, 精神科専門療法 I …: 通知 A001(6)).
PROCEDURE_CHAPTERS = ("H", "I", "J", "K", "L", "M")
#: The group a first visit (初診 by ORCA's 初診算定日) counts as, for the fees it excludes.
FIRST_VISIT_GROUP = "shoshin"
#: Conditions that are the doctor's call rather than a fact of the visit (the fee applies but is not put first).
NOT_SUGGESTED = ("doctor_judges", "first_time", "after_first")


@dataclass(frozen=True)
class FeeRule:
    """One row of fee_rules.csv."""

    rule: str
    code: str
    group: str
    condition: str
    monthly_limit: int
    min_age: int | None
    max_age: int | None
    excludes: tuple[str, ...]
    online: bool | None
    source: str
    version: str


@dataclass
class VisitFacts:
    """What the rules read about one visit (built in one pass by app/billing/fees.py)."""

    age: int
    online: bool
    #: Names of the current main diagnoses that are 特定疾患 / 生活習慣病 targets.
    specific_diseases: list[str] = field(default_factory=list)
    lifestyle_diseases: list[str] = field(default_factory=list)
    letter_today: bool = False
    prescription_today: bool = False
    #: Groups chosen on this visit, times each code was billed this month on other visits, groups ever billed.
    chosen_groups: set[str] = field(default_factory=set)
    #: Per group chosen on this visit: the chosen fee's name and the groups its rule excludes (an exclusive pair
    #: is refused whichever of the two rows names it).
    chosen_names: dict[str, str] = field(default_factory=dict)
    chosen_excludes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    chosen_chapters: set[str] = field(default_factory=set)
    month_counts: dict[str, int] = field(default_factory=dict)
    groups_ever: set[str] = field(default_factory=set)


@cache
def rules() -> tuple[FeeRule, ...]:
    """Every rule, in the order of the file."""
    def age(text: str) -> int | None:
        return int(text) if text.strip() else None

    with (DATA / "fee_rules.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(FeeRule(
            rule=row["rule"], code=row["code"].strip(), group=row["group"], condition=row["condition"],
            monthly_limit=int(row["monthly_limit"] or 0), min_age=age(row["min_age"]), max_age=age(row["max_age"]),
            excludes=tuple(g for g in row["excludes"].split(";") if g),
            online=None if not row["online"].strip() else row["online"].strip() == "1",
            source=row["source"], version=row["version"]) for row in csv.DictReader(handle))


def rule_for(code: str) -> FeeRule | None:
    """The rule of a code, if the code has one."""
    return next((r for r in rules() if r.code == code), None)


def _condition(rule: FeeRule, facts: VisitFacts) -> tuple[bool, str]:
    """(met, why): the reason names the fact either way."""
    # condition: (met, the reason when met, the reason when not); an unknown condition is the doctor's judgement.
    conditions = {
        "specific_disease": (bool(facts.specific_diseases), "特定疾患: " + "、".join(facts.specific_diseases),
                             "主病に特定疾患（傷病名マスターの特定疾患等対象区分05）がありません"),
        "lifestyle_disease": (bool(facts.lifestyle_diseases),
                              "対象疾患: " + "、".join(facts.lifestyle_diseases) + "（療養計画書の交付が必要）",
                              "主病に脂質異常症・高血圧症・糖尿病がありません"),
        "no_procedure": (not facts.chosen_chapters & set(PROCEDURE_CHAPTERS), "本日、処置等を行っていません",
                         "本日、処置・リハビリ等を行っています"),
        "letter_today": (bool(facts.letter_today), "本日確定した診療情報提供書があります",
                         "本日確定した診療情報提供書がありません"),
        "first_time": (rule.group not in facts.groups_ever and "eiyo_next" not in facts.groups_ever, "初回の指導",
                       "初回の指導はすでに算定済みです"),
        "after_first": ("eiyo_first" in facts.groups_ever, "2回目以降の指導", "初回の指導が未算定です"),
        "child_with_prescription": (bool(facts.prescription_today), "本日処方箋を交付", "本日の処方箋がありません"),
        "child_without_prescription": (not facts.prescription_today, "本日処方箋の交付なし",
                                       "本日処方箋を交付しています"),
    }
    met, when_met, when_not = conditions.get(rule.condition, (True, "医師の判断で算定", ""))
    return met, when_met if met else when_not


def judge(rule: FeeRule, facts: VisitFacts, available: bool) -> tuple[bool, bool, str]:
    """(applies, suggested, reason). `available`: the code is in the master in force. Suggested fees are
    those whose condition is a fact of the visit (not only the doctor's judgement)."""
    if not available:
        return False, False, "医科診療行為マスターに未収載です（公式マスターの読込が必要）"
    if rule.online is not None and rule.online != facts.online:
        return False, False, ("情報通信機器を用いた診療の区分です" if rule.online else "対面診療の区分です")
    if rule.max_age is not None and facts.age > rule.max_age:
        return False, False, f"{rule.max_age + 1}歳未満が対象です（{facts.age}歳）"
    if rule.min_age is not None and facts.age < rule.min_age:
        return False, False, f"{rule.min_age}歳以上が対象です（{facts.age}歳）"
    clash = [g for g in facts.chosen_groups
             if g in rule.excludes or rule.group in facts.chosen_excludes.get(g, ())]
    if FIRST_VISIT_GROUP in clash:
        return False, False, "初診の日には算定できません（ORCAの初診算定日による）"
    if clash:
        names = "、".join(sorted(f"「{facts.chosen_names[g]}」" for g in clash if g in facts.chosen_names))
        return False, False, f"併算定できない料金{names}がすでに選ばれています"
    if rule.monthly_limit and facts.month_counts.get(rule.code, 0) >= rule.monthly_limit:
        done = facts.month_counts[rule.code]
        return False, False, f"今月すでに{done}回算定しています（月{rule.monthly_limit}回まで）"
    met, why = _condition(rule, facts)
    return met, met and rule.condition not in NOT_SUGGESTED, why
