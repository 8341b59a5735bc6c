"""The package's layering, read from the source (AST, every import: top-level, local and
under TYPE_CHECKING): colour primitives at the bottom, io above them, isp and the rest above."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).parents[1] / "src"
PACKAGE = SRC / "redframe"

#: What each bottom layer may import of redframe (its own subpackage is always allowed).
ALLOWED = {
    "color": {"redframe.errors"},
    "io": {"redframe", "redframe.color", "redframe.errors", "redframe.params",
           "redframe.runtime"},
}
#: Layers above io and color: nothing in color or io may import them.
UPPER = ("isp", "looks", "burst", "frame", "app", "jobs", "cli", "demo", "batch", "sim",
         "sound", "video")
REMOVED = ("redframe.isp.colorspaces", "redframe.isp.hashing")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@cache
def imports_of(path: Path) -> tuple[tuple[str, int], ...]:
    """(imported module, line) for every import in ``path``; ``from a import b`` counts as
    ``a.b`` where that is a module, else as ``a``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if _is_module(sub) else target, node.lineno))
    return tuple(found)


def _modules(subpackage: str | None = None) -> list[Path]:
    root = PACKAGE / subpackage if subpackage else PACKAGE
    return sorted(root.rglob("*.py"))


def _redframe(name: str) -> bool:
    return name == "redframe" or name.startswith("redframe.")


def _layer(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def _violations(subpackage: str) -> list[str]:
    allowed = ALLOWED[subpackage]
    bad = []
    for path in _modules(subpackage):
        for name, line in imports_of(path):
            if not _redframe(name) or _layer(name) == subpackage:
                continue
            if not any(name == a or (a != "redframe" and name.startswith(a + "."))
                       for a in allowed):
                bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("subpackage", sorted(ALLOWED))
def test_bottom_layers_import_only_what_is_below_them(subpackage):
    assert _violations(subpackage) == []


@pytest.mark.parametrize("subpackage", sorted(ALLOWED))
def test_nothing_in_color_or_io_imports_an_upper_layer(subpackage):
    bad = [f"{path.relative_to(SRC)}:{line} imports {name}"
           for path in _modules(subpackage) for name, line in imports_of(path)
           if _redframe(name) and _layer(name) in UPPER]
    assert bad == []


def test_color_needs_only_numpy():
    third_party = {name.split(".")[0] for path in _modules("color")
                   for name, _ in imports_of(path)} - set(sys.stdlib_module_names)
    assert third_party <= {"numpy", "redframe"}


def test_nothing_imports_numba():
    """The kernels are compiled ahead of time (Cython + OpenMP, setup.py): no module may
    bring back a JIT that compiles on a user's machine at first use."""
    bad = [f"{path.relative_to(SRC)}:{line}" for path in _modules()
           for name, line in imports_of(path) if name.split(".")[0] in ("numba", "llvmlite")]
    assert bad == []


def test_runtime_code_does_not_import_colour_science():
    bad = [f"{path.relative_to(SRC)}:{line}"
           for sub in ("color", "io", "isp", "looks", "frame", "burst", "jobs", "app")
           if (PACKAGE / sub).is_dir()
           for path in _modules(sub) for name, line in imports_of(path)
           if name.split(".")[0] == "colour"]
    assert bad == []


def test_the_root_package_imports_nothing_of_redframe():
    """io may import ``redframe`` itself (``SOFTWARE``) only because it is metadata."""
    assert [n for n, _ in imports_of(PACKAGE / "__init__.py") if _redframe(n)] == []


def test_removed_modules_stay_removed():
    for name in REMOVED:
        assert not _is_module(name), f"{name} is back"
    tests = sorted(Path(__file__).parent.glob("*.py"))
    bad = [f"{path.relative_to(SRC.parent)}:{line} imports {name}"
           for path in _modules() + tests for name, line in _imports_anywhere(path)
           if name in REMOVED or any(name.startswith(r + ".") for r in REMOVED)]
    assert bad == []


def _imports_anywhere(path: Path):
    if path.is_relative_to(SRC):
        return imports_of(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
            found.append((node.module, node.lineno))
    return found


#: The documented exceptions: redframe modules that need an optional extra, imported on use
#: (module -> the redframe modules it may import inside a function).
LAZY_EXTRAS = {
    # `redframe serve`: the web camera needs the [app] extra; the other commands' own
    # modules load when that command runs, so that `redframe develop` does not import the
    # bracket merge, the demo, the shutter sounds and PyAV (with the runner's, 0.02 s)
    "redframe/cli.py": {"redframe.app", "redframe.burst.bracket", "redframe.demo",
                        "redframe.sound", "redframe.video"},
    # the burst merges (the alignment, the bracket merge, the simulator) and PyAV load
    # with the night, hdr and video jobs: a develop's process does not import them (with
    # the cli's own, 0.02 s of every `redframe develop`: redframe.jobs.merges)
    "redframe/jobs/runner.py": {"redframe.jobs.merges", "redframe.video"},
    # the entry point imports the command line only once the compiled kernels are known to
    # be built (else one line on how to build them, not an ImportError traceback)
    "redframe/launch.py": {"redframe.cli"},
    # the app's routers import FastAPI (the [app] extra) at their top: loaded when a server
    # is made, after create_app has checked the extra is there
    "redframe/app/server.py": {"redframe.app.routes"},
}


def test_no_function_local_imports_of_redframe():
    """Imports of redframe modules are at the top of the module (a local import hides a
    cycle); only what needs an optional extra loads lazily (:data:`LAZY_EXTRAS`)."""
    bad = []
    for path in _modules():
        allowed = LAZY_EXTRAS.get(str(path.relative_to(SRC)), set())
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or "."] if isinstance(node, ast.ImportFrom) else [])
                if isinstance(node, ast.ImportFrom) and node.level:
                    names = ["redframe"]
                bad += [f"{path.relative_to(SRC)}:{node.lineno} imports {n}"
                        for n in names if _redframe(n) and n not in allowed]
    assert bad == []


