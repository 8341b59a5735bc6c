"""The three shutter sounds, synthesised from the parts in :mod:`redframe.sound.synth`.

Recipe (docs: REFERENCES "Shutter sounds"): a rangefinder's cloth focal-plane shutter is
quiet because its energy sits in the mids. Each curtain stopping is white noise times
``exp(-t / tau)`` (tau 3-8 ms), band-passed (2nd-order Butterworth, about 600-3500 Hz),
plus a damped body resonance (180-400 Hz, Q 5-10, ~15 ms). A digital body adds the motor
re-cocking the shutter (band-passed noise 1-4 kHz, 10 ms attack, ~100 ms) 60-150 ms later.
Every sound starts with a 1 ms fade-in, is normalised to -3 dBFS peak and varies by a few
percent from one seed to the next.

- :func:`rangefinder`: first and second curtain, the gap following the exposure time,
  then the re-cock.
- :func:`leaf_shutter`: a between-the-lens leaf shutter: blades opening and closing a few
  ms apart, small and metallic, no body thump: a soft, short tick.
- :func:`capture_cue`: the "hold still, capturing" cue of a night/burst capture: the
  escapement of a clockwork self-timer running down (ticks spreading out and fading).
"""

from __future__ import annotations

import numpy as np

from redframe.sound.synth import (
    SAMPLE_RATE,
    Jitter,
    bandpass,
    fade,
    noise_transient,
    normalise,
    place,
    resonance,
    samples,
    unit,
)

__all__ = ["rangefinder", "leaf_shutter", "capture_cue", "synthesize", "curtain_gap",
           "SOUNDS", "MIN_GAP", "MAX_GAP", "PEAK_DBFS", "MAX_SECONDS"]

#: Peak level of every sound, dB relative to full scale.
PEAK_DBFS = -3.0
#: No sound is longer than this (seconds).
MAX_SECONDS = 0.4
#: Every sound's first event starts this late (s), after its 1 ms fade-in.
ONSET = 0.001
#: At fast speeds a real shutter's two clicks merge; we keep them this far apart (s).
MIN_GAP = 0.008
#: The gap stops following the exposure time here (s), so the sound stays short.
MAX_GAP = 0.12


def curtain_gap(exposure_time: float, min_gap: float = MIN_GAP, max_gap: float = MAX_GAP) -> float:
    """Seconds between the first and second curtain clicks for ``exposure_time`` seconds.

    The second curtain is released ``exposure_time`` after the first, so the gap *is* the
    exposure time, clamped to [``min_gap``, ``max_gap``]: 1/125 s -> 8 ms, 1/60 s -> 16.7 ms,
    1/15 s -> 66.7 ms, 1/8 s and longer -> 120 ms.
    """
    if not np.isfinite(exposure_time) or exposure_time <= 0:
        raise ValueError(f"exposure_time must be a positive number of seconds, "
                         f"not {exposure_time!r}")
    return float(min(max_gap, max(min_gap, exposure_time)))


def _curtain(rng: np.random.Generator, j: Jitter, tau: float, band: tuple[float, float],
             body_hz: float, body_q: float, body_gain: float) -> np.ndarray:
    """One curtain hitting its stop: a band-passed noise transient plus the body's ring."""
    hit = unit(bandpass(noise_transient(rng, j(tau)), j(band[0]), j(band[1])))
    ring = unit(resonance(hit, body_hz, body_q, tail=0.03))
    out = np.zeros(len(ring))
    place(out, hit, 0.0)
    place(out, ring, 0.0, body_gain)
    return unit(out)


def _motor(rng: np.random.Generator, j: Jitter, length: float) -> np.ndarray:
    """The re-cock: gear noise 1-4 kHz with a 10 ms attack, modulated at the gear's tooth
    rate, ending in the latch click."""
    n = samples(length)
    t = np.arange(n) / SAMPLE_RATE
    attack = j(0.010)
    env = np.minimum(1.0, t / attack) * np.exp(-np.maximum(0.0, t - attack) / j(0.06))
    teeth = 0.75 + 0.25 * np.sin(2 * np.pi * j(170.0) * t + rng.uniform(0, 2 * np.pi))
    whirr = unit(bandpass(rng.standard_normal(n), j(1000.0), j(4000.0)) * env * teeth)
    latch = unit(bandpass(noise_transient(rng, j(0.002)), 1500.0, 5000.0))
    out = np.zeros(n + samples(0.02))
    place(out, whirr, 0.0)
    place(out, latch, length * 0.92, 0.6)
    return out


