"""The doctor's main screens on a 10-inch tablet, portrait (820×1180) and landscape (1180×820), on the demo's data
(山田 太郎 of clinic A with a year of records, clinic B's full-chart notes): the page never scrolls sideways, every
tap target in the main content is at least 44×44 px (a checkbox's label counts as its target), no text is cut off,
headings go in order, and axe-core finds no serious or critical accessibility issue. Screenshots of each screen at
each size are kept in the artefacts folder for a reviewer."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app import config as app_config
from app import create_app
from app.clinics.models import Clinic
from app.core.timeutil import japan_today
from app.demo.runtime import prepare_demo
from app.diagnoses.models import Diagnosis
from app.documents.models import ReferralLetter
from app.imaging.models import KeyImage
from app.labs.models import LabOrder, LabResult
from app.patients.models import Patient
from app.patients.profile_models import Allergy
from app.prescriptions.models import Prescription
from tests.e2e.conftest import ARTIFACTS, LiveServer
from tests.e2e.test_login_and_pwa import _login

pytestmark = pytest.mark.e2e

SIZES = ((820, 1180), (1180, 820))
TOUCH = 44
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # tests/e2e/vendor/PROVENANCE.md
DOCTOR_A = ("doctor", "IA6YOND7VRBS563LAATXBI6DNXZI4KME")  # the demo's accounts (README, "Demo accounts")
DOCTOR_B = ("b-doctor", "QT3YZ2PZDCQTKYHM5OMOHM3IBW3BHTTU")

# What a finger taps in the main content; a checkbox or radio is measured by its label when it has one.
MEASURE_JS = """(touch) => {
  const main = document.querySelector('main');
  const shown = el => el.checkVisibility({visibilityProperty: true, opacityProperty: true})
    && el.getClientRects().length > 0;
  const name = el => (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '').trim().slice(0, 40);
  const small = [];
  for (const el of main.querySelectorAll('a[href], button, select, summary, input[type=checkbox], input[type=radio],'
      + ' input[type=submit], input[type=file], [role=button]')) {
    if (!shown(el)) continue;
    let target = el;
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      target = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)) || el;
    }
    const box = target.getBoundingClientRect();
    if (box.width < touch - 0.5 || box.height < touch - 0.5) {
      small.push(`${el.tagName.toLowerCase()} 「${name(el)}」 ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  const root = document.documentElement;
  const sideways = root.scrollWidth > root.clientWidth + 1 ? `${root.scrollWidth} > ${root.clientWidth}` : null;
  const scrolls = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const cut = [];
  for (const el of main.querySelectorAll('*')) {
    if (!shown(el) || ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    const clips = ['hidden', 'clip'].includes(style.overflowX) || ['hidden', 'clip'].includes(style.overflowY)
      || style.textOverflow === 'ellipsis';
    const box = el.getBoundingClientRect();
    if ((clips && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
        || (box.right > root.clientWidth + 1 && !scrolls(el))) {
      cut.push(`${el.tagName.toLowerCase()} 「${el.innerText.trim().slice(0, 30)}」`);
    }
  }
  for (const input of main.querySelectorAll('input[type=text], input:not([type]), select')) {
    if (shown(input) && (input.value || '').trim() && input.scrollWidth > input.clientWidth + 1) {
      cut.push(`${input.tagName.toLowerCase()} 「${input.value.trim().slice(0, 30)}」`);
    }
  }
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(shown)
    .map(h => Number(h.tagName[1]));
  const skips = levels.filter((level, i) => (i === 0 ? level !== 1 : level > levels[i - 1] + 1));
  if (!levels.includes(1)) skips.push('no h1');
  return {small, sideways, cut, headings: skips.length ? `${levels.join(' ')} ${skips.join(' ')}` : null};
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'],
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
  return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`);
}"""


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory, orca_server, sharing_server, orthanc_server):
    """The demo seeded into its own database (ORCA, 共有サービス and Orthanc simulators), served on a real port."""
    orca_server.reset()
    sharing_server.reset()
    path = tmp_path_factory.mktemp("tablet") / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(replace(app_config.TestConfig(), DATABASE_URL=f"sqlite:///{path}"))
    prepare_demo(app, orca_server.root, pacs=orthanc_server, sharing_root=sharing_server.url)
    with app.extensions["db_sessionmaker"]() as session:
        clinic_a, clinic_b = (session.scalar(select(Clinic).where(Clinic.institution_code == code))
                              for code in ("1310123458", "1310156789"))
        yamada = session.scalar(select(Patient).where(Patient.clinic_id == clinic_a.id,
                                                      Patient.orca_patient_id == "00001"))
        b_yamada = session.scalar(select(Patient).where(Patient.clinic_id == clinic_b.id, Patient.kana.like("ヤマダ%")))
        ids = {"p": yamada.id, "b": b_yamada.id, "today": japan_today().isoformat(),
               "rx": session.scalar(select(Prescription.id).where(Prescription.patient_id == yamada.id)),
               "order": session.scalar(select(LabOrder.id).where(LabOrder.patient_id == yamada.id)
                                       .order_by(LabOrder.id).limit(1)),  # the oldest: results and billing
               "letter": session.scalar(select(ReferralLetter.id).where(ReferralLetter.patient_id == yamada.id)),
               "study": session.scalar(select(KeyImage.study_uid).where(KeyImage.patient_id == yamada.id)),
               "diagnosis": session.scalar(select(Diagnosis.id).where(Diagnosis.patient_id == yamada.id,
                                                                      Diagnosis.superseded_at.is_(None))),
               "allergy": session.scalar(select(Allergy.lineage_id).where(Allergy.patient_id == yamada.id)),
               "corrected": session.scalar(select(LabResult.lineage_id).where(LabResult.patient_id == yamada.id,
                                                                              LabResult.version > 1))}
    server = LiveServer(app)
    yield server, ids
    server.stop()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def tablet(browser, demo):
    """One signed-in browser tab per clinic's doctor, kept for the module (one login per account)."""
    server, ids = demo
    pages = {}
    contexts = []
    for key, account in (("a", DOCTOR_A), ("b", DOCTOR_B)):
        context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 820, "height": 1180})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        _login(page, server.url, *account)
        pages[key] = page
    yield server.url, ids, pages
    for context in contexts:
        context.close()


