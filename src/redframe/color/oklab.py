"""Oklab's matrices on linear Rec.2020 (B. Ottosson, "A perceptual color space for image
processing", 2020, https://bottosson.github.io/posts/oklab/).

Oklab is redframe's perceptual space: lightness L (0 black .. 1 diffuse white), opponent
axes a/b; its hue lines are close to constant perceived hue (better than CIELAB in the
blues). Linear Rec.2020 -> LMS (:data:`REC2020_TO_LMS`) -> cube root -> Lab
(:data:`LMS_TO_OKLAB`); the inverses undo each step. The array conversions live in
:mod:`redframe.looks.oklab`; the develop's per-pixel path to white in
:mod:`redframe.isp.pixel`.
"""

from __future__ import annotations

import numpy as np

from redframe.color.primaries import REC2020_TO_XYZ

__all__ = ["XYZ_TO_LMS", "LMS_TO_OKLAB", "REC2020_TO_LMS", "LMS_TO_REC2020", "OKLAB_TO_LMS"]

#: Ottosson 2020: XYZ (D65) -> LMS, and cube-rooted LMS -> Lab.
XYZ_TO_LMS = np.array(
    [
        [0.8189330101, 0.3618667424, -0.1288597137],
        [0.0329845436, 0.9293118715, 0.0361456387],
        [0.0482003018, 0.2643662691, 0.6338517070],
    ]
)
LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
REC2020_TO_LMS = XYZ_TO_LMS @ REC2020_TO_XYZ
LMS_TO_REC2020 = np.linalg.inv(REC2020_TO_LMS)
OKLAB_TO_LMS = np.linalg.inv(LMS_TO_OKLAB)