def rangefinder(exposure_time: float = 1 / 125, *, seed: int = 0, variation: float = 0.04,
                recock: bool = True) -> np.ndarray:
    """A rangefinder's double click: first curtain, second curtain ``curtain_gap`` later,
    then (``recock``) the motor re-cocking the shutter.

    Returns float64 samples at :data:`SAMPLE_RATE`, peak at :data:`PEAK_DBFS`.
    """
    j = Jitter(seed, variation)
    rng = j.rng
    gap = j(curtain_gap(exposure_time))
    body_hz, body_q = j(260.0), j(7.0)  # one body: both curtains ring the same resonance
    first = _curtain(rng, j, 0.005, (600.0, 3500.0), body_hz, body_q, 0.4)
    second = _curtain(rng, j, 0.004, (700.0, 3200.0), body_hz, body_q, 0.35)
    motor_at = gap + j(0.09)
    motor_len = j(0.10)
    total = (motor_at + motor_len + 0.03) if recock else gap + 0.06
    out = np.zeros(samples(min(total, MAX_SECONDS - 0.005)))
    place(out, first, ONSET, 1.0)
    place(out, second, ONSET + gap, j(0.62))
    if recock:
        place(out, _motor(rng, j, motor_len), ONSET + motor_at, j(0.16))
    return _finish(out)


def leaf_shutter(*, seed: int = 0, variation: float = 0.04) -> np.ndarray:
    """A leaf shutter: the blades opening, then closing ~4 ms later; small steel parts,
    so the energy sits higher (1.2-6 kHz) and decays fast, with a faint spring ring."""
    j = Jitter(seed, variation)
    rng = j.rng
    out = np.zeros(samples(0.09))
    for start, gain, tau in ((ONSET, 1.0, 0.0018), (ONSET + j(0.004), j(0.55), 0.0014)):
        tick = unit(bandpass(noise_transient(rng, j(tau)), j(1200.0), j(6000.0)))
        place(out, tick, start, gain)
    spring = unit(resonance(out[: samples(0.01)].copy(), j(1900.0), j(14.0), tail=0.05))
    place(out, spring, 0.0, 0.25)
    return _finish(out)


def capture_cue(*, seed: int = 0, variation: float = 0.04) -> np.ndarray:
    """The night/burst "capturing" cue: a self-timer escapement running down - ticks of a
    small pallet (band-passed noise exciting a high-Q 2.3 kHz tine), spreading out from 22
    to 38 ms apart and fading by 18 % a tick, about 0.3 s in all."""
    j = Jitter(seed, variation)
    rng = j.rng
    out = np.zeros(samples(0.32))
    tine_hz, tine_q = j(2300.0), j(18.0)
    t, gap, gain = ONSET, 0.022, 1.0
    while t < 0.27:
        tick = unit(bandpass(noise_transient(rng, j(0.0012), length=0.008), 1500.0, 7000.0))
        ring = 0.6 * unit(resonance(tick, tine_hz, tine_q, tail=0.01))
        ring[: len(tick)] += tick
        place(out, unit(ring), t, gain)
        t += j(gap)
        gap *= 1.07
        gain *= 0.82
    return _finish(out)


def _finish(x: np.ndarray) -> np.ndarray:
    return normalise(fade(x, 0.001, 0.005), PEAK_DBFS)


#: name -> synthesiser (keyword arguments: ``seed``, ``variation``, and for the
#: rangefinder ``exposure_time`` and ``recock``).
SOUNDS = {
    "rangefinder": rangefinder,
    "leaf": leaf_shutter,
    "night": capture_cue,
}


def synthesize(name: str, *, seed: int = 0, **params) -> np.ndarray:
    """The sound ``name`` (one of :data:`SOUNDS`) for ``seed``; float64, peak -3 dBFS."""
    try:
        fn = SOUNDS[name]
    except KeyError:
        raise ValueError(f"unknown sound {name!r}; known: {', '.join(SOUNDS)}") from None
    return fn(seed=seed, **params)
