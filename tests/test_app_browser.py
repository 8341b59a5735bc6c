"""The camera in a real headless Chromium with a fake camera (a generated Y4M video).

Skipped only where the Debian ``chromium`` package is not installed (/usr/bin/chromium);
CI installs it. Screenshots go to tests/artifacts/app/ and, with REDFRAME_UPDATE_DOCS=1,
as JPEG to docs/img/app/.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_app_support import (
    ARTIFACTS,
    CHROMIUM,
    DOCS_IMG,
    camera_frames,
    running_server,
    write_y4m,
)

from redframe.app import create_app
from redframe.app.integrations import available_looks

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs /usr/bin/chromium (Debian package chromium)")

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("camera")
    return {"landscape": write_y4m(folder / "landscape.y4m", camera_frames(960, 720)),
            "portrait": write_y4m(folder / "portrait.y4m", camera_frames(720, 960, seed=1))}


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


def _launch(playwright, video: Path):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
              "--disable-background-networking", "--disable-component-update",
              "--no-first-run"])


@pytest.fixture(scope="module")
def desktop(playwright, videos):
    browser = _launch(playwright, videos["landscape"])
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def phone(playwright, videos):
    browser = _launch(playwright, videos["portrait"])
    yield browser
    browser.close()


def hook(page, key: str | None = None):
    value = page.evaluate("() => window.__redframe")  # CDP evaluate: allowed by our CSP
    return value if key is None else value.get(key)


def wait_hook(page, test, what: str, timeout: float = 30.0):
    """Poll the page's window.__redframe until ``test(hook)`` is true."""
    deadline = time.monotonic() + timeout
    while True:
        h = page.evaluate("() => window.__redframe || {}")
        if h and test(h):
            return h
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {h}")
        time.sleep(0.05)


def wait_images(page, selector: str, timeout: float = 15.0) -> None:
    """Wait until every image matching ``selector`` has loaded."""
    deadline = time.monotonic() + timeout
    script = ("s => [...document.querySelectorAll(s)]"
              ".every(i => i.complete && i.naturalWidth > 0)")
    while not page.evaluate(script, selector):
        assert time.monotonic() < deadline, f"images {selector} did not load"
        time.sleep(0.05)


