"""Encoded RGB: primaries + white + transfer function, as one table of input transforms.

Each :class:`Encoding` says how code values in [0, 1] become linear Rec.2020 (D65), the
pipeline's working space: ``decode`` (the transfer function's inverse, per channel), then
``to_2020`` (SMPTE RP 177 matrix of the primaries, with a Bradford adaptation where the
white is not D65). The .cube LUT export/import (:mod:`redframe.looks.cube`) and the video
path read the same table.

==============  ===========================  ==================  ========================
name            primaries / white            transfer            light
==============  ===========================  ==================  ========================
``srgb``        sRGB (Rec.709), D65          IEC 61966-2-1       display-referred
``display-p3``  P3, D65                      IEC 61966-2-1       display-referred
``rec709``      Rec.709, D65                 BT.1886 (gamma 2.4) display-referred
``rec2020``     Rec.2020, D65                BT.1886 (gamma 2.4) display-referred
``hlg``         Rec.2020, D65                BT.2100 HLG         scene-referred
``pq``          Rec.2020, D65                SMPTE ST 2084 (PQ)  scene-referred (203 nits
                                                                 = 1.0)
``slog3``       S-Gamut3.Cine, D65           Sony S-Log3         scene-referred
``logc3``       ARRI Wide Gamut 3, D65       ARRI LogC3 (EI 800) scene-referred
``acescct``     ACES AP1, ACES white (D60)   ACEScct             scene-referred
``applelog``    Rec.2020, D65                Apple Log           scene-referred
==============  ===========================  ==================  ========================

A video stream says which of these it holds with its colour tags (ITU-T H.273 code
points: ``color_trc`` and ``color_primaries``); :func:`from_video_tags` reads them through
:data:`VIDEO_TAGS`. Log recordings are usually tagged as Rec.709 or not at all: they are
named by hand (``redframe video --input slog3``).

References: see :mod:`redframe.color.primaries` and :mod:`redframe.color.transfer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from redframe.color.primaries import rgb_to_rgb_matrix
from redframe.color.transfer import (
    acescct_decode,
    acescct_encode,
    applelog_decode,
    applelog_encode,
    gamma24_decode,
    gamma24_encode,
    hlg_decode,
    hlg_encode,
    logc3_decode,
    logc3_encode,
    pq_decode,
    pq_encode,
    slog3_decode,
    slog3_encode,
    srgb_decode,
    srgb_encode,
)

__all__ = ["Encoding", "ENCODINGS", "VIDEO_TAGS", "from_video_tags"]


@dataclass(frozen=True)
class Encoding:
    """One RGB encoding.

    Attributes
    ----------
    name : str
        Key in :data:`ENCODINGS`.
    display : bool
        True for display-referred pictures (values are display light in [0, 1]), False for
        scene-referred log encodings (reflectance, unbounded above).
    space : str
        The primaries' name in :data:`redframe.color.PRIMARIES` (which also gives the white).
    decode, encode : callable
        Code values -> linear light of ``space``, and back (per channel, NumPy arrays).
    about : str
        One line for people (LUT file comments, help texts).
    to_2020 : numpy.ndarray
        (3, 3) float64 linear ``space`` -> linear Rec.2020 (D65), derived from ``space``.
    """

    name: str
    display: bool
    space: str
    decode: Callable[[np.ndarray], np.ndarray]
    encode: Callable[[np.ndarray], np.ndarray]
    about: str
    to_2020: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        m = rgb_to_rgb_matrix(self.space, "rec2020")
        m.setflags(write=False)
        object.__setattr__(self, "to_2020", m)


ENCODINGS: dict[str, Encoding] = {e.name: e for e in (
    Encoding("srgb", True, "srgb", srgb_decode, srgb_encode,
             "sRGB (IEC 61966-2-1), display-referred"),
    Encoding("display-p3", True, "display-p3", srgb_decode, srgb_encode,
             "Display P3 (P3-D65, sRGB curve), display-referred"),
    Encoding("rec709", True, "srgb", gamma24_decode, gamma24_encode,
             "Rec.709 primaries, BT.1886 gamma 2.4, display-referred"),
    Encoding("rec2020", True, "rec2020", gamma24_decode, gamma24_encode,
             "Rec.2020 primaries, BT.1886 gamma 2.4, display-referred (SDR)"),
    Encoding("hlg", False, "rec2020", hlg_decode, hlg_encode,
             "BT.2100 HLG / Rec.2020, scene-referred (reference white 0.75 = 1.0)"),
    Encoding("pq", False, "rec2020", pq_decode, pq_encode,
             "BT.2100 PQ (SMPTE ST 2084) / Rec.2020, 203 cd/m2 = 1.0"),
    Encoding("slog3", False, "s-gamut3.cine", slog3_decode, slog3_encode,
             "Sony S-Log3 / S-Gamut3.Cine, scene-referred"),
    Encoding("logc3", False, "arri-wide-gamut-3", logc3_decode, logc3_encode,
             "ARRI LogC3 (EI 800) / ARRI Wide Gamut 3, scene-referred"),
    Encoding("acescct", False, "aces-ap1", acescct_decode, acescct_encode,
             "ACEScct / AP1, scene-referred"),
    Encoding("applelog", False, "rec2020", applelog_decode, applelog_encode,
             "Apple Log / Rec.2020, scene-referred"),
)}

#: (ITU-T H.273 TransferCharacteristics, ColourPrimaries or None for any) -> encoding.
#: Transfer 1 (BT.709), 6 (BT.601) and 14/15 (BT.2020) share BT.709's camera curve; they
#: are shown on a BT.1886 display, which is what these encodings decode.
VIDEO_TAGS: dict[tuple[int, int | None], str] = {
    (18, None): "hlg",  # ARIB STD-B67
    (16, None): "pq",  # SMPTE ST 2084
    (13, 12): "display-p3",  # IEC 61966-2-1 curve on P3-D65 (SMPTE EG 432-1)
    (13, None): "srgb",  # IEC 61966-2-1
    (1, 9): "rec2020", (14, 9): "rec2020", (15, 9): "rec2020",
    (1, None): "rec709", (6, None): "rec709", (14, None): "rec709", (15, None): "rec709",
}


def from_video_tags(transfer: int, primaries: int) -> str | None:
    """The encoding a stream's H.273 colour tags name, or None when the tags are missing
    (2, unspecified) or name an encoding not in :data:`ENCODINGS`. Unspecified primaries
    with a known transfer take the transfer's usual primaries."""
    return VIDEO_TAGS.get((int(transfer), int(primaries))) or VIDEO_TAGS.get((int(transfer), None))

