"""Target ``layout``: a frame layout TOML file through :func:`redframe.frame.load_layout`
(read, TOML, ``extends`` of a bundled layout, aspect tables, variants, the strict build of
canvas, palette, styles, groups and items). Input: one byte choosing the aspect and the
variant asked for, then the file. Seeds: the bundled layouts."""

from __future__ import annotations

from fuzz.harness import Target, temp_file
from fuzz.tomltokens import TOML_TOKENS
from redframe.frame import load_layout
from redframe.frame.layout import _LAYOUT_DIR

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)
ASPECTS = ("landscape", "portrait", "square")
VARIANTS = (None, "dark", "light", "x")


def one(data: bytes) -> None:
    if not data:
        return
    aspect = ASPECTS[data[0] % 3]
    variant = VARIANTS[(data[0] >> 2) % len(VARIANTS)]
    with temp_file(data[1:], ".toml") as path:
        load_layout(str(path), aspect=aspect, variant=variant)


def seeds() -> list[bytes]:
    out = []
    for i, p in enumerate(sorted(_LAYOUT_DIR.iterdir(), key=str)):
        if p.name.endswith(".toml"):
            out.append(bytes([i % 3]) + p.read_bytes())  # each aspect, no variant
    out.append(b"\x04" + b'version = 1\nextends = "classic"\n[portrait.canvas]\n'
               b'margin = { bottom = 0.2 }\n[variants.dark.palette]\nbackground = "#000000"\n')
    return out


TARGET = Target("layout", one, seeds, tokens=TOML_TOKENS + (
    b"[canvas]", b"[palette]", b"[styles.", b"[fit]", b"[[group]]", b"[[group.item]]",
    b"[portrait]", b"[square]", b"[landscape]", b"[variants.dark]", b"extends = \"classic\"",
    b"type = \"text\"", b"type = \"emblem\"", b"type = \"divider\"", b"type = \"logo\"",
    b"band = \"bottom\"", b"band = \"top\"", b"align = \"center\"", b"#FFFFFF", b"#fff",
    b"{camera}", b"{exposure}", b"{datetime}", b"{lens}", b"{", b"}", b"{{", b"}}",
), max_len=32 * 1024)
