"""3D LUTs in the .cube format: export a look, load any .cube as a look.

Format: Adobe "Cube LUT Specification" 1.0 (2013), as read by Resolve, Premiere,
Photoshop, OCIO and colour-science: ``TITLE``, ``LUT_3D_SIZE N`` (and/or ``LUT_1D_SIZE``),
``DOMAIN_MIN``/``DOMAIN_MAX`` (Resolve's ``LUT_1D_INPUT_RANGE``/``LUT_3D_INPUT_RANGE``
are read too), then one ``R G B`` line per lattice point with **red changing fastest**.

What an exported LUT means (``export_cube(look, path, size, input, output)``): its input
is an image *encoded* in ``input`` (each channel in [0, 1]), its output is the look's
rendering *encoded* in ``output``. The encodings are those of the one table
:data:`redframe.color.encodings.ENCODINGS` (shared with the video path): ``srgb``,
``display-p3`` and ``rec709`` (display-referred), ``slog3``, ``logc3`` and ``acescct``
(scene-referred; ACES white adapted to D65 with Bradford). Display-referred inputs (a
finished picture) are taken back to scene light through the inverse of the ``neutral``
tone curve before the look, exactly as ``redframe develop --look`` does with a JPEG.
Scene-referred inputs go to the look directly (mid-grey 0.18 = S-Log3 code 420/1023, LogC3
0.391, ACEScct 0.4135). The output default is the input's own encoding for display inputs
and ``rec709`` for log inputs; the output gamut is compressed as
:func:`redframe.isp.output.output_transform` does. Vignette and grain depend on pixel
position and are not in a LUT.

Loading (``load_cube(path)``) gives a :class:`CubeLook` usable as ``DevelopParams.look``:
scene light is rendered with the ``neutral`` look, encoded in the LUT's input encoding,
interpolated (tetrahedral), and decoded from its output encoding. The encodings come from
the ``# redframe-input:`` / ``# redframe-output:`` comments our exports carry, or default
to ``srgb`` -> ``srgb`` (the common case of a photo LUT).

Reading (``read_cube``) is hand-written rather than a Python loop over rows, because the
server loads user looks at start-up and a .cube is untrusted input. Limits are module data
(:data:`MAX_3D_SIZE` 129, :data:`MAX_1D_SIZE` 65536, :data:`MAX_BYTES` ~178 MB derived
from them with :data:`MAX_ROW_BYTES` and :data:`MAX_HEADER_BYTES`): the file size is checked
before reading, the declared sizes and the table's byte count before parsing; the table is
then parsed by ``np.fromstring`` in 64 KiB chunks cut at line ends, and only a chunk that
does not parse, holds a NaN/inf or is not 3 numbers a line is checked row by row, to name
the first bad line. Measured (one process, 2 shared cores, float64 text "%.6f" as
:func:`write_cube` writes; peak = VmHWM over the RSS before the call): 65^3 (7.1 MiB) 1.10 s
and 74 MB with the old row loop, 0.20 s and 17 MB now; 129^3 (55 MiB) 9.3 s and 578 MB,
now 1.9 s and 129 MB (the text, the float64 values, the float32 table). A LUT_3D_SIZE 256
file or one over the byte limit is refused before its table is read or parsed.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redframe.color.encodings import ENCODINGS, Encoding
from redframe.color.transfer import gamma24_encode
from redframe.errors import OutputError, UsageError
from redframe.isp.output import OutputParams, gamut_compress, output_transform
from redframe.isp.tone import NEUTRAL_TONE, display_to_scene, tone_curve
from redframe.looks import fast
from redframe.looks.engine import (
    Look,
    _rows_of,
    _sanitize,
    bake_function,
)

__all__ = [
    "ENCODINGS",
    "OUTPUT_ENCODINGS",
    "CubeData",
    "CubeLook",
    "read_cube",
    "write_cube",
    "load_cube",
    "export_cube",
    "encode",
    "decode",
    "bake_table",
    "default_output",
]

OUTPUT_ENCODINGS = ("srgb", "display-p3", "rec709")


def _encoding(name: str, allowed=None) -> Encoding:
    allowed = allowed or tuple(ENCODINGS)
    if name not in allowed:
        raise UsageError(f"unknown LUT encoding {name!r}; choose one of {', '.join(allowed)}")
    return ENCODINGS[name]


def decode(codes: np.ndarray, name: str) -> np.ndarray:
    """Encoded values (..., 3) in ``name`` -> linear Rec.2020 (scene or display light)."""
    enc = _encoding(name)
    lin = enc.decode(np.asarray(codes, np.float64))
    return (lin @ enc.to_2020.T).astype(np.float32)


def encode(rgb2020: np.ndarray, name: str) -> np.ndarray:
    """Linear Rec.2020 (..., 3) -> values encoded in ``name``. Display encodings are output
    transforms (gamut compressed, clipped to [0, 1]); log encodings keep scene light."""
    enc = _encoding(name)
    rgb = np.asarray(rgb2020, np.float32)
    if name in ("srgb", "display-p3"):
        flat = rgb.reshape(-1, 1, 3)
        return output_transform(flat, OutputParams(name)).reshape(rgb.shape)
    native = rgb.astype(np.float64) @ np.linalg.inv(enc.to_2020).T
    if name == "rec709":
        flat = native.astype(np.float32).reshape(-1, 1, 3)
        # Rec.709 has sRGB's primaries
        return gamma24_encode(gamut_compress(flat, "srgb")).reshape(rgb.shape).astype(
            np.float32)
    return enc.encode(native).astype(np.float32)


# --- reading and writing ------------------------------------------------------------------

@dataclass
class CubeData:
    """A parsed .cube file. ``table3`` is (n, n, n, 3) indexed [r, g, b]; ``table1`` (m, 3)."""

    title: str | None
    table3: np.ndarray | None
    table1: np.ndarray | None
    domain_min: np.ndarray
    domain_max: np.ndarray
    domain1_min: np.ndarray
    domain1_max: np.ndarray
    tags: dict


_KEYWORDS = ("TITLE", "LUT_3D_SIZE", "LUT_1D_SIZE", "DOMAIN_MIN", "DOMAIN_MAX",
             "LUT_1D_INPUT_RANGE", "LUT_3D_INPUT_RANGE")
_TAG = re.compile(r"#\s*redframe-(input|output)\s*:\s*([a-z0-9-]+)")
_TAG_LINE = re.compile(r"^[^\S\n]*#[^\S\n]*redframe-(input|output)[^\S\n]*:[^\S\n]*([a-z0-9-]+)",
                       re.M)
_COMMENT = re.compile(r"#[^\n]*")
_NUMBER_WORDS = ("nan", "inf", "infinity")  # table values, not keywords
_CHUNK = 1 << 16  # characters of table parsed per np.fromstring call (cut at a line end)

#: Largest ``LUT_3D_SIZE`` read (the largest :func:`export_cube` writes; 129^3 is 25.5 MB
#: as float32). The spec allows 256, but 256^3 is 16.8 M rows (~450 MB of text).
MAX_3D_SIZE = 129
#: Largest ``LUT_1D_SIZE`` read (the spec's limit).
MAX_1D_SIZE = 65536
#: Longest table row allowed on average: 3 numbers of up to 25 characters each.
MAX_ROW_BYTES = 80
#: Keywords and comments before the table (and comments in it) may take this much.
MAX_HEADER_BYTES = 1 << 20
#: Largest .cube file read: checked from the file size before anything is read, and the
#: table against its declared size before it is parsed (~178 MB).
MAX_BYTES = MAX_HEADER_BYTES + MAX_ROW_BYTES * (MAX_1D_SIZE + MAX_3D_SIZE**3)


def _is_keyword(head: str) -> bool:
    return head[0].isalpha() and head.lower() not in _NUMBER_WORDS


def _read_text(path: Path, src: str) -> str:
    """The file's text, its size checked before it is read (a FIFO or a huge file refused)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError("a LUT must be a regular file", path=src)
        if st.st_size > MAX_BYTES:
            raise UsageError(f"LUT file is {st.st_size} bytes; a .cube is read up to "
                             f"{MAX_BYTES} bytes (LUT_3D_SIZE {MAX_3D_SIZE} with a "
                             f"LUT_1D_SIZE {MAX_1D_SIZE} shaper)", path=src)
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise UsageError(f"LUT file is over {MAX_BYTES} bytes", path=src)
        text = raw.decode("utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read LUT file ({exc})", path=src) from None
    del raw
    if "\r" in text:  # CRLF (Windows) and CR (old Mac) line ends, as str.splitlines did
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_cube(path: str | Path) -> CubeData:
    """Parse a .cube file strictly; problems -> UsageError with the line number.

    The file size is checked against :data:`MAX_BYTES` before reading; the header
    (keywords, comments) is parsed line by line, the declared sizes checked, and only then
    the table, at NumPy speed: exactly 3 finite numbers a row, ``size1 + size3^3`` rows.
    """
    path = Path(path)
    src = str(path)
    text = _read_text(path, src)
    title = None
    size3 = size1 = None
    dmin = np.zeros(3)
    dmax = np.ones(3)
    d1min, d1max = np.zeros(3), np.ones(3)
    tags: dict = {}
    first_data_line = None
    pos, number, length = 0, 0, len(text)
    while pos < length:  # the header: keywords and comments up to the first table row
        if pos > MAX_HEADER_BYTES:
            raise UsageError(f"more than {MAX_HEADER_BYTES} bytes of keywords and comments "
                             f"before the table (line {number})", path=src)
        cut = text.find("\n", pos)
        cut = length if cut < 0 else cut
        number += 1
        line = text[pos:cut].strip()
        start, pos = pos, cut + 1
        if not line:
            continue
        if line.startswith("#"):
            m = _TAG.match(line)
            if m:
                tags[m.group(1)] = m.group(2)
            continue
        line = line.split("#", 1)[0].strip()
        head = line.split(None, 1)[0]
        if not _is_keyword(head):
            first_data_line, pos = number, start
            break
        rest = line[len(head):].strip()
        if head == "TITLE":
            title = rest.strip('"')
        elif head in ("LUT_3D_SIZE", "LUT_1D_SIZE"):
            limit = MAX_3D_SIZE if head == "LUT_3D_SIZE" else MAX_1D_SIZE
            if not re.fullmatch(r"\d+", rest) or not 2 <= int(rest) <= limit:
                raise UsageError(f"line {number}: {head} must be an integer 2..{limit}, "
                                 f"got {rest!r}", path=src)
            if head == "LUT_3D_SIZE":
                size3 = int(rest)
            else:
                size1 = int(rest)
        elif head in ("DOMAIN_MIN", "DOMAIN_MAX"):
            vec = _floats(rest, 3, number, head, src)
            if head == "DOMAIN_MIN":
                dmin = vec
            else:
                dmax = vec
        elif head in ("LUT_1D_INPUT_RANGE", "LUT_3D_INPUT_RANGE"):
            lo, hi = _floats(rest, 2, number, head, src)
            if head == "LUT_1D_INPUT_RANGE":
                d1min, d1max = np.full(3, lo), np.full(3, hi)
            else:
                dmin, dmax = np.full(3, lo), np.full(3, hi)
        else:
            raise UsageError(f"line {number}: unknown keyword {head!r}; a .cube file has "
                             f"{', '.join(_KEYWORDS)} and rows of 3 numbers", path=src)
    if size3 is None and size1 is None:
        raise UsageError("no LUT_3D_SIZE (or LUT_1D_SIZE) line: not a .cube LUT", path=src)
    if np.any(dmax <= dmin) or np.any(d1max <= d1min):
        raise UsageError("DOMAIN_MAX must be above DOMAIN_MIN in every channel", path=src)
    expected = (size1 or 0) + (size3 or 0) ** 3
    sizes = " + ".join(s for s in (
        f"LUT_1D_SIZE {size1}" if size1 else "", f"LUT_3D_SIZE {size3}^3" if size3 else ""
    ) if s)
    table = text[pos:] if first_data_line else ""
    del text
    most = MAX_HEADER_BYTES + MAX_ROW_BYTES * expected
    if len(table) > most:
        raise UsageError(f"the table (from line {first_data_line}) is {len(table)} bytes; "
                         f"{sizes} ({expected} rows) takes at most {most}", path=src)
    if "#" in table:
        for m in _TAG_LINE.finditer(table):
            tags[m.group(1)] = m.group(2)
        table = _COMMENT.sub("", table)  # line ends kept: line numbers stay right
    data = _parse_table(table, first_data_line or 1, expected, src)
    if data.size != 3 * expected:
        raise UsageError(f"{sizes} needs {expected} table rows, found {data.size // 3}"
                         + (f" (data from line {first_data_line})" if first_data_line else ""),
                         path=src)
    with np.errstate(over="ignore"):
        data = data.astype(np.float32).reshape(-1, 3)
    if not np.isfinite(data).all():
        row = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0])
        raise UsageError(f"table row {row + 1} (from line {first_data_line}) has a value "
                         f"beyond float32 (|x| > 3.4e38)", path=src)
    table1 = data[:size1] if size1 else None
    table3 = None
    if size3:
        n = size3
        # file order: red fastest -> C-order [b, g, r]; we index [r, g, b]
        table3 = np.ascontiguousarray(data[size1 or 0:].reshape(n, n, n, 3).transpose(2, 1, 0, 3))
    if size1 and not size3:
        d1min, d1max = dmin, dmax
    return CubeData(title, table3, table1, dmin, dmax, d1min, d1max, tags)


