"""One contract for every recogniser (the PocketSphinx and Moonshine engines and the fake): a
clean spoken "four" is 4, silence and noise are nothing. The speech is made here by espeak-ng,
at 16 kHz."""

from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np
import pytest
import soxr

from coach.audio.listen.fake import FakeRecognizer
from coach.audio.listen.recognizer import RATE, Recognizer
from coach.audio.listen.sphinx import SphinxRecognizer
from coach.audio.voice.espeak import EspeakSynth
from tests.support.real import need


def spoken(text: str, before_s: float = 0.5, after_s: float = 1.0) -> np.ndarray:
    synth = EspeakSynth(None, "en", 170)
    x = soxr.resample(synth.synth(text), synth.native_rate, RATE).astype(np.float32)
    quiet = np.random.default_rng(7).normal(0, 0.002, int(RATE * (before_s + after_s)) + x.size)
    gap = np.zeros(int(RATE * before_s), np.float32)
    return (np.concatenate([gap, x, np.zeros(quiet.size - gap.size - x.size)]) + quiet
            ).astype(np.float32)


@cache
def moonshine() -> Recognizer:
    need(importlib.util.find_spec("moonshine_voice") is not None,
         "moonshine-voice 0.0.73 (pip install -e .[listen])")
    from coach.audio.listen.engines import recognizer
    return recognizer("moonshine")  # its model loaded once for the module (0.3 CPU-s)


@pytest.fixture(params=["sphinx", "moonshine", "fake"])
def recognizer(request: pytest.FixtureRequest) -> Recognizer:
    if request.param == "moonshine":
        return moonshine()
    return SphinxRecognizer() if request.param == "sphinx" else FakeRecognizer(says="four")


def test_a_spoken_four_is_four(recognizer: Recognizer) -> None:
    heard = recognizer.hear(spoken("four"))
    assert heard is not None and heard.rating == 4 and heard.command is None
    # the speech ends after 0.5 s of silence plus the word; the window goes on 1 s after it
    assert 0.6 < heard.end_s < 2.0


def test_silence_is_nothing(recognizer: Recognizer) -> None:
    assert recognizer.hear(np.zeros(RATE * 3, np.float32)) is None


def test_noise_is_nothing(recognizer: Recognizer) -> None:
    noise = np.random.default_rng(3).normal(0, 0.1, RATE * 3).astype(np.float32)
    assert recognizer.hear(noise) is None


def test_sphinx_hears_a_carrier_and_rejects_off_grammar_speech() -> None:
    r = SphinxRecognizer()
    heard = r.hear(spoken("it was a two"))
    assert heard is not None and heard.rating == 2
    assert r.hear(spoken("like")) is None
    assert r.hear(spoken("hello there")) is None


def test_moonshine_hears_a_carrier_and_writes_off_grammar_speech_down() -> None:
    r = moonshine()
    heard = r.hear(spoken("it was a two"))
    assert heard is not None and heard.rating == 2
    # an open vocabulary: what is no answer is written down as itself, which no answer explains
    for other in ("like", "hello there", "that was hard", "stop"):
        assert r.hear(spoken(other)) is None, other


def test_moonshine_hears_commands_in_a_command_window() -> None:
    r = moonshine()
    for said, command in (("pause", "pause"), ("how long", "how long")):
        heard = r.hear(spoken(said), "command")
        assert heard is not None and heard.command == command and heard.rating is None
    assert r.hear(spoken("banana"), "command") is None


def test_moonshine_takes_a_doubtful_rating_only_when_the_second_recogniser_agrees() -> None:
    need(importlib.util.find_spec("moonshine_voice") is not None,
         "moonshine-voice 0.0.73 (pip install -e .[listen])")
    from coach.audio.listen.moonshine import MoonshineRecognizer
    four = spoken("four")
    # every answer made doubtful (no gap is under -100), all within the agreed gap
    doubtful = {"max_gap": -100.0, "max_gap_agreed": 100.0}
    assert MoonshineRecognizer(**doubtful).hear(four) is None  # no second opinion
    agreed = MoonshineRecognizer(second=FakeRecognizer(says="four"), **doubtful).hear(four)
    assert agreed is not None and agreed.rating == 4
    assert MoonshineRecognizer(second=FakeRecognizer(says="two"), **doubtful).hear(four) is None
    # a command is never taken on a second opinion
    pause = spoken("pause")
    assert MoonshineRecognizer(second=FakeRecognizer(says="pause"), **doubtful).hear(
        pause, "command") is None
