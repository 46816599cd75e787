"""The MHLW 様式第二号 (処方箋, 2022 edition with リフィル) drawn with ReportLab on A5, or on A4 scaled up.

The boxes and labels follow the paper form from top to bottom: 公費 and 保険 numbers; 患者 (氏名,
生年月日, 男・女, 区分) beside the 保険医療機関 (所在地及び名称, 電話番号, 保険医氏名, 都道府県番号,
点数表番号, 医療機関コード); 交付年月日 and 処方箋の使用期間; 処方 with the 変更不可 and 患者希望
columns and リフィル可; 備考 (rx_remarks.py: 保険医署名, the remarks, 残薬 handling, the JAHIS 2D symbols);
調剤実施回数; and the pharmacy's blank boxes (調剤済年月日, 保険薬局, 保険薬剤師) beside the second
公費. All measures are millimetres on A5 (148 × 210).
"""

from __future__ import annotations

from app.core.jp import format_wareki
from app.printing.pen import Pen, wrap_words
from app.printing.rx_geometry import (
    CHECK_COL,
    DATES_TOP,
    FOOTNOTE_TOP,
    INSURANCE_TOP,
    LABEL_COL,
    LEFT,
    MID,
    NOTE_SIZE,
    PAGE_H,
    PAGE_W,
    PATIENT_TOP,
    PHARMACY_TOP,
    QR_GAP,
    REFILL_LINE_H,
    REFILL_TOP,
    RIGHT,
    RX_HEADER_H,
    RX_TOP,
    SYMBOL_PAGE_BOTTOM,
    SYMBOL_PAGE_TOP,
    TITLE_TOP,
    WIDTH,
    Fonts,
    RowStyle,
    SymbolGrid,
    remarks_height,
)
from app.printing.rx_lines import RxRow, full_width
from app.printing.rx_model import PrescriptionPrint, PublicExpensePrint
from app.printing.rx_remarks import draw_remarks, draw_symbols

SUBSTITUTION_NOTE = ("個々の処方薬について、医療上の必要性があるため、後発医薬品（ジェネリック医薬品）への変更に"
                     "差し支えがあると判断した場合には、「変更不可」欄に「✓」又は「×」を記載し、「保険医署名」欄に"
                     "署名又は記名・押印すること。また、患者の希望を踏まえ、先発医薬品を処方した場合には、"
                     "「患者希望」欄に「✓」又は「×」を記載すること。")
VALIDITY_NOTE = "特に記載のある場合を除き、交付の日を含めて４日以内に保険薬局に提出すること。"
REFILL_NOTE = ("調剤実施回数（調剤回数に応じて、□に「✓」又は「×」を記載するとともに、"
               "調剤日及び次回調剤予定日を記載すること。）")
FOOTNOTES = (
    "備考　１．「処方」欄には、薬名、分量、用法及び用量を記載すること。　２．この用紙は、Ａ列５番を標準とすること。",
    "　　　３．療養の給付及び公費負担医療に関する費用の請求に関する命令（昭和51年厚生省令第36号）"
    "第１条の公費負担医療については、「保険医療機関」とあるのは「公費負担医療の担当医療機関」と、"
    "「保険医氏名」とあるのは「公費負担医療の担当医氏名」と読み替えるものとすること。",
)



# --- the parts of the form -----------------------------------------------------------------------------

def _title(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, page_note: str) -> None:
    title, note = "処　方　箋", "（この処方箋は、どの保険薬局でも有効です。）"
    pen.text(PAGE_W / 2, TITLE_TOP + 5.0, title + page_note, 14, font=fonts.label, align="center")
    pen.text(PAGE_W / 2, TITLE_TOP + 9.0, note, 6.5, font=fonts.label, align="center")
    if doc.is_registered_paper:  # registered with the 電子処方箋管理サービス as 紙 (prescription.md §3)
        pen.text(RIGHT, TITLE_TOP + 1.5, "電子処方箋対応", 8, font=fonts.label, align="right")
        pen.text(RIGHT, TITLE_TOP + 5.5, f"引換番号　{doc.exchange_number}", 10, font=fonts.value, align="right")


