"""Signal processing for clips: resample once, trim the silence, gate the loudness, normalise; the tick."""

from __future__ import annotations

import numpy as np

from coach.audio.voice.base import logger

TARGET_RMS_DBFS = -20.0  # loudness of every clip (RMS over its non-silent frames), before volume
PEAK_LIMIT = 0.99
TRIM_REL_DB = -40.0  # silence = below this, relative to the clip's own peak
# Nothing kept before the first sample within 40 dB of the peak: the first audible sample is the
# planned sample (what is below it is inaudible; keeping 1 ms showed as a 0.7 ms late onset).
PRE_ROLL_MS = 0.0
POST_ROLL_MS = 10.0  # kept after the last audible sample (the decay of the last phoneme)
FADE_OUT_MS = 5.0  # no click where the tail is cut
FRAME_MS = 10.0  # frame length for the loudness gate
GATE_REL_DB = -40.0  # frames quieter than this (relative to the loudest frame) are not measured


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or x.size == 0:
        return x.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(x, src, dst, quality="HQ").astype(np.float32, copy=False)


def trim(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence (below TRIM_REL_DB of the clip's own peak), keeping a
    PRE_ROLL_MS so the attack is whole, and fading out the kept tail."""
    if x.size == 0:
        return x
    a = np.abs(x)
    peak = float(a.max())
    if peak <= 0.0:
        return x[:0]
    loud = np.flatnonzero(a >= peak * 10 ** (TRIM_REL_DB / 20))
    start = max(0, int(loud[0]) - int(rate * PRE_ROLL_MS / 1000))
    end = min(x.size, int(loud[-1]) + 1 + int(rate * POST_ROLL_MS / 1000))
    y = np.array(x[start:end], dtype=np.float32)
    n = min(int(rate * FADE_OUT_MS / 1000), y.size)
    if n > 0:
        y[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return y


def active_rms(x: np.ndarray, rate: int) -> float:
    """RMS over the clip's non-silent frames (FRAME_MS frames within GATE_REL_DB of the loudest)."""
    n = max(1, int(rate * FRAME_MS / 1000))
    if x.size == 0:
        return 0.0
    pad = (-x.size) % n
    frames = np.concatenate([x, np.zeros(pad, np.float32)]).reshape(-1, n).astype(np.float64)
    ms = (frames**2).mean(axis=1)
    keep = ms >= ms.max() * 10 ** (GATE_REL_DB / 10)
    return float(np.sqrt(ms[keep].mean()))


def finish(raw: np.ndarray, native_rate: int, rate: int, volume: float) -> np.ndarray:
    """raw synth output -> a mixer-ready clip: resample once, trim, normalise, apply volume."""
    # Resample before trimming so the resampler's filter ringing lands in the cut silence.
    x = trim(_resample(raw, native_rate, rate), rate)
    rms = active_rms(x, rate)
    if rms <= 0.0:
        return np.zeros(0, np.float32)
    gain = 10 ** (TARGET_RMS_DBFS / 20) / rms * max(0.0, float(volume))
    peak = float(np.abs(x).max()) * gain
    if peak > PEAK_LIMIT:
        # Never clip: lower this clip's gain until its peak is PEAK_LIMIT. The clip is then
        # quieter than the others by 20*log10(peak/PEAK_LIMIT) dB; logged so it can be seen.
        logger.debug("clip limited by %.1f dB", 20 * np.log10(peak / PEAK_LIMIT))
        gain *= PEAK_LIMIT / peak * (1 - 1e-6)  # the margin absorbs float32 rounding
    return (x * gain).astype(np.float32)


def tick_clip(rate: int, volume: float = 1.0) -> np.ndarray:
    """A soft ~15 ms click (uncounted high reps, the metronome): a decaying 2 kHz burst whose
    first sample is its onset."""
    n = int(rate * 0.015)
    t = np.arange(n) / rate
    attack = np.minimum(1.0, t / 0.0005)  # 0.5 ms: soft, but no later than the planned sample
    env = attack * np.exp(-t / 0.003)
    env[-max(1, n // 10):] *= np.linspace(1.0, 0.0, max(1, n // 10))
    return (0.35 * max(0.0, float(volume)) * env * np.sin(2 * np.pi * 2000.0 * t)).astype(np.float32)
