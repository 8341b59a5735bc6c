"""Render the look gallery of docs/looks.md (run from the repository root).

    python -m redframe.looks.gallery [OUT_DIR]

Every source goes through the develop pipeline with each bundled look, as
``redframe develop --look NAME`` does (raws as scene light, JPEGs as display light), and
is saved 480 px wide as a palette PNG.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from redframe.io.decode import read_image
from redframe.isp.pipeline import DevelopParams, develop
from redframe.looks.library import BUNDLED, get_look

ROOT = Path(__file__).resolve().parents[3]
SOURCES = {
    "rose": ROOT / "src" / "redframe" / "data" / "sample_nikon_rose.dng",
    "kodak": ROOT / "tests" / "data" / "kodak_dc50.kdc",
    "ship": ROOT / "tests" / "data" / "xiaomi_mi_a1_ship.jpg",
    "desk": ROOT / "tests" / "data" / "huawei_ele-l29.jpg",
}
WIDTH = 480


class PipelineLook:
    """What the develop pipeline will call: the whole frame, told whether it is scene light
    (raws) or display light (JPEG/PNG/HEIC)."""

    def __init__(self, look, display_referred: bool):
        self.look = look
        self.display_referred = display_referred

    def __call__(self, rgb):
        return self.look(rgb, display_referred=self.display_referred)


def render(source: Path, look_name: str) -> np.ndarray:
    scene = read_image(source)
    look = get_look(look_name)
    params = DevelopParams(strip_rows=0, output_bits=8)  # one strip: the vignette's frame
    params.look = PipelineLook(look, display_referred=scene.space == "rec2020")
    return develop(scene, params).image


def save(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(image)
    if im.width != WIDTH:
        im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.LANCZOS)
    # keep the docs light (~100 KB a picture): an adaptive 256-colour palette, dithered
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "img" / "looks"
    out.mkdir(parents=True, exist_ok=True)
    for key, source in SOURCES.items():
        for name in BUNDLED:
            path = out / f"{key}_{name}.png"
            save(render(source, name), path)
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
