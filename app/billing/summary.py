"""The visit summary (受付一覧 → 会計へ): every line Kamikarte sends to ORCA for a visit — 初・再診, the chosen
指導料・管理料, prescriptions with the 処方箋料 and its 加算, lab tests with 判断料・採血料 — each with its レセ電算
code, quantity, points from the master and delivery state, read from the very 剤 the visit's send builds
(visit_send.visit_doses); 初診/再診 from ORCA's 初診算定日; and ORCA's own trial calculation (acsimulatev2) beside
ours, the differences listed, never hidden. A failure of ORCA is a message with what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from app.billing import claim_builder, orca_interim, visit_send
from app.billing.claim_builder import Dose, Line
from app.billing.first_visit import FirstVisit, first_visit
from app.billing.procedures import points_text, procedures_by_code
from app.clinics.models import Clinic
from app.integrations.orca import OrcaApiError, OrcaBillSimulation, OrcaError
from app.reception.models import Visit

FIRST_VISIT, REVISIT = "111000110", "112007410"
#: What to do after an ORCA error, by Api_Result.
ADVICE = {"50": "表示されたコードの料金を外すか直してから、もう一度表示してください",
          "12": "受付の保険組合せをORCAで確認してください", "10": "患者番号をORCAで確認してください",
          "13": "受付の診療科をORCAで確認してください",
          "90": "ORCAでこの患者を開いている端末を閉じてから、もう一度表示してください"}
RETRY = "しばらくしてから再表示してください。送信は自動で再試行されます"
ASK_ADMIN = "内容を確認し、直らなければORCAの管理者に連絡してください"
#: ORCA's Ac_Point_Detail names by the first digits of our 診療種別区分.
CATEGORIES = (("11", "初・再診料"), ("12", "初・再診料"), ("13", "医学管理等"), ("14", "在宅医療"), ("2", "投薬"),
              ("3", "注射"), ("4", "処置"), ("5", "手術"), ("6", "検査"), ("64", "病理診断"), ("7", "画像診断"))


@dataclass
class SummaryLine:
    """One line of the visit's bill."""

    source: str
    medical_class: str
    code: str
    name: str
    quantity: str
    points: Decimal | None
    state: str
    #: Counted by ORCA itself when the clerk opens the data (shown so the total can be compared).
    by_orca: bool = False

    @property
    def times(self) -> Decimal:
        """Quantity × 回数 ("2×14" → 28)."""
        number, _, count = self.quantity.partition("×")
        return Decimal(number) * Decimal(count or 1)

    @property
    def points_label(self) -> str:
        """Points as shown ("—" for a drug, priced by the drug master)."""
        return points_text(self.points) if self.points is not None else "—"


@dataclass
class VisitSummary:
    """The lines, our total and ORCA's calculation or its failure."""

    lines: list[SummaryLine] = field(default_factory=list)
    simulation: OrcaBillSimulation | None = None
    orca_error: str = ""
    orca_advice: str = ""
    differences: list[str] = field(default_factory=list)
    #: How 初診/再診 was decided (ORCA's 初診算定日), and why the data cannot be built (an unknown code …).
    first_note: str = ""
    claim_error: str = ""

    @property
    def our_points(self) -> Decimal:
        """Points of every line with points (drugs are priced by ORCA)."""
        return sum((line.points * line.times for line in self.lines if line.points is not None), Decimal(0))


def _state(record: object) -> str:
    status = getattr(record, "orca_billing_status", "")
    label = orca_interim.STATUS_LABELS.get(status, "ORCA未設定・未送信") if status else "未送信"
    error = getattr(record, "orca_billing_error", "")
    if error and status in orca_interim.FAILED:
        return f"{label}: {error}"
    warnings = getattr(record, "orca_billing_warnings", None) or []
    return f"{label}（ORCAの警告: {'／'.join(warnings)}）" if warnings else label


def _kind_labels() -> dict[type, str]:
    return {kind.model: kind.label for kind in visit_send.kinds()}