def _parse_table(table: str, line: int, rows: int, src: str) -> np.ndarray:
    """The table's numbers (float64), parsed by np.fromstring in chunks cut at line ends.

    A chunk whose count is not 3 a line (blank lines, a short or long row), or that does not
    parse, or holds a NaN/inf, is checked line by line to name the first bad line. Returns
    the values (only the first ``3 * rows`` are kept; more are counted, the caller reports).
    """
    out = np.empty(3 * rows, np.float64)
    filled, pos, length = 0, 0, len(table)
    while pos < length:
        cut = table.find("\n", min(pos + _CHUNK, length - 1))
        cut = length if cut < 0 else cut + 1
        chunk = table[pos:cut]
        lines = chunk.count("\n") + (not chunk.endswith("\n"))
        values = None
        if not chunk.isspace():  # (np.fromstring reads "   " as [-1.0])
            try:
                values = np.fromstring(chunk, sep=" ")
            except ValueError:
                pass
        if values is None or values.size != 3 * lines or not np.isfinite(values).all():
            numbers = values is None or not np.isfinite(values).all()
            _check_rows(chunk, line, src, numbers)  # raises at the first bad line
            if values is None:  # Python reads it (blank lines, "1_000"): as the rows did
                values = np.array([float(v) for v in chunk.split()], np.float64)
        end = min(filled + values.size, out.size)
        out[filled:end] = values[: end - filled]
        filled += values.size
        line += chunk.count("\n")
        pos = cut
    return out if filled == out.size else np.empty(filled)


