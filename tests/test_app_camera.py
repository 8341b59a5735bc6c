"""The pro camera (issue 19) in a real headless Chromium with a fake camera: controls that
follow the track's capabilities, applyConstraints values, street mode, takePhoto at full
resolution, zebras and peaking, lens characters, HDR, keyboard shortcuts, screenshots.

The fake camera from a file reports no controls; Chromium's built-in fake camera reports
manual exposure time and focus distance. A page script stubs the track's capabilities (and
ImageCapture) where a test needs what no fake device offers.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import maximum_filter
from test_app_browser import DESKTOP, PHONE, hook, shot, wait_hook, wait_images
from test_app_support import CHROMIUM, camera_frames, running_server, write_y4m

from redframe.app import create_app
from redframe.app.integrations import available_characters
from redframe.io.decode import read_metadata

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs /usr/bin/chromium (Debian package chromium)")

#: every capability a phone camera may report (Chromium on Android's names and units)
CAPS = {
    "zoom": {"min": 0.5, "max": 8, "step": 0.1},
    "exposureCompensation": {"min": -3, "max": 3, "step": 1 / 3},
    "exposureMode": ["manual", "continuous"],
    "exposureTime": {"min": 1, "max": 10000, "step": 1},  # 100 us units
    "iso": {"min": 50, "max": 3200, "step": 1},
    "whiteBalanceMode": ["manual", "continuous"],
    "colorTemperature": {"min": 2500, "max": 7500, "step": 50},
    "focusMode": ["manual", "single-shot", "continuous"],
    "focusDistance": {"min": 0.1, "max": 10, "step": 0.01},  # metres
    "torch": True,
}

STUB = """
(() => {
  const caps = %s;
  window.__applied = [];
  const settings = { exposureCompensation: 0, exposureMode: "continuous", exposureTime: 120,
    iso: 100, whiteBalanceMode: "continuous", colorTemperature: 5000,
    focusMode: "continuous", focusDistance: 1.5, zoom: 1, torch: false };
  const P = MediaStreamTrack.prototype;
  const getCaps = P.getCapabilities, getSettings = P.getSettings;
  P.getCapabilities = function () { return { ...getCaps.call(this), ...caps }; };
  P.getSettings = function () { return { ...getSettings.call(this), ...settings }; };
  P.applyConstraints = async function (c) {
    window.__applied.push(JSON.parse(JSON.stringify(c)));
    for (const part of (c && c.advanced) || []) Object.assign(settings, part);
  };
  const supported = navigator.mediaDevices.getSupportedConstraints.bind(navigator.mediaDevices);
  navigator.mediaDevices.getSupportedConstraints =
    () => ({ ...supported(), pointsOfInterest: true });
})();
"""

PHOTO_STUB = """
(() => {
  // takePhoto as a phone's: a 4032x3024 JPEG, larger than any video frame
  ImageCapture.prototype.getPhotoCapabilities = async function () {
    return { imageWidth: { min: 640, max: 4032, step: 16 },
             imageHeight: { min: 480, max: 3024, step: 16 } };
  };
  ImageCapture.prototype.takePhoto = async function (opts) {
    window.__photoOptions = opts || null;
    const c = new OffscreenCanvas(4032, 3024);
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, 4032, 3024);
    grad.addColorStop(0, "#203060"); grad.addColorStop(1, "#f0a060");
    g.fillStyle = grad; g.fillRect(0, 0, 4032, 3024);
    g.fillStyle = "#fff"; g.fillRect(1800, 1300, 400, 400);
    return c.convertToBlob({ type: "image/jpeg", quality: 0.9 });
  };
})();
"""

NO_IMAGE_CAPTURE = "delete window.ImageCapture;"


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_y4m(tmp_path_factory.mktemp("camera") / "landscape.y4m", camera_frames(960, 720))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("data"))
    with running_server(app) as base:
        yield base, app.state.store


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _launch(playwright, video: Path | None):
    args = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            "--disable-background-networking", "--disable-component-update", "--no-first-run"]
    if video is not None:
        args.append(f"--use-file-for-fake-video-capture={video}")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


@pytest.fixture(scope="module")
def browser(playwright, video):
    b = _launch(playwright, video)
    yield b
    b.close()


def open_camera(browser, base: str, viewport=DESKTOP, path: str = "/", scripts=(), **extra):
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/Paris",
                                  **extra)
    for s in scripts:
        context.add_init_script(s)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}{path}")
    wait_hook(page, lambda h: h.get("ready"), "the camera to be ready", 60)
    assert hook(page, "camera") == "on", hook(page)
    return context, page, errors


def set_range(page, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }", value)


def applied(page) -> list[dict]:
    """Every applyConstraints call the stub saw, as its advanced constraint sets."""
    return [part for c in page.evaluate("() => window.__applied") for part in c["advanced"]]


def wait_applied(page, test, what: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        for part in reversed(applied(page)):
            if test(part):
                return part
        assert time.monotonic() < deadline, f"no applyConstraints with {what}: {applied(page)}"
        time.sleep(0.05)


def screenshot_array(page, selector: str = "#preview") -> np.ndarray:
    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


# --- controls follow the capabilities ----------------------------------------------------------

def test_controls_are_shown_only_for_what_the_fake_cameras_report(playwright, browser, server):
    base, _ = server
    # the file camera reports nothing adjustable: no pro control, a sentence instead
    context, page, errors = open_camera(browser, base)
    try:
        caps = page.evaluate("() => Object.keys(document.querySelector('#video').srcObject"
                             ".getVideoTracks()[0].getCapabilities())")
        assert not {"zoom", "exposureTime", "focusDistance", "iso", "torch"} & set(caps)
        assert hook(page, "controls") == []
        page.keyboard.press("p")
        assert page.locator("#pro-panel").is_visible()
        assert page.locator("#pro-controls [data-control]").count() == 0
        assert page.locator("#pro-empty").is_visible()
        # no track zoom: the stops frame by a crop, from 35 mm (the 23 mm stop needs a wider lens)
        assert hook(page, "zoomStops") == [35, 50, 75, 90]
        assert not errors, errors
    finally:
        context.close()
    # Chromium's own fake camera: manual exposure time and focus distance, nothing else
    own = _launch(playwright, None)
    try:
        context, page, errors = open_camera(own, base)
        caps = page.evaluate("() => document.querySelector('#video').srcObject"
                             ".getVideoTracks()[0].getCapabilities()")
        controls = set(hook(page, "controls"))
        expect = set()
        if "manual" in caps.get("exposureMode", []) and "exposureTime" in caps:
            expect.add("shutter")
        if "manual" in caps.get("focusMode", []) and "focusDistance" in caps:
            expect.add("focus")
        assert expect, caps  # this Chromium's fake camera reports them
        assert controls - {"point", "lock"} == expect, (controls, caps)
        page.click("#btn-pro")
        shown = {el.get_attribute("data-control")
                 for el in page.locator("#pro-controls [data-control]").all()}
        assert shown == expect
        # the fake camera takes manual focus: the slider applies it and turns peaking on
        lo, hi = caps["focusDistance"]["min"], caps["focusDistance"]["max"]
        set_range(page, "#ctl-focus", lo + (hi - lo) / 2)
        deadline = time.monotonic() + 5
        while page.evaluate("() => document.querySelector('#video').srcObject"
                            ".getVideoTracks()[0].getSettings().focusMode") != "manual":
            assert time.monotonic() < deadline, "manual focus not applied"
            time.sleep(0.05)
        assert hook(page, "overlays")["peaking"] is True
        assert not errors, errors
        context.close()
    finally:
        own.close()


def test_stubbed_capabilities_show_each_control_and_apply_the_right_values(browser, server):
    base, _ = server
    context, page, errors = open_camera(browser, base, scripts=[STUB % json.dumps(CAPS)])
    try:
        assert set(hook(page, "controls")) == {"ev", "shutter", "iso", "wb", "focus", "torch",
                                               "point", "lock", "zoom"}
        page.click("#btn-pro")
        for name in ("ev", "shutter", "iso", "wb", "focus", "torch"):
            assert page.locator(f'#pro-controls [data-control="{name}"]').is_visible(), name
        set_range(page, "#ctl-ev", -1)
        wait_applied(page, lambda c: c.get("exposureCompensation") == -1, "EV -1")
        set_range(page, "#ctl-shutter", 40)  # 4 ms
        wait_applied(page, lambda c: c.get("exposureMode") == "manual"
                     and c.get("exposureTime") == 40, "exposure time 40")
        assert page.locator('[data-control="shutter"] output').inner_text() == "1/250"
        set_range(page, "#ctl-iso", 800)
        wait_applied(page, lambda c: c.get("iso") == 800 and c.get("exposureMode") == "manual",
                     "ISO 800")
        set_range(page, "#ctl-wb", 3200)
        wait_applied(page, lambda c: c.get("whiteBalanceMode") == "manual"
                     and c.get("colorTemperature") == 3200, "3200 K")
        set_range(page, "#ctl-focus", 0.5)
        wait_applied(page, lambda c: c.get("focusMode") == "manual"
                     and c.get("focusDistance") == 0.5, "focus 0.5 m")
        page.click('[data-control="wb"] .auto')
        wait_applied(page, lambda c: c.get("whiteBalanceMode") == "continuous", "auto WB")
        page.click("#ctl-torch")
        wait_applied(page, lambda c: c.get("torch") is True, "torch on")
        time.sleep(0.3)
        shot(page, "desktop-pro")
        page.keyboard.press("Escape")  # closes the pro panel
        assert page.locator("#pro-panel").is_hidden()

        # zoom stops from the track's zoom (0.5x-8x of a 26 mm field of view), 23-90 mm
        assert hook(page, "zoomStops") == [23, 35, 50, 75, 90]
        page.click('#zoom-stops button[data-focal="50"]')
        part = wait_applied(page, lambda c: "zoom" in c and c["zoom"] > 1.5, "zoom for 50 mm")
        assert part["zoom"] == pytest.approx(1.9, abs=1e-6)  # 50/26 = 1.92 on the 0.1 steps
        h = hook(page)
        assert h["focal"] == 50 and h["digitalZoom"] == pytest.approx(1.923 / 1.9, abs=0.002)
        page.keyboard.press("1")  # the first stop: 23 mm, the ultra-wide end of the zoom
        wait_applied(page, lambda c: c.get("zoom") == pytest.approx(0.9, abs=1e-6), "zoom 0.9")
        assert hook(page, "focal") == 23

        # tap: the exposure/focus point, in the frame's coordinates
        box = page.locator("#preview").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        part = wait_applied(page, lambda c: "pointsOfInterest" in c, "a point of interest")
        (pt,) = part["pointsOfInterest"]
        assert pt["x"] == pytest.approx(0.25, abs=0.01) and pt["y"] == pytest.approx(0.75, abs=0.01)
        assert part["focusMode"] == "single-shot"

        # AE/AF lock: L, the settings kept; long press unlocks
        page.keyboard.press("l")
        part = wait_applied(page, lambda c: c.get("focusMode") == "manual" and "exposureTime" in c,
                            "the lock")
        assert part["exposureMode"] == "manual" and part["focusDistance"] == 0.5
        wait_hook(page, lambda h: h["locked"] is True, "locked")
        assert page.locator("#lock-badge").is_visible()
        # the track's settings go with the capture (into EXIF)
        page.keyboard.press("Space")
        h = wait_hook(page, lambda h: h["developed"] >= 1, "the capture", 90)
        rec = server[1].get(h["lastCapture"]["id"])
        assert rec.capture["focus_distance"] == 0.5 and rec.capture["iso"] == 800
        assert rec.capture["exposure_compensation"] == -1
        meta = read_metadata(str(server[1].render_path(rec.id)))
        assert meta.exif.get("Exif.Photo.SubjectDistance") == "500/1000"
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        time.sleep(0.9)
        page.mouse.up()
        wait_hook(page, lambda h: h["locked"] is False, "unlocked by a long press")
        assert applied(page)[-1] == {"exposureMode": "continuous", "focusMode": "continuous"}

        assert not errors, errors
    finally:
        context.close()


# --- street mode --------------------------------------------------------------------------------

def test_street_mode_opens_at_35mm_with_zone_focus_and_fires_on_release(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base, path="/street",
                                        scripts=[STUB % json.dumps(CAPS)])
    try:
        h = hook(page)
        assert h["mode"] == "street" and h["focal"] == 35
        assert page.locator("#street-hud").is_visible()
        # zone focus: hyperfocal at f/8 equivalent, 0.03 mm: 35^2 / 0.24 = 5.1 m
        part = wait_applied(page, lambda c: c.get("focusMode") == "manual", "zone focus")
        assert part["focusDistance"] == pytest.approx(35 * 35 / 0.24 / 1000, abs=0.01)
        assert "2.6 m" in page.locator("#street-zone").inner_text()
        time.sleep(0.3)
        shot(page, "desktop-street")
        page.click('#street-focal button[data-focal="50"]')
        wait_hook(page, lambda h: h["focal"] == 50, "50 mm")
        wait_applied(page, lambda c: c.get("focusDistance") == pytest.approx(10.0, abs=0.01),
                     "the 50 mm zone (10.4 m, the stub's far end)")
        page.click('#street-focal button[data-focal="35"]')
        wait_hook(page, lambda h: h["focal"] == 35, "35 mm again")
        # the shutter fires on key up: nothing on the press
        page.click("#street-silent")
        before = hook(page)
        page.keyboard.down("Space")
        time.sleep(0.4)
        assert hook(page, "captures") == before["captures"]
        page.keyboard.up("Space")
        h = wait_hook(page, lambda h: h["captures"] > before["captures"], "the release", 5)
        assert h["soundPlayed"] == before["soundPlayed"]  # silent
        h = wait_hook(page, lambda h: h["developed"] > before["developed"], "developing", 90)
        cap = h["lastCapture"]
        assert cap["mode"] == "street" and cap["state"] == "done"
        meta = read_metadata(str(store.render_path(cap["id"])))
        assert meta.focal_length_35mm == 35
        # S leaves street mode (autofocus again), S opens it
        page.keyboard.press("s")
        wait_hook(page, lambda h: h["mode"] == "photo", "photo mode")
        wait_applied(page, lambda c: c == {"focusMode": "continuous"}, "autofocus")
        page.keyboard.press("s")
        wait_hook(page, lambda h: h["mode"] == "street" and h["focal"] == 35, "street again")
        assert not errors, errors
    finally:
        context.close()


def test_street_mode_without_zoom_or_focus_crops_to_35mm(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base, viewport=PHONE, path="/?mode=street",
                                        device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        h = hook(page)
        assert h["mode"] == "street" and h["focal"] == 35
        assert h["digitalZoom"] == pytest.approx(35 / 26, abs=0.002)
        assert "autofocus" in page.locator("#street-zone").inner_text()
        time.sleep(0.3)
        shot(page, "phone-street")
        page.tap("#shutter")
        h = wait_hook(page, lambda h: h["developed"] >= 1, "the street capture", 90)
        cap = h["lastCapture"]
        with Image.open(store.original_path(store.get(cap["id"]))) as im:
            assert abs(im.width - 960 / (35 / 26)) <= 1 and abs(im.height - 720 / (35 / 26)) <= 1
        assert not errors, errors
    finally:
        context.close()


# --- full resolution ----------------------------------------------------------------------------

def test_take_photo_at_full_resolution_is_stored_as_is(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base, scripts=[PHOTO_STUB])
    try:
        page.keyboard.press("Space")
        h = wait_hook(page, lambda h: h["uploaded"] >= 1, "the upload", 30)
        assert h["source"] == "photo" and h["photoSize"] == [4032, 3024]
        assert page.evaluate("() => window.__photoOptions") == {"imageWidth": 4032,
                                                                "imageHeight": 3024}
        cap = h["lastCapture"]
        rec = store.get(cap["id"])
        with Image.open(store.original_path(rec)) as im:
            assert im.size == (4032, 3024)
        assert rec.capture["source"] == "photo"
        assert rec.capture["width"] == 4032 and rec.capture["height"] == 3024
        assert page.locator("#capture-note").is_hidden()
        h = wait_hook(page, lambda h: h["developed"] >= 1, "the 12 MP develop", 180)
        assert h["lastCapture"]["state"] == "done" and h["lastCapture"]["width"] == 4032
        assert not errors, errors
    finally:
        context.close()


def test_without_image_capture_the_video_frame_is_used_with_a_note(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base, scripts=[NO_IMAGE_CAPTURE])
    try:
        assert hook(page, "canTakePhoto") is False
        page.keyboard.press("Space")
        page.wait_for_selector("#capture-note:not([hidden])", timeout=5000)
        h = wait_hook(page, lambda h: h["uploaded"] >= 1, "the upload", 30)
        assert h["source"] == "video"
        rec = store.get(h["lastCapture"]["id"])
        assert rec.capture["source"] == "video" and (rec.width, rec.height) == (960, 720)
        assert not errors, errors
    finally:
        context.close()


# --- overlays -----------------------------------------------------------------------------------

def test_zebras_and_peaking_draw_on_the_preview(browser, server):
    base, _ = server
    context, page, errors = open_camera(browser, base)
    try:
        def counts():
            time.sleep(0.5)  # a few frames drawn with the new uniforms
            px = screenshot_array(page)
            red = (px[..., 0] > 200) & (px[..., 1] < 90) & (px[..., 2] < 90)
            black = px.max(axis=2) < 20
            return red.mean(), black.mean(), px

        red0, black0, px0 = counts()
        page.keyboard.press("z")
        set_range(page, "#zebra-level", 75)
        red1, black1, px1 = counts()
        from test_app_support import ARTIFACTS

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        Image.fromarray(px1.astype(np.uint8)).save(ARTIFACTS / "zebra-preview.png")
        luma = px0 @ np.array([0.2126, 0.7152, 0.0722])  # the shader's, on the looked frame
        bright = luma > 0.75 * 255 + 10  # what passes 75 % (around the sun), with a margin
        dim = luma < 0.75 * 255 - 10
        assert bright.mean() > 0.002, bright.mean()
        # stripes: a good part of the bright area darkened (6 px stripes, 6 px apart, scaled
        # to the screenshot and blurred at their edges), nothing outside it
        dark0, dark1 = px0.max(axis=2) < 60, px1.max(axis=2) < 60
        assert dark0[bright].mean() < 0.01
        assert 0.15 < dark1[bright].mean() < 0.7, dark1[bright].mean()
        assert dark1[dim].mean() <= dark0[dim].mean() + 0.01
        page.keyboard.press("z")
        page.keyboard.press("x")
        red2, _, px2 = counts()
        assert red0 < 0.002 and red2 > 0.003, (red0, red2)
        # peaking marks edges: the red pixels sit where the frame has contrast (within a
        # few pixels: the fake camera's frame moves between the two screenshots)
        grey = px0.mean(axis=2)
        grad = np.hypot(*np.gradient(grey))
        near = maximum_filter(grad, size=9)
        red_mask = (px2[..., 0] > 200) & (px2[..., 1] < 90) & (px2[..., 2] < 90)
        assert near[red_mask].mean() > 3 * near.mean(), (near[red_mask].mean(), near.mean())
        page.keyboard.press("z")  # both on for the screenshot
        set_range(page, "#zebra-level", 85)
        page.click("#btn-pro")
        time.sleep(0.4)
        shot(page, "desktop-zebra-peaking")
        Image.fromarray(px2.astype(np.uint8)).save(ARTIFACTS / "peaking-preview.png")
        assert not errors, errors
    finally:
        context.close()


# --- lens characters ----------------------------------------------------------------------------

@pytest.mark.skipif(not available_characters(), reason="the lens character engine is missing")
def test_a_capture_in_each_lens_character_arrives_rendered(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base)
    try:
        chars = {c["name"]: c for c in hook(page)["character"] is None and
                 page.evaluate("() => fetch('/api/config').then(r => r.json())")["characters"]}
        assert chars and set(chars) == {c["name"] for c in available_characters()}
        means = {}
        for name, char in chars.items():
            before = hook(page, "developed")
            page.click("#btn-lens")
            page.wait_for_selector("#lens-sheet:not([hidden])")
            if name == next(iter(chars)):
                time.sleep(0.3)
                shot(page, "desktop-lens")
            page.click(f'.lens-item[data-character="{name}"]')
            h = wait_hook(page, lambda h, n=name: h["character"] == n, name)
            # the preview frames at the character's focal length (the server crops the same)
            assert h["focal"] == pytest.approx(char["focal_mm"], abs=0.1)
            time.sleep(0.5)
            means[name] = hook(page, "mean")
            page.keyboard.press("Space")
            h = wait_hook(page, lambda h, b=before: h["developed"] > b, f"{name} developed", 120)
            cap = h["lastCapture"]
            assert cap["state"] == "done" and cap["character"] == name, cap
            crop = char["focal_mm"] / 26
            assert abs(cap["width"] - 960 / crop) <= 2, (name, cap["width"])
            meta = read_metadata(str(store.render_path(cap["id"])))
            assert meta.focal_length_35mm == pytest.approx(char["focal_mm"], abs=0.5)
            if char.get("mono"):
                with Image.open(store.render_path(cap["id"])) as im:
                    a = np.asarray(im.convert("RGB")).astype(int)
                assert np.abs(a[..., 0] - a[..., 2]).mean() < 2
                assert max(means[name]) - min(means[name]) < 3  # the preview is grey too
        page.click("#btn-gallery")
        for name in chars:
            tile = page.locator(f'.tile[data-character="{name}"][data-state="done"]').first
            tile.wait_for()
        wait_images(page, ".tile img")
        time.sleep(0.3)
        shot(page, "desktop-gallery-lenses", docs=False)
        assert not errors, errors
    finally:
        context.close()


# --- HDR ----------------------------------------------------------------------------------------

def test_hdr_capture_is_an_ultra_hdr_picture_in_the_gallery(browser, server):
    from redframe.io.ultrahdr import read_ultrahdr

    base, store = server
    context, page, errors = open_camera(browser, base, viewport=PHONE, device_scale_factor=2,
                                        is_mobile=True, has_touch=True)
    try:
        page.tap("#btn-hdr")
        assert hook(page, "hdr") is True
        before = hook(page, "developed")
        page.tap("#shutter")
        wait_hook(page, lambda h: (h.get("nightProgress") or 0) >= 2, "the HDR burst", 10)
        h = wait_hook(page, lambda h: h["developed"] > before, "the HDR picture", 180)
        cap = h["lastCapture"]
        assert cap["state"] == "done" and cap["hdr"] is True and cap["kind"] == "burst", cap
        assert cap["frames"] == page.evaluate("() => fetch('/api/config').then(r => r.json())"
                                              )["hdr"]["frames"]
        read_ultrahdr(store.render_path(cap["id"]).read_bytes())  # a gain map, MPF
        page.tap("#btn-gallery")
        tile = page.locator(f'.tile[data-id="{cap["id"]}"]')
        tile.wait_for()
        assert tile.get_attribute("data-hdr") == "1"
        assert "HDR" in tile.inner_text()
        tile.tap()
        page.wait_for_selector("#viewer:not([hidden])")
        wait_images(page, "#viewer-img")
        src = page.get_attribute("#viewer-img", "src")
        assert "/image" in src  # the Ultra HDR JPEG itself, not an SDR copy
        assert page.evaluate("s => fetch(s).then(r => r.arrayBuffer()).then(b => b.byteLength)",
                             src) == store.render_path(cap["id"]).stat().st_size
        assert "HDR" in page.locator("#viewer-meta").inner_text()
        time.sleep(0.3)
        shot(page, "phone-hdr-viewer")
        page.tap("#viewer-close")
        page.tap("#gallery-close")
        page.tap("#btn-hdr")
        assert not errors, errors
    finally:
        context.close()


# --- keyboard -----------------------------------------------------------------------------------

def test_keyboard_shortcuts(browser, server):
    base, _ = server
    context, page, errors = open_camera(browser, base)
    try:
        def pressed(sel):
            return page.get_attribute(sel, "aria-pressed") == "true"

        for key, sel in (("g", "#btn-grid"), ("h", "#btn-hist"), ("r", "#btn-hdr"),
                         ("p", "#btn-pro"), ("z", "#ctl-zebra"), ("x", "#ctl-peaking")):
            was = pressed(sel)
            page.keyboard.press(key)
            assert pressed(sel) != was, key
            page.keyboard.press(key)
            assert pressed(sel) == was, key
        look = hook(page, "look")
        page.keyboard.press("k")
        assert hook(page, "look") != look
        page.keyboard.press("2")  # the second zoom stop: 50 mm (no 23 mm on this camera)
        wait_hook(page, lambda h: h["focal"] == 50, "50 mm")
        page.keyboard.press("-")
        wait_hook(page, lambda h: h["focal"] == pytest.approx(40, abs=0.1), "40 mm")
        page.keyboard.press("m")
        assert hook(page, "mode") == "night"
        assert page.locator("#btn-hdr").is_disabled()  # night has its own merge
        page.keyboard.press("ArrowRight")
        assert hook(page, "mode") == "street"
        page.keyboard.press("s")
        assert hook(page, "mode") == "photo"
        page.keyboard.press("l")  # no lock on this camera: said so
        assert "cannot lock" in page.locator("#toast").inner_text()
        page.keyboard.press("t")
        assert page.locator("#timer-label").inner_text() == "3"
        page.keyboard.press("t")
        page.keyboard.press("t")
        page.keyboard.press("f")
        assert page.locator("#frame-sheet").is_visible()
        page.keyboard.press("Escape")
        assert page.locator("#frame-sheet").is_hidden()
        assert not errors, errors
    finally:
        context.close()


def test_an_hdr_burst_is_shot_one_stop_under_where_the_camera_allows(browser, server):
    base, store = server
    context, page, errors = open_camera(browser, base, scripts=[STUB % json.dumps(CAPS)])
    try:
        page.keyboard.press("r")
        before = hook(page, "uploaded")
        page.keyboard.press("Space")
        h = wait_hook(page, lambda h: h["uploaded"] > before, "the HDR upload", 30)
        calls = [c for c in applied(page) if "exposureCompensation" in c]
        assert calls[-2:] == [{"exposureCompensation": -1}, {"exposureCompensation": 0}]
        rec = store.get(h["lastCapture"]["id"])
        n = rec.frames
        assert rec.options == {"hdr": True} and rec.capture["ev_bracket"] == [-1] * n
        h = wait_hook(page, lambda h: h["developed"] >= 1, "the HDR develop", 180)
        assert h["lastCapture"]["hdr"] is True and h["lastCapture"]["state"] == "done"
        assert not errors, errors
    finally:
        context.close()
