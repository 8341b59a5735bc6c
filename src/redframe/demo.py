"""``redframe demo``: develop the bundled sample raw every way we can, into one folder.

The sample is a 768x512 crop of a Nikon raw (a red rose in sunlight) from
mushfiqulalam/isp (MIT licence), stored as a CFA DNG; see tests/data/SOURCES.md.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

__all__ = ["run_demo", "sample_path"]


def sample_path() -> Path:
    return Path(str(resources.files("redframe") / "data" / "sample_nikon_rose.dng"))


def run_demo(out_dir: str = "redframe-demo") -> int:
    from redframe.io.decode import read_image
    from redframe.io.encode import write_image
    from redframe.isp.pipeline import DevelopParams, develop

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = sample_path()
    print(f"redframe demo: developing {src.name} (Nikon raw crop, MIT licence) into {out}/")
    scene = read_image(src)
    made: list[tuple[Path, str, float]] = []

    def emit(name: str, what: str, params: DevelopParams, fmt: str, **kw) -> None:
        t0 = time.perf_counter()
        developed = develop(scene, params)
        path = write_image(out / name, developed.image, format=fmt, meta=developed.meta,
                           color_space=developed.space, overwrite=True, **kw)
        made.append((path, what, time.perf_counter() - t0))

    emit("rose.jpg", "JPEG, full quality (Menon demosaic, denoise, local tone mapping), sRGB",
         DevelopParams(), "jpeg", quality=92)
    p3 = DevelopParams()
    p3.output.space = "display-p3"
    emit("rose-p3.heic", "HEIC in Display P3", p3, "heic", quality=90)
    emit("rose-16bit.tif", "16-bit TIFF, sRGB", DevelopParams(), "tiff")
    emit("rose-16bit.png", "16-bit PNG, sRGB", DevelopParams(), "png")
    emit("rose-fast.jpg", "JPEG, fast proof at half size (2x2 binning, no denoise)",
         DevelopParams(quality="fast", half_size=True), "jpeg")
    warm = DevelopParams()
    from redframe.isp.white_balance import parse_wb

    warm.wb = parse_wb("4300K")
    emit("rose-4300K.jpg", "JPEG, white balance set to 4300 K (cooler rendering)", warm, "jpeg")
    from redframe.looks import get_look

    for name in ("authentic", "vibrant", "bw-natural", "bw-contrast"):
        emit(f"rose-{name}.jpg", f"look: {name}", DevelopParams(look=get_look(name)), "jpeg")
    from redframe.frame import render_frame

    t0 = time.perf_counter()
    framed = develop(scene, DevelopParams(look=get_look("authentic"), output_bits=8))
    canvas = render_frame(framed.image, framed.meta, "classic")
    path = write_image(out / "rose-authentic-classic-frame.jpg", canvas, format="jpeg",
                       meta=framed.meta, overwrite=True)
    made.append((path, "look authentic + classic watermark frame", time.perf_counter() - t0))
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
    import numpy as np
    import rawpy
    from PIL import Image

    with rawpy.imread(str(raw_path)) as raw:
        theirs = raw.postprocess(use_camera_wb=True)
    ours = np.asarray(Image.open(ours_path).convert("RGB"))
    gap = np.full((ours.shape[0], 12, 3), 255, np.uint8)
    from redframe.io.encode import write_image

    write_image(out_path, np.concatenate([theirs, gap, ours], axis=1), format="png",
                meta=None, overwrite=True, bit_depth=8)