def _check_prescription(page) -> None:
    page.get_by_role("button", name="チェック").click()
    page.wait_for_selector("#rx-checks")


def _image_loaded(page) -> None:
    page.wait_for_function("() => { const i = document.querySelector('[data-image]');"
                           " return i && i.complete && i.naturalWidth > 0; }")


# (name, clinic, path, what to do once the page is open)
SCREENS: list[tuple[str, str, str, Callable | None]] = [
    ("profile", "a", "/patients/{p}/profile", None),
    ("vitals", "a", "/patients/{p}/vitals", None),
    ("allergy-form", "a", "/patients/{p}/profile/allergies/new", None),
    ("vaccination-form", "a", "/patients/{p}/profile/vaccinations/new", None),
    ("diagnoses", "a", "/patients/{p}/diagnoses", None),
    ("diagnosis-edit", "a", "/patients/{p}/diagnoses/{diagnosis}/edit", None),
    ("diagnosis-history", "a", "/patients/{p}/diagnoses/{diagnosis}/history", None),
    ("allergy-history", "a", "/patients/{p}/profile/allergies/{allergy}/history", None),
    ("prescriptions", "a", "/patients/{p}/prescriptions", None),
    ("prescription-new", "a", "/patients/{p}/prescriptions/new", None),
    ("prescription-check", "a", "/patients/{p}/prescriptions/new?from={rx}", _check_prescription),
    ("prescription", "a", "/patients/{p}/prescriptions/{rx}", None),
    ("labs", "a", "/patients/{p}/labs", None),
    ("lab-order-new", "a", "/patients/{p}/labs/orders/new", None),
    ("lab-order-set", "a", "/patients/{p}/labs/orders/new?set_code=S001", None),
    ("lab-order", "a", "/patients/{p}/labs/orders/{order}", None),
    ("lab-result-history", "a", "/patients/{p}/labs/results/{corrected}/history", None),
    ("letters", "a", "/patients/{p}/letters", None),
    ("letter-new", "a", "/patients/{p}/letters/new", None),
    ("letter", "a", "/patients/{p}/letters/{letter}", None),
    ("images", "a", "/patients/{p}/images", None),
    ("image-viewer", "a", "/patients/{p}/images/{study}", _image_loaded),
    ("sharing", "a", "/patients/{p}/sharing", None),
    ("account", "a", "/account", None),
    ("referral-book", "a", "/referral-destinations", None),
    ("referral-book-new", "a", "/referral-destinations/new", None),
    ("notes", "b", "/patients/{b}/notes", None),
    ("note-edit", "b", "/patients/{b}/notes/{today}/edit", None),
]