def test_the_scan_sees_imports():
    """Guard against a scanner that finds nothing: known imports are found."""
    names = {n for n, _ in imports_of(PACKAGE / "io" / "icc.py")}
    assert "redframe.color" in names
    names = {n for n, _ in imports_of(PACKAGE / "isp" / "fused.py")}
    assert {"redframe.color", "redframe.color.dither"} <= names


def test_the_command_line_loads_only_what_a_develop_needs():
    """`import redframe.cli` (every command's start) loads no module of the commands a
    develop does not run, and not the frame package's submodules (loaded on first use by
    redframe.frame's __getattr__): the burst merges, the demo, the sounds, PyAV and the
    video path, the frame layouts and fonts (0.04 s of start-up together, measured), the
    looks' submodules (loaded by redframe.looks' __getattr__ when a look or a character is
    used, 0.01 s) and rich (loaded to colour a line or draw a progress bar on a terminal,
    0.012 s)."""
    code = ("import sys, redframe.cli; print(' '.join(sorted(m for m in sys.modules "
            "if m.startswith(('redframe.burst', 'redframe.video', 'redframe.demo', "
            "'redframe.sound', 'redframe.frame.', 'redframe.looks.', 'redframe.jobs.merges', "
            "'av', 'rich')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=SRC.parent)
    assert out.stdout.split() == [], out.stdout


def test_a_one_file_develop_to_a_pipe_never_loads_rich(tmp_path):
    """rich (~20 ms of import) loads only to colour a line or show a progress bar on a
    terminal: a one-file develop whose output goes to a pipe, and the command line's own
    import, do without it; the lines it prints are the same plain text. Nor does the
    develop import numpy.ma (5 ms; np.median, np.quantile and np.unique do on first use:
    redframe.isp.stats)."""
    from redframe.io.dng import write_dng
    from redframe.sim.sensor import NIKON_D65_MATRIX

    rng = np.random.default_rng(0)
    mosaic = (600 + rng.random((64, 96)) * 8000).astype(np.uint16)
    src = tmp_path / "small.dng"
    write_dng(src, mosaic, pattern="RGGB", black_level=600, white_level=15000,
              xyz_to_camera=NIKON_D65_MATRIX, as_shot_neutral=np.array([0.5, 1.0, 0.7]))
    code = ("import sys; from redframe import cli; "
            f"rc = cli.main(['develop', {str(src)!r}, '-o', {str(tmp_path / 'out')!r}]); "
            "print('rich:', ' '.join(sorted(m for m in sys.modules if m.startswith('rich')"
            " or m == 'numpy.ma')), file=sys.stderr); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=SRC.parent)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("rich:"), out.stderr
    assert out.stdout.splitlines()[0] == f"{src} -> {tmp_path / 'out' / 'small.jpg'} (" \
        + out.stdout.splitlines()[0].split(" (", 1)[1]
    assert "1 developed, 0 failed" in out.stdout


def test_the_looks_package_loads_its_names_on_use():
    import redframe.looks as looks
    from redframe.looks.characters import get_character
    from redframe.looks.library import get_look

    assert looks.get_look is get_look
    assert looks.characters.get_character is get_character
    assert set(looks.__all__) <= set(dir(looks))
    with pytest.raises(AttributeError):
        looks.no_such_name  # noqa: B018


def test_the_frame_package_loads_its_names_on_use():
    import redframe.frame as frames
    from redframe.frame.layout import list_layouts

    assert frames.list_layouts is list_layouts
    assert set(frames.__all__) <= set(dir(frames))
    with pytest.raises(AttributeError):
        frames.no_such_name  # noqa: B018
