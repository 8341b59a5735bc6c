"""Building blocks of the shutter sounds: filtered-noise transients, damped resonances,
envelopes. Every function works on float64 sample arrays at :data:`SAMPLE_RATE`.

The approach is Cook's *physically informed stochastic modelling* (PhISM): a mechanical
impact is a short burst of noise (the contact), shaped by an exponential envelope and a
band-pass filter (the spectrum of the colliding parts), that excites a few damped
resonances (the body it is mounted on).

References
----------
- P. R. Cook, "Physically Informed Sonic Modeling (PhISM): Synthesis of Percussive Sounds",
  Computer Music Journal 21(3), 1997, doi:10.2307/3681012.
- P. R. Cook, *Real Sound Synthesis for Interactive Applications*, A K Peters, 2002.
- R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter coefficients"
  (the constant 0 dB peak band-pass used by :func:`resonance`).
- S. Butterworth, "On the Theory of Filter Amplifiers", Wireless Engineer 7, 1930
  (:func:`bandpass`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SAMPLE_RATE", "samples", "noise_transient", "bandpass", "resonance",
           "place", "fade", "normalise", "envelope", "unit", "Jitter"]

#: Samples per second of every sound.
SAMPLE_RATE = 48_000


def samples(seconds: float) -> int:
    """Number of samples in ``seconds`` (at least 1)."""
    return max(1, int(round(seconds * SAMPLE_RATE)))


class Jitter:
    """Per-shot variation: ``j(x)`` returns ``x`` scaled by a factor in ``1 +- amount``.

    Seeded, so that a shot (seed) always sounds the same, and neighbouring seeds differ by
    a few percent - a burst then does not sound like one sample looped.
    """

    def __init__(self, seed: int, amount: float):
        if not 0 <= amount <= 0.2:
            raise ValueError(f"variation must be in [0, 0.2], not {amount!r}")
        self.rng = np.random.default_rng(seed)
        self.amount = float(amount)

    def __call__(self, value: float) -> float:
        return float(value) * (1.0 + self.amount * self.rng.uniform(-1.0, 1.0))


def noise_transient(rng: np.random.Generator, tau: float, *, length: float | None = None,
                    attack: float = 0.0005) -> np.ndarray:
    """White noise times ``exp(-t / tau)`` (``tau`` in seconds), with a short linear
    ``attack`` (seconds) so that the onset is not a step; ``length`` defaults to 8 tau."""
    n = samples(length if length is not None else 8 * tau)
    t = np.arange(n) / SAMPLE_RATE
    env = np.exp(-t / tau)
    a = samples(attack)
    env[:a] *= np.linspace(0.0, 1.0, a, endpoint=False)
    return rng.standard_normal(n) * env


def bandpass(x: np.ndarray, low: float, high: float, order: int = 2) -> np.ndarray:
    """Butterworth band-pass between ``low`` and ``high`` Hz (``order`` per edge)."""
    if not 0 < low < high < SAMPLE_RATE / 2:
        raise ValueError(f"band must satisfy 0 < low < high < {SAMPLE_RATE // 2} Hz, "
                         f"got {low!r}..{high!r}")
    from scipy import signal  # on use: scipy.signal costs ~1 s of every command's start-up

    sos = signal.butter(order, [low, high], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x)


def resonance(excitation: np.ndarray, freq: float, q: float, *, tail: float = 0.0) -> np.ndarray:
    """A damped resonance at ``freq`` Hz with quality ``q``, driven by ``excitation``.

    A two-pole band-pass (0 dB peak gain): its impulse response rings as
    ``exp(-pi freq t / q)``, so ``q`` 5-10 at 180-400 Hz decays in about 10-20 ms, a
    camera body's thump. ``tail`` seconds of silence are appended so the ring is not cut.
    """
    if not 0 < freq < SAMPLE_RATE / 2 or q <= 0:
        raise ValueError(f"resonance needs 0 < freq < Nyquist and q > 0, got {freq!r}, {q!r}")
    w0 = 2 * np.pi * freq / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = np.array([alpha, 0.0, -alpha])
    a = np.array([1 + alpha, -2 * np.cos(w0), 1 - alpha])
    x = np.concatenate([excitation, np.zeros(samples(tail) if tail else 0)])
    from scipy import signal  # on use (see bandpass)

    return signal.lfilter(b / a[0], a / a[0], x)


def place(out: np.ndarray, part: np.ndarray, start: float, gain: float = 1.0) -> None:
    """Add ``part * gain`` into ``out`` from ``start`` seconds on (cut at the end of ``out``)."""
    i = samples(start) if start > 0 else 0
    n = min(len(part), len(out) - i)
    if n > 0:
        out[i : i + n] += gain * part[:n]


def fade(x: np.ndarray, fade_in: float = 0.001, fade_out: float = 0.005) -> np.ndarray:
    """Raised-cosine fade-in and fade-out (seconds), so a sound starts and ends at zero."""
    y = x.copy()
    n_in, n_out = min(samples(fade_in), len(y)), min(samples(fade_out), len(y))
    y[:n_in] *= 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n_in))
    y[len(y) - n_out :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, n_out))
    return y


def normalise(x: np.ndarray, peak_dbfs: float = -3.0) -> np.ndarray:
    """Scale ``x`` so that its largest absolute sample is ``peak_dbfs`` dB below full scale."""
    if peak_dbfs > 0:
        raise ValueError(f"peak_dbfs must be <= 0 (no clipping), not {peak_dbfs!r}")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0:
        return x.copy()
    return x * (10 ** (peak_dbfs / 20) / peak)


def envelope(x: np.ndarray, window: float = 0.001, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """RMS envelope: the root of the mean square over a centred ``window`` (seconds)."""
    n = max(1, int(round(window * sample_rate)))
    power = np.convolve(np.square(np.asarray(x, dtype=np.float64)), np.ones(n) / n, mode="same")
    return np.sqrt(np.maximum(power, 0.0))


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled so that its :func:`envelope` peaks at 1: the loudness of one event,
    independent of the random crest of its noise, so the gains between events hold."""
    peak = float(envelope(x).max()) if len(x) else 0.0
    return x / peak if peak > 0 else x
