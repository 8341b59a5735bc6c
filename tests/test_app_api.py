"""The camera's HTTP API, through FastAPI's TestClient: the capture life cycle, limits,
content sniffing, path handling, the access token, restart recovery, LUTs and sounds."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_app_support import picture_bytes, wait_state

from redframe.app import Limits, create_app
from redframe.app.store import new_id
from redframe.io.decode import read_metadata
from redframe.sound import read_wav

META = {"taken": "2025-06-21T19:42:05+02:00", "device": "Back Camera", "model": "Pixel 9",
        "location": {"lat": 48.8584, "lon": 2.2945, "alt": 35.0}, "width": 64, "height": 48}


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data):
    with TestClient(create_app(data)) as c:
        yield c


def upload(client, body: bytes | None = None, *, name="capture.jpg", ctype="image/jpeg",
           meta=None, **fields):
    body = picture_bytes() if body is None else body
    meta = META if meta is None else meta
    form = {"meta": meta if isinstance(meta, str) else json.dumps(meta), **fields}
    return client.post("/api/captures", files={"file": (name, body, ctype)}, data=form)


# --- the life cycle ------------------------------------------------------------------------

def test_upload_develop_list_download_delete(client, data):
    original = picture_bytes(96, 64)
    r = upload(client, original, frame="classic")
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["state"] == "pending" and item["frame"] == "classic"
    assert item["look"] == client.get("/api/config").json()["default_look"]["photo"]
    item = wait_state(client, item["id"])
    assert item["state"] == "done", item
    assert item["width"] == 96 and item["height"] > 64  # the frame added its bar

    listed = client.get("/api/captures").json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]
    assert listed["counts"]["done"] == 1

    image = client.get(item["urls"]["image"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content[:3] == b"\xff\xd8\xff"
    rendered = data / "renders" / f"{item['id']}.jpg"
    meta = read_metadata(str(rendered))
    assert meta.datetime.isoformat() == "2025-06-21T19:42:05"
    assert meta.exif.get("Exif.Photo.OffsetTimeOriginal") == "+02:00"
    assert meta.lens == "Back Camera" and meta.model == "Pixel 9"
    assert meta.gps is not None and abs(meta.gps.latitude - 48.8584) < 1e-3
    assert meta.software.startswith("redframe")

    thumb = client.get(item["urls"]["thumb"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 480
    assert client.get(item["urls"]["original"]).content == original
    dl = client.get(item["urls"]["download"])
    assert dl.status_code == 200 and "attachment" in dl.headers["content-disposition"]
    assert dl.headers["content-disposition"].endswith('.jpg"')

    assert client.delete(f"/api/captures/{item['id']}").status_code == 204
    assert client.get(f"/api/captures/{item['id']}").status_code == 404
    assert client.delete(f"/api/captures/{item['id']}").status_code == 404
    for sub in ("originals", "renders", "thumbs"):
        assert not list((data / sub).iterdir()), sub


def test_png_and_webp_are_sniffed_not_trusted_by_name(client):
    for fmt, name in (("PNG", "a.jpg"), ("WEBP", "b.png")):
        r = upload(client, picture_bytes(fmt=fmt), name=name, ctype="application/octet-stream")
        assert r.status_code == 201, r.text
        assert r.json()["format"] == fmt.lower().replace("webp", "webp")
        assert wait_state(client, r.json()["id"])["state"] == "done"


def test_location_is_written_only_when_sent(client, data):
    meta = {k: v for k, v in META.items() if k != "location"}
    item = wait_state(client, upload(client, meta=meta).json()["id"])
    assert read_metadata(str(data / "renders" / f"{item['id']}.jpg")).gps is None
    assert item["located"] is False


def test_bad_capture_info_is_dropped_or_refused(client):
    hostile = {"taken": "yesterday", "device": "cam\u202e\x00era" + "x" * 500,
               "location": {"lat": 123, "lon": 2}, "iso": -5, "extra": {"a": 1}}
    item = wait_state(client, upload(client, meta=hostile).json()["id"])
    assert item["taken"] is None and item["located"] is False
    assert "\u202e" not in item["device"] and len(item["device"]) <= 64
    assert upload(client, meta="not json").status_code == 422
    assert upload(client, meta="[1, 2]").status_code == 422
    assert upload(client, meta="{}" + " " * 9000).status_code == 422


def test_camera_labels_are_tidied():
    from redframe.app.server import camera_label

    assert camera_label("camera2 0, facing back") == "Back camera"
    assert camera_label("camera2 1, facing front") == "Front camera"
    assert camera_label("Integrated Webcam (0c45:6713)") == "Integrated Webcam"
    assert camera_label("/tmp/fake.y4m") is None
    assert camera_label("Back Camera") == "Back Camera"


def test_look_and_frame_are_checked_and_reprocess_changes_them(client):
    looks = [lk["name"] for lk in client.get("/api/looks").json()]
    assert upload(client, look="no-such-look").status_code == 422
    assert upload(client, frame="no-such-frame").status_code == 422
    assert upload(client, mode="video").status_code == 422
    item = wait_state(client, upload(client, look=looks[0], frame="none").json()["id"])
    assert item["frame"] is None and item["look"] == looks[0]
    r = client.post(f"/api/captures/{item['id']}/process",
                    json={"look": looks[-1], "frame": "minimal"})
    assert r.status_code == 202, r.text
    again = wait_state(client, item["id"])
    assert again["state"] == "done" and again["look"] == looks[-1] and again["frame"] == "minimal"
    assert again["height"] > item["height"]
    assert client.post(f"/api/captures/{item['id']}/process", json=[1]).status_code == 422


def test_a_retried_upload_is_stored_once(client, data):
    first = upload(client, client_id="retry-0001-abcd")
    second = upload(client, client_id="retry-0001-abcd")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert len(client.get("/api/captures").json()["items"]) == 1
    assert len(list((data / "originals").iterdir())) == 1
    assert upload(client, client_id="../bad").status_code == 422


def test_night_burst_is_merged_or_stored(client, data):
    frames = [("frames", (f"{i}.jpg", picture_bytes(80, 60, seed=i), "image/jpeg"))
              for i in range(4)]
    r = client.post("/api/captures", files=frames, data={"mode": "night", "frame": "none"})
    assert r.status_code == 201, r.text
    item = wait_state(client, r.json()["id"], timeout=120)
    assert item["kind"] == "burst" and item["frames"] == 4 and item["mode"] == "night"
    assert item["state"] == "done", item
    assert item["merged"] is True, item["notes"]
    assert any("night merge of 4 frames" in n for n in item["notes"])
    folder = data / "originals" / item["id"]
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:02d}.jpg" for i in range(4)]
    assert client.get(f"{item['urls']['original']}?frame=3").content == frames[3][1][1]
    assert client.get(f"{item['urls']['original']}?frame=4").status_code == 404
    one = client.post("/api/captures", files=frames[:1] * 1, data={"mode": "night"})
    assert one.status_code == 422  # a burst needs at least two frames


# --- limits and content -----------------------------------------------------------------

def test_oversized_uploads_are_refused(data):
    limits = Limits(max_file_bytes=20_000, max_request_bytes=60_000, max_pixels=100 * 100)
    with TestClient(create_app(data, limits=limits)) as c:
        big = picture_bytes(300, 200)  # more pixels than allowed, and about 20+ kB
        r = upload(c, big)
        assert r.status_code == 413
        noisy = os.urandom(30_000)
        r = upload(c, b"\xff\xd8\xff\xe0" + noisy)
        assert r.status_code == 413 and "larger" in r.json()["detail"]
        r = c.post("/api/captures", content=b"x" * 70_000,
                   headers={"content-type": "multipart/form-data; boundary=abc"})
        assert r.status_code == 413
        assert upload(c, picture_bytes(90, 90)).status_code == 201  # under every limit
        assert not list((data / "tmp").iterdir())


def test_a_burst_has_a_pixel_budget_checked_before_decoding(data):
    """16 frames each under the per-frame limit must not add up to gigabytes in memory."""
    limits = Limits(max_pixels=200 * 200, max_request_pixels=4 * 200 * 200)
    with TestClient(create_app(data, limits=limits)) as c:
        frame = picture_bytes(200, 200)
        burst = [("frames", (f"{i}.jpg", frame, "image/jpeg")) for i in range(5)]
        r = c.post("/api/captures", files=burst, data={"mode": "night"})
        assert r.status_code == 413 and "in all" in r.json()["detail"]
        assert not list((data / "tmp").iterdir())
        ok = c.post("/api/captures", files=burst[:4], data={"mode": "night"})
        assert ok.status_code == 201


def test_a_user_cube_look_has_a_preview_lut(tmp_path):
    from redframe.app import integrations
    from redframe.looks import export_cube, get_look

    folder = tmp_path / "looks"
    folder.mkdir()
    export_cube(get_look("vibrant"), folder / "mine.cube", size=17)
    looks = get_look(str(folder / "mine.cube"))
    table = integrations.preview_table(looks, 17)
    assert table.shape == (17, 17, 17, 3) and 0 <= table.min() and table.max() <= 1
    # the .cube look renders an sRGB frame about as the look it came from does (a 17^3
    # lattice of a lattice; near white they part: 0.02 on average)
    vibrant = integrations.preview_table(get_look("vibrant"), 17)
    assert np.abs(table - vibrant).mean() < 0.02


def test_wrong_content_types_are_refused(client, data):
    r = upload(client, b"hello, I am text", name="photo.jpg", ctype="image/jpeg")
    assert r.status_code == 415 and "JPEG, PNG or WebP" in r.json()["detail"]
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    assert upload(client, gif.getvalue(), name="a.jpg").status_code == 415
    tiff = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiff, format="TIFF")
    assert upload(client, tiff.getvalue()).status_code == 415
    assert client.post("/api/captures", json={"file": "x"}).status_code == 415
    assert client.post("/api/captures", content=picture_bytes(),
                       headers={"content-type": "image/jpeg"}).status_code == 415
    assert upload(client, b"").status_code == 422
    assert upload(client, b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64).status_code == 422
    assert client.post("/api/captures", data={"look": "neutral"}).status_code in (415, 422)
    assert not list((data / "originals").iterdir())
    assert not list((data / "tmp").iterdir())


def test_path_traversal_never_reaches_the_file_system(client, data):
    secret = data / "redframe.sqlite3"
    assert secret.is_file()
    item = wait_state(client, upload(client, name="../../../../etc/evil.jpg").json()["id"])
    assert not any("evil" in p.name for p in data.rglob("*"))
    urls = [
        "/api/captures/../redframe.sqlite3",
        "/api/captures/..%2Fredframe.sqlite3/image",
        "/api/captures/%2e%2e%2f%2e%2e%2fetc%2fpasswd/original",
        f"/api/captures/{item['id']}%2F..%2F..%2Fredframe.sqlite3/image",
        f"/api/captures/{item['id'].upper()}/image",
        "/api/captures/" + "a" * 31 + "./image",
        "/static/../server.py",
        "/static/..%2Fserver.py",
        "/static/%2e%2e/%2e%2e/redframe.sqlite3",
        "/static//etc/passwd",
        "/static/js/../../store.py",
        "/api/looks/..%2F..%2F..%2Fetc%2Fpasswd/lut.cube",
        "/api/looks/%2Fetc%2Fpasswd/lut.cube",
        "/api/frames/..%2Fclassic/preview.jpg",
        "/api/frames/%2Fetc%2Fpasswd.toml/preview.jpg",
        "/api/sounds/..%2F..%2Fredframe.wav",
    ]
    for url in urls:
        r = client.get(url)
        assert r.status_code in (404, 422), (url, r.status_code)
        assert b"SQLite" not in r.content and b"root:" not in r.content
    assert upload(client, frame="/etc/passwd.toml").status_code == 422
    assert upload(client, frame="../layouts/classic").status_code == 422
    assert upload(client, look="../../etc/passwd").status_code == 422
    r = client.post(f"/api/captures/{item['id']}/process", json={"frame": "/tmp/x.toml"})
    assert r.status_code == 422
    assert client.get(f"/api/captures/{item['id']}/original?frame=-1").status_code == 422


# --- security -----------------------------------------------------------------------------

def test_token_is_required_beyond_localhost(data):
    token = "s3cret-token-value"
    with TestClient(create_app(data, token=token), follow_redirects=False) as c:
        for url in ("/", "/api/health", "/api/captures", "/static/app.css",
                    "/api/sounds/leaf.wav"):
            assert c.get(url).status_code == 401, url
        assert upload(c).status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/health?token=wrong").status_code == 401
        assert c.get("/api/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # the printed link: the token moves into an HttpOnly cookie, the URL loses it
        r = c.get(f"/?token={token}")
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "redframe_token=" in cookie
        c.cookies.set("redframe_token", token)
        assert c.get("/").status_code == 200
        assert upload(c).status_code == 201
        c.cookies.set("redframe_token", "nope")
        assert c.get("/api/captures").status_code == 401


def test_host_origin_and_headers(data):
    app = create_app(data, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        r = c.get("/")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/api/health", headers={"host": "evil.example"}).status_code == 403
        assert upload(c).status_code == 201
        r = c.post("/api/captures", files={"file": ("a.jpg", picture_bytes())},
                   headers={"origin": "http://evil.example"})
        assert r.status_code == 403
        cid = c.get("/api/captures").json()["items"][0]["id"]
        assert c.delete(f"/api/captures/{cid}", headers={"origin": "null"}).status_code == 403
        same = c.delete(f"/api/captures/{cid}", headers={"origin": "http://127.0.0.1:8000"})
        assert same.status_code == 204


# --- never lost ----------------------------------------------------------------------------

def test_restart_recovers_pending_work(data):
    with TestClient(create_app(data, start_workers=False)) as c:
        ids = [upload(c, picture_bytes(seed=i)).json()["id"] for i in range(3)]
        assert {c.get(f"/api/captures/{i}").json()["state"] for i in ids} == {"pending"}
    # a crash mid-processing, and a crash between storing a file and recording it
    db = sqlite3.connect(data / "redframe.sqlite3")
    db.execute("UPDATE captures SET state='processing', attempts=1 WHERE id=?", (ids[0],))
    db.commit()
    db.close()
    orphan = new_id()
    (data / "originals" / f"{orphan}.jpg").write_bytes(picture_bytes(seed=9))
    (data / "tmp" / "half-received.part").write_bytes(b"\xff\xd8partial")

    with TestClient(create_app(data)) as c:
        assert c.app.state.workers.recovered["resumed"] == 1
        assert c.app.state.workers.recovered["adopted"] == 1
        for cid in [*ids, orphan]:
            assert wait_state(c, cid)["state"] == "done", cid
        assert len(c.get("/api/captures").json()["items"]) == 4
    assert not list((data / "tmp").iterdir())


def test_a_capture_interrupted_too_often_is_kept_as_an_error(data):
    with TestClient(create_app(data, start_workers=False)) as c:
        cid = upload(c).json()["id"]
    db = sqlite3.connect(data / "redframe.sqlite3")
    db.execute("UPDATE captures SET state='processing', attempts=3 WHERE id=?", (cid,))
    db.commit()
    db.close()
    with TestClient(create_app(data)) as c:
        item = c.get(f"/api/captures/{cid}").json()
        assert item["state"] == "error" and "interrupted" in item["error"]
        assert c.get(item["urls"]["original"]).status_code == 200


def test_processing_failure_keeps_the_original(client):
    good = picture_bytes(320, 240)
    broken = good[: len(good) // 2]  # a valid header, truncated data
    r = upload(client, broken)
    assert r.status_code == 201
    item = wait_state(client, r.json()["id"])
    assert item["state"] == "error" and item["error"]
    assert "Traceback" not in item["error"]
    assert client.get(item["urls"]["original"]).content == broken
    assert item["urls"]["image"] is None
    assert client.get(f"/api/captures/{item['id']}/image").status_code == 409
    dl = client.get(item["urls"]["download"])
    assert dl.status_code == 200 and dl.content == broken
    assert client.post(f"/api/captures/{item['id']}/process", json={}).status_code == 202


# --- looks, frames, sounds, config ----------------------------------------------------------

def _cube(text: str) -> tuple[int, np.ndarray]:
    rows = [ln for ln in text.splitlines() if ln and (ln[0].isdigit() or ln[0] in "-.")]
    size = int(next(ln for ln in text.splitlines() if ln.startswith("LUT_3D_SIZE")).split()[1])
    return size, np.array([[float(v) for v in ln.split()] for ln in rows]).reshape(size, size,
                                                                                      size, 3)


def test_look_luts_for_the_preview(client):
    looks = client.get("/api/looks").json()
    assert looks and all({"name", "label", "mono"} <= set(lk) for lk in looks)
    for lk in looks:
        r = client.get(f"/api/looks/{lk['name']}/lut.cube")
        assert r.status_code == 200
        size, table = _cube(r.text)
        assert size == 33 and table.min() >= 0 and table.max() <= 1
        if lk["mono"]:
            assert np.allclose(table[..., 0], table[..., 2], atol=2e-3)
        again = client.get(f"/api/looks/{lk['name']}/lut.cube",
                           headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304
    assert client.get(f"/api/looks/{looks[0]['name']}/lut.cube?size=7").status_code == 422
    assert client.get("/api/looks/nope/lut.cube").status_code == 404
    # the neutral look leaves a display-referred (browser) picture as it is
    neutral = _cube(client.get("/api/looks/neutral/lut.cube?size=17").text)[1]
    assert neutral[4, 5, 6].tolist() == pytest.approx([6 / 16, 5 / 16, 4 / 16], abs=0.01)


def test_preview_lut_matches_the_developed_picture(client, data):
    """What you see is what you get: the preview LUT applied to the captured frame agrees
    with the server's development (centre crop: the LUT has no vignette or grain)."""
    from scipy.ndimage import map_coordinates

    sent = picture_bytes(160, 120, seed=3)
    src = np.asarray(Image.open(io.BytesIO(sent)).convert("RGB"), np.float32) / 255
    colour = [lk["name"] for lk in client.get("/api/looks").json() if not lk["mono"]]
    for name in colour[:2]:
        item = wait_state(client, upload(client, sent, look=name, frame="none").json()["id"])
        out = np.asarray(Image.open(data / "renders" / f"{item['id']}.jpg").convert("RGB"),
                         np.float32) / 255
        size, lut = _cube(client.get(f"/api/looks/{name}/lut.cube").text)  # [b, g, r]
        c = src * (size - 1)
        pred = np.stack([map_coordinates(lut[..., k], [c[..., 2], c[..., 1], c[..., 0]],
                                         order=1) for k in range(3)], -1)
        diff = np.abs(pred - out)[30:90, 40:120] * 255
        assert diff.mean() < 4, (name, diff.mean())


