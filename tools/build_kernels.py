"""Rebuild compiled kernel modules in place during development (``pip install -e .`` builds
them all; this rebuilds only the ones named, in a temporary folder; builds started at the
same time from one checkout wait for each other, since Cython writes its .c files next to
the sources and the modules are copied in place).

    python tools/build_kernels.py src/redframe/isp/_demosaic.pyx [...]
    python tools/build_kernels.py --all
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools_major() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if _setuptools_major() < 77:  # builds here, with this environment's setuptools
        print("tools/build_kernels.py: error: needs setuptools >= 77 (pyproject.toml's "
              "licence is an SPDX expression): pip install -U 'setuptools>=77'",
              file=sys.stderr)
        return 2
    paths = (sorted(str(p) for p in (ROOT / "src").glob("redframe/**/*.pyx"))
             if argv == ["--all"] else [str(Path(a).resolve()) for a in argv])
    env = dict(os.environ, REDFRAME_PYX=":".join(paths))
    lock_path = Path(tempfile.gettempdir()) / f"redframe-kernels-{zlib.crc32(str(ROOT).encode()):08x}.lock"
    with open(lock_path, "w") as lock, tempfile.TemporaryDirectory(prefix="redframe-build-") as tmp:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cmd = [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "-t", tmp, "-b", tmp]
        return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