def _number_rows(pen: Pen, fonts: Fonts, x: float, top: float, public: PublicExpensePrint | None,
                 row_h: float, label_w: float = 22.0, box_w: float = 5.5) -> None:
    """公費負担者番号 (8 boxes) over 公費負担医療の受給者番号 (7 boxes)."""
    pen.rect(x, top, label_w, row_h * 2)
    pen.line(x, top + row_h, x + label_w, top + row_h)
    pen.lines_in(x, top, label_w, row_h, ["公費負担者番号"], 6, font=fonts.label)
    pen.lines_in(x, top + row_h, label_w, row_h, ["公費負担医療の", "受給者番号"], 5.5, font=fonts.label)
    pen.digit_boxes(x + label_w, top, box_w, row_h, 8, public.payer_number if public else "", 9)
    pen.digit_boxes(x + label_w, top + row_h, box_w, row_h, 7, public.recipient_number if public else "", 9)


def _insurance(pen: Pen, fonts: Fonts, doc: PrescriptionPrint) -> None:
    row_h = 6.0
    first = doc.public_expenses[0] if doc.public_expenses else None
    _number_rows(pen, fonts, LEFT, INSURANCE_TOP, first, row_h)
    x, label_w = MID + 2.0, 22.0
    insurance = doc.insurance
    pen.rect(x, INSURANCE_TOP, RIGHT - x, row_h * 2)
    pen.line(x, INSURANCE_TOP + row_h, RIGHT, INSURANCE_TOP + row_h)
    pen.line(x + label_w, INSURANCE_TOP, x + label_w, INSURANCE_TOP + 2 * row_h)
    pen.lines_in(x, INSURANCE_TOP, label_w, row_h, ["保険者番号"], 6, font=fonts.label)
    pen.digit_boxes(x + label_w, INSURANCE_TOP, 5.5, row_h, 8, insurance.insurer_number if insurance else "", 9)
    pen.lines_in(x, INSURANCE_TOP + row_h, label_w, row_h, ["被保険者証・被保険者", "手帳の記号・番号"], 5,
                 font=fonts.label)
    if insurance:
        card = "・".join(v for v in (insurance.symbol, insurance.number) if v)
        branch = f"（枝番）{full_width(insurance.branch.zfill(2))}" if insurance.branch else ""
        pen.cell(x + label_w, INSURANCE_TOP + row_h, RIGHT - x - label_w, row_h, f"{card}　{branch}".strip(), 8.5,
                 font=fonts.value, align="left")


def _circled_choices(pen: Pen, fonts: Fonts, x: float, y: float, w: float, h: float, choices: tuple[str, ...],
                     chosen: int | None, size: float) -> None:
    """Choices printed side by side, the chosen one circled (the form's 男・女, 被保険者・被扶養者)."""
    step = w / len(choices)
    for index, choice in enumerate(choices):
        cx = x + step * index + step / 2
        pen.cell(x + step * index, y, step, h, choice, size, font=fonts.label)
        if index == chosen:
            pen.ellipse(cx, y + h / 2, pen.width_of(choice, size, fonts.label) / 2 + 1.0, h / 2 - 0.8)


def _patient(pen: Pen, fonts: Fonts, doc: PrescriptionPrint) -> None:
    top, rows = PATIENT_TOP, (10.0, 7.5, 7.5)
    label_x, value_x, right = LEFT + LABEL_COL, LEFT + LABEL_COL + 12.0, MID
    pen.rect(LEFT, top, right - LEFT, sum(rows), width=0.5)
    pen.line(label_x, top, label_x, top + sum(rows))
    pen.line(value_x, top, value_x, top + sum(rows))
    pen.vertical(LEFT, top, LABEL_COL, sum(rows), "患者", 7)
    y = top
    for index, (label, h) in enumerate(zip(("氏名", "生年月日", "区分"), rows, strict=True)):
        if index:
            pen.line(label_x, y, right, y)
        pen.cell(label_x, y, 12.0, h, label, 6.5, font=fonts.label)
        y += h
    pen.cell(value_x, top, right - value_x, rows[0], doc.patient.name, 12, font=fonts.value, align="left")
    birth_y = top + rows[0]
    pen.cell(value_x, birth_y, 34.0, rows[1], format_wareki(doc.patient.birth_date), 8.5, font=fonts.value,
             align="left")
    _circled_choices(pen, fonts, value_x + 33.0, birth_y, right - value_x - 33.0, rows[1], ("男", "女"),
                     0 if doc.patient.sex == "M" else 1, 8)
    relation = None if doc.insurance is None else (0 if doc.insurance.is_insured_person else 1)
    _circled_choices(pen, fonts, value_x, birth_y + rows[1], right - value_x, rows[2], ("被保険者", "被扶養者"),
                     relation, 7.5)


