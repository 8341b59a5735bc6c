"""Render the before/after images of docs/pipeline.md (run from the repository root).

    python docs/gallery_pipeline.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rawpy
from PIL import Image

from redframe.io.decode import read_image
from redframe.isp.demosaic import DemosaicParams
from redframe.isp.pipeline import DevelopParams, develop
from redframe.sim.scenes import colorchecker_image, colorchecker_xyz, hdr_xyz
from redframe.sim.sensor import linear_camera_scene, simulate_raw

OUT = Path("docs/img/pipeline")
ROOT = Path(__file__).resolve().parents[1]


def to8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def pair(left: np.ndarray, right: np.ndarray, name: str, width: int = 900) -> None:
    left, right = to8(left), to8(right)
    gap = np.full((left.shape[0], 10, 3), 255, np.uint8)
    both = Image.fromarray(np.concatenate([left, gap, right], axis=1))
    if both.width > width:
        both = both.resize((width, round(both.height * width / both.width)), Image.LANCZOS)
    both.save(OUT / name, optimize=True)
    print("wrote", OUT / name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in (("rose", ROOT / "src/redframe/data/sample_nikon_rose.dng"),
                       ("kodak", ROOT / "tests/data/kodak_dc50.kdc")):
        with rawpy.imread(str(path)) as raw:
            libraw = raw.postprocess(use_camera_wb=True)
        ours = develop(read_image(path), DevelopParams(output_bits=8)).image
        pair(libraw, ours, f"{name}_libraw_vs_redframe.png")

    # the sunlit petals, 3x: Menon's green estimates as published, then limited (the
    # default: DemosaicParams.limit_green)
    rose = read_image(ROOT / "src/redframe/data/sample_nikon_rose.dng")
    crops = []
    for limit in (False, True):
        p = DevelopParams(output_bits=8, demosaic=DemosaicParams(limit_green=limit))
        crop = develop(rose, p).image[180:300, 330:480]
        crops.append(crop.repeat(3, axis=0).repeat(3, axis=1))  # uint8 kept
    pair(*crops, "rose_petals_published_vs_limited.png")

    xyz, _ = hdr_xyz(ev_range=14.0)
    scene = linear_camera_scene(xyz, exposure=0.5 / xyz[..., 1].max())
    flat = DevelopParams()
    flat.tone.local = 0.0
    pair(develop(scene, flat).image, develop(scene, DevelopParams()).image,
         "hdr14ev_global_vs_local.png")

    img = np.broadcast_to(np.array([0.9505, 1.0, 1.0890]) * 0.3, (96, 96, 3)).copy()
    img[24:72, 24:72] *= 8 / 0.3
    img[40:56, 4:20] = np.array([0.9505, 1.0, 1.0890]) * 1.4
    raw_scene, _ = simulate_raw(img, pattern="RGGB", iso=100, exposure=1.0, seed=9)
    off = DevelopParams()
    off.highlights.mode = "off"
    pair(np.kron(develop(raw_scene, off).image, np.ones((3, 3, 1))),
         np.kron(develop(raw_scene, DevelopParams()).image, np.ones((3, 3, 1))),
         "highlights_off_vs_reconstruct.png")

    chart, _ = colorchecker_image(colorchecker_xyz("D65"))
    cc, _ = simulate_raw(chart, pattern="GBRG", iso=100, exposure=2 ** -0.7, seed=1)
    truth = develop(simulate_raw(chart, pattern="GBRG", iso=100, exposure=2 ** -0.7,
                                 noise=False)[0], DevelopParams(tone_curve=False)).image
    pair(truth, develop(cc, DevelopParams(tone_curve=False)).image,
         "colorchecker_truth_vs_developed.png")


if __name__ == "__main__":
    main()
