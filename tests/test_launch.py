"""The `redframe` entry point: kernels that are not built get one line, not a traceback."""

import os
import subprocess
import sys

from redframe import launch
from redframe.runtime import COMMAND_ENVIRON


def test_missing_kernels_are_one_line_with_how_to_build(monkeypatch, capsys):
    for key in COMMAND_ENVIRON:  # what launch.main sets is taken back after the test
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    monkeypatch.setattr(launch, "PROBE", "redframe._not_built_kernels")
    assert launch.main() == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e ." in err[0] and "C compiler" in err[0]


def test_the_built_kernels_are_found_and_the_command_runs():
    out = subprocess.run([sys.executable, "-m", "redframe", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("redframe ")


def test_the_command_sets_its_process_settings_before_numpy_loads():
    """The command's OpenMP and OpenBLAS pools sleep when idle instead of spinning on the
    cores the next step needs, and NumPy puts its arrays on ordinary pages (a fresh
    process's first touch of huge pages was 12-18 % of a develop's CPU):
    runtime.COMMAND_ENVIRON, read when NumPy loads, which is after launch.main sets it;
    a value the user set is kept."""
    # a stand-in command line that loads NumPy when launch.main imports it, as the real one
    show = ("import os, sys, types; from redframe import launch; "
            "cli = sys.modules['redframe.cli'] = types.ModuleType('redframe.cli'); "
            "cli.main = lambda: print(os.environ.get('OMP_WAIT_POLICY'), "
            "os.environ.get('OPENBLAS_NUM_THREADS'), "
            "__import__('numpy')._core.multiarray._get_madvise_hugepage()); launch.main()")
    env = {k: v for k, v in os.environ.items() if k not in COMMAND_ENVIRON}
    out = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split() == ["PASSIVE", "1", "False"]
    out = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True,
                         check=True, env={**env, "OMP_WAIT_POLICY": "ACTIVE",
                                          "NUMPY_MADVISE_HUGEPAGE": "1"})
    assert out.stdout.split() == ["ACTIVE", "1", "True"]


def test_compiled_constants_tolerate_rounding_but_refuse_a_changed_value(monkeypatch):
    """The C kernels' colour constants must be the Python ones: last-bit differences (a
    matrix inverse on another CPU) pass, a changed value is refused at import."""
    import numpy as np
    import pytest

    from redframe.isp import _pixel, pixel

    real = _pixel.constants()

    def shifted(name, by):
        def constants():
            c = {k: np.array(v, dtype=np.float64, copy=True) for k, v in real.items()}
            c[name] = c[name] + by
            return c
        return constants

    monkeypatch.setattr(pixel._k, "constants", shifted("FROM_LAB", 2.2e-16))
    pixel._check_constants()
    monkeypatch.setattr(pixel._k, "constants", shifted("FROM_LAB", 1e-9))
    with pytest.raises(ImportError, match="FROM_LAB"):
        pixel._check_constants()



def test_finish_ends_the_process_as_a_normal_exit_would(tmp_path):
    """launch.finish skips the interpreter's teardown but not what a normal exit does:
    non-daemon threads are joined, exit functions run, streams flushed; the code is kept
    (None is 0, as SystemExit(None))."""
    marker = tmp_path / "thread.txt"
    code = f"""
import atexit, sys, threading, time
from redframe.launch import finish
atexit.register(lambda: print("exit hook ran"))
def late():
    time.sleep(0.2)
    open({str(marker)!r}, "w").write("done")
threading.Thread(target=late).start()
sys.stdout.write("buffered ")
finish(int(sys.argv[1]) if len(sys.argv) > 1 else None)
"""
    none = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert none.returncode == 0 and none.stdout == "buffered exit hook ran\n"
    assert marker.read_text() == "done"
    three = subprocess.run([sys.executable, "-c", code, "3"], capture_output=True, text=True)
    assert three.returncode == 3


def test_the_fork_server_starts_first_only_for_a_local_cluster():
    from redframe.launch import starts_local_cluster

    assert starts_local_cluster(["develop", "a.dng", "-o", "out", "--scheduler", "local:2"])
    assert starts_local_cluster(["develop", "a.dng", "--scheduler=local:4"])
    assert not starts_local_cluster(["develop", "a.dng", "--scheduler", "tcp://h:8786"])
    assert not starts_local_cluster(["develop", "a.dng", "--jobs", "2"])
    assert not starts_local_cluster(["develop", "--", "--scheduler", "local:2"])
    assert not starts_local_cluster(["develop", "a.dng", "--scheduler"])


def test_the_fork_server_starts_first_for_the_worker_pool():
    from redframe.launch import starts_worker_pool

    assert starts_worker_pool(["develop", "photos/", "-o", "out", "--jobs", "2"])
    assert starts_worker_pool(["develop", "photos/", "--jobs=0"])  # all cores
    assert starts_worker_pool(["develop", "a.dng", "--timeout-per-file", "60"])
    assert not starts_worker_pool(["develop", "a.dng", "-o", "out"])
    assert not starts_worker_pool(["develop", "a.dng", "--jobs", "1"])
    assert not starts_worker_pool(["develop", "--", "--jobs", "2"])
    assert not starts_worker_pool(["develop", "a.dng", "--jobs"])