def _labelled_rows(pen: Pen, fonts: Fonts, x: float, right: float, top: float, label_w: float,
                   labels: tuple[list[str], ...], rows: tuple[float, ...]) -> float:
    """The labels of a box's rows in its left column, a rule between rows; returns the top of the first row
    without a label."""
    y = top
    for index, (label, h) in enumerate(zip(labels, rows, strict=False)):
        if index:
            pen.line(x, y, right, y)
        pen.lines_in(x, y, label_w, h, label, 5.5, font=fonts.label)
        y += h
    return y


def _clinic(pen: Pen, fonts: Fonts, doc: PrescriptionPrint) -> None:
    clinic, top = doc.clinic, PATIENT_TOP
    x, label_w, rows = MID, 20.0, (10.0, 4.5, 5.5, 5.0)
    value_x = x + label_w
    pen.rect(x, top, RIGHT - x, sum(rows), width=0.5)
    pen.line(value_x, top, value_x, top + sum(rows[:3]))
    labels = (["保険医療機関の", "所在地及び名称"], ["電話番号"], ["保険医氏名"])
    y = _labelled_rows(pen, fonts, x, RIGHT, top, label_w, labels, rows)
    pen.line(x, y, RIGHT, y)
    address = " ".join(v for v in (f"〒{clinic.postal_code}" if clinic.postal_code else "", clinic.address) if v)
    lines = wrap_words(address, fonts.value, 5.8, RIGHT - value_x - 1.6)
    if len(lines) > 2:
        lines = [lines[0], "".join(lines[1:])]
    for index, line in enumerate(lines):
        pen.text(value_x + 0.8, top + 2.4 + index * 2.3, line, 5.8, font=fonts.value, max_width=RIGHT - value_x - 1.6,
                 min_size=4.5)
    name = f"{clinic.name}　{clinic.department_name}".strip() if clinic.department_name else clinic.name
    pen.cell(value_x, top + 4.8, RIGHT - value_x, 5.2, name, 9, font=fonts.value, align="left")
    pen.cell(value_x, top + rows[0], RIGHT - value_x, rows[1], clinic.phone, 7.5, font=fonts.value, align="left")
    doctor_y = top + rows[0] + rows[1]
    pen.cell(value_x, doctor_y, RIGHT - value_x - 6.0, rows[2], doc.doctor.name, 9, font=fonts.value, align="left")
    pen.cell(RIGHT - 6.0, doctor_y, 6.0, rows[2], "印", 7, font=fonts.label)
    _codes(pen, fonts, doc, x, y, rows[3])


def _codes(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, x: float, y: float, h: float) -> None:
    """都道府県番号 [2] 点数表番号 [1] 医療機関コード [7], as on the form's bottom right of the clinic block."""
    clinic, box = doc.clinic, 3.3
    parts = (("都道府県番号", 11.0, 2, clinic.prefecture_code), ("点数表番号", 9.5, 1, clinic.score_table_code),
             ("医療機関コード", 12.8, 7, clinic.facility_code))
    for label, label_w, count, digits in parts:
        pen.cell(x, y, label_w, h, label, 5.2, font=fonts.label, pad=0.3)
        pen.digit_boxes(x + label_w, y + 0.6, box, h - 1.2, count, digits, 8)
        x += label_w + count * box + 0.3


def _dates(pen: Pen, fonts: Fonts, doc: PrescriptionPrint) -> None:
    top, h = DATES_TOP, 7.5
    cols = (14.0, 33.0, 14.0, 33.0)
    pen.rect(LEFT, top, WIDTH, h, width=0.5)
    x = LEFT
    for w in cols:
        x += w
        pen.line(x, top, x, top + h)
    pen.lines_in(LEFT, top, cols[0], h, ["交付年月日"], 6.5, font=fonts.label)
    pen.cell(LEFT + cols[0], top, cols[1], h, format_wareki(doc.issued_on), 9.5, font=fonts.value)
    label_x = LEFT + cols[0] + cols[1]
    pen.lines_in(label_x, top, cols[2], h, ["処方箋の", "使用期間"], 6, font=fonts.label)
    validity = "" if doc.has_default_validity else format_wareki(doc.last_valid_day)
    pen.cell(label_x + cols[2], top, cols[3], h, validity, 9.5, font=fonts.value)
    note_x = label_x + cols[2] + cols[3]
    note_w = RIGHT - note_x
    pen.lines_in(note_x, top, note_w, h, pen.wrap(VALIDITY_NOTE, NOTE_SIZE + 0.4, note_w - 1.2, fonts.label),
                 NOTE_SIZE + 0.4, font=fonts.label)


