"""The window's endpointer (coach/audio/listen/window.py) on espeak-ng speech over a quiet
floor, with a scripted recogniser: a stretch of speech that is no answer is decoded once, not
once more with every chunk after it, and an answer after it in the same window is still heard.
(Speech, not noise bursts: the gate is Silero VAD, which hears no speech in white noise.)"""

from __future__ import annotations

import numpy as np

from coach.audio.listen.recognizer import RATE, Heard, Listening
from coach.audio.listen.window import answers
from tests.support.speech import speech

CHUNK = RATE // 10


class Scripted:
    """A recogniser that answers each decode from a script (None: no answer), counting them."""

    def __init__(self, *says: str | None) -> None:
        self.says = list(says)
        self.calls = 0

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        self.calls += 1
        text = self.says.pop(0) if self.says else None
        if text is None:
            return None
        return Heard(text, 4, None, 1.0, samples.size / RATE)


def audio(*parts: float | str) -> list[np.ndarray]:
    """Seconds of a -60 dBFS floor (a number) and espeak-ng's words (a string), in 0.1 s chunks."""
    rng = np.random.default_rng(0)
    x = np.concatenate([speech(p, RATE) if isinstance(p, str) else np.zeros(int(p * RATE))
                        for p in parts]).astype(np.float32)
    x += rng.normal(0, 1e-3, x.size).astype(np.float32)
    return [x[i:i + CHUNK] for i in range(0, x.size, CHUNK)]


def test_a_stretch_that_is_no_answer_is_decoded_once(espeak: None) -> None:
    r = Scripted(None)
    heard = list(answers(audio(1.0, "hello there", 3.5), r, "command", 6.0))
    assert heard == [] and r.calls == 1


def test_an_answer_after_a_stretch_that_was_none_is_heard(espeak: None) -> None:
    first, second = speech("hello", RATE).size / RATE, speech("four", RATE).size / RATE
    r = Scripted(None, "four")
    heard = list(answers(audio(1.0, "hello", 1.0, "four", 1.5), r, "rating", 6.0))
    assert [h.text for h in heard] == ["four"] and r.calls == 2
    # counted from the window's start, not from the cut the decoder was given
    said_end = 1.0 + first + 1.0 + second
    assert said_end - second <= heard[0].end_s <= said_end + 1.0, (heard[0].end_s, said_end)
