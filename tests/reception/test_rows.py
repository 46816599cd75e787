"""The 受付一覧 rows built outside Jinja still escape every text they carry."""

from __future__ import annotations

from app.reception.rows import render_rows
from app.reception.services import STATUS_LABELS, VisitRow


def _row(**changes):
    values = dict(id=7, patient_id=3, time_text="09:05", acceptance_id=None, name='<script>"x"</script>',
                  kana="ヤマダ & タロウ", sex_label="男", age_text="68歳", department_name="内科",
                  physician_code="10001",
                  physician_name="上野　誠", insurance_summary="協会けんぽ 本人 3割", status="accepted",
                  status_label="受付済", next_status="in_exam")
    return VisitRow(**{**values, **changes})


def test_text_is_escaped_and_the_button_follows_the_role():
    html = str(render_rows([_row()], STATUS_LABELS, can_write=True))
    assert "<script>" not in html and "&lt;script&gt;&quot;x&quot;&lt;/script&gt;" in html
    assert '<span class="name-part">ヤマダ</span> <span class="name-part">&amp;</span>' in html and "送信待ち" in html
    assert 'value="7:in_exam"' in html and f"{STATUS_LABELS['in_exam']}へ</button>" in html
    assert "<button" not in str(render_rows([_row()], STATUS_LABELS, can_write=False))
    assert "<button" not in str(render_rows([_row(next_status=None)], STATUS_LABELS, can_write=True))


def test_family_and_given_names_are_each_kept_whole():
    html = str(render_rows([_row(name="山田　太郎", kana="ヤマダ タロウ")], STATUS_LABELS, can_write=True))
    assert '<span class="name-part">山田</span>\u3000<span class="name-part">太郎</span>' in html
    kana = '<span class="name-part">ヤマダ</span> <span class="name-part">タロウ</span>'
    assert f'<span class="kana">{kana}</span>' in html
