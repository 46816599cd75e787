"""In a real browser on a tablet-sized screen: the study list, the viewer showing the image Orthanc renders (the
screenshot of the image element compared with Orthanc's own rendering, pixel tolerance), a swipe to the next
image, the CT lung window, and a key image kept with its caption."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import expect
from sqlalchemy import select

from app.imaging.models import KeyImage
from app.imaging.synthetic import SeriesSpec
from app.integrations.pacs.client import DicomWebClient
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_and_pwa import _login
from tests.factories import make_clinic, make_patient, make_user
from tests.imaging.pacs_data import new_patient_id, upload_study

pytestmark = pytest.mark.e2e
#: Mean absolute difference (0–255 grey levels) allowed between the screen and Orthanc's rendering: scaling
#: by the browser moves edges by a pixel; a wrong image or window differs by far more (checked below).
TOLERANCE = 6.0


@pytest.fixture
def imaging_ward(live_app, orthanc_server):
    pid = new_patient_id()
    study_uid, _ = upload_study(orthanc_server, pid, study_date=date(2026, 11, 2), description="胸部CT 単純",
                                series=[SeriesSpec("CT", "肺野 5mm", images=3, size=64)])
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        clinic = make_clinic(session, name="画像内科")
        clinic.integrations = {"pacs": {"base_url": orthanc_server.dicomweb_url, "username": orthanc_server.username,
                                        "password": orthanc_server.password, "id_source": "orca"}}
        doctor = make_user(session, clinic, role="doctor", display_name="医師 一")
        patient = make_patient(session, clinic, name="山田　太郎", kana="ヤマダ　タロウ", orca_patient_id=pid)
        session.commit()
        data = {"doctor": (doctor.login_id, doctor.totp_secret), "patient_id": patient.id, "study_uid": study_uid}
        session.close()
    pacs = DicomWebClient(orthanc_server.dicomweb_url, orthanc_server.username, orthanc_server.password)
    data["images"] = pacs.instances(study_uid)
    data["pacs"] = pacs
    return data


def _difference(screen_png: bytes, expected_png: bytes) -> float:
    """Mean absolute grey-level difference after scaling Orthanc's image to the element's size."""
    shown = Image.open(io.BytesIO(screen_png)).convert("L")
    expected = Image.open(io.BytesIO(expected_png)).convert("L").resize(shown.size, Image.Resampling.NEAREST)
    return ImageStat.Stat(ImageChops.difference(shown, expected)).mean[0]


def _wait_loaded(page) -> None:
    page.wait_for_function("() => { const i = document.querySelector('[data-image]');"
                           " return i && i.complete && i.naturalWidth > 0; }")


def test_viewer_shows_what_orthanc_renders_swipes_windows_and_keeps_a_key_image(page, live_server, live_app,
                                                                                imaging_ward):
    page.set_viewport_size({"width": 1024, "height": 768})
    _login(page, live_server.url, *imaging_ward["doctor"])
    page.goto(f"{live_server.url}/patients/{imaging_ward['patient_id']}/images")
    expect(page.locator(".study-description")).to_have_text("胸部CT 単純")
    page.wait_for_function("() => [...document.querySelectorAll('.study-thumb')].every(i => i.naturalWidth > 0)")
    screenshot(page, "imaging-list-tablet")
    page.locator(".study-link").first.click()
    page.wait_for_url(f"**/images/{imaging_ward['study_uid']}")
    _wait_loaded(page)
    screenshot(page, "imaging-viewer-tablet")
    pacs, study, images = imaging_ward["pacs"], imaging_ward["study_uid"], imaging_ward["images"]
    first, second = images[0], images[1]
    expected_first, _ = pacs.rendered(study, first.series_uid, first.instance_uid)
    expected_second, _ = pacs.rendered(study, second.series_uid, second.instance_uid)
    shown = page.locator("[data-image]").screenshot()
    assert _difference(shown, expected_first) <= TOLERANCE
    assert _difference(shown, expected_second) > TOLERANCE  # the comparison can tell images apart

    # A swipe to the left shows the next image.
    box = page.locator("[data-viewport]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.7, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    expect(page.locator("[data-position]")).to_have_text("2 / 3")
    _wait_loaded(page)
    page.wait_for_function(f"() => document.querySelector('[data-image]').src.includes('{second.instance_uid}')")
    _wait_loaded(page)
    assert _difference(page.locator("[data-image]").screenshot(), expected_second) <= TOLERANCE

    # The lung window preset: the server renders with window=-600,1500.
    page.get_by_role("button", name="肺野", exact=True).click()
    page.wait_for_function("() => document.querySelector('[data-image]').src.includes('wc=-600')")
    _wait_loaded(page)
    expect(page.locator("[data-window-readout]")).to_have_text("WL -600 / WW 1500")
    expected_lung, _ = pacs.rendered(study, second.series_uid, second.instance_uid, window=(-600, 1500))
    assert expected_lung != expected_second
    assert _difference(page.locator("[data-image]").screenshot(), expected_lung) <= TOLERANCE

    # Pinch: two touch pointers moving apart zoom the image in; 拡大解除 puts it back.
    page.evaluate("""() => {
        const v = document.querySelector('[data-viewport]');
        const r = v.getBoundingClientRect();
        const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
        const fire = (type, id, x) => v.dispatchEvent(new PointerEvent(type, {pointerId: id, pointerType: 'touch',
            clientX: x, clientY: cy, bubbles: true, isPrimary: id === 11}));
        fire('pointerdown', 11, cx - 40); fire('pointerdown', 12, cx + 40);
        for (let d = 50; d <= 120; d += 10) { fire('pointermove', 11, cx - d); fire('pointermove', 12, cx + d); }
        fire('pointerup', 11, cx - 120); fire('pointerup', 12, cx + 120);
    }""")
    transform = page.locator("[data-image]").evaluate("i => i.style.transform")
    assert "scale(3)" in transform, transform
    expect(page.locator("[data-position]")).to_have_text("2 / 3")  # a pinch is not a swipe
    page.get_by_role("button", name="拡大解除").click()
    assert "scale(1)" in page.locator("[data-image]").evaluate("i => i.style.transform")

    # Free window/level: in WL/WW mode a drag down and to the right changes both, and the server renders it.
    page.get_by_role("button", name="WL/WW ドラッグ").click()
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5 + 40, y + 30, steps=4)
    page.mouse.up()
    page.wait_for_function("() => !document.querySelector('[data-image]').src.includes('wc=-600')")
    readout = page.locator("[data-window-readout]").inner_text()
    assert readout != "WL -600 / WW 1500" and readout.startswith("WL ")
    _wait_loaded(page)
    page.get_by_role("button", name="肺野", exact=True).click()  # back to the lung window for the key image
    page.wait_for_function("() => document.querySelector('[data-image]').src.includes('wc=-600')")
    _wait_loaded(page)

    # Touch targets of the viewer are at least 44 px.
    for button in page.locator(".viewer-bar .button").all():
        size = button.bounding_box()
        assert size["height"] >= 44 and size["width"] >= 44

    # Keep the image on screen as a key image.
    page.fill("#caption", "右肺下葉に小結節")
    page.get_by_role("button", name="キー画像にする").click()
    page.wait_for_url("**/images#key-images")
    expect(page.locator(".key-caption")).to_have_text("右肺下葉に小結節")
    screenshot(page, "imaging-key-image-tablet")
    with live_app.app_context():
        session = live_app.extensions["db_sessionmaker"]()
        item = session.scalars(select(KeyImage)).one()
        assert (item.instance_uid, item.window_center, item.window_width) == (second.instance_uid, -600, 1500)
        assert item.image_bytes == expected_lung
        session.close()
