"""Measure the lens corrections through the CLI (the figures in docs/lens.md).

    python docs/lens_measure.py [--speed]

Writes synthetic DNGs with redframe's DNG writer (a dot grid through a WarpRectilinear
with lateral CA; a flat field shaded by a 4-phase GainMap; a dot grid through lensfun's
reverse model of a real lens), develops each with `redframe develop --lens off` and with
the corrections, measures dot centres / uniformity, writes before/after crops to
docs/img/lens_*.png and prints the numbers. ``--speed [ARGS]``: runs benchmarks/lens.py [ARGS]
(the 12 MP shaded DNG, ``--lens off`` vs ``auto`` interleaved) instead.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import tifffile

from redframe.color import srgb_decode
from redframe.io import dng_opcodes as ops
from redframe.io.dng import write_dng
from redframe.io.lensfun import match_lens
from redframe.io.metadata import Metadata
from redframe.isp.lens import dng_source
from redframe.sim.sensor import NIKON_D65_MATRIX, mosaic_from_rgb

H, W = 360, 480
NEUTRAL = np.array([0.5, 1.0, 0.7])
BLACK, WHITE = 512, 15000
WARP = ops.warp_rectilinear([(1.0, -0.085, 0.012, 0.0, 0.0008, -0.0006),
                             (1.0, -0.075, 0.010, 0.0, 0.0008, -0.0006),
                             (1.0, -0.063, 0.008, 0.0, 0.0008, -0.0006)], cx=0.51, cy=0.49)
IMG = Path(__file__).parent / "img"


def grid(h, w, step=30, margin=24):
    ys, xs = np.meshgrid(np.arange(margin, h - margin + 1, step, dtype=float),
                         np.arange(margin, w - margin + 1, step, dtype=float), indexing="ij")
    return np.stack([ys.ravel(), xs.ravel()], 1)


def dots(planes, h, w, sigma=1.8):
    yy, xx = np.mgrid[0:h, 0:w]
    cam = np.zeros((h, w, 3))
    for c, pts in enumerate(planes):
        img = np.zeros((h, w))
        for y, x in pts:
            y0, x0 = int(round(y)), int(round(x))
            sl = (slice(max(0, y0 - 8), y0 + 9), slice(max(0, x0 - 8), x0 + 9))
            img[sl] += np.exp(-((yy[sl] - y) ** 2 + (xx[sl] - x) ** 2) / (2 * sigma**2))
        cam[..., c] = (0.03 + 0.5 * img) * NEUTRAL[c]
    return cam


def write(path, cam, meta=None, shade=None, **kw):
    m = mosaic_from_rgb(cam, "RGGB")
    if shade is not None:
        m = m * shade
    dn = np.clip(np.round(BLACK + m * (WHITE - BLACK)), 0, 65535).astype(np.uint16)
    write_dng(path, dn, pattern="RGGB", black_level=BLACK, white_level=WHITE,
              xyz_to_camera=NIKON_D65_MATRIX, as_shot_neutral=NEUTRAL,
              meta=meta or Metadata(make="Phone", model="P1", f_number=1.8, focal_length=6.0),
              **kw)
    return path


def develop(path, out, *flags) -> np.ndarray:
    subprocess.run([sys.executable, "-m", "redframe", "develop", str(path), "-o", str(out),
                    "--format", "tiff", "--look", "neutral", "--overwrite", *flags], check=True,
                   capture_output=True)
    return tifffile.imread(next(Path(out).glob(Path(path).stem + ".tif*"))) / 65535.0


def centres(img, ideal, radius=8):
    out = []
    for c in range(3):
        ch = img[..., c] - np.median(img[..., c])
        cs = []
        for y, x in ideal:
            y0, x0 = int(round(y)), int(round(x))
            ys, xs = (slice(max(0, y0 - radius), y0 + radius + 1),
                      slice(max(0, x0 - radius), x0 + radius + 1))
            win = np.clip(ch[ys, xs] - 0.15 * ch[ys, xs].max(), 0, None)
            gy, gx = np.mgrid[ys, xs]
            cs.append(((win * gy).sum() / win.sum(), (win * gx).sum() / win.sum()))
        out.append(np.array(cs))
    return out


def crop_png(name, before, after, box):
    y0, y1, x0, x1 = box
    pair = [np.clip(im[y0:y1, x0:x1], 0, 1) for im in (before, after)]
    sep = np.ones((y1 - y0, 4, 3))
    img = np.concatenate([pair[0], sep, pair[1]], 1)
    img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(IMG / name), (img[..., ::-1] * 255 + 0.5).astype(np.uint8))


def dot_grid(tmp: Path) -> None:
    ideal = grid(H, W)
    captured = [np.stack(dng_source(WARP, c, ideal[:, 0], ideal[:, 1], H, W, grid=False), 1)
                for c in range(3)]
    path = write(tmp / "dots.dng", dots(captured, H, W), opcodes={3: [WARP]})
    imgs = {}
    for mode in ("off", "auto"):
        img = imgs[mode] = develop(path, tmp / mode, "--lens", mode, "--lens-crop", "none")
        r, g, b = centres(img, ideal)
        e = [np.hypot(*(p - ideal).T) for p in (r, g, b)]
        ca = [np.hypot(*(p - g).T) for p in (r, b)]
        print(f"dot grid, --lens {mode}: error to the ideal grid R/G/B median "
              f"{'/'.join(f'{np.median(x):.3f}' for x in e)} px, max "
              f"{'/'.join(f'{x.max():.3f}' for x in e)} px; R-G, B-G median "
              f"{np.median(ca[0]):.3f}, {np.median(ca[1]):.3f} px, max {ca[0].max():.3f}, "
              f"{ca[1].max():.3f} px")
    crop_png("lens_dots.png", imgs["off"], imgs["auto"], (0, 120, 0, 160))


def flat_field(tmp: Path) -> None:
    pv, ph = 13, 17
    v, u = np.meshgrid(np.linspace(-1, 1, pv), np.linspace(-1, 1, ph), indexing="ij")
    r2 = (u**2 + v**2) / 2
    yy, xx = np.mgrid[0:H, 0:W]
    rr2 = (((xx + 0.5) / W * 2 - 1) ** 2 + ((yy + 0.5) / H * 2 - 1) ** 2) / 2
    gains, shade = [], np.zeros((H, W))
    for k in range(4):
        ev = 1.5 * (1.0 + 0.05 * (k - 1.5))
        gains.append(ops.gain_map(2.0 ** (ev * r2), ops.AreaSpec(k // 2, k % 2, H, W, 0, 1, 2, 2)))
        shade[k // 2 :: 2, k % 2 :: 2] = 2.0 ** (-ev * rr2[k // 2 :: 2, k % 2 :: 2])
    flat = np.ones((H, W, 3)) * 0.3 * NEUTRAL
    path = write(tmp / "flat.dng", flat, shade=shade, opcodes={2: gains})
    imgs = {}
    for mode in ("off", "auto"):
        img = imgs[mode] = develop(path, tmp / mode, "--lens", mode)
        y = srgb_decode(img.astype(np.float32))[..., 1]
        spread = (np.percentile(y, 99.5) - np.percentile(y, 0.5)) / np.median(y)
        corner = y[:8, :8].mean() / y[H // 2 - 4 : H // 2 + 4, W // 2 - 4 : W // 2 + 4].mean()
        print(f"flat field, --lens {mode}: (p99.5 - p0.5) / median of the output's linear G "
              f"{spread:.2%}; corner / centre {corner:.3f} ({np.log2(corner):+.2f} EV)")
    crop_png("lens_flat.png", imgs["off"], imgs["auto"], (0, H, 0, W))


def lensfun(tmp: Path) -> None:
    h, w = 400, 600
    meta = Metadata(make="Canon", model="Canon EOS 5D Mark III",
                    lens="Canon EF 24-105mm f/4L IS USM", focal_length=24.0, f_number=8.0)
    match, why = match_lens(meta)
    uv = match.geometry(w, h, autoscale=False, reverse=True).coords(0, h).astype(np.float64)
    step, margin = 32, 28
    cam = np.zeros((h, w, 3))
    for c in range(3):
        x, y = uv[..., c, 0], uv[..., c, 1]
        gx = np.clip(np.round((x - margin) / step), 0, (w - 2 * margin) // step)
        gy = np.clip(np.round((y - margin) / step), 0, (h - 2 * margin) // step)
        d2 = (x - (margin + gx * step)) ** 2 + (y - (margin + gy * step)) ** 2
        cam[..., c] = (0.03 + 0.5 * np.exp(-d2 / (2 * 1.8**2))) * NEUTRAL[c]
    ideal = grid(h, w, step, margin)
    path = write(tmp / "canon.dng", cam, meta=meta)
    imgs = {}
    for mode in ("off", "lensfun"):
        img = imgs[mode] = develop(path, tmp / mode, "--lens", mode, "--lens-crop", "none")
        r, g, b = centres(img, ideal)
        e = np.hypot(*(g - ideal).T)
        ca = [np.hypot(*(p - g).T) for p in (r, b)]
        print(f"lensfun {match.name} at 24 mm (reverse model), --lens {mode}: G error median "
              f"{np.median(e):.3f} px, max {e.max():.3f} px; R-G, B-G median "
              f"{np.median(ca[0]):.3f}, {np.median(ca[1]):.3f} px")
    crop_png("lens_lensfun.png", imgs["off"], imgs["lensfun"], (0, 130, 0, 200))


def speed() -> None:
    """The benchmark's 12 MP shaded phone DNG (benchmarks/lens.py): one source for the
    speed figure of docs/lens.md, not a second, unshaded copy of the scene."""
    bench = Path(__file__).resolve().parent.parent / "benchmarks" / "lens.py"
    subprocess.run([sys.executable, str(bench), *sys.argv[2:]], check=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "--speed" in sys.argv[1:2]:
            speed()
        else:
            dot_grid(tmp)
            flat_field(tmp)
            lensfun(tmp)
