"""The shared runner: a target's guard, a seeded mutator for the smoke run, and the
atheris (libFuzzer) driver for the long job.

- ``Target.one(data)`` is the target; :func:`guarded` calls it and accepts a
  :class:`~redframe.errors.RedframeError` (a one-line user error) as a clean refusal.
- :func:`smoke` drives ``guarded`` in-process with :class:`Mutator` (no coverage feedback,
  fixed seed, fixed count): deterministic, any number of targets in one process, no
  subprocesses. It is what ``tests/test_fuzz_smoke.py`` runs.
- :func:`run_atheris` is the long job: coverage-guided libFuzzer through atheris, one target
  per process (``atheris.Setup``/``atheris.Fuzz`` run once per process).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fuzz import TARGETS

#: tokens every text target likes (libFuzzer dictionary entries and smoke-mutator inserts)
COMMON_TOKENS = (
    b"\x00", b"\xff", b"\n", b"\r\n", b"\t", b" ", b"#", b"=", b"\"", b"'", b"[", b"]", b"{",
    b"}", b",", b".", b"-", b"+", b"0", b"1", b"-1", b"1e999", b"-1e999", b"inf", b"nan",
    b"-inf", b"+nan", b"0.0", b"1.5", b"true", b"false", b"9" * 30, b"1" * 5000,
    b"\xc3\xa9", b"\xe2\x80\xae", b"\xed\xa0\x80", b"\"\"\"", b"'''", b"[[", b"]]",
    b"2147483648", b"18446744073709551616", b"-9223372036854775809", b"1979-05-27",
    b"1979-05-27T07:32:00Z",
)


@dataclass
class Target:
    name: str
    one: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    tokens: Sequence[bytes] = ()
    max_len: int = 64 * 1024
    state: dict = field(default_factory=dict)


def load(name: str) -> Target:
    if name not in TARGETS:
        raise SystemExit(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")
    return importlib.import_module(TARGETS[name]).TARGET


def guarded(target: Target, data: bytes) -> None:
    """Run the target on ``data``; a RedframeError is a clean refusal, anything else raises."""
    from redframe.errors import RedframeError

    if len(data) > target.max_len:
        data = data[: target.max_len]
    try:
        target.one(data)
    except RedframeError:
        pass


# --- per-process scratch space ---------------------------------------------------------------

_SCRATCH: Path | None = None
_COUNTER = 0


def scratch() -> Path:
    """A private temporary folder for this process (removed at exit)."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Path(tempfile.mkdtemp(prefix="redframe-fuzz-"))
        import atexit

        atexit.register(shutil.rmtree, _SCRATCH, True)
    return _SCRATCH


@contextlib.contextmanager
def temp_file(data: bytes, suffix: str):
    """``data`` in a fresh file (a new name each time: caches keyed by path never hit)."""
    global _COUNTER
    _COUNTER += 1
    path = scratch() / f"in{_COUNTER}{suffix}"
    path.write_bytes(data)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def repo_file(*parts: str) -> bytes:
    return Path(__file__).resolve().parent.parent.joinpath(*parts).read_bytes()


# --- the smoke run: a seeded mutator ---------------------------------------------------------

