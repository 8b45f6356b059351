"""The mic path for real: a private PulseAudio, a null sink whose monitor is the source, speech
played into it with paplay, captured by parec at the source's rate, resampled to 16 kHz and
heard by PocketSphinx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.audio.listen.capture import Capture, NoSource, source_format
from coach.audio.listen.sphinx import SphinxRecognizer
from coach.audio.listen.window import answers
from tests.support.audio import need_pulse, pulse_server
from tests.support.speech import add_mic, play_into_mic, speech, write_wav

pytestmark = pytest.mark.slow  # a real PulseAudio mic (null sink) and parec for each test


def test_a_four_played_into_the_mic_is_heard(tmp_path: Path) -> None:
    need_pulse()
    with pulse_server(tmp_path / "pulse") as server:
        source = add_mic(server, rate=44100)
        fmt = source_format(source, server.env)
        assert (fmt.rate, fmt.channels) == (44100, 1)
        x = np.concatenate([np.zeros(22050, np.float32), speech("four", 44100),
                            np.zeros(44100, np.float32)])
        # A real mic's floor (-60 dBFS), never a null sink's digital zeros: over zeros
        # PocketSphinx took espeak-ng's words for fillers at times (tests/support/speech.py
        # say_into_mic); this test failed so once in each of two whole-suite runs.
        x += np.random.default_rng(4).normal(0, 1e-3, x.size).astype(np.float32)
        wav = write_wav(tmp_path / "four.wav", x, 44100)
        cap = Capture(source, server.env)

        def play_once_capturing() -> Iterator[np.ndarray]:
            for i, chunk in enumerate(cap.chunks()):
                if i == 2:  # 0.2 s of audio came: parec is recording
                    play_into_mic(server, wav)
                yield chunk

        try:
            heard = list(answers(play_once_capturing(), SphinxRecognizer(), "rating",
                                 window_s=4.0))
        finally:
            cap.close()
        assert [h.rating for h in heard] == [4]
        # played 0.3 s into the window (paplay's start), after the clip's 0.5 s of silence
        assert 0.7 < heard[0].end_s < 2.5


def test_silence_is_no_answer(tmp_path: Path) -> None:
    need_pulse()
    with pulse_server(tmp_path / "pulse") as server:
        cap = Capture(add_mic(server), server.env)
        try:
            assert list(answers(cap.chunks(), SphinxRecognizer(), "rating", window_s=2.0)) == []
        finally:
            cap.close()


def test_a_missing_source_is_one_line(tmp_path: Path) -> None:
    need_pulse()
    with pulse_server(tmp_path / "pulse") as server:
        with pytest.raises(NoSource, match="no PulseAudio/PipeWire source 'nope'"):
            Capture("nope", server.env)


def test_a_source_that_goes_away_mid_window_ends_the_capture_in_one_line(
        tmp_path: Path) -> None:
    # PulseAudio moves a stream whose source goes away to the default source (a Bluetooth
    # headset's mic gone, the stream on another mic or a sink's monitor: the coach's own
    # voice); parec goes on capturing that, so the window must end instead.
    need_pulse()
    with pulse_server(tmp_path / "pulse") as server:
        source = add_mic(server)
        module = next(line.split()[0] for line in
                      server.pactl("list", "short", "modules").stdout.splitlines()
                      if "sink_name=mic" in line)
        cap = Capture(source, server.env)
        got = 0
        try:
            with pytest.raises(NoSource, match="'mic.monitor' went away"):
                for _ in cap.chunks():
                    got += 1
                    if got == 3:
                        assert server.pactl("unload-module", module).returncode == 0
                    assert got < 30, "still capturing 2.7 s after the source went away"
        finally:
            cap.close()
