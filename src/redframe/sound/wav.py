"""16-bit PCM WAV files (mono, 48 kHz), and the measurements the tests and docs quote.

The measurements:

- :func:`peak_dbfs`: the largest absolute sample, in dB relative to full scale.
- :func:`attack_time`: seconds from the onset (the envelope first reaching 10 % of the
  peak) to the envelope first reaching 90 % of the peak, as in the 10-90 % rise time of
  MPEG-7's LogAttackTime descriptor (ISO/IEC 15938-4). The envelope is the RMS over 1 ms
  (:func:`redframe.sound.synth.envelope`).
- :func:`spectral_centroid`: the power-weighted mean frequency of the whole sound (Hz).
"""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import numpy as np

from redframe.sound.synth import SAMPLE_RATE, envelope

__all__ = ["to_pcm16", "wav_bytes", "write_wav", "read_wav", "peak_dbfs", "attack_time",
           "spectral_centroid"]


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] -> int16 (rounded; values beyond full scale are an error)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (N,), got shape {x.shape}")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0:
        raise ValueError(f"samples reach {peak:.3f}, beyond full scale: normalise first")
    return np.round(x * 32767.0).astype(np.int16)


def wav_bytes(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A complete mono 16-bit WAV file of ``x`` (float in [-1, 1], or int16)."""
    pcm = x if np.asarray(x).dtype == np.int16 else to_pcm16(x)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return buf.getvalue()


def write_wav(path: str | os.PathLike, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write ``x`` to ``path`` atomically (temporary file, then rename); return the path."""
    path = Path(path)
    data = wav_bytes(x, sample_rate)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_wav(path_or_bytes: str | os.PathLike | bytes) -> tuple[np.ndarray, int, int]:
    """(float samples in [-1, 1], sample rate, bits per sample) of a mono PCM WAV."""
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    with wave.open(src, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError("expected a mono 16-bit WAV")
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float64) / 32767.0, rate, 16


def peak_dbfs(x: np.ndarray) -> float:
    """Largest absolute sample in dBFS (``-inf`` for silence)."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def attack_time(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Seconds from 10 % to 90 % of the peak of the smoothed envelope (see module doc)."""
    env = envelope(x, 0.001, sample_rate)
    peak = float(env.max()) if env.size else 0.0
    if peak == 0:
        raise ValueError("silence has no attack")
    start = int(np.argmax(env >= 0.1 * peak))
    end = int(np.argmax(env >= 0.9 * peak))
    return (end - start) / sample_rate


def spectral_centroid(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Power-weighted mean frequency (Hz) of ``x``."""
    spectrum = np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sample_rate)
    total = float(spectrum.sum())
    if total == 0:
        raise ValueError("silence has no spectral centroid")
    return float((freqs * spectrum).sum() / total)
