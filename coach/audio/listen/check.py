"""A mic check (`coach mic`): one window of a source heard as the daemon hears it (the same
capture, gate, endpointer and recogniser), with what a lifter setting up a headset can act on:
what was heard and how soon, the voice's level, the room's, and clipping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import RATE, Heard, Listening, Recognizer
from coach.audio.listen.window import answers

# A voice this quiet is a few dB from being lost. Five espeak-ng voices' answers in a -70 dBFS
# room, either engine: "four" (its "f" is quiet) heard down to a stretch of -33 to -44 dBFS, the
# others to a median of -45 (bench/bench_mic_level.py, BENCHMARKS.md "How quiet a voice is
# heard"); as loud as they were recorded, two of six people's mics gave -33 and -40 dBFS.
QUIET_VOICE_DBFS = -35.0
# Nothing found louder than this: if the lifter spoke, the mic is too quiet to tell (a stretch
# of -38 dBFS has frames up to -34).
QUIET_WINDOW_DBFS = -30.0
# The bench's hardest rooms are 10 dB under the answer (BENCHMARKS.md: PocketSphinx 0.90 of
# answers in gym noise there, 0.60 in music; Moonshine 0.93 and 0.87): under that, fewer still.
LOW_SNR_DB = 10.0
# Music up to 20 dB under the answer costs PocketSphinx a quarter of them and Moonshine few
# (check set, BENCHMARKS.md: music at 20 / 15 dB 0.77 / 0.70 against 0.93 / 0.88; in gym noise
# the two are alike): under this, `coach mic` names the other engine.
MUSIC_SNR_DB = 20.0
CLIP = 0.98  # a peak this close to full scale: the mic's gain is too high


@dataclass(frozen=True)
class Decided:
    """An answer (or a number off the scale), and how long after the speech ended the window
    had it: the endpointer's wait and the decoding, as the daemon's read-back waits for them."""

    heard: Heard
    after_s: float


@dataclass(frozen=True)
class Stretch:
    """A stretch of speech the gate found: where, its mean level, how far it stands over the
    room around it (None: too little room around it to say), its loudest sample."""

    start_s: float
    end_s: float
    dbfs: float
    snr_db: float | None
    peak: float


@dataclass(frozen=True)
class MicCheck:
    seconds: float  # the audio heard
    decided: tuple[Decided, ...]
    room_dbfs: float  # the median 32-ms frame outside speech: the room (and the mic's hiss)
    stretches: tuple[Stretch, ...]
    peak: float  # the loudest sample of the whole window
    loudest_dbfs: float  # the loudest 32-ms frame of the whole window
    no_answer: int  # stretches decoded as no answer

    @property
    def silent(self) -> bool:
        """Digital zeros throughout: a muted source, or a sink's monitor with nothing playing."""
        return self.peak == 0.0


@dataclass
class _Tee:
    """The chunks as they are handed to the window, kept, with when the last one came."""

    chunks: Iterable[np.ndarray]
    kept: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    last_at: float = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        for c in self.chunks:
            self.kept.append(c)
            self.samples += c.size
            self.last_at = time.monotonic()
            yield c


def check(chunks: Iterable[np.ndarray], recognizer: Recognizer, what: Listening = "rating",
          seconds: float = 6.0, decided_now: Callable[[Decided], None] = lambda d: None
          ) -> MicCheck:
    """Hear ``seconds`` of ``chunks`` (16 kHz mono, as the capture gives them) as a window
    does, then measure what was heard. ``decided_now`` is called with each answer as the
    window has it (when the daemon would read it back)."""
    tee = _Tee(chunks)
    decided: list[Decided] = []
    no_answer = 0

    def missed() -> None:
        nonlocal no_answer
        no_answer += 1

    def took(heard: Heard) -> None:
        # the audio handed over past the speech's end, and the decoding since the last chunk
        waited = tee.samples / RATE - heard.end_s
        decided.append(Decided(heard, waited + time.monotonic() - tee.last_at))
        decided_now(decided[-1])

    for heard in answers(tee, recognizer, what, seconds, no_answer=missed, off_scale=took):
        took(heard)
    x = np.concatenate(tee.kept) if tee.kept else np.zeros(0, np.float32)
    return measure(x, tuple(decided), no_answer)


def measure(x: np.ndarray, decided: tuple[Decided, ...] = (), no_answer: int = 0) -> MicCheck:
    """The levels of a window's audio ``x`` (16 kHz mono) and its stretches of speech."""
    gate = vad.Gate()
    gate.feed(x)
    found = gate.stretches()
    frames = _frames_db(x)
    speech = np.zeros(frames.size, bool)
    stretches = []
    for s in found:
        a, b = int(s.start_s * RATE), int(s.end_s * RATE)
        speech[a // vad.FRAME:-(-b // vad.FRAME)] = True
        part = x[a:b].astype(np.float64)
        stretches.append(Stretch(s.start_s, s.end_s, _db(float(np.mean(part ** 2))),
                                 vad.snr_db(x, s), float(np.max(np.abs(part)))))
    room = frames[~speech]
    return MicCheck(x.size / RATE, decided,
                    float(np.median(room)) if room.size else float("-inf"),
                    tuple(stretches), float(np.max(np.abs(x))) if x.size else 0.0,
                    float(np.max(frames)) if frames.size else float("-inf"), no_answer)


def quiet_voice(x: np.ndarray) -> float | None:
    """The loudest stretch of speech's level in ``x`` (16 kHz mono, a window's audio) when there
    is speech and all of it is under QUIET_VOICE_DBFS, else None: how the daemon tells a lifter
    whose answers went unheard that the mic, not the words, may be why."""
    levels = [s.dbfs for s in measure(x).stretches]
    return max(levels) if levels and max(levels) < QUIET_VOICE_DBFS else None


def _db(power: float) -> float:
    return 10 * float(np.log10(power)) if power > 0 else float("-inf")


def _frames_db(x: np.ndarray) -> np.ndarray:
    # vad._frame_db's, but digital zeros are -inf here, not -120: "digital silence" is what
    # a muted source or an idle sink's monitor gives, and coach mic names it
    n = x.size // vad.FRAME
    f = x[:n * vad.FRAME].reshape(n, vad.FRAME).astype(np.float64)
    p = np.mean(f ** 2, axis=1)
    with np.errstate(divide="ignore"):
        out: np.ndarray = np.where(p > 0, 10 * np.log10(np.maximum(p, 1e-300)), -np.inf)
    return out
