"""Time the demosaic methods on a synthetic 12 MP mosaic and print a table of ratios.

    python benchmarks/demosaic.py [--size 4000x3000] [--repeat 3] [--reference-crop 1000]

Each of our methods is timed best-of-``--repeat`` after one warm-up call (first-touch
page faults excluded). colour-demosaicing's Menon 2007 and Malvar 2004 (float64 SciPy) are
timed once on a centre crop of ``--reference-crop`` pixels square and scaled to the full
size per pixel (pass ``--reference-crop 0`` to run them on the full mosaic). The unit is
one NumPy multiply-add pass, ``rgb * gain + offset``, over a float32 RGB image of the same
size (new output array included), measured in the same run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from redframe.isp.demosaic import (
    demosaic_bilinear,
    demosaic_malvar2004,
    demosaic_malvar2004_reference,
    demosaic_menon2007,
    demosaic_menon2007_reference,
    demosaic_opencv_ea,
    mosaic_rgb,
)


def synthetic_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A linear RGB test scene: smooth colour gradients, edges at many angles, and noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    rgb = np.empty((h, w, 3), np.float32)
    rgb[..., 0] = 0.2 + 0.6 * x
    rgb[..., 1] = 0.3 + 0.4 * y
    rgb[..., 2] = 0.5 + 0.3 * np.sin(20 * (x + y))
    rings = (np.sin(400 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)) > 0).astype(np.float32)
    rgb *= (0.5 + 0.5 * rings)[..., None]
    rgb += rng.normal(0, 0.01, size=(h, w, 3)).astype(np.float32)
    return rgb


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up: JIT compile or cache load, first-touch page faults
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT (default 4000x3000)")
    parser.add_argument("--pattern", default="RGGB")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--reference-crop", type=int, default=1000,
                        help="side of the crop colour-demosaicing runs on (0: full size)")
    parser.add_argument("--no-slow", action="store_true",
                        help="skip colour-demosaicing and our whole-image references")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    cfa = mosaic_rgb(synthetic_rgb(h, w), args.pattern)
    pattern = args.pattern

    rgb = np.full((h, w, 3), 0.5, np.float32)
    gain, offset = np.float32(1.01), np.float32(0.1)
    unit = best_of(lambda: rgb * gain + offset, args.repeat)

    rows: list[tuple[str, float, str]] = []
    ours = {
        "menon2007 (refine)": lambda: demosaic_menon2007(cfa, pattern),
        "menon2007 (no refine)": lambda: demosaic_menon2007(cfa, pattern, refine=False),
        "malvar2004": lambda: demosaic_malvar2004(cfa, pattern),
        "bilinear": lambda: demosaic_bilinear(cfa, pattern),
        "opencv-ea (cv2, uint16)": lambda: demosaic_opencv_ea(cfa, pattern),
    }
    for name, fn in ours.items():
        rows.append((name, best_of(fn, args.repeat), f"best of {args.repeat}"))

    if not args.no_slow:
        import cv2

        codes = np.clip(cfa * 65535, 0, 65535).astype(np.uint16)
        rows.append(("cv2.cvtColor EA alone", best_of(
            lambda: cv2.cvtColor(codes, cv2.COLOR_BayerBG2RGB_EA), args.repeat),
            f"best of {args.repeat}"))
        rows.append(("menon2007 reference (cv2/numpy)",
                     once(lambda: demosaic_menon2007_reference(cfa, pattern)), "once"))
        rows.append(("malvar2004 reference (cv2/numpy)",
                     once(lambda: demosaic_malvar2004_reference(cfa, pattern)), "once"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import colour_demosaicing as cd
        side = args.reference_crop
        if side and side < min(h, w):
            y0, x0 = (h - side) // 2 & ~1, (w - side) // 2 & ~1
            crop = cfa[y0:y0 + side, x0:x0 + side].astype(np.float64)
            factor, how = (h * w) / (side * side), f"once on {side}x{side}, scaled"
        else:
            crop, factor, how = cfa.astype(np.float64), 1.0, "once"
        for name, fn in (("colour-demosaicing Menon2007",
                          cd.demosaicing_CFA_Bayer_Menon2007),
                         ("colour-demosaicing Malvar2004",
                          cd.demosaicing_CFA_Bayer_Malvar2004)):
            rows.append((name, once(lambda fn=fn: fn(crop, pattern)) * factor, how))

    print(f"demosaic {w}x{h} ({w * h / 1e6:.1f} MP), pattern {pattern}")
    print(f"unit: one NumPy multiply-add pass over float32 RGB = {unit * 1e3:.1f} ms")
    print(f"{'method':34s} {'time':>10s} {'x unit':>8s}  how")
    for name, seconds, how in rows:
        print(f"{name:34s} {seconds * 1e3:8.1f}ms {seconds / unit:8.1f}  {how}")


if __name__ == "__main__":
    main()