def _rx_frame(pen: Pen, fonts: Fonts, top: float, bottom: float, label: str) -> float:
    """The 処方 box with its 変更不可 / 患者希望 header; returns the top of the first row."""
    x = LEFT + LABEL_COL
    pen.rect(LEFT, top, WIDTH, bottom - top, width=0.5)
    pen.line(x, top, x, bottom)
    pen.vertical(LEFT, top, LABEL_COL, bottom - top, label, 7)
    pen.line(x + CHECK_COL, top, x + CHECK_COL, bottom)
    pen.line(x + 2 * CHECK_COL, top, x + 2 * CHECK_COL, bottom)
    pen.line(x, top + RX_HEADER_H, RIGHT, top + RX_HEADER_H)
    pen.lines_in(x, top, CHECK_COL, RX_HEADER_H, ["変更不可", "（医療上", "必要）"], NOTE_SIZE, font=fonts.label)
    pen.lines_in(x + CHECK_COL, top, CHECK_COL, RX_HEADER_H, ["患者希望"], NOTE_SIZE, font=fonts.label)
    note_x = x + 2 * CHECK_COL
    pen.lines_in(note_x, top, RIGHT - note_x, RX_HEADER_H,
                 pen.wrap(SUBSTITUTION_NOTE, NOTE_SIZE, RIGHT - note_x - 1.5, fonts.label), NOTE_SIZE,
                 font=fonts.label, leading=1.15)
    return top + RX_HEADER_H + 0.8


def _rx_rows(pen: Pen, fonts: Fonts, rows: list[RxRow], top: float, style: RowStyle) -> None:
    x = LEFT + LABEL_COL
    text_x = x + 2 * CHECK_COL + 1.2
    right_w, h, size = 24.0, style.height, style.size
    for index, row in enumerate(rows):
        y = top + index * h
        if row.no_substitution:
            pen.check(x, y, CHECK_COL, h)
        if row.patient_request:
            pen.check(x + CHECK_COL, y, CHECK_COL, h)
        if row.is_end:
            pen.cell(text_x, y, RIGHT - text_x, h, row.text, size - 1, font=fonts.value)
            continue
        pen.cell(text_x, y, 8.0, h, row.label, size - 0.5, font=fonts.value, align="left", pad=0)
        body_x = text_x + 8.0 + row.indent * 6.0
        pen.cell(body_x, y, RIGHT - right_w - body_x, h, row.text, size, font=fonts.value, align="left", pad=0,
                 min_size=6.0)
        pen.cell(RIGHT - right_w, y, right_w, h, row.right, size, font=fonts.value, align="right", pad=1.5)


def _refill_line(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, y: float) -> None:
    x = LEFT + LABEL_COL + 2 * CHECK_COL
    pen.line(x, y, RIGHT, y)
    count = f"{full_width(str(doc.refill_count))}回" if doc.refill_count else "　　回"
    pen.cell(x, y, 60.0, REFILL_LINE_H, f"リフィル可　□（{count}）", 7, font=fonts.label, align="left")
    if doc.refill_count:
        box_x = x + 0.8 + pen.width_of("リフィル可　", 7, fonts.label)
        pen.check(box_x, y, pen.width_of("□", 7, fonts.label), REFILL_LINE_H, size=2.2)


def draw_rx(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, rows: list[RxRow], bottom: float,
            style: RowStyle) -> None:
    """The 処方 area of the first page: header, rows and the リフィル可 line at its foot."""
    first_row = _rx_frame(pen, fonts, RX_TOP, bottom, "処方")
    _rx_rows(pen, fonts, rows, first_row, style)
    _refill_line(pen, fonts, doc, bottom - REFILL_LINE_H)


