"""Which files a command works on, and where each output goes.

Folders are walked recursively (sorted, hidden files skipped); an output folder inside an
input folder is not walked, so a second run never develops the first run's outputs; a
path that does not exist becomes a failed result rather than an exception. Recipes found
beside an input (``IMG.EXT.redframe.toml``) are its sidecar (:mod:`redframe.jobs.recipe`).

Inputs and the output folder may be URLs (:mod:`redframe.jobs.urls`): ``file://`` ones
are local paths; others are listed through fsspec (a folder there is every object under
it), and outputs are named under the output URL the same way.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from redframe.errors import EXIT, OutputError, UsageError
from redframe.jobs import urls
from redframe.jobs.runner import JobResult

__all__ = ["collect_inputs", "plan_outputs", "output_folder"]


def output_folder(text: str | os.PathLike) -> str:
    """The output folder ``-o`` names: a local path (``file://`` URLs made into one) or a
    URL; OutputError when a local one exists and is not a folder."""
    out = urls.local_path(text)
    if not urls.is_remote(out) and os.path.exists(out) and not os.path.isdir(out):
        raise OutputError("exists and is not a folder", path=out)
    return out


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        Path(os.path.realpath(path)).relative_to(folder)
        return True
    except ValueError:
        return False


def collect_inputs(paths: Sequence[str], extensions: frozenset[str], *,
                   exclude: str | os.PathLike | None = None
                   ) -> tuple[list[str], list[JobResult]]:
    """Expand folders into files with one of ``extensions``; when ``exclude`` (the output
    folder) lies inside a walked folder, the files under it are left out of that walk (a
    folder given as input is walked whole, even if it lies inside the output folder); an
    output folder that *is* a walked folder is a UsageError."""
    if exclude is not None:
        exclude = urls.local_path(exclude)
    remote_out = exclude if urls.is_remote(exclude) else None
    # realpath, not Path.resolve (which raises RuntimeError on a symlink loop on 3.11)
    skip = Path(os.path.realpath(exclude)) if exclude is not None and remote_out is None \
        else None
    files: list[str] = []
    missing: list[JobResult] = []
    for raw in paths:
        raw = urls.local_path(raw)
        if urls.is_remote(raw):
            found = urls.walk(raw, extensions, skip=remote_out)
            if found is None:
                missing.append(JobResult(source=raw, inputs=[raw],
                                         error=f"{raw}: no such file or folder",
                                         exit_code=EXIT["input"]))
            files += found or []
            continue
        p = Path(raw)
        if p.is_dir():
            root = Path(os.path.realpath(p))
            if skip == root:
                raise UsageError(f"{p}: the output folder is this input folder; its outputs "
                                 "would mix with the originals and be walked again: choose "
                                 "another -o", path=None)
            here = skip if skip is not None and _inside(skip, root) else None
            for f in sorted(p.rglob("*")):
                if (
                    f.is_file()
                    and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and f.suffix.lower() in extensions
                    and not _inside(f, here)
                ):
                    files.append(str(f))
        elif p.exists() or p.is_symlink():
            files.append(str(p))
        else:
            missing.append(JobResult(source=str(p), inputs=[str(p)],
                                     error=f"{p}: no such file or folder",
                                     exit_code=EXIT["input"]))
    return files, missing


def plan_outputs(files: Sequence[str], out_dir: str, suffixes: str | Sequence[str]) -> list[str]:
    """Output path per input (``suffixes``: one for all, or one per input); inputs sharing
    a name (IMG_1.NEF, IMG_1.JPG) get the source extension added so no output overwrites
    another, and names that still collide (same name in different folders) get -2, -3."""
    if isinstance(suffixes, str):
        suffixes = [suffixes] * len(files)
    out_dir = urls.local_path(out_dir)
    stems = Counter(Path(urls.name(f)).stem.lower() for f in files)
    out = []
    for f, suffix in zip(files, suffixes, strict=True):
        p = Path(urls.name(f))
        stem = p.stem if stems[p.stem.lower()] == 1 else f"{p.stem}_{p.suffix.lstrip('.')}"
        out.append(urls.join(out_dir, f"{stem}{suffix}"))
    if len(set(o.lower() for o in out)) != len(out):
        seen: Counter = Counter()
        unique = []
        for o in out:
            key = o.lower()
            seen[key] += 1
            if seen[key] == 1:
                unique.append(o)
                continue
            leaf = Path(urls.name(o))
            unique.append(o[:len(o) - len(leaf.name)] + f"{leaf.stem}-{seen[key]}{leaf.suffix}")
        out = unique
    return out
