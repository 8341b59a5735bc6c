"""Our own synthesised shutter sounds (no recorded or third-party audio).

Public API:

- :func:`synthesize` (``"rangefinder"``, ``"leaf"``, ``"night"``) and the three
  synthesisers :func:`rangefinder`, :func:`leaf_shutter`, :func:`capture_cue`:
  float samples at 48 kHz, peak -3 dBFS, deterministic for a seed;
- :func:`wav_bytes`, :func:`write_wav`: 16-bit mono WAV;
- :func:`export_sounds`: every sound as a WAV file in a folder (``redframe sounds -o DIR``).

See :mod:`redframe.sound.shutters` for the recipe and :mod:`redframe.sound.synth` for the
parts and references.
"""

from __future__ import annotations

import os
from pathlib import Path

from redframe.sound.shutters import (
    MAX_GAP,
    MIN_GAP,
    SOUNDS,
    capture_cue,
    curtain_gap,
    leaf_shutter,
    rangefinder,
    synthesize,
)
from redframe.sound.synth import SAMPLE_RATE
from redframe.sound.wav import (
    attack_time,
    peak_dbfs,
    read_wav,
    spectral_centroid,
    wav_bytes,
    write_wav,
)

__all__ = ["synthesize", "rangefinder", "leaf_shutter", "capture_cue", "curtain_gap",
           "export_sounds", "sound_wav", "EXPORTS", "SOUNDS", "SAMPLE_RATE", "MIN_GAP",
           "MAX_GAP", "wav_bytes", "write_wav", "read_wav", "peak_dbfs", "attack_time",
           "spectral_centroid"]

#: file stem -> (sound name, parameters) written by :func:`export_sounds`.
EXPORTS: dict[str, tuple[str, dict]] = {
    "rangefinder": ("rangefinder", {"exposure_time": 1 / 125}),
    "rangefinder-slow": ("rangefinder", {"exposure_time": 1 / 15}),
    "leaf": ("leaf", {}),
    "night": ("night", {}),
}


def sound_wav(name: str, *, seed: int = 0, **params) -> bytes:
    """The WAV file bytes of sound ``name`` (see :func:`synthesize`)."""
    return wav_bytes(synthesize(name, seed=seed, **params))


def export_sounds(out_dir: str | os.PathLike, *, seed: int = 0) -> list[Path]:
    """Write every sound of :data:`EXPORTS` as ``out_dir/NAME.wav`` (48 kHz, 16-bit mono);
    create ``out_dir`` if needed; return the paths written, in :data:`EXPORTS` order."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return [write_wav(out / f"{stem}.wav", synthesize(name, seed=seed, **params))
            for stem, (name, params) in EXPORTS.items()]
