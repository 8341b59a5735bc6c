"""The architecture page describes the code as it is: the stage list, in order."""

from __future__ import annotations

import re
from pathlib import Path

from redframe.isp.stages import STAGES

DOCS = Path(__file__).parents[1] / "docs"


def test_architecture_lists_every_stage_in_order():
    text = (DOCS / "architecture.md").read_text()
    listed = re.findall(r"^\| \d+ \| `([a-z_]+)` \|", text, flags=re.MULTILINE)
    assert listed == [s.name for s in STAGES]
    for s in STAGES:  # what it reads and writes, as the stage declares it
        assert s.reads in text and s.writes in text, s.name
    # the halo column, where the stage declares a number (callables: the page says what
    # the halo depends on)
    halos = dict(re.findall(r"^\| \d+ \| `([a-z_]+)` \|(?:[^|]*\|){3} ([^|]*?) \|", text,
                            flags=re.MULTILINE))
    for s in STAGES:
        if isinstance(s.halo, int):
            assert halos[s.name].split()[0] == str(s.halo), (s.name, halos[s.name])
