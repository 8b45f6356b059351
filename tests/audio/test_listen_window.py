"""The window's endpointer (coach/audio/listen/window.py) on espeak-ng speech over a quiet
floor, with a scripted recogniser: a stretch of speech that is no answer is decoded once, not
once more with every chunk after it, and an answer after it in the same window is still heard;
a stretch is decoded before its end is sure (EARLY_S) and given when it is (END_SILENCE_S), and
a pause inside an answer drops the early decode. (Speech, not noise bursts: the gate is Silero
VAD, which hears no speech in white noise.)"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import OFF_SCALE_WORDS, RATE, Heard, Listening
from coach.audio.listen.window import EARLY_S, END_SILENCE_S, LEAD_S, answers
from tests.support.speech import speech

CHUNK = RATE // 10


class Scripted:
    """A recogniser that answers each decode from a script (None: no answer), counting them."""

    def __init__(self, *says: str | None, fed: list[int] | None = None) -> None:
        self.says = list(says)
        self.calls = 0
        self.given: list[int] = []  # the samples each decode was given
        self._fed = fed  # the samples fed to the window so far (a counter the test keeps)
        self.fed_at: list[int] = []  # that count at each decode

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        self.calls += 1
        self.given.append(samples.size)
        if self._fed is not None:
            self.fed_at.append(self._fed[0])
        text = self.says.pop(0) if self.says else None
        if text is None:
            return None
        rating = None if text in OFF_SCALE_WORDS else 4  # "six": a number off the scale
        return Heard(text, rating, None, 1.0, samples.size / RATE)


def audio(*parts: float | str, chunk: int = CHUNK, tight: bool = False) -> list[np.ndarray]:
    """Seconds of a -60 dBFS floor (a number) and espeak-ng's words (a string; ``tight``: less
    the clip's own silence), in 0.1 s chunks."""
    rng = np.random.default_rng(0)
    x = np.concatenate([_words(p, tight) if isinstance(p, str) else np.zeros(int(p * RATE))
                        for p in parts]).astype(np.float32)
    x += rng.normal(0, 1e-3, x.size).astype(np.float32)
    return [x[i:i + chunk] for i in range(0, x.size, chunk)]


def _words(text: str, tight: bool) -> np.ndarray:
    x = speech(text, RATE)
    if not tight:
        return x
    loud = np.flatnonzero(np.abs(x) > 1e-3)
    return x[loud[0]:loud[-1] + 1]


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


def test_an_answer_is_decoded_in_the_wait_and_given_when_its_end_is_sure(espeak: None) -> None:
    chunks = audio(1.0, "four", 1.5)
    fed = [0]  # samples fed so far

    def counted() -> Iterator[np.ndarray]:
        for c in chunks:
            fed[0] += c.size
            yield c

    r = Scripted("four", fed=fed)
    given_at = [fed[0] for _ in answers(counted(), r, "rating", 6.0)]
    gate = vad.Gate()
    gate.feed(np.concatenate(chunks))
    [s] = gate.stretches()
    assert r.calls == 1 and len(given_at) == 1
    # decoded once EARLY_S of silence had come, with the audio up to there (from LEAD_S before)
    assert EARLY_S <= r.fed_at[0] / RATE - s.end_s < EARLY_S + CHUNK / RATE
    assert r.given[0] == int((s.end_s + EARLY_S) * RATE) - int((s.start_s - LEAD_S) * RATE)
    # and given once END_SILENCE_S had: the wait is as long as it was, the decoding inside it
    assert END_SILENCE_S <= given_at[0] / RATE - s.end_s < END_SILENCE_S + CHUNK / RATE


def test_a_pause_inside_an_answer_drops_its_early_decode(espeak: None) -> None:
    # "it was" and "a four" 0.3 s apart: the gate's gap is 0.288 s (9 frames), over EARLY_S
    # and within vad.BRIDGE_S, so the first part is decoded early and the stretch then goes on
    assert EARLY_S < 9 * vad.FRAME_S <= vad.BRIDGE_S
    r = Scripted("two", "four")
    heard = list(answers(audio(1.0, "it was", 0.3, "a four", 1.5, chunk=vad.FRAME, tight=True),
                         r, "rating", 6.0))
    assert [h.text for h in heard] == ["four"] and r.calls == 2
    assert r.given[1] > r.given[0] + 0.25 * RATE  # the whole answer, the second time


def test_the_coachs_own_words_are_never_decoded_and_an_answer_after_them_is(
        espeak: None) -> None:
    # Listener.coach_says: words the coach says while the window is open (a tap's read-back,
    # "how long") are not listened to until they have been heard (``own_words_to``, s).
    chunks = audio(0.5, "four", 1.0, "three", 1.0)
    r, unheard = Scripted(None, "three"), []
    assert [h.text for h in answers(chunks, r, "rating", 10.0,
                                    no_answer=lambda: unheard.append(1))] == ["three"]
    assert r.calls == 2 and unheard == [1], "unmuted, both stretches are decoded, one no answer"
    r = Scripted("three")
    heard = list(answers(chunks, r, "rating", 10.0, own_words_to=lambda: 1.5))
    assert [h.text for h in heard] == ["three"] and r.calls == 1, "'four' began at 0.5 s"


def test_a_number_off_the_scale_is_told_and_an_answer_after_it_is_heard(espeak: None) -> None:
    # "six" is no rating (the daemon asks "one to five?"); the window goes on, unmuted
    r, unheard, off = Scripted("six", "four"), [], []
    heard = list(answers(audio(1.5, "six", 1.0, "four", 1.5), r, "rating", 6.0,
                         no_answer=lambda: unheard.append(1), off_scale=off.append))
    assert [h.text for h in heard] == ["four"] and r.calls == 2
    assert [h.text for h in off] == ["six"] and unheard == []
    # its end counted from the window's start, as an answer's (the daemon logs how late it is)
    said_end = 1.5 + speech("six", RATE).size / RATE
    assert said_end - 0.5 <= off[0].end_s <= said_end + 0.5, (off[0].end_s, said_end)