def draw_refill_and_pharmacy(pen: Pen, fonts: Fonts, doc: PrescriptionPrint) -> None:
    """調剤実施回数 and the pharmacy's boxes, with the second 公費 at the bottom right."""
    pen.rect(LEFT, REFILL_TOP, WIDTH, PHARMACY_TOP - REFILL_TOP, width=0.5)
    pen.text(LEFT + 1.0, REFILL_TOP + 2.6, REFILL_NOTE, NOTE_SIZE + 0.4, font=fonts.label, max_width=WIDTH - 2.0,
             min_size=4.5)
    step = WIDTH / 3
    for index in range(3):
        cx = LEFT + step * index
        pen.text(cx + 1.0, REFILL_TOP + 6.0, f"□{full_width(str(index + 1))}回目調剤日（　　年　　月　　日）", 6,
                 font=fonts.label, max_width=step - 2.0)
        if index < 2:
            pen.text(cx + 3.0, REFILL_TOP + 9.0, "次回調剤予定日（　　年　　月　　日）", 6, font=fonts.label,
                     max_width=step - 4.0)
    top, label_w, split = PHARMACY_TOP, 18.0, 80.0
    rows = (5.0, 6.0, 5.5)
    pen.rect(LEFT, top, split - LEFT, sum(rows), width=0.5)
    pen.line(LEFT + label_w, top, LEFT + label_w, top + sum(rows))
    labels = (["調剤済年月日"], ["保険薬局の所在", "地及び名称"], ["保険薬剤師氏名"])
    _labelled_rows(pen, fonts, LEFT, split, top, label_w, labels, rows)
    pen.cell(LEFT + label_w, top, split - LEFT - label_w, rows[0], "令和　　年　　月　　日", 7, font=fonts.label)
    pen.cell(split - 6.0, top + rows[0] + rows[1], 6.0, rows[2], "印", 7, font=fonts.label)
    second = doc.public_expenses[1] if len(doc.public_expenses) > 1 else None
    _number_rows(pen, fonts, split + 2.0, top + 2.25, second, 6.0, label_w=18.0, box_w=(RIGHT - split - 20.0) / 8)


def draw_footnotes(pen: Pen, fonts: Fonts) -> None:
    """The form's printed notes under the boxes."""
    y = FOOTNOTE_TOP + 2.0
    for note in FOOTNOTES:
        for line in pen.wrap(note, NOTE_SIZE, WIDTH, fonts.label):
            pen.text(LEFT, y, line, NOTE_SIZE, font=fonts.label)
            y += 2.1


def draw_first_page(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, rows: list[RxRow], grid: SymbolGrid | None,
                    style: RowStyle, page_note: str, symbols_on_page: int | None = None) -> None:
    """The whole form on one page; `symbols_on_page` names the 続紙 that carries the symbols, if one does."""
    remarks_top = REFILL_TOP - remarks_height(grid.height if grid else None)
    _title(pen, fonts, doc, page_note)
    _insurance(pen, fonts, doc)
    _patient(pen, fonts, doc)
    _clinic(pen, fonts, doc)
    _dates(pen, fonts, doc)
    draw_rx(pen, fonts, doc, rows, remarks_top, style)
    draw_remarks(pen, fonts, doc, remarks_top, grid, symbols_on_page)
    draw_refill_and_pharmacy(pen, fonts, doc)
    draw_footnotes(pen, fonts)


def _continuation_header(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, page_note: str) -> None:
    pen.text(PAGE_W / 2, 10.0, f"処　方　箋（続紙）{page_note}", 14, font=fonts.label, align="center")
    info = (f"患者氏名　{doc.patient.name}　　交付年月日　{format_wareki(doc.issued_on)}　　"
            f"保険医療機関　{doc.clinic.name}（{doc.clinic.institution_code}）　保険医　{doc.doctor.name}")
    pen.text(LEFT, 18.0, info, 7.5, font=fonts.value, max_width=WIDTH, min_size=6)


def draw_continuation_page(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, rows: list[RxRow], style: RowStyle,
                           page_note: str) -> None:
    """A 続紙: who and when at the top, then more rows of the 処方 column."""
    _continuation_header(pen, fonts, doc, page_note)
    top, bottom = 22.0, PAGE_H - 8.0
    first_row = _rx_frame(pen, fonts, top, bottom, "処方")
    _rx_rows(pen, fonts, rows, first_row, style)


def draw_symbol_page(pen: Pen, fonts: Fonts, doc: PrescriptionPrint, grid: SymbolGrid, page_note: str) -> None:
    """A 続紙 with the 2D symbols the first page had no room for, numbered in reading order."""
    _continuation_header(pen, fonts, doc, page_note)
    heading = "２次元シンボル" + ("　番号の順に読み取ってください" if grid.total > 1 else "")
    pen.text(LEFT, SYMBOL_PAGE_TOP - 4.0, heading, 8, font=fonts.label)
    pen.rect(LEFT, SYMBOL_PAGE_TOP - 2.0, WIDTH, SYMBOL_PAGE_BOTTOM - SYMBOL_PAGE_TOP + 2.0, width=0.5)
    draw_symbols(pen, fonts, grid, LEFT + (WIDTH - grid.width) / 2, SYMBOL_PAGE_TOP + QR_GAP)
