"""The window's endpointer (coach/audio/listen/window.py) on made-up audio: a stretch of speech
that is no answer is decoded once, not once more with every chunk after it, and an answer after
it in the same window is still heard."""

from __future__ import annotations

import numpy as np

from coach.audio.listen.recognizer import RATE, Heard, Listening
from coach.audio.listen.window import answers

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


def audio(*parts: tuple[float, float]) -> list[np.ndarray]:
    """(seconds, level) parts over a -60 dBFS floor, in 0.1 s chunks."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, level or 1e-3, int(s * RATE)) for s, level in parts])
    x = x.astype(np.float32)
    return [x[i:i + CHUNK] for i in range(0, x.size, CHUNK)]


def test_a_stretch_that_is_no_answer_is_decoded_once() -> None:
    r = Scripted(None)
    heard = list(answers(audio((1.0, 0), (0.5, 0.1), (3.5, 0)), r, "command", 5.0))
    assert heard == [] and r.calls == 1


def test_an_answer_after_a_stretch_that_was_none_is_heard() -> None:
    r = Scripted(None, "four")
    heard = list(answers(audio((1.0, 0), (0.4, 0.1), (1.0, 0), (0.5, 0.1), (1.5, 0)), r,
                         "rating", 5.0))
    assert [h.text for h in heard] == ["four"] and r.calls == 2
    assert 2.8 <= heard[0].end_s <= 3.4  # counted from the window's start, not the cut