def test_the_vendored_axe_core_is_the_published_file():
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


@pytest.mark.parametrize(("name", "clinic", "path", "then"), SCREENS, ids=[s[0] for s in SCREENS])
def test_main_screen_fits_the_tablet_and_passes_axe(tablet, name, clinic, path, then):
    url, ids, pages = tablet
    page = pages[clinic]
    problems = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url + path.format(**ids))
        assert response is not None and response.status == 200, f"{name}: {response and response.status}"
        if then is not None:
            then(page)
        page.wait_for_load_state("networkidle")
        (ARTIFACTS / "tablet").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "tablet" / f"{name}-{width}x{height}.png"), full_page=True)
        found = page.evaluate(MEASURE_JS, TOUCH)
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # not a <script> tag: the app's CSP refuses those
        found["axe"] = page.evaluate(AXE_JS)
        for kind, value in found.items():
            if value:
                problems.append(f"{width}×{height} {kind}: {value}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_viewer_fills_the_screen_with_its_controls_over_it(tablet, width, height):
    url, ids, pages = tablet
    page = pages["a"]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{url}/patients/{ids['p']}/images/{ids['study']}")
    _image_loaded(page)
    stage = page.locator("[data-stage]").bounding_box()
    image = page.locator("[data-viewport]").bounding_box()
    key = page.get_by_role("button", name="キー画像にする").bounding_box()
    assert page.evaluate("window.scrollY") == 0
    # The stage runs to the bottom of the screen, the image takes its width, and キー画像にする is on screen.
    assert stage["width"] >= width - 40 and height - 16 <= stage["y"] + stage["height"] <= height
    assert image["width"] >= width - 40 and image["height"] >= 0.45 * height
    assert key["y"] + key["height"] <= height and key["height"] >= TOUCH
    page.get_by_role("button", name="全画面").click()
    page.wait_for_function("() => document.fullscreenElement?.matches('[data-stage]')")
    full = page.locator("[data-stage]").bounding_box()
    assert (full["width"], full["height"]) == (width, height)
    assert page.get_by_role("button", name="キー画像にする").bounding_box()["y"] < height
    page.get_by_role("button", name="全画面を終了").click()
    page.wait_for_function("() => !document.fullscreenElement")


def test_the_lab_table_runs_like_the_trend_chart_and_counts_the_dates_to_the_side(tablet):
    url, ids, pages = tablet
    page = pages["a"]
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{url}/patients/{ids['p']}/labs")
    days = page.locator("table.lab-table thead th[data-day]").all_inner_texts()
    assert days == sorted(days) and len(days) > 5  # oldest on the left, newest on the right, as the chart
    scroller = page.locator(".table-scroll")
    # It opens at the newest dates; the older ones are counted on the left.
    assert scroller.evaluate("s => s.scrollLeft + s.clientWidth >= s.scrollWidth - 1")
    hint = page.locator("[data-scroll-hint]")
    hidden_left = int(hint.inner_text().split("あと")[1].split("日分")[0])
    assert hint.inner_text().startswith("← 左に過去の採取日があと") and 0 < hidden_left < len(days)
    assert page.locator("[data-scroll-table]").evaluate("f => f.classList.contains('more-left')")
    name = page.locator("table.lab-table tbody th[scope=row]").first
    before = name.bounding_box()["x"]
    scroller.evaluate("s => { s.scrollLeft = 0; s.dispatchEvent(new Event('scroll')); }")
    assert name.bounding_box()["x"] == before  # the test-name column stays while the dates move
    page.wait_for_function("() => document.querySelector('[data-scroll-hint]').textContent.includes('右に新しい')")
    assert "左に" not in hint.inner_text()


def test_every_date_field_shows_its_day_in_wareki_as_the_server_writes_it(tablet):
    from datetime import date, timedelta

    from app.core.jp import format_wareki

    url, ids, pages = tablet
    page = pages["a"]
    page.goto(f"{url}/patients/{ids['p']}/profile/vaccinations/new")
    field = page.locator("input[name=administered_on]")
    assert field.get_attribute("type") == "date"
    field.fill("2026-12-07")
    expect_label = page.locator(f"#{field.get_attribute('id')}-wareki")
    assert expect_label.inner_text() == "令和8年12月7日"
    assert field.get_attribute("aria-describedby").endswith("-wareki")
    field.fill("2019-04-30")
    assert expect_label.inner_text() == "平成31年4月30日"
    # The browser's 和暦 is the server's on every era boundary, the day before it and a spread of days between.
    days = [d for era_start in ("2019-05-01", "1989-01-08", "1926-12-25", "1912-07-30")
            for d in (date.fromisoformat(era_start) - timedelta(days=1), date.fromisoformat(era_start))]
    days += [date(1873, 1, 1) + timedelta(days=n * 997) for n in range(57)]
    shown = page.evaluate("""async (days) => {
      const { formatWareki } = await import('/static/js/wareki-date.js');
      return days.map(formatWareki);
    }""", [d.isoformat() for d in days])
    assert shown == [format_wareki(d) for d in days]
    assert page.evaluate("async () => (await import('/static/js/wareki-date.js')).formatWareki('1872-12-31')") == ""


def test_the_6_information_page_folds_long_sections_and_counts_every_one(tablet):
    url, ids, pages = tablet
    page = pages["a"]
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{url}/patients/{ids['p']}/sharing")
    sections = page.evaluate("""() => [...document.querySelectorAll('#six-information details.fold[data-fold]')]
      .map(d => ({id: d.id, open: d.open, said: Number(d.querySelector('.fold-count').textContent.split('件')[0]),
                  rows: d.querySelectorAll('tr.national, tr.own').length}))""")
    # Each section says how many rows it has and shows up to 20 of them (the rest on its next pages).
    assert len(sections) == 7 and all(min(s["said"], 20) == s["rows"] for s in sections), sections
    assert all(s["open"] == (s["said"] <= 8) for s in sections), sections
    assert any(not s["open"] for s in sections) and any(s["open"] and s["rows"] for s in sections), sections
    folded_height = page.evaluate("document.documentElement.scrollHeight")
    # The list of sections at the top jumps to a folded one and the count there is the same.
    folded = next(s for s in sections if not s["open"])
    link = page.locator(f".section-nav a[href='#{folded['id']}']")
    assert link.locator(".count").inner_text() == f"{folded['said']}件"
    page.locator(f"#{folded['id']} > summary").click()
    assert page.locator(f"#{folded['id']} table").is_visible()
    assert folded_height < 6_000
