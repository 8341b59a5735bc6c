"""Build of redframe's compiled kernels (Cython + OpenMP), run by ``pip install .``.

Every ``*.pyx`` under ``src/redframe`` is one extension module named by its path
(``src/redframe/isp/_demosaic.pyx`` -> ``redframe.isp._demosaic``). The kernels are
compiled ahead of time so that nothing compiles on a user's machine at first use (it was
~40 s of numba JIT on the first develop, and ~1.3 s of every later process loading the
cached overloads; docs/performance.md).

Compiler flags: ``-O3`` with the floating-point relaxations numba's ``fastmath`` gave the
kernels (contraction to FMA, no errno, no trapping, reassociation for vectorised sums)
but *not* finite-math-only: kernels test for NaN and infinity on purpose. ``-march=native``
by default, as numba compiled for the host CPU; set ``REDFRAME_PORTABLE=1`` to build for
the baseline x86-64/aarch64 instruction set (e.g. a wheel for other machines).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
SRC = ROOT / "src"

FLAGS = [
    "-O3",
    "-fopenmp",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=fast",
    "-fassociative-math",
    "-fno-signed-zeros",
    "-freciprocal-math",
    "-Wno-unused-function",
    "-Wno-unreachable-code",
]
if os.environ.get("REDFRAME_PORTABLE") != "1" and platform.machine() in ("x86_64", "AMD64"):
    FLAGS.append("-march=native")
elif os.environ.get("REDFRAME_PORTABLE") != "1":
    FLAGS.append("-mcpu=native")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}


def extensions() -> list[Extension]:
    """One Extension per ``.pyx`` under src/redframe (or only those named, colon-separated,
    in ``REDFRAME_PYX``: tools/build_kernels.py rebuilds one kernel module in place)."""
    only = os.environ.get("REDFRAME_PYX")
    pyx = ([Path(p).resolve() for p in only.split(":")] if only
           else sorted(SRC.glob("redframe/**/*.pyx")))
    return [
        Extension(
            ".".join(p.relative_to(SRC).with_suffix("").parts),
            [str(p.relative_to(ROOT))],
            extra_compile_args=FLAGS,
            extra_link_args=["-fopenmp"],
        )
        for p in pyx
    ]


def cythonized():
    from Cython.Build import cythonize

    return cythonize(extensions(), compiler_directives=DIRECTIVES, quiet=True,
                     include_path=[str(SRC)])


class BuildKernels(build_ext):
    """build_ext whose failure to find or run a C compiler is one clear sentence."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # distutils' CompileError, PlatformError, ...
            if "compiler" not in str(exc).lower() and "gcc" not in str(exc).lower() and \
                    type(exc).__name__ not in ("CompileError", "DistutilsPlatformError"):
                raise
            raise SystemExit(
                "redframe: its kernels are compiled C (Cython + OpenMP) and this machine "
                f"could not build them ({type(exc).__name__}: {exc}). Install a C compiler "
                "with OpenMP (Debian/Ubuntu: apt-get install gcc python3-dev; Fedora: dnf "
                "install gcc python3-devel; macOS: brew install gcc libomp) and run pip "
                "install again.") from None


setup(ext_modules=cythonized(), cmdclass={"build_ext": BuildKernels})