def _check_rows(chunk: str, line: int, src: str, numbers: bool) -> None:
    """Raise at the first bad row of ``chunk`` (its first line is ``line``): a keyword,
    not 3 numbers, or (``numbers``: the chunk did not parse, or holds a NaN/inf) a value."""
    for number, raw in enumerate(chunk.split("\n"), start=line):
        parts = raw.split()
        if not parts:
            continue
        if _is_keyword(parts[0]):
            raise UsageError(f"line {number}: keyword {parts[0]} after the table data",
                             path=src)
        if numbers or len(parts) != 3:
            _floats(raw.strip(), 3, number, "a table row", src)


def _floats(text: str, count: int, number: int, what: str, src: str) -> np.ndarray:
    parts = text.split()
    if len(parts) != count:
        raise UsageError(f"line {number}: {what} needs {count} numbers, got {text!r}", path=src)
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f"line {number}: {what} has a value that is not a number: "
                         f"{text!r}", path=src) from None
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"line {number}: {what} has a NaN or infinite value: {text!r}",
                         path=src)
    return np.asarray(values, np.float64)


def write_cube(path: str | Path, table3: np.ndarray, *, title: str = "",
               comments: list[str] | None = None) -> Path:
    """Write ``table3`` (n, n, n, 3) indexed [r, g, b] as a .cube file, atomically."""
    path = Path(path)
    n = table3.shape[0]
    rows = np.asarray(table3, np.float64).transpose(2, 1, 0, 3).reshape(-1, 3)
    head = [f"# {c}" for c in (comments or [])]
    head += [f'TITLE "{title}"', f"LUT_3D_SIZE {n}", "DOMAIN_MIN 0.0 0.0 0.0",
             "DOMAIN_MAX 1.0 1.0 1.0"]
    body = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in rows.tolist())
    text = "\n".join(head) + "\n" + body + "\n"
    directory = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file, not mkstemp's 0600
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write LUT ({exc.strerror or exc})", path=str(path)) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return path