class Mutator:
    """libFuzzer's basic mutations, driven by ``random.Random(seed)``: bit flips, random
    bytes, inserts/erases, copies inside the input, dictionary tokens, truncation, splicing
    with another seed. Deterministic for a given seed and corpus."""

    def __init__(self, seeds: Sequence[bytes], tokens: Sequence[bytes], seed: int,
                 max_len: int):
        self.seeds = [s for s in seeds if s] or [b"\x00"]
        self.tokens = list(tokens) + list(COMMON_TOKENS)
        self.rng = random.Random(seed)
        self.max_len = max_len

    def __call__(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.choice(self.seeds))
        for _ in range(rng.choice((1, 1, 2, 3, 4, 8))):
            op = rng.randrange(9)
            n = len(data)
            pos = rng.randrange(n + 1)
            if op == 0 and n:  # flip a bit
                i = rng.randrange(n)
                data[i] ^= 1 << rng.randrange(8)
            elif op == 1 and n:  # a random byte
                data[rng.randrange(n)] = rng.randrange(256)
            elif op == 2:  # insert random bytes
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op == 3 and n:  # erase a range
                data[pos:pos + rng.randint(1, max(1, n // 8))] = b""
            elif op == 4 and n:  # copy a range elsewhere
                a = rng.randrange(n)
                chunk = data[a:a + rng.randint(1, 64)]
                data[pos:pos] = chunk
            elif op in (5, 6):  # a dictionary token, inserted or overwriting
                token = rng.choice(self.tokens)
                if op == 5:
                    data[pos:pos] = token
                else:
                    data[pos:pos + len(token)] = token
            elif op == 7 and n:  # truncate
                del data[rng.randrange(n):]
            elif op == 8:  # splice with another seed
                other = rng.choice(self.seeds)
                cut = rng.randrange(len(other) + 1)
                data = data[:pos] + other[cut:]
        return bytes(data[: self.max_len])


@dataclass
class SmokeResult:
    target: str
    runs: int
    seconds: float
    failures: list[tuple[bytes, str]]
    slowest: float


def smoke(name: str, runs: int, seed: int = 0, *, slow_s: float = 5.0) -> SmokeResult:
    """``runs`` executions of target ``name``: every seed once, then seeded mutations.
    Failures (unexpected exceptions, executions slower than ``slow_s``) are returned as
    (input, traceback) pairs; the first few are kept."""
    target = load(name)
    seeds = target.seeds()
    mutate = Mutator(seeds, target.tokens, seed, target.max_len)
    failures: list[tuple[bytes, str]] = []
    slowest = 0.0
    start = time.perf_counter()
    for i in range(runs):
        data = seeds[i] if i < len(seeds) else mutate()
        t0 = time.perf_counter()
        try:
            guarded(target, data)
        except Exception:  # noqa: BLE001 - a finding
            if len(failures) < 5:
                failures.append((data, traceback.format_exc(limit=-6)))
        took = time.perf_counter() - t0
        slowest = max(slowest, took)
        if took > slow_s and len(failures) < 5:
            failures.append((data, f"slow: {took:.1f} s"))
    return SmokeResult(name, runs, time.perf_counter() - start, failures, slowest)


# --- the long job: atheris -------------------------------------------------------------------

def _signature(exc: BaseException) -> str:
    """Exception type plus the innermost frame under redframe (or the innermost at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "redframe" in f.filename and "/fuzz/" not in f.filename]
    f = (ours or frames)[-1]
    return f"{type(exc).__name__} at {Path(f.filename).name}:{f.lineno} ({f.name})"


def run_atheris(name: str, argv: list[str], *, keep_going: bool, work: Path) -> None:
    """Coverage-guided fuzzing of ``name`` with libFuzzer options ``argv`` (``-runs=N``,
    ``-max_total_time=S``, ...). The corpus lives in ``work/corpus/NAME`` (seeded on first
    use), crashes in ``work/crashes/NAME``. With ``keep_going``, unexpected exceptions are
    recorded (one input per distinct signature) and fuzzing goes on, instead of stopping at
    the first as libFuzzer does."""
    import atheris

    # atheris matches ``include`` on top-level packages only; the compiled kernels (Cython
    # extensions) are native code, which it does not instrument
    with atheris.instrument_imports(include=list(load_target_instrument(name))):
        target = load(name)
    corpus = work / "corpus" / name
    crashes = work / "crashes" / name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for seed in target.seeds():
            (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed[: target.max_len])
    dict_path = work / f"{name}.dict"
    with open(dict_path, "w") as fh:
        for token in list(target.tokens) + list(COMMON_TOKENS):
            if len(token) <= 64:
                fh.write('"' + "".join(f"\\x{b:02x}" for b in token) + '"\n')
    seen: dict[str, int] = {}
    runs = [0]

    summary = work / f"{name}.summary.txt"

    def report() -> None:  # libFuzzer ends with exit(): no Python atexit, so written as we go
        lines = [f"{name}: {runs[0]} executions, {len(seen)} distinct findings"]
        lines += [f"  {count:6d} x {sig}" for sig, count in seen.items()]
        summary.write_text("\n".join(lines) + "\n")

    def one(data: bytes) -> None:
        runs[0] += 1
        if runs[0] % 1000 == 0:
            report()
        if not keep_going:
            guarded(target, data)
            return
        try:
            guarded(target, data)
        except Exception as exc:  # noqa: BLE001 - recorded, then on
            sig = _signature(exc)
            seen[sig] = seen.get(sig, 0) + 1
            if seen[sig] == 1:
                digest = hashlib.sha1(data).hexdigest()[:12]
                (crashes / f"crash-{digest}").write_bytes(data)
                (crashes / f"crash-{digest}.txt").write_text(
                    sig + "\n\n" + "".join(traceback.format_exception(exc, limit=-8)))
                print(f"\n== new finding: {sig} (crash-{digest})", file=sys.stderr, flush=True)
                report()

    args = [sys.argv[0], f"-max_len={target.max_len}", "-timeout=20", "-rss_limit_mb=3072",
            f"-dict={dict_path}", f"-artifact_prefix={crashes}{os.sep}", *argv, str(corpus)]
    atheris.Setup(args, one)
    atheris.Fuzz()


def load_target_instrument(name: str) -> Sequence[str]:
    """The packages to instrument for ``name``, read without importing the target (its
    module imports redframe, which must be imported under instrumentation)."""
    import ast

    module = TARGETS[name].split(".")[-1]
    tree = ast.parse(Path(__file__).with_name(f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "INSTRUMENT" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return ("redframe",)
