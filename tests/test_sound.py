"""Shutter sounds: format, level, attack, spectrum, the curtain gap, determinism, export."""

from __future__ import annotations

import numpy as np
import pytest

from redframe import sound
from redframe.sound import (
    EXPORTS,
    SAMPLE_RATE,
    attack_time,
    curtain_gap,
    export_sounds,
    peak_dbfs,
    read_wav,
    spectral_centroid,
    synthesize,
    wav_bytes,
)
from redframe.sound.synth import envelope

#: sound -> expected spectral centroid range (Hz), across seeds
CENTROIDS = {"rangefinder": (1500, 3000), "leaf": (2500, 5500), "night": (2800, 4800)}
SEEDS = range(40)


@pytest.fixture(scope="module")
def sounds() -> dict[str, np.ndarray]:
    return {stem: read_wav(wav_bytes(synthesize(name, **params)))[0]
            for stem, (name, params) in EXPORTS.items()}


def test_exported_files_are_48k_16bit_mono_wav(tmp_path):
    paths = export_sounds(tmp_path / "out")
    assert [p.name for p in paths] == [f"{stem}.wav" for stem in EXPORTS]
    for p in paths:
        data = p.read_bytes()
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        x, rate, bits = read_wav(p)
        assert rate == SAMPLE_RATE == 48_000 and bits == 16
        assert len(x) > 0
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")]


def test_export_refuses_a_file_as_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError):
        export_sounds(f)


@pytest.mark.parametrize("stem", list(EXPORTS))
def test_duration_level_and_attack(sounds, stem):
    x = sounds[stem]
    assert len(x) / SAMPLE_RATE < 0.4
    assert -3.1 < peak_dbfs(x) < -2.9  # about -3 dBFS, so no clipping
    assert np.max(np.abs(x)) < 1.0
    assert attack_time(x) < 0.005
    assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3  # faded in and out: no click at the ends


@pytest.mark.parametrize("name", list(CENTROIDS))
def test_every_seed_keeps_the_limits(name):
    lo, hi = CENTROIDS[name]
    for seed in SEEDS:
        x = synthesize(name, seed=seed)
        assert len(x) / SAMPLE_RATE < 0.4
        assert attack_time(x) < 0.005, seed
        assert lo < spectral_centroid(x) < hi, (seed, spectral_centroid(x))
        assert np.max(np.abs(x)) <= 10 ** (-3 / 20) + 1e-9


def _band_energies(x: np.ndarray) -> np.ndarray:
    """Share of the power in each octave band from 125 Hz to 16 kHz."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    edges = 125 * 2.0 ** np.arange(8)
    bands = np.array([power[(freqs >= lo) & (freqs < 2 * lo)].sum() for lo in edges])
    return bands / bands.sum()


def test_sounds_differ(sounds):
    names = ["rangefinder", "leaf", "night"]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            x, y = sounds[a], sounds[b]
            # different in time (length) and in spectrum (octave-band power shares)
            assert abs(len(x) - len(y)) / max(len(x), len(y)) > 0.2, (a, b)
            distance = float(np.abs(_band_energies(x) - _band_energies(y)).sum())
            assert distance > 0.3, (a, b, distance)
    # the rangefinder is the lowest (cloth curtain and body), the other two higher
    c = {n: spectral_centroid(sounds[n]) for n in names}
    assert c["rangefinder"] < c["leaf"]
    assert c["rangefinder"] < c["night"]
    assert sounds["rangefinder"].tobytes() != sounds["rangefinder-slow"].tobytes()


def test_deterministic_per_seed_with_a_few_percent_variation():
    for name in ("rangefinder", "leaf", "night"):
        a = synthesize(name, seed=3)
        assert np.array_equal(a, synthesize(name, seed=3))
        assert wav_bytes(a) == wav_bytes(synthesize(name, seed=3))
        b = synthesize(name, seed=4)
        assert not np.array_equal(a[: len(b)], b[: len(a)])
        assert abs(len(a) - len(b)) / len(a) < 0.1
        ca, cb = spectral_centroid(a), spectral_centroid(b)
        assert abs(ca - cb) / ca < 0.35
    # no variation: the seed still draws the noise, but the shape parameters are fixed
    x = synthesize("rangefinder", seed=1, variation=0.0)
    y = synthesize("rangefinder", seed=2, variation=0.0)
    assert len(x) == len(y)


def _click_times(x: np.ndarray) -> list[float]:
    """Onsets of the loud events: where the 3 ms envelope rises through 30 % of its peak."""
    env = envelope(x, 0.003)
    above = env > 0.3 * env.max()
    starts = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    times: list[float] = [0.0] if above[0] else []
    for s in starts / SAMPLE_RATE:
        if not times or s - times[-1] > 0.004:
            times.append(float(s))
    return times


def test_curtain_gap_follows_the_shutter_speed_up_to_a_limit():
    assert curtain_gap(1 / 1000) == sound.MIN_GAP
    assert curtain_gap(1 / 60) == pytest.approx(1 / 60)
    assert curtain_gap(1.0) == curtain_gap(30.0) == sound.MAX_GAP
    with pytest.raises(ValueError):
        curtain_gap(0)
    measured = {}
    for t in (1 / 60, 1 / 30, 1 / 15):
        x = synthesize("rangefinder", seed=0, exposure_time=t, variation=0.0, recock=False)
        clicks = _click_times(x)
        assert len(clicks) >= 2, clicks
        measured[t] = clicks[1] - clicks[0]
        assert measured[t] == pytest.approx(t, abs=0.004)
    slow = synthesize("rangefinder", seed=0, exposure_time=2.0)
    assert len(slow) / SAMPLE_RATE < 0.4


def test_unknown_sound_and_bad_variation():
    with pytest.raises(ValueError, match="unknown sound"):
        synthesize("bell")
    with pytest.raises(ValueError, match="variation"):
        synthesize("leaf", variation=0.5)
