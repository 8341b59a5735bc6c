"""Inputs and outputs as fsspec URLs (issue 17; redframe.jobs.urls), through the real
command line in this process:

- ``file://`` URLs are the local paths (the outputs, the journal in the output folder);
- ``memory://`` stands in for an object store (s3, gs): inputs listed and fetched,
  outputs published whole and byte-identical to a local run's, the journal (a local file,
  ``--journal``) skips what is done on a rerun, an existing output is refused without
  ``--overwrite``, hidden and unsupported files are not listed, a missing input fails alone;
- a file system that is not an object store gets each output as a hidden ``.part``
  renamed into place: none is left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image

from redframe.cli import main
from redframe.jobs import urls
from redframe.jobs.inputs import plan_outputs
from redframe.jobs.journal import JOURNAL_NAME, consistent, statuses

N = 3


class _RenamingMemory(MemoryFileSystem):
    """An in-memory file system that is not in urls.OBJECT_STORES (as sftp or hdfs are
    not): its own store, so that outputs go through a .part and a rename."""

    protocol = "memrename"
    store: dict = {}
    pseudo_dirs = [""]

    @classmethod
    def _strip_protocol(cls, path):
        if path.startswith("memrename://"):
            path = path[len("memrename://"):]
        return MemoryFileSystem._strip_protocol(path)


fsspec.register_implementation("memrename", _RenamingMemory, clobber=True)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """N small pictures and their outputs from a plain local run."""
    root = tmp_path_factory.mktemp("urls")
    src = root / "in"
    src.mkdir()
    rng = np.random.default_rng(5)
    for i in range(N):
        Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(
            src / f"p{i}.png")
    ref = root / "ref"
    assert main(["develop", str(src), "-o", str(ref), "--jobs", "1"]) == 0
    return src, {p.name: p.read_bytes() for p in sorted(ref.iterdir())}


@pytest.fixture
def memory():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    yield fs
    fs.store.clear()


def _upload(fs, src: Path, folder: str) -> None:
    for p in sorted(src.iterdir()):
        fs.pipe(f"{folder}/{p.name}", p.read_bytes())


def test_file_urls_are_local_paths(pictures, tmp_path, capsys):
    src, outputs = pictures
    out = tmp_path / "out"
    assert main(["develop", src.as_uri(), "-o", out.as_uri(), "--resume", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [Path(d["output"]) for d in lines] == [out / n for n in sorted(outputs)]
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")} \
        == outputs
    assert consistent(out / JOURNAL_NAME) == []
    assert main(["develop", f"file://localhost{src}", "-o", out.as_uri(), "--resume"]) == 0
    assert f"0 developed, 0 failed, {N} already done" in capsys.readouterr().out
    assert main(["develop", "file://relative/x.dng", "-o", str(out)]) == 2
    assert "absolute path" in capsys.readouterr().err


def test_memory_urls_in_and_out_with_a_journal(pictures, tmp_path, memory, capsys):
    src, outputs = pictures
    _upload(memory, src, "/raws")
    memory.pipe("/raws/.hidden.png", (src / "p0.png").read_bytes())
    memory.pipe("/raws/notes.txt", b"not a picture")
    journal = tmp_path / "j.sqlite"
    args = ["develop", "memory://raws", "-o", "memory://raws/out", "--journal", str(journal),
            "--json"]
    assert main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["input"] for d in lines] == [f"memory://raws/p{i}.png" for i in range(N)]
    assert [d["output"] for d in lines] == [f"memory://raws/out/p{i}.jpg" for i in range(N)]
    assert sorted(memory.ls("/raws/out", detail=False)) == [f"/raws/out/p{i}.jpg"
                                                           for i in range(N)]
    for name, data in outputs.items():
        assert memory.cat(f"/raws/out/{name}") == data, name
    rows = statuses(journal)
    assert [o for o, _ in rows] == [f"memory://raws/out/p{i}.jpg" for i in range(N)]
    assert {s for _, s in rows} == {"done"} and consistent(journal) == []

    # a rerun skips what is done; a changed output is redone... only with --overwrite
    assert main(args[:-1]) == 0
    assert f"0 developed, 0 failed, {N} already done" in capsys.readouterr().out
    memory.pipe("/raws/out/p1.jpg", b"changed")
    assert consistent(journal) == ["memory://raws/out/p1.jpg: recorded done but missing "
                                   "or changed"]
    assert main(args[:-1]) == 1
    assert "memory://raws/out/p1.jpg: exists; use --overwrite" in capsys.readouterr().err
    assert memory.cat("/raws/out/p1.jpg") == b"changed"
    assert main([*args[:-1], "--overwrite", "--resume"]) == 0
    assert memory.cat("/raws/out/p1.jpg") == outputs["p1.jpg"]
    assert consistent(journal) == []


def test_memory_url_outputs_without_a_journal_and_what_fails(pictures, memory, capsys):
    src, outputs = pictures
    _upload(memory, src, "/in")
    assert main(["develop", "memory://in/p2.png", "memory://in/p9.png", "memory://nowhere",
                 "-o", "memory://o"]) == 1
    err = capsys.readouterr().err
    assert "memory://in/p9.png: no such file or folder" in err
    assert "memory://nowhere: no such file or folder" in err
    assert memory.cat("/o/p2.jpg") == outputs["p2.jpg"]
    assert main(["develop", "memory://in", "-o", "memory://o", "--resume"]) == 2
    assert "needs --journal FILE" in capsys.readouterr().err
    memory.pipe("/in/q.jpg", outputs["p2.jpg"])
    assert main(["develop", "memory://in/q.jpg", "-o", "memory://in", "--overwrite"]) == 2
    assert "the output would replace an input" in capsys.readouterr().err
    assert memory.cat("/in/q.jpg") == outputs["p2.jpg"]  # originals are never touched


def test_a_file_system_that_renames_gets_whole_outputs_only(pictures, capsys):
    src, outputs = pictures
    fs = fsspec.filesystem("memrename")
    fs.store.clear()
    _upload(fs, src, "/in")
    assert main(["develop", "memrename://in", "-o", "memrename://out"]) == 0
    assert sorted(fs.ls("/out", detail=False)) == [f"/out/{n}" for n in sorted(outputs)]
    for name, data in outputs.items():
        assert fs.cat(f"/out/{name}") == data
    fs.pipe("/out/.p0.jpg.0badf00d.part", b"left by a killed upload")
    urls.remove_parts("memrename://out/p0.jpg")
    assert not fs.exists("/out/.p0.jpg.0badf00d.part")
    fs.store.clear()


def test_output_names_under_a_url_folder():
    files = ["s3://b/raw/IMG_1.NEF", "s3://b/raw/IMG_1.JPG", "s3://b/other/IMG_2.dng",
             "/local/IMG_2.dng"]
    assert plan_outputs(files, "s3://b/out/", ".jpg") == [
        "s3://b/out/IMG_1_NEF.jpg", "s3://b/out/IMG_1_JPG.jpg", "s3://b/out/IMG_2_dng.jpg",
        "s3://b/out/IMG_2_dng-2.jpg"]
    assert plan_outputs(["/a/x.dng"], "file:///tmp/o", ".jpg") == ["/tmp/o/x.jpg"]
