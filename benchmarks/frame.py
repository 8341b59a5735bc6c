"""Benchmark: framing a 12 MP JPEG (decode + frame + encode) against plain Pillow.

    python benchmarks/frame.py [--layout classic] [--repeat 5] [--image PATH]

Times, in the same run and on the same file, the median of ``--repeat`` runs of

- ``pillow``: ``Image.open(src).convert("RGB")`` then ``save(JPEG, quality=92)`` (Pillow's
  defaults otherwise): what "just re-saving the file" costs;
- ``pillow 4:4:4``: the same with the encoder settings ``write_image`` uses for quality >= 90
  (4:4:4 chroma, optimised Huffman tables), so the frame's own overhead can be told apart
  from the encoder choice;
- ``decode+frame only``: redframe's metadata read, decode, orientation and framing, no
  encode (what the frame costs on top of a decode);
- ``frame_file``: redframe's full path (metadata, decode, orientation, layout, text, EXIF
  and ICC copied, atomic write), for each layout asked;

and prints the ratios. Target (issue 5): frame_file / pillow <= 1.5 for ``classic``.
Without ``--image`` a 4000x3000 test JPEG with camera EXIF is synthesised.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _make_jpeg(path: Path) -> None:
    """A 12 MP photo-like JPEG (textured, not flat: realistic entropy) with EXIF."""
    import pyexiv2

    rng = np.random.default_rng(7)
    h, w = 3000, 4000
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([120 + 80 * np.sin(x / 310) * np.cos(y / 190), 110 + 70 * y / h,
                     90 + 100 * x / w], axis=-1)
    img = base + rng.normal(0, 12, size=(h, w, 3)).astype(np.float32)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=92)
    with pyexiv2.Image(str(path)) as im:
        im.modify_exif({"Exif.Image.Make": "Xiaomi", "Exif.Image.Model": "2304FPN6DC",
                        "Exif.Photo.FNumber": "163/100", "Exif.Photo.ExposureTime": "1/120",
                        "Exif.Photo.ISOSpeedRatings": "50", "Exif.Photo.FocalLength": "87/10",
                        "Exif.Photo.FocalLengthIn35mmFilm": "23",
                        "Exif.Photo.LensModel": "Main camera 8.7mm f/1.9",
                        "Exif.Photo.DateTimeOriginal": "2024:05:17 18:32:10"})


def _median(fn, repeat: int) -> float:
    fn()  # warm caches (fonts, layouts, imports)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    from redframe.frame import list_layouts
    from redframe.jobs import frame_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", action="append", help="layout(s) to time (default classic)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--image", type=Path, help="a JPEG to use instead of a synthetic one")
    args = parser.parse_args(argv)
    layouts = args.layout or ["classic"]
    if layouts == ["all"]:
        layouts = list_layouts()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = args.image or tmp / "src.jpg"
        if args.image is None:
            _make_jpeg(src)
        with Image.open(src) as im:
            size = im.size

        def pillow(**kw):
            with Image.open(src) as im:
                im.convert("RGB").save(tmp / "plain.jpg", quality=92, **kw)

        def decode_and_frame(layout):
            from redframe.frame.draw import draw_frame
            from redframe.frame.files import _decode
            from redframe.frame.render import frame_plan
            from redframe.io.decode import read_metadata
            from redframe.io.encode import apply_orientation

            meta = read_metadata(str(src))
            pixels, _ = _decode(str(src), "jpeg", meta)
            photo = np.ascontiguousarray(apply_orientation(pixels, meta.orientation))
            return draw_frame(frame_plan(photo, meta, layout), photo)

        base = _median(lambda: pillow(), args.repeat)
        matched = _median(lambda: pillow(subsampling=0, optimize=True), args.repeat)
        rows = [("pillow decode+encode", base), ("pillow 4:4:4 optimised", matched),
                ("redframe decode+frame only", _median(lambda: decode_and_frame(layouts[0]),
                                                      args.repeat))]
        for layout in layouts:
            out = tmp / layout
            rows.append((f"frame_file {layout}", _median(
                lambda layout=layout, out=out: frame_file(src, out, layout=layout, quality=92,
                                                          overwrite=True), args.repeat)))

    print(f"{size[0]}x{size[1]} JPEG ({size[0] * size[1] / 1e6:.1f} MP), "
          f"median of {args.repeat} runs")
    print(f"{'':28s} {'seconds':>8s} {'/ pillow':>9s} {'/ 4:4:4':>8s}")
    for name, seconds in rows:
        print(f"{name:28s} {seconds:8.3f} {seconds / base:9.2f} {seconds / matched:8.2f}")
    ratio = rows[3][1] / base
    print(f"ratio frame_file({layouts[0]}) / pillow = {ratio:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