def test_frame_previews(client):
    frames = client.get("/api/config").json()["frames"]
    assert frames[0] == "none" and "classic" in frames
    r = client.get("/api/frames/classic/preview.jpg")
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"
    assert client.get("/api/frames/none/preview.jpg").status_code == 404


def test_sounds_endpoint(client):
    names = client.get("/api/sounds").json()["sounds"]
    assert set(names) == {"rangefinder", "leaf", "night"}
    for name in names:
        r = client.get(f"/api/sounds/{name}.wav?seed=2")
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        x, rate, bits = read_wav(r.content)
        assert rate == 48000 and bits == 16 and len(x) < 0.4 * rate
    slow = read_wav(client.get("/api/sounds/rangefinder.wav?exposure=1/15").content)[0]
    fast = read_wav(client.get("/api/sounds/rangefinder.wav?exposure=0.001").content)[0]
    assert len(slow) > len(fast)
    assert client.get("/api/sounds/leaf.wav?exposure=1/15").status_code == 422
    assert client.get("/api/sounds/rangefinder.wav?exposure=abc").status_code == 422
    assert client.get("/api/sounds/rangefinder.wav?seed=99999").status_code == 422
    assert client.get("/api/sounds/bell.wav").status_code == 404


def test_config_health_and_front_end(client):
    cfg = client.get("/api/config").json()
    assert cfg["modes"] == ["photo", "night", "mono", "street"]
    assert cfg["night"]["frames"] == 8 and cfg["hdr"]["frames"] >= 2
    assert set(cfg["default_look"]) == {"photo", "night", "mono", "street"}
    assert isinstance(cfg["characters"], list)
    mono = {lk["name"] for lk in cfg["looks"] if lk["mono"]}
    assert cfg["default_look"]["mono"] in mono
    health = client.get("/api/health").json()
    assert health["ok"] is True
    page = client.get("/")
    assert page.status_code == 200 and b'id="shutter"' in page.content
    for asset in ("app.css", "js/main.js", "js/gl.js", "icon.svg", "fonts/Inter-Regular.otf"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200, asset
    assert b"http://" not in client.get("/static/js/main.js").content  # no CDN, works offline
    assert client.get("/manifest.webmanifest").status_code == 200


def test_health_answers_while_a_develop_runs(client):
    """The event loop is not blocked by developing (the develop runs in the worker)."""
    cid = upload(client, picture_bytes(1200, 900)).json()["id"]
    t0 = time.perf_counter()
    while client.get(f"/api/captures/{cid}").json()["state"] != "done":
        t = time.perf_counter()
        assert client.get("/api/health").status_code == 200
        assert time.perf_counter() - t < 0.5
        assert time.perf_counter() - t0 < 60


# --- issue 19: HDR, lens characters, the track's settings ------------------------------------

def test_an_hdr_capture_is_stored_as_ultra_hdr(client, data):
    from redframe.io.ultrahdr import read_ultrahdr

    frames = [("frames", (f"f{i}.jpg", picture_bytes(96, 72, seed=i), "image/jpeg"))
              for i in range(3)]
    r = client.post("/api/captures", files=frames,
                    data={"mode": "photo", "hdr": "1", "meta": json.dumps(META)})
    assert r.status_code == 201, r.text
    item = wait_state(client, r.json()["id"], timeout=120)
    assert item["state"] == "done", item
    assert item["hdr"] is True and item["kind"] == "burst"
    body = client.get(item["urls"]["image"]).content
    uhdr = read_ultrahdr(body)  # raises unless an MPF Ultra HDR file with a gain map
    assert uhdr is not None
    # a single photo too
    item = wait_state(client, upload(client, hdr="1").json()["id"])
    assert item["state"] == "done" and item["hdr"] is True
    read_ultrahdr(client.get(item["urls"]["image"]).content)
    assert upload(client, hdr="maybe").status_code == 422
    # develop again without HDR: a plain JPEG
    r = client.post(f"/api/captures/{item['id']}/process", json={"hdr": False})
    assert r.status_code == 202 and r.json()["hdr"] is False
    item = wait_state(client, item["id"])
    with pytest.raises(ValueError):
        read_ultrahdr(client.get(item["urls"]["image"]).content)


def test_a_lens_character_capture_is_cropped_and_rendered(client, data):
    from redframe.app.integrations import available_characters

    chars = {c["name"]: c for c in available_characters()}
    if not chars:
        pytest.skip("the lens character engine is not installed")
    cfg = client.get("/api/config").json()
    assert [c["name"] for c in cfg["characters"]] == list(chars)
    name, char = next((n, c) for n, c in chars.items() if c["focal_mm"] > 26)
    meta = dict(META, native_focal_mm=26)
    item = wait_state(client, upload(client, picture_bytes(520, 390), meta=meta,
                                     character=name).json()["id"], timeout=120)
    assert item["state"] == "done", item
    assert item["character"] == name
    # the character's crop: focal / native of each side
    assert abs(item["width"] - 520 / (char["focal_mm"] / 26)) <= 2, item
    rendered = read_metadata(str(data / "renders" / f"{item['id']}.jpg"))
    assert rendered.focal_length_35mm == pytest.approx(char["focal_mm"], abs=0.5)
    assert upload(client, character="no-such-lens").status_code == 422
    r = client.post(f"/api/captures/{item['id']}/process", json={"character": None})
    assert r.status_code == 202 and r.json()["character"] is None


def test_track_settings_go_into_exif(client, data):
    meta = dict(META, zoom=2.5, focus_distance=1.25, exposure_compensation=-0.7,
                focal_length_35mm=50, source="photo", iso=1e9)
    item = wait_state(client, upload(client, meta=meta).json()["id"])
    m = read_metadata(str(data / "renders" / f"{item['id']}.jpg"))
    assert m.exif.get("Exif.Photo.DigitalZoomRatio") == "250/100"
    assert m.exif.get("Exif.Photo.SubjectDistance") == "1250/1000"
    assert m.exif.get("Exif.Photo.ExposureBiasValue") in ("-70/100", "-7/10")
    assert m.focal_length_35mm == 50
    assert item["source"] == "photo"
    assert m.iso is None  # out of range: dropped


def test_an_old_gallery_gets_the_options_column(data):
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "redframe.sqlite3")
    from redframe.app import store as store_module

    old = store_module._SCHEMA.replace(",\n    options TEXT NOT NULL DEFAULT '{}'", "")
    assert "options" not in old
    db.executescript(old)
    db.close()
    with TestClient(create_app(data)) as c:
        item = wait_state(c, upload(c, hdr="1").json()["id"])
        assert item["hdr"] is True and item["state"] == "done"


def test_an_hdr_burst_shot_under_is_lifted_back():
    from redframe.app.processing import CaptureJob, capture_recipe, hdr_lift

    def job(hdr, evs):
        return CaptureJob(id="x", kind="burst", originals=[], look="authentic", frame=None,
                          render_path="r", thumb_path="t", hdr=hdr,
                          capture={"ev_bracket": evs} if evs is not None else {})

    assert hdr_lift(job(True, [-1.0, -1.0, -1.0])) == 1.0
    assert hdr_lift(job(False, [-1.0, -1.0])) == 0.0  # not an HDR capture
    assert hdr_lift(job(True, [-1.0, 0.0])) == 0.0  # a bracket: not what the merge takes
    assert hdr_lift(job(True, None)) == 0.0
    recipe = capture_recipe("authentic", None, hdr=True, lift=1.0)
    assert recipe.output.hdr is True and recipe.develop_params().tone.exposure == 1.0
