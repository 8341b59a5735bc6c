"""Target ``cube``: a ``.cube`` LUT through :func:`redframe.looks.cube.read_cube` and
:func:`~redframe.looks.cube.load_cube`, then the look applied to a few pixels (domain,
encodings from the ``# redframe-input/output`` tags). Seeds: 2^3 and 3^3 3D LUTs, a 1D LUT,
a 1D + 3D file with domains and tags."""

from __future__ import annotations

import numpy as np

from fuzz.harness import Target, temp_file
from redframe.looks.cube import load_cube, read_cube

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)
PIXELS = np.array([[[0.0, 0.0, 0.0], [0.18, 0.18, 0.18]], [[1.0, 0.5, 0.1], [4.0, -0.1, 0.3]]],
                  np.float32)


def one(data: bytes) -> None:
    with temp_file(data, ".cube") as path:
        read_cube(path)
        look = load_cube(path)
        out = look.apply(PIXELS.copy(), rows=(0, 2), full_shape=(2, 2), display_referred=False)
        assert np.asarray(out).shape == PIXELS.shape


def _rows(n: int) -> str:
    g = np.linspace(0, 1, n)
    return "\n".join(f"{r:.4f} {gg:.4f} {b:.4f}" for b in g for gg in g for r in g)


def seeds() -> list[bytes]:
    ramp = "\n".join(f"{v:.3f} {v:.3f} {v:.3f}" for v in np.linspace(0, 1, 4))
    return [
        f'TITLE "two"\nLUT_3D_SIZE 2\n{_rows(2)}\n'.encode(),
        f"# redframe-input: srgb\n# redframe-output: display-p3\nLUT_3D_SIZE 3\n"
        f"DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n{_rows(3)}\n".encode(),
        f'TITLE "ramp"\nLUT_1D_SIZE 4\nDOMAIN_MIN 0.0 0.0 0.0\nDOMAIN_MAX 1.0 1.0 1.0\n'
        f"{ramp}\n".encode(),
        f"LUT_1D_SIZE 4\nLUT_3D_SIZE 2\nLUT_1D_INPUT_RANGE 0.0 1.0\nLUT_3D_INPUT_RANGE 0.0 1.0\n"
        f"# a comment\n{ramp}\n{_rows(2)}\n".encode(),
    ]


TARGET = Target("cube", one, seeds, tokens=(
    b"TITLE ", b"LUT_3D_SIZE ", b"LUT_1D_SIZE ", b"DOMAIN_MIN ", b"DOMAIN_MAX ",
    b"LUT_1D_INPUT_RANGE ", b"LUT_3D_INPUT_RANGE ", b"# redframe-input: ", b"# redframe-output: ",
    b"srgb", b"display-p3", b"rec2020", b"log", b"129", b"130", b"65536", b"65537", b"0 0 0",
    b"1 1 1", b"1e-30", b"0.5 0.5 0.5\n",
), max_len=64 * 1024)
