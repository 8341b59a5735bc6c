"""``python -m fuzz TARGET [libFuzzer options]``: the long (nightly) job, one target per
process; ``python -m fuzz --smoke [TARGET...] [--runs N]``: the in-process smoke run;
``python -m fuzz --list``. See fuzz/README.md."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from fuzz import TARGETS


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("target", nargs="*", help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--smoke", action="store_true",
                        help="the seeded in-process run of the default test suite")
    parser.add_argument("--runs", type=int, default=2000, help="smoke executions per target")
    parser.add_argument("--seed", type=int, default=0, help="smoke mutator seed")
    parser.add_argument("--keep-going", action="store_true",
                        help="atheris: record each distinct finding and go on")
    parser.add_argument("--work", default=str(Path(__file__).with_name("work")),
                        help="atheris: corpus and crash folder (default fuzz/work)")
    ours = [a for a in argv if not (a.startswith("-") and not a.startswith("--")
                                    and a != "-h")]
    libfuzzer = [a for a in argv if a not in ours]
    args = parser.parse_args(ours)
    if args.list:
        print("\n".join(TARGETS))
        return 0
    warnings.simplefilter("ignore")
    from fuzz.harness import run_atheris, smoke

    if args.smoke:
        bad = 0
        for name in args.target or list(TARGETS):
            r = smoke(name, args.runs, args.seed)
            print(f"{name:10s} {r.runs:7d} runs {r.seconds:7.1f} s  slowest {r.slowest:.2f} s  "
                  f"{len(r.failures)} failures")
            for data, tb in r.failures:
                bad += 1
                print(f"  input {data[:120]!r}\n  {tb.strip().splitlines()[-1]}")
        return 1 if bad else 0
    if len(args.target) != 1:
        parser.error("give one target for the atheris run (or --smoke)")
    run_atheris(args.target[0], libfuzzer, keep_going=args.keep_going, work=Path(args.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
