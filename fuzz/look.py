"""Target ``look``: a look TOML file through :func:`redframe.looks.load_look` (read, TOML,
``extends`` resolution, strict validation of every section). Seeds: the bundled looks, one
``extends`` of a bundled look, one with ``[[hue]]`` tables and a monochrome ``mix``."""

from __future__ import annotations

from importlib import resources

from fuzz.harness import Target, temp_file
from fuzz.tomltokens import TOML_TOKENS
from redframe.looks import load_look

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)


def one(data: bytes) -> None:
    with temp_file(data, ".toml") as path:
        look = load_look(path)
        assert look.params is not None


def seeds() -> list[bytes]:
    folder = resources.files("redframe.looks").joinpath("data")
    out = [p.read_bytes() for p in sorted(folder.iterdir(), key=str) if p.name.endswith(".toml")]
    out.append(b'version = 1\ndescription = "mine"\nextends = "authentic"\n'
               b"[tone]\ncontrast = 1.4\n[vignette]\namount = 0\n")
    out.append(b'version = 1\ndescription = "hues"\n[[hue]]\ncenter = 30.0\nwidth = 40.0\n'
               b"chroma = 1.2\nhue = -5.0\n[[hue]]\ncenter = 200.0\nlightness = 3.0\n"
               b'[monochrome]\nenabled = true\nmix = [0.3, 0.6, 0.1]\n'
               b'[grain]\namount = 0.2\nseed = 7\n[gamut]\nspace = "srgb"\n'
               b'[skin]\nprotect = 0.5\nsaturation = 1.1\n')
    return out


TARGET = Target("look", one, seeds, tokens=TOML_TOKENS + (
    b"[tone]", b"[color]", b"[skin]", b"[split_toning]", b"[vignette]", b"[grain]",
    b"[gamut]", b"[monochrome]", b"[[hue]]", b"[white_balance]", b"description = \"x\"\n",
    b"extends = \"neutral\"", b"extends = \"x.toml\"", b"mix = [", b"enabled = true",
    b"space = \"srgb\"",
), max_len=32 * 1024)
