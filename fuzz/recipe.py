"""Target ``recipe``: a recipe TOML through :func:`redframe.jobs.load_recipe` (file: size
cap, UTF-8, TOML, migrations of older versions, strict validation) and, when the bytes are
UTF-8, :func:`redframe.jobs.loads_recipe` on the text. Seeds: the default recipe, one with
every section changed, and a version-0 draft."""

from __future__ import annotations

from fuzz.harness import Target, temp_file
from fuzz.tomltokens import TOML_TOKENS
from redframe.jobs import load_recipe, loads_recipe

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)


def one(data: bytes) -> None:
    with temp_file(data, ".toml") as path:
        load_recipe(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    loads_recipe(text)


def seeds() -> list[bytes]:
    from redframe.jobs import Recipe, dump_recipe

    out = [dump_recipe(Recipe()).encode()]
    out.append(b'version = 1\nlook = "vibrant"\n[develop]\nquality = "high"\nhalf_size = false\n'
               b'[develop.wb]\nmode = "kelvin"\nkelvin = 4300.0\ntint = 5.0\n'
               b'[output]\nformat = "jpeg"\nspace = "srgb"\nquality = 95\n'
               b'[frame]\nlayout = "classic"\nmissing = "hide"\n[metadata]\nstrip_gps = true\n')
    out.append(b'version = 0\nwb = "4300K"\nfast = true\nlook = "authentic"\n')
    return out


TARGET = Target("recipe", one, seeds, tokens=TOML_TOKENS + (
    b"[develop]", b"[develop.wb]", b"[develop.tone]", b"[output]", b"[frame]", b"[metadata]",
    b"version = 0\n", b"version = 2\n", b"look = ", b"mode = \"auto\"", b"\"4300K\"",
    b"\"3200K+10\"", b"fast = true", b"format = \"heic\"", b"format = \"tiff\"",
    b"space = \"display-p3\"", b"layout = \"film\"",
), max_len=32 * 1024)