def shot(page, name: str, docs: bool = True) -> Path:
    """Save a screenshot as a test artifact; with REDFRAME_UPDATE_DOCS=1 also (JPEG,
    smaller) into docs/img/app/ - a test run never rewrites tracked files by itself."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("REDFRAME_UPDATE_DOCS") == "1":
        from PIL import Image

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as im:
            im.convert("RGB").save(DOCS_IMG / f"{name}.jpg", quality=86, optimize=True)
    return path


def open_camera(browser, base: str, viewport: dict, **extra):
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/Paris",
                                  **extra)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/")
    wait_hook(page, lambda h: h.get("ready"), "the camera to be ready")
    h = hook(page)
    assert h["camera"] == "on", h
    assert h["gl"] in ("webgl2", "webgl1"), h
    assert h["sounds"] > 0, h
    return context, page, errors


def test_desktop_viewfinder_look_frame_shutter_gallery(desktop, server):
    base, store = server
    context, page, errors = open_camera(desktop, base, DESKTOP)
    try:
        # the viewfinder is live: frames are drawn through the look's LUT
        first = hook(page, "framesDrawn")
        wait_hook(page, lambda h: h["framesDrawn"] > first + 3, "live frames")
        box = page.locator("#preview").bounding_box()
        assert box["width"] > 800 and abs(box["width"] / box["height"] - 4 / 3) < 0.02
        colour = [lk for lk in available_looks() if not lk.mono]
        mono = [lk for lk in available_looks() if lk.mono]

        # switch look: the chip, the LUT, and the picture on screen change
        wait_hook(page, lambda h: h["mean"] is not None, "a histogram sample")
        target = colour[-1].name
        page.click(f'#looks button[data-look="{target}"]')
        wait_hook(page, lambda h: h["lutLoaded"] == target, f"the {target} LUT")
        assert page.get_attribute(f'#looks button[data-look="{target}"]', "aria-checked") == "true"

        # monochrome mode: the preview turns grey
        page.click('#modes button[data-mode="mono"]')
        wait_hook(page, lambda h: h["lutLoaded"] in {m.name for m in mono}, "a mono LUT")
        h = wait_hook(page, lambda h: max(h["mean"]) - min(h["mean"]) < 2.5, "a grey preview")
        assert h["mode"] == "mono"
        shot(page, "desktop-monochrome")
        page.click('#modes button[data-mode="photo"]')
        wait_hook(page, lambda h: h["lutLoaded"] == target, "the colour LUT again")

        # frame picker
        page.click("#btn-frame")
        page.wait_for_selector("#frame-sheet:not([hidden])")
        wait_images(page, "#frame-list img")
        shot(page, "desktop-frames")
        page.click('.frame-item[data-frame="classic"]')
        assert hook(page, "frame") == "classic"
        assert page.locator("#frame-sheet").is_hidden()
        page.click("#btn-grid")
        assert page.locator("#grid").is_visible()

        # the shutter (space bar): sound, blackout, upload, develop
        page.keyboard.press("Space")
        h = wait_hook(page, lambda h: h["soundPlayed"] >= 1, "the shutter sound", 5)
        assert h["lastSound"] in ("rangefinder", "leaf")
        h = wait_hook(page, lambda h: h["developed"] >= 1, "the photo to be developed", 60)
        cap = h["lastCapture"]
        assert cap["state"] == "done" and cap["frame"] == "classic" and cap["look"] == target
        assert cap["height"] > cap["width"] * 3 / 4 * 1.05  # the frame's bar under the 4:3 photo
        rec = store.get(cap["id"])
        assert rec.capture["taken"].endswith(("+01:00", "+02:00"))  # local time, with offset
        assert "device" not in rec.capture  # the fake camera's label is a file path: dropped
        assert rec.capture["width"] == 960 and rec.capture["height"] == 720
        assert store.render_path(cap["id"]).is_file()
        wait_images(page, "#last-thumb")
        time.sleep(0.3)
        shot(page, "desktop-viewfinder")

        # the gallery shows it, with its frame; the full view loads the developed picture
        page.click("#btn-gallery")
        tile = page.locator(f'.tile[data-id="{cap["id"]}"]')
        tile.wait_for()
        assert tile.get_attribute("data-frame") == "classic"
        assert tile.get_attribute("data-state") == "done"
        time.sleep(0.4)
        shot(page, "desktop-gallery", docs=False)
        tile.click()
        page.wait_for_selector("#viewer:not([hidden])")
        wait_images(page, "#viewer-img")
        assert "/image" in page.get_attribute("#viewer-img", "src")
        assert page.get_attribute("#viewer-download", "href").endswith("/download")
        shot(page, "desktop-viewer")
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
        assert page.locator("#gallery").is_hidden()
        assert not errors, errors
    finally:
        context.close()


def test_night_capture_stores_a_merged_burst(desktop, server):
    base, store = server
    context, page, errors = open_camera(desktop, base, DESKTOP)
    try:
        before = hook(page, "developed")
        page.click('#modes button[data-mode="night"]')
        assert hook(page, "mode") == "night"
        page.click("#shutter")
        wait_hook(page, lambda h: (h.get("nightProgress") or 0) >= 3, "the burst to progress", 10)
        assert page.locator("#night-hud").is_visible()
        shot(page, "desktop-night")
        h = wait_hook(page, lambda h: h["developed"] > before, "the night photo", 120)
        cap = h["lastCapture"]
        assert cap["kind"] == "burst" and cap["frames"] == 8 and cap["mode"] == "night"
        assert cap["state"] == "done", cap
        assert cap["merged"] is True
        assert len(store.burst_frames(store.get(cap["id"]))) == 8
        assert h["soundPlayed"] >= 2 and h["lastSound"] == "long"
        assert not errors, errors
    finally:
        context.close()


def test_phone_layout_timer_and_delete(phone, server):
    base, store = server
    context, page, errors = open_camera(phone, base, PHONE, device_scale_factor=2,
                                        is_mobile=True, has_touch=True)
    try:
        box = page.locator("#preview").bounding_box()
        assert box["width"] > 370 and box["height"] > box["width"]  # portrait, full width
        shutter = page.locator("#shutter").bounding_box()
        assert shutter["width"] >= 70 and shutter["y"] + shutter["height"] <= PHONE["height"]
        for sel in ("#btn-gallery", "#btn-switch", "#btn-frame", "#btn-timer"):
            b = page.locator(sel).bounding_box()
            assert b["width"] >= 34 and b["height"] >= 34, sel  # touch targets
            assert b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"], sel  # on screen
        time.sleep(0.3)
        shot(page, "phone-viewfinder")

        # timer 3 s: a countdown, then the capture
        page.tap("#btn-timer")
        assert page.locator("#timer-label").inner_text() == "3"
        before = hook(page)
        page.tap("#shutter")
        page.wait_for_selector("#countdown:not([hidden])", timeout=2000)
        t0 = time.monotonic()
        shot(page, "phone-timer", docs=False)
        h = wait_hook(page, lambda h: h["captures"] > before["captures"], "the timed capture", 8)
        assert time.monotonic() - t0 > 1.5
        assert h["soundPlayed"] > before["soundPlayed"]
        h = wait_hook(page, lambda h: h["developed"] > before["developed"], "developing", 60)
        page.tap("#btn-timer")
        page.tap("#btn-timer")  # 10 s -> off

        page.tap("#btn-gallery")
        page.locator(".tile").first.wait_for()
        time.sleep(0.5)
        shot(page, "phone-gallery")
        cid = h["lastCapture"]["id"]
        page.locator(f'.tile[data-id="{cid}"]').tap()
        page.wait_for_selector("#viewer:not([hidden])")
        time.sleep(0.4)
        shot(page, "phone-viewer")
        page.tap("#viewer-delete")
        page.wait_for_selector("#confirm:not([hidden])")
        page.tap("#confirm-ok")
        deadline = time.monotonic() + 5
        # the record goes first, then the server removes the files
        while store.get(cid) is not None or store.render_path(cid).exists():
            assert time.monotonic() < deadline, "not deleted"
            time.sleep(0.05)
        assert not errors, errors
    finally:
        context.close()
