"""Before/after pictures of the lens characters for docs/looks.md (docs/img/characters/).

Each picture goes through the job runner as `redframe develop --lens-character NAME` would
take it; the left half is the picture without a character, the crop the character takes
outlined, the right half the character's output at the same height.

    python docs/characters_gallery.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from redframe.jobs.recipe import Recipe
from redframe.jobs.runner import Job, execute
from redframe.looks.characters import BUNDLED_CHARACTERS, crop_box, get_character

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "characters"
HEIGHT = 300  # of each half, pixels


def _bokeh_scene(path: Path, h: int = 1040, w: int = 1560) -> Path:
    """A sharp subject (a Siemens star) before an out-of-focus background of coloured light
    discs, and a few small point lights: what swirl and soft focus act on. 16-bit PNG."""
    rng = np.random.default_rng(19)
    img = np.zeros((h, w, 3), np.float32)
    img[:] = (0.02, 0.035, 0.02)
    for _ in range(260):
        y, x, r = rng.integers(0, h), rng.integers(0, w), int(rng.integers(8, 26))
        colour = rng.choice([(1.0, 0.75, 0.35), (0.5, 0.8, 1.0), (1.0, 0.4, 0.3),
                             (0.6, 1.0, 0.5)])
        cv2.circle(img, (int(x), int(y)), r, tuple(float(c) * rng.uniform(0.2, 0.7)
                                                   for c in colour), -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 3.0)  # the background is out of focus
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, rad = h / 2, w / 2, 0.14 * h
    rr = np.hypot(yy - cy, xx - cx)
    star = (np.sin(24 * np.arctan2(yy - cy, xx - cx)) > 0).astype(np.float32) * 0.8 + 0.03
    inside = rr < rad
    img[inside] = star[inside][:, None]
    for y, x in ((0.2, 0.3), (0.75, 0.62), (0.35, 0.7), (0.385, 0.385), (0.615, 0.615),
                 (0.404, 0.628)):  # small sharp lights, three inside the 90 mm crop
        cv2.circle(img, (int(x * w), int(y * h)), 3, (1.0, 0.95, 0.85), -1, cv2.LINE_AA)
    encoded = np.where(img <= 0.0031308, 12.92 * img, 1.055 * np.power(img, 1 / 2.4) - 0.055)
    codes = np.round(np.clip(encoded, 0, 1) * 65535).astype(np.uint16)
    cv2.imwrite(str(path), cv2.cvtColor(codes, cv2.COLOR_RGB2BGR))
    return path


def _develop(source: Path, target: Path, character: str | None) -> np.ndarray:
    recipe = Recipe(character=character)
    recipe.output.format = "png"
    recipe.output.bit_depth = 8
    execute(Job((str(source),), str(target), recipe, overwrite=True))
    with Image.open(target) as im:
        return np.asarray(im.convert("RGB"))


def _fit(img: np.ndarray, height: int) -> np.ndarray:
    w = max(1, round(img.shape[1] * height / img.shape[0]))
    return cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA)


def pair(before: np.ndarray, after: np.ndarray, factor: float) -> np.ndarray:
    """The picture with the crop outlined | the character's output, side by side."""
    left = _fit(before, HEIGHT).copy()
    y0, y1, x0, x1 = crop_box(left.shape[:2], factor)
    cv2.rectangle(left, (x0, y0), (x1 - 1, y1 - 1), (255, 210, 0), 2)
    right = _fit(after, HEIGHT)
    gap = np.full((HEIGHT, 8, 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scenes = {"kitchen": ROOT / "tests" / "data" / "iphone13promax_rot90.heic",
                  "bokeh": _bokeh_scene(tmp / "bokeh-scene.png")}
        wanted = {"kitchen": BUNDLED_CHARACTERS, "bokeh": ("swirl-50", "soft-90")}
        for scene, source in scenes.items():
            before = _develop(source, tmp / f"{scene}.png", None)
            for name in wanted[scene]:
                after = _develop(source, tmp / f"{scene}-{name}.png", name)
                factor = before.shape[1] / after.shape[1]
                Image.fromarray(pair(before, after, factor)).save(
                    OUT / f"{scene}_{name}.png", optimize=True)
                print(scene, name, f"{before.shape[1]}x{before.shape[0]} -> "
                      f"{after.shape[1]}x{after.shape[0]} "
                      f"({get_character(name).focal_mm:g} mm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
