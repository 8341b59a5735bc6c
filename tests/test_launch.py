"""The `redframe` entry point: kernels that are not built get one line, not a traceback."""

import subprocess
import sys

from redframe import launch


def test_missing_kernels_are_one_line_with_how_to_build(monkeypatch, capsys):
    monkeypatch.setattr(launch, "PROBE", "redframe._not_built_kernels")
    assert launch.main() == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e ." in err[0] and "C compiler" in err[0]


def test_the_built_kernels_are_found_and_the_command_runs():
    out = subprocess.run([sys.executable, "-m", "redframe", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("redframe ")