def visit_lines(session: Session, visit: Visit, first: FirstVisit) -> tuple[list[SummaryLine], str]:
    """Every line of the visit's 中途データ (what visit_send sends), after the 初・再診 ORCA counts itself from its
    初診算定日; and the reason the data cannot be built, if it cannot."""
    lines: list[SummaryLine] = []
    if first.first is not None:
        code = FIRST_VISIT if first.first else REVISIT
        basic = procedures_by_code(session, {code}).get(code)
        if basic is not None:
            lines.append(SummaryLine("初・再診", "110" if first.first else "120", basic.code, basic.name, "1",
                                     basic.points, "ORCAが算定", by_orca=True))
    try:
        doses = visit_send.visit_doses(session, visit)
    except claim_builder.ClaimError as exc:
        return lines, str(exc)
    labels = _kind_labels()
    masters = procedures_by_code(session, {line.code for dose in doses for line in dose.lines})
    for dose in doses:
        for line in dose.lines:
            master = masters.get(line.code)
            quantity = f"{line.number}×{dose.count}" if dose.count > 1 else line.number
            lines.append(SummaryLine(labels.get(type(dose.record), "その他"), dose.medical_class, line.code,
                                     line.name, quantity, master.points if master else None, _state(dose.record)))
    return lines, ""


def compare(summary: VisitSummary) -> None:
    """List every part of the fee table (and the total) where our points and ORCA's differ."""
    sim = summary.simulation
    if sim is None:
        return
    ours: dict[str, Decimal] = {}
    for line in summary.lines:
        if line.points is not None:
            name = next((n for prefix, n in reversed(CATEGORIES) if line.medical_class.startswith(prefix)), "その他")
            ours[name] = ours.get(name, Decimal(0)) + line.points * line.times
    theirs = dict(sim.details)
    for name in dict.fromkeys([*ours, *(n for n, p in sim.details if p)]):
        mine, orca = int(ours.get(name, 0)), theirs.get(name, 0)
        if mine != orca:
            summary.differences.append(f"{name}: かみかるて {mine}点 ／ ORCA {orca}点（差 {orca - mine:+d}点）")
    total = int(summary.our_points.to_integral_value())
    if total != sim.total_points:
        summary.differences.append(
            f"合計点数: かみかるて {total}点 ／ ORCA {sim.total_points}点（差 {sim.total_points - total:+d}点）")


def build_summary(session: Session, clinic: Clinic, visit: Visit) -> VisitSummary:
    """The visit's lines and, when ORCA is set up, its trial calculation of them."""
    first = first_visit(session, clinic, visit)
    lines, claim_error = visit_lines(session, visit, first)
    summary = VisitSummary(lines=lines, first_note=first.note, claim_error=claim_error)
    client = orca_interim.orca_client_for(clinic) if orca_interim.is_available(clinic) else None
    if client is None:
        summary.orca_error = "ORCAの接続先が設定されていないため、試算できません"
        summary.orca_advice = "管理者がクリニック設定でORCAの接続先を登録してください"
        return summary
    doses: dict[str, Dose] = {}
    for line in summary.lines:
        if line.points is None:
            continue  # drugs: priced by ORCA's drug master from the 中途データ, not part of this comparison
        dose = doses.setdefault(line.medical_class, Dose(line.medical_class, line.source))
        dose.lines.append(Line(line.code, line.name, f"{line.times.normalize():f}"))
    try:
        summary.simulation = client.simulate_bill(
            visit.patient.orca_patient_id, visit.visit_date, visit.department_code,
            visit.insurance_combination or "0001", claim_builder.medical_information(list(doses.values())))
    except OrcaError as exc:
        summary.orca_error = exc.message_ja
        code = exc.code if isinstance(exc, OrcaApiError) else ""
        summary.orca_advice = ADVICE.get(code or "", RETRY if exc.retryable else ASK_ADMIN)
    compare(summary)
    return summary