def _umask() -> int:
    """The process's umask, read without changing it (threads may be writing files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def default_output(input: str, output: str | None = None) -> str:
    """The output encoding of a LUT for ``input``: ``output`` (checked), else the input's
    own for display encodings and ``rec709`` for scene-referred ones."""
    enc = _encoding(input)
    out_name = output or (input if enc.display and input in OUTPUT_ENCODINGS else "rec709")
    _encoding(out_name, OUTPUT_ENCODINGS)
    return out_name


def bake_table(look, size: int, input: str, output: str) -> np.ndarray:
    """The look as a lattice (size, size, size, 3) float32 indexed [r, g, b]: ``input``-
    encoded codes -> the look's rendering encoded in ``output``, each in [0, 1]. What
    :func:`export_cube` writes and what the video path applies (one bake for both).

    ``look`` is a :class:`Look` or a :class:`CubeLook` (anything with ``colour(light,
    display_referred)``). Display-referred inputs are display light, taken back to scene
    light by the look as ``redframe develop --look`` does with a JPEG.
    """
    enc = _encoding(input)
    _encoding(output, OUTPUT_ENCODINGS)
    codes = np.linspace(0.0, 1.0, size)
    grid = np.stack(np.meshgrid(codes, codes, codes, indexing="ij"), axis=-1)
    light = decode(grid, input)
    rendered = look.colour(light, display_referred=enc.display)
    return np.clip(encode(rendered, output), 0.0, 1.0).astype(np.float32)


def export_cube(look: Look, path: str | Path, size: int = 33, input: str = "srgb",
                output: str | None = None) -> Path:
    """Write ``look`` as a .cube 3D LUT of ``size`` points per axis (33 or 65 usual).

    The LUT maps ``input``-encoded values to the look's rendering encoded in ``output``
    (default: ``input`` for display encodings, ``rec709`` for log encodings); see the
    module docstring for the encodings. Vignette and grain are left out (they depend on
    pixel position). Returns the path. Bad arguments -> UsageError.
    """
    if isinstance(look, CubeLook):
        raise UsageError("export_cube takes a look (.toml); this is already a .cube LUT")
    if not isinstance(look, Look):
        raise UsageError(f"export_cube takes a look (redframe.looks.get_look), not "
                         f"{type(look).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 129:
        raise UsageError(f"LUT size must be an integer 2..129 (33 or 65 usual), got {size!r}")
    out_name = default_output(input, output)
    table = bake_table(look, size, input, out_name)
    comments = [
        f'redframe look "{look.name}" (version {look.version}): {look.description}',
        f"input: {ENCODINGS[input].about}",
        f"output: {ENCODINGS[out_name].about}",
        "vignette and grain depend on pixel position and are not part of this LUT",
        f"redframe-input: {input}",
        f"redframe-output: {out_name}",
    ]
    return write_cube(path, table, title=look.name, comments=comments)


# --- a .cube file as a look ---------------------------------------------------------------

class CubeLook:
    """A .cube LUT used as a look: scene light -> display linear Rec.2020 in [0, 1]."""

    def __init__(self, data: CubeData, *, name: str, path: Path | None = None,
                 input: str = "srgb", output: str = "srgb"):
        self.data = data
        self.name = name
        self.path = path
        self.input = _encoding(input).name
        self.output = _encoding(output, OUTPUT_ENCODINGS).name
        n = data.table3.shape[0] if data.table3 is not None else len(data.table1)
        self.description = (f"3D LUT {n}^3 ({data.title})" if data.table3 is not None
                            else f"1D LUT {n} ({data.title})")
        self.version = 1
        self._baked: dict = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CubeLook({self.name!r}, {self.input} -> {self.output})"

    def lut(self, codes: np.ndarray) -> np.ndarray:
        """Apply the file's tables to encoded values (..., 3): 1D (linear), then 3D
        (tetrahedral), each over its domain. Out-of-domain inputs clamp."""
        d = self.data
        x = np.asarray(codes, np.float32)
        if d.table1 is not None:
            m = len(d.table1)
            t = (x - d.domain1_min) / (d.domain1_max - d.domain1_min)
            pos = np.clip(np.nan_to_num(t, nan=0.0), 0, 1) * (m - 1)
            i = np.minimum(pos.astype(np.intp), m - 2)
            f = (pos - i).astype(np.float32)
            ch = np.arange(3)
            x = d.table1[i, ch] * (1 - f) + d.table1[i + 1, ch] * f
        if d.table3 is not None:
            t = (x - d.domain_min) / (d.domain_max - d.domain_min)
            x = fast.tetrahedral(t.astype(np.float32), d.table3)
        return np.asarray(x, np.float32)

    def colour(self, rgb: np.ndarray, display_referred: bool = False) -> np.ndarray:
        """Reference path, any (..., 3): scene (or display) light -> the LUT's input
        encoding -> the LUT -> display linear Rec.2020."""
        rgb = np.asarray(rgb)
        shape = rgb.shape
        rgb = rgb.reshape(-1, 1, 3)
        enc = ENCODINGS[self.input]
        x = _sanitize(rgb, 1.0 if display_referred else fast.XMAX)
        if enc.display and not display_referred:
            x = tone_curve(x, NEUTRAL_TONE)  # render scene light as the neutral look does
        elif not enc.display and display_referred:
            x = display_to_scene(x)
        codes = encode(x, self.input)
        out = self.lut(codes)
        out = decode(np.clip(out, 0.0, 1.0), self.output)
        return np.clip(out, 0.0, 1.0).astype(np.float32).reshape(shape)

    def apply(self, rgb: np.ndarray, *, rows=None, full_shape=None,
              display_referred: bool = False, engine: str = "lut") -> np.ndarray:
        """As :meth:`redframe.looks.Look.apply` (a LUT has no vignette or grain): the fast
        path resamples this whole chain once onto the engine's shaped 65^3 lattice."""
        rgb = np.asarray(rgb)
        _rows_of(rgb, rows, full_shape)
        if engine == "reference":
            return self.colour(rgb, display_referred)
        if engine != "lut":
            raise ValueError(f"engine must be 'lut' or 'reference', got {engine!r}")
        with self._lock:
            baked = self._baked.get(display_referred)
            if baked is None:
                baked = bake_function(lambda x: self.colour(x, display_referred), 65,
                                      display_referred)
                self._baked[display_referred] = baked
        return fast.apply_lut(rgb, *baked)

    __call__ = apply


def load_cube(path: str | Path, *, input: str | None = None,
              output: str | None = None) -> CubeLook:
    """A .cube file as a look. ``input``/``output`` encodings default to the file's
    ``# redframe-input/output`` tags, else ``srgb``. Malformed files -> UsageError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError("LUT file not found", path=str(path))
    data = read_cube(path)
    return CubeLook(data, name=path.stem, path=path,
                    input=input or data.tags.get("input", "srgb"),
                    output=output or data.tags.get("output", "srgb"))
