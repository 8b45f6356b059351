"""The mic check's measuring (coach/audio/listen/check.py): one window through the real gate and
PocketSphinx, and levels read off it that match the audio put in."""

from __future__ import annotations

import numpy as np
import pytest

from coach.audio.listen.check import QUIET_VOICE_DBFS, check, measure, quiet_voice
from coach.audio.listen.recognizer import RATE, Recognizer
from coach.audio.listen.sphinx import SphinxRecognizer
from coach.audio.listen.window import END_SILENCE_S
from tests.support.speech import espeak_ng

ROOM_DBFS = -70.0  # a headset mic's hiss in a quiet room


@pytest.fixture(scope="module")
def sphinx() -> Recognizer:
    s = SphinxRecognizer()
    s.load()
    return s


def window(voice: np.ndarray, gain_db: float = 0.0, seconds: float = 4.0) -> np.ndarray:
    x = np.random.default_rng(11).normal(0, 10 ** (ROOM_DBFS / 20), int(RATE * seconds))
    x[RATE:RATE + voice.size] += voice * 10 ** (gain_db / 20)
    return x.astype(np.float32)


def chunks(x: np.ndarray) -> list[np.ndarray]:
    return [x[i:i + RATE // 10] for i in range(0, x.size, RATE // 10)]


def active_dbfs(clip: np.ndarray) -> float:
    """The clip's level where it speaks (samples over 0.01), measured apart from check.py."""
    active = clip[np.abs(clip) > 0.01].astype(np.float64)
    return 10 * float(np.log10(np.mean(active ** 2)))


def test_an_answer_is_heard_and_the_voice_and_the_room_are_measured(sphinx: Recognizer) -> None:
    four = espeak_ng("four")
    result = check(chunks(window(four)), sphinx, "rating", 4.0)
    assert [(d.heard.text, d.heard.rating) for d in result.decided] == [("four", 4)]
    # the endpointer's wait is in it (a chunk's granularity), and the decoding
    assert END_SILENCE_S <= result.decided[0].after_s < END_SILENCE_S + 0.6
    [s] = result.stretches
    assert 0.9 < s.start_s < 1.3 and s.end_s < 1.0 + four.size / RATE + 0.2
    # the stretch holds the word's quiet edges too: its mean sits a little under the active level
    assert active_dbfs(four) - 4 < s.dbfs <= active_dbfs(four) + 0.5
    assert result.room_dbfs == pytest.approx(ROOM_DBFS, abs=1.0)
    assert s.snr_db is not None and s.snr_db == pytest.approx(s.dbfs - ROOM_DBFS, abs=2.0)
    assert s.peak == pytest.approx(0.3, abs=0.01)  # espeak_ng's clip is scaled to 0.3
    assert result.no_answer == 0 and not result.silent


def test_a_voice_too_quiet_for_the_gate_is_not_heard_and_the_window_says_how_loud_it_got(
        sphinx: Recognizer) -> None:
    # 28 dB down: the stretch would average about -48 dBFS, under what the gate hears
    four = espeak_ng("four")
    result = check(chunks(window(four, -28.0)), sphinx, "rating", 4.0)
    assert result.decided == () and result.stretches == ()
    loudest = 10 * np.log10(np.mean(
        (four.reshape(-1)[:four.size // 512 * 512].reshape(-1, 512).astype(np.float64)
         * 10 ** (-28 / 20)) ** 2, axis=1).max())
    assert result.loudest_dbfs == pytest.approx(loudest, abs=1.5)  # frames fall differently


def test_speech_that_is_no_answer_is_counted(sphinx: Recognizer) -> None:
    result = check(chunks(window(espeak_ng("banana"))), sphinx, "rating", 4.0)
    assert result.decided == () and result.no_answer == 1 and len(result.stretches) == 1


def test_digital_zeros_are_a_silent_source() -> None:
    result = measure(np.zeros(RATE * 2, np.float32))
    assert result.silent and result.stretches == ()
    assert result.room_dbfs == float("-inf") and result.loudest_dbfs == float("-inf")


def test_a_window_whose_speech_is_all_quiet_is_told_apart() -> None:
    banana = espeak_ng("banana")  # a peak of 0.3: a stretch of about -25 dBFS
    assert quiet_voice(window(banana)) is None
    level = quiet_voice(window(banana, -16.0))
    assert level is not None and level < QUIET_VOICE_DBFS
    assert level == pytest.approx(measure(window(banana)).stretches[0].dbfs - 16, abs=1.5)
    assert quiet_voice(window(np.zeros(0, np.float32))) is None  # no speech: nothing to tell
