"""``redframe demo``: develop the bundled sample raw every way we can, into one folder.

Every picture is one :class:`~redframe.jobs.Job` through the one job runner, exactly what
``redframe develop`` would run with the flags shown; the recipe of one of them is written
beside it, to show what a recipe holds. The sample is a 768x512 crop of a Nikon raw (a red
rose in sunlight) from mushfiqulalam/isp (MIT licence), stored as a CFA DNG; see
tests/data/SOURCES.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import rawpy
from PIL import Image

from redframe.io.encode import write_image
from redframe.jobs import Job, Recipe, execute, merge_recipe, save_recipe

__all__ = ["run_demo", "sample_path", "DEMO"]

#: (output name, what it shows, recipe settings: the flags of `redframe develop`)
DEMO: list[tuple[str, str, dict[str, Any]]] = [
    ("rose.jpg", "JPEG, full quality (Menon demosaic, denoise, local tone mapping), sRGB", {}),
    ("rose-p3.heic", "HEIC in Display P3  (--format heic --space display-p3)",
     {"output": {"format": "heic", "space": "display-p3", "quality": 90}}),
    ("rose-16bit.tif", "16-bit TIFF, sRGB  (--format tiff)", {"output": {"format": "tiff"}}),
    ("rose-16bit.png", "16-bit PNG, sRGB  (--format png)", {"output": {"format": "png"}}),
    ("rose-fast.jpg", "fast proof at half size, 2x2 binning  (--fast)",
     {"develop": {"quality": "fast", "half_size": True}}),
    ("rose-4300K.jpg", "white balance set to 4300 K, a cooler rendering  (--wb 4300K)",
     {"develop": {"wb": {"mode": "kelvin", "kelvin": 4300.0}}}),
    ("rose-authentic.jpg", "look: authentic  (--look authentic)", {"look": "authentic"}),
    ("rose-vibrant.jpg", "look: vibrant", {"look": "vibrant"}),
    ("rose-bw-natural.jpg", "look: bw-natural", {"look": "bw-natural"}),
    ("rose-bw-contrast.jpg", "look: bw-contrast", {"look": "bw-contrast"}),
    ("rose-authentic-classic-frame.jpg",
     "look authentic + classic watermark frame  (--look authentic --frame classic)",
     {"look": "authentic", "frame": {"layout": "classic"}}),
]


def sample_path() -> Path:
    return Path(str(resources.files("redframe") / "data" / "sample_nikon_rose.dng"))


def run_demo(out_dir: str = "redframe-demo") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = sample_path()
    print(f"redframe demo: developing {src.name} (Nikon raw crop, MIT licence) into {out}/")
    made: list[tuple[Path, str, float]] = []
    for name, what, settings in DEMO:
        recipe = merge_recipe(Recipe(), settings)
        result = execute(Job((str(src),), str(out / name), recipe, overwrite=True))
        made.append((Path(result.output), what, result.seconds))
        if name == "rose-authentic-classic-frame.jpg":
            path = save_recipe(recipe, out / "rose-authentic-classic-frame.recipe.toml",
                               overwrite=True)
            made.append((path, "its recipe: `redframe develop IMG --recipe` this file", 0.0))
    compare = out / "rose-libraw-vs-redframe.png"
    _side_by_side(src, out / "rose.jpg", compare)
    made.append((compare, "left: LibRaw's default render, right: redframe", 0.0))

    width = max(len(p.name) for p, _, _ in made)
    for path, what, seconds in made:
        timing = f"{seconds:5.2f} s" if seconds else "       "
        print(f"  {path.name:<{width}}  {timing}  {what}")
    print(f"{len(made)} files in {out}/")
    return 0


def _side_by_side(raw_path: Path, ours_path: Path, out_path: Path) -> None:
    with rawpy.imread(str(raw_path)) as raw:
        theirs = raw.postprocess(use_camera_wb=True)
    ours = np.asarray(Image.open(ours_path).convert("RGB"))
    gap = np.full((ours.shape[0], 12, 3), 255, np.uint8)
    write_image(out_path, np.concatenate([theirs, gap, ours], axis=1), format="png",
                meta=None, overwrite=True, bit_depth=8)
