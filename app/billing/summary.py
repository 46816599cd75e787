"""The visit summary (受付一覧 → 会計へ): every line Kamikarte sends to ORCA for a visit — 初・再診, the chosen
指導料・管理料, prescriptions with the 処方箋料 and its 加算 ORCA will count, lab tests with 判断料・採血料 — each with
its レセ電算 code, quantity, points from the master and delivery state; and ORCA's own trial calculation
(acsimulatev2) beside ours, the differences listed, never hidden. A failure of ORCA is a message with what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing import claim_builder, fees, orca_interim
from app.billing.claim_builder import PRESCRIPTION_CLASSES, Dose, Line
from app.billing.procedures import points_text, procedures_by_code
from app.clinics.models import Clinic
from app.integrations.orca import OrcaApiError, OrcaBillSimulation, OrcaError
from app.labs import billing as lab_billing
from app.labs.models import LabOrder
from app.prescriptions.models import ISSUED, Prescription
from app.reception.models import CANCELLED, Visit

FIRST_VISIT, REVISIT = "111000110", "112007410"
#: 処方箋料（リフィル以外・その他）, 一般名処方加算１ / ２, 特定疾患処方管理加算（処方箋料: 28日以上, 2024-06).
RX_FEE, GENERIC_ALL, GENERIC_SOME, SPECIFIC_RX = "120002910", "120004270", "120003570", "120005710"
LONG_PRESCRIPTION_DAYS = 28
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

    @property
    def our_points(self) -> Decimal:
        """Points of every line with points (drugs are priced by ORCA)."""
        return sum((line.points * Decimal(line.quantity) for line in self.lines if line.points is not None),
                   Decimal(0))


def _state(record: object) -> str:
    status = getattr(record, "orca_billing_status", "")
    label = orca_interim.STATUS_LABELS.get(status, "ORCA未設定・未送信") if status else "未送信"
    error = getattr(record, "orca_billing_error", "")
    if error and status in orca_interim.FAILED:
        return f"{label}: {error}"
    warnings = getattr(record, "orca_billing_warnings", None) or []
    return f"{label}（ORCAの警告: {'／'.join(warnings)}）" if warnings else label


def _prescription_lines(session: Session, visit: Visit, specific: bool) -> list[SummaryLine]:
    rows = list(session.scalars(select(Prescription).where(
        Prescription.clinic_id == visit.clinic_id, Prescription.patient_id == visit.patient_id,
        Prescription.issued_on == visit.visit_date, Prescription.status == ISSUED).order_by(Prescription.id)))
    lines: list[SummaryLine] = []
    generic = []
    long_internal = False
    for rx in rows:
        for rp in rx.rps:
            medical_class = PRESCRIPTION_CLASSES[rp.form][0]
            long_internal |= rp.form == 1 and rp.quantity >= LONG_PRESCRIPTION_DAYS
            for line in rp.lines:
                generic.append(line.by_generic_name)
                lines.append(SummaryLine("処方", medical_class, line.drug_receipt_code, line.drug_name,
                                         f"{line.dose:g}×{rp.quantity}", None, _state(rx)))
    if rows:
        extra = [RX_FEE]
        if generic and all(generic):
            extra.append(GENERIC_ALL)
        elif any(generic):
            extra.append(GENERIC_SOME)
        if specific and long_internal:
            extra.append(SPECIFIC_RX)
        masters = procedures_by_code(session, extra)
        lines += [SummaryLine("処方", "250", code, masters[code].name, "1", masters[code].points, "ORCAが算定",
                              by_orca=True) for code in extra if code in masters]
    return lines


def _lab_lines(session: Session, visit: Visit) -> list[SummaryLine]:
    orders = session.scalars(select(LabOrder).where(
        LabOrder.clinic_id == visit.clinic_id, LabOrder.patient_id == visit.patient_id,
        LabOrder.ordered_on == visit.visit_date, LabOrder.orca_billing_status.in_(("sending", "sent", "rejected")))
        .order_by(LabOrder.id))
    lines: list[SummaryLine] = []
    for order in orders:
        plan = lab_billing.plan(session, order)
        masters = procedures_by_code(session, {code for code, _ in plan.tests + plan.fees})
        for code, name in plan.tests + plan.fees:
            master = masters.get(code)
            lines.append(SummaryLine("検査", lab_billing.MEDICAL_CLASS, code, name, "1",
                                     master.points if master else None, _state(order)))
    return lines


def visit_lines(session: Session, visit: Visit) -> list[SummaryLine]:
    """Every line of the visit, in the order of the fee table."""
    earlier = session.scalar(select(Visit.id).where(
        Visit.clinic_id == visit.clinic_id, Visit.patient_id == visit.patient_id, Visit.visit_date < visit.visit_date,
        Visit.status != CANCELLED).limit(1))
    basic = procedures_by_code(session, {FIRST_VISIT, REVISIT}).get(REVISIT if earlier else FIRST_VISIT)
    lines = [SummaryLine("初・再診", "120" if earlier else "110", basic.code, basic.name, "1", basic.points,
                         "ORCAが算定（初診・再診は当院の受付記録からの推定）", by_orca=True)] if basic else []
    bill = fees.bill_for(session, visit)
    chosen = fees.chosen_fees(session, visit)
    masters = procedures_by_code(session, {fee.code for fee in chosen})
    for fee in chosen:
        master = masters.get(fee.code)
        medical_class = claim_builder.procedure_class(master.chapter, master.section_no)[0] if master else ""
        lines.append(SummaryLine("指導料・管理料", medical_class, fee.code, fee.name, str(fee.quantity),
                                 master.points if master else None, _state(bill)))
    facts = fees.facts_of(session, visit, chosen)
    return lines + _prescription_lines(session, visit, bool(facts.specific_diseases)) + _lab_lines(session, visit)


def _compare(summary: VisitSummary) -> None:
    sim = summary.simulation
    if sim is None:
        return
    ours: dict[str, Decimal] = {}
    for line in summary.lines:
        if line.points is not None:
            name = next((n for prefix, n in reversed(CATEGORIES) if line.medical_class.startswith(prefix)), "その他")
            ours[name] = ours.get(name, Decimal(0)) + line.points * Decimal(line.quantity)
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
    summary = VisitSummary(lines=visit_lines(session, visit))
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
        dose.lines.append(Line(line.code, line.name, line.quantity))
    try:
        summary.simulation = client.simulate_bill(
            visit.patient.orca_patient_id, visit.visit_date, visit.department_code,
            visit.insurance_combination or "0001", claim_builder.medical_information(list(doses.values())))
    except OrcaError as exc:
        summary.orca_error = exc.message_ja
        code = exc.code if isinstance(exc, OrcaApiError) else ""
        summary.orca_advice = ADVICE.get(code or "", RETRY if exc.retryable else ASK_ADMIN)
    _compare(summary)
    return summary
