"""A hundred mic windows with no speech in them (a quiet room, gym noise, music) give no answer
on the daemon's decision path, with each real recogniser: no rating, no "one to five?", no command."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import pytest

from coach.audio.listen.engines import ENGINES, recognizer
from coach.audio.listen.recognizer import RATE, Heard, Listening, Recognizer
from coach.audio.listen.window import answers
from coach.core.types import ListenEngine
from tests.support.real import need
from tests.support.speech import espeak_ng, gym_noise, in_window, music

WINDOW_S = 6.0
CHUNK = RATE // 10  # the capture's 0.1-s chunks
WINDOWS = 100  # what the issue names
# One seed a window, none of bench/listen_corpus.py's SEEDS (22, 2026, 9): the bench is what
# the gate and the thresholds were tuned on, and this is not to be the tuning data again.
FIRST_SEED = 4100
KINDS = ("quiet room", "gym", "music")
# A quiet room: its hiss at these dBFS (in_window's is -54), on both sides of the gate's
# vad.QUIET_DBFS (-50), under which frames are silence whatever Silero says of them. Gym noise
# and music: dB under a 0.1 RMS, as bench_listen.py's empty windows (over the same -54 dBFS
# hiss).
LEVELS = {"quiet room": (-60, -54, -48), "gym": (0, 10, 20), "music": (0, 10, 20)}


@dataclass(frozen=True)
class Window:
    kind: str
    level: int
    seed: int

    def __str__(self) -> str:
        unit = "dBFS" if self.kind == "quiet room" else "dB under 0.1 RMS"
        return f"{self.kind} at {self.level} {unit}, seed {self.seed}"


def samples(w: Window) -> np.ndarray:
    n = int(RATE * WINDOW_S)
    # the hiss's draw apart from the noise's: gym_noise(n, seed) draws normals from the same seed
    hiss_dbfs = w.level if w.kind == "quiet room" else -54
    x = np.random.default_rng([w.seed, 1]).normal(0, 10 ** (hiss_dbfs / 20), n)
    if w.kind != "quiet room":
        noise = {"gym": gym_noise, "music": music}[w.kind](n, w.seed)
        x += noise * 0.1 / 10 ** (w.level / 20)
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def empty_windows() -> list[tuple[Window, np.ndarray]]:
    """A third of each kind, each kind's levels in turn: made once for the module's tests (38 MB,
    let go after them)."""
    made = [Window(KINDS[i % 3], LEVELS[KINDS[i % 3]][i // 3 % 3], FIRST_SEED + i)
            for i in range(WINDOWS)]
    return [(w, samples(w)) for w in made]


@dataclass
class Outcome:
    heard: list[Heard]
    off_scale: list[Heard]
    no_answer: int = 0


def hear(rec: Recognizer, x: np.ndarray, what: Listening) -> Outcome:
    """The window in 0.1-s chunks through window.answers, as the daemon's listener feeds it,
    with its two hooks counted."""
    out = Outcome([], [])

    def no_answer() -> None:
        out.no_answer += 1

    chunks = (x[i:i + CHUNK] for i in range(0, x.size, CHUNK))
    out.heard = list(answers(chunks, rec, what, WINDOW_S, no_answer=no_answer,
                             off_scale=out.off_scale.append))
    return out


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Recognizer:
    name: ListenEngine = request.param
    if name == "moonshine":
        need(importlib.util.find_spec("moonshine_voice") is not None,
             "moonshine-voice 0.0.73 (pip install -e .[listen])")
    return recognizer(name)  # loaded once for the module, as the daemon loads it once


# Silero finds no stretch of speech in any of these windows (its highest probability in them
# 0.2, START_P 0.5), so neither decoder is reached today: this holds the gate to the issue's
# figure, and the decoders to it if the gate ever lets one of these through.
@pytest.mark.slow  # 100 windows of 6 s through the gate: 1.6 s each (2.5 with their making)
@pytest.mark.parametrize("what", ["rating", "command"])
def test_a_hundred_windows_with_no_speech_give_no_answer(
        engine: Recognizer, empty_windows: list[tuple[Window, np.ndarray]], what: Listening) -> None:
    wrong = []
    for w, x in empty_windows:
        got = hear(engine, x, what)
        if got.heard or got.off_scale:
            # a command window never asks "one to five?"; counted all the same
            wrong.append(f"{w}: heard {[h.text for h in got.heard]}, off the scale "
                         f"{[h.text for h in got.off_scale]} ({got.no_answer} stretches "
                         "decoded as no answer)")
    assert not wrong, f"{len(wrong)} of {WINDOWS} {what} windows:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("what", "said"), [("rating", "four"), ("command", "pause")])
def test_the_same_path_hears_an_answer_in_a_window(engine: Recognizer, what: Listening,
                                                   said: str) -> None:
    # so that a path that never hears anything cannot pass the test above
    got = hear(engine, in_window([(1.0, espeak_ng(said))], WINDOW_S), what)
    assert [(h.rating, h.command) for h in got.heard] == [
        (4, None) if what == "rating" else (None, "pause")]
    assert got.off_scale == []
