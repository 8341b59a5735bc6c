"""Rebuild compiled kernel modules in place during development (``pip install -e .`` builds
them all; this rebuilds only the ones named, each in its own temporary folder, so several
can be rebuilt at once).

    python tools/build_kernels.py src/redframe/isp/_demosaic.pyx [...]
    python tools/build_kernels.py --all
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    paths = (sorted(str(p) for p in (ROOT / "src").glob("redframe/**/*.pyx"))
             if argv == ["--all"] else [str(Path(a).resolve()) for a in argv])
    env = dict(os.environ, REDFRAME_PYX=":".join(paths))
    with tempfile.TemporaryDirectory(prefix="redframe-build-") as tmp:
        cmd = [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "-t", tmp, "-b", tmp]
        return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
