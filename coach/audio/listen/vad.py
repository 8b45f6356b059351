"""An energy voice-activity gate: the one stretch of speech in a window, or none.

An answer is short and stands out from what surrounds it: a stretch of 20 ms frames at least
GATE_DB above the window's floor (its quietest fifth) and above ABS_FLOOR_DBFS, 0.15-2.5 s
long (gaps under 0.3 s inside it bridged). Silence has no such stretch; steady noise has no
contrast; music and talk that go on longer than an answer are too long."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.02
# bench/bench_listen.py, tuned on gmw/en: 12 dB lost half the answers at 10 dB SNR gym noise,
# 6 dB let gym noise through as ratings (10 in 100 empty windows)
GATE_DB = 9.0
ABS_FLOOR_DBFS = -50.0
MIN_SPEECH_S = 0.15
MAX_SPEECH_S = 2.5
BRIDGE_S = 0.3
PAD_S = 0.2  # kept around the stretch for the decoder's silence model


@dataclass(frozen=True)
class Speech:
    start_s: float
    end_s: float


def frame_db(samples: np.ndarray, rate: int) -> np.ndarray:
    n = int(rate * FRAME_S)
    k = samples.size // n
    if k == 0:
        return np.zeros(0)
    frames = samples[:k * n].astype(np.float64).reshape(k, n)
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def speech(samples: np.ndarray, rate: int) -> Speech | None:
    """The window's one stretch of speech, or None (none, several, or too long to be one)."""
    db = frame_db(samples, rate)
    if db.size == 0:
        return None
    floor = float(np.percentile(db, 20))
    loud = db > max(floor + GATE_DB, ABS_FLOOR_DBFS)
    runs: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if runs and (i - runs[-1][1]) * FRAME_S <= BRIDGE_S:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    runs = [r for r in runs if (r[1] - r[0] + 1) * FRAME_S >= MIN_SPEECH_S]
    if len(runs) != 1:
        return None
    start, end = runs[0][0] * FRAME_S, (runs[0][1] + 1) * FRAME_S
    if end - start > MAX_SPEECH_S:
        return None
    return Speech(start, end)
