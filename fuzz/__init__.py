"""Fuzz targets for redframe's parsers (issue 13).

One module per target; each defines ``TARGET``, a :class:`fuzz.harness.Target`: a function
of bytes that must return or raise :class:`redframe.errors.RedframeError` (anything else, a
hang or a huge allocation is a finding), its seed corpus and its dictionary. This package
imports nothing of redframe itself, so that the long job can instrument redframe's modules
before they are first imported. See fuzz/README.md.
"""

#: target name -> module under fuzz/
TARGETS = {
    "decode": "fuzz.decode",
    "metadata": "fuzz.metadata",
    "look": "fuzz.look",
    "layout": "fuzz.layout",
    "recipe": "fuzz.recipe",
    "cube": "fuzz.cube",
    "upload": "fuzz.upload",
    "opcodes": "fuzz.opcodes",
}
