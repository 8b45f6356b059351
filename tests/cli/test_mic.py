"""`coach mic`: a real mic (a null sink's monitor, speech played into it) heard through the CLI
in a subprocess, a missing source in one line, and the advice read off a check's figures."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from coach.audio.listen.check import MicCheck, Stretch
from coach.cli.mic import report
from tests.support.audio import need_pulse, pulse_server
from tests.support.cli import COACH, coach
from tests.support.real import ROOT
from tests.support.speech import add_mic, speech, write_wav

RATE = 48000


def a_check(**given: object) -> MicCheck:
    """A check's figures: one clear answer-sized stretch in a quiet room, unless ``given``."""
    fields: dict[str, object] = dict(
        seconds=6.0, decided=(), room_dbfs=-62.0,
        stretches=(Stretch(1.0, 1.4, -22.0, 38.0, 0.4),), peak=0.4, loudest_dbfs=-18.0,
        no_answer=0)
    fields.update(given)
    return MicCheck(**fields)  # type: ignore[arg-type]


def advice(result: MicCheck, rate: int = 48000, engine: str = "pocketsphinx") -> list[str]:
    return [line.removeprefix("to change: ") for line in report(result, rate, engine)  # type: ignore[arg-type]
            if line.startswith("to change: ")]


def test_a_clear_voice_in_a_quiet_room_needs_no_change() -> None:
    lines = report(a_check(), 48000, "pocketsphinx")
    assert lines == ["speech at 1.0-1.4 s: -22 dBFS, 38 dB over the room, peak -8 dBFS",
                     "the room: -62 dBFS"]


def test_each_problem_a_lifter_can_fix_is_named_with_its_fix() -> None:
    assert advice(a_check(stretches=(Stretch(1.0, 1.4, -38.0, 24.0, 0.05),)))[0].startswith(
        "your voice is quiet (under -35 dBFS): turn the mic up")
    assert advice(a_check(stretches=(Stretch(1.0, 1.4, -6.0, 50.0, 0.999),)))[0].startswith(
        "your voice clips: turn the mic down")
    assert advice(a_check(stretches=(Stretch(1.0, 1.4, -22.0, 6.0, 0.4),)))[0].startswith(
        "the room is loud against your voice (under 10 dB)")
    loud = a_check(stretches=(Stretch(1.0, 1.4, -22.0, 15.0, 0.4),))
    assert advice(loud) == ["the room is 15 dB under your voice: if that is music, "
                            "`listen: {engine: moonshine}` hears more answers over it"]
    assert advice(loud, engine="moonshine") == []
    assert advice(a_check(), rate=8000)[0].startswith(
        "8000 Hz: a call-quality mic (a Bluetooth headset's call profile); `listen: {engine: "
        "moonshine}` hears more")
    assert advice(a_check(stretches=(), room_dbfs=float("-inf"), peak=0.0,
                          loudest_dbfs=float("-inf")))[0].startswith(
        "the source gave only digital silence: is it muted?")
    assert advice(a_check(stretches=(), loudest_dbfs=-44.0))[0].startswith(
        "nothing louder than -44 dBFS heard: if you spoke, the mic is too quiet")
    assert advice(a_check(stretches=(), loudest_dbfs=-12.0))[0].startswith(
        "no speech heard (sounds up to -12 dBFS, none like a voice): is it the right mic?")


@pytest.mark.slow  # a real sound server, the CLI's recogniser loaded, 4 s of listening
def test_coach_mic_hears_four_said_into_a_real_mic(tmp_path: Path) -> None:
    need_pulse()
    # "four" 1 s into 4.5 s of a real mic's floor (-60 dBFS), played as soon as the CLI asks
    x = np.random.default_rng(3).normal(0, 1e-3, int(RATE * 4.5)).astype(np.float32)
    four = speech("four", RATE)
    x[RATE:RATE + four.size] += four
    wav = write_wav(tmp_path / "four.wav", x, RATE)
    with pulse_server(tmp_path / "pulse") as server:
        source = add_mic(server, RATE)
        p = subprocess.Popen([*COACH, "mic", "--source", source, "--seconds", "4"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=server.env, cwd=ROOT)
        try:
            assert p.stdout is not None and p.stderr is not None
            first = p.stdout.readline()
            assert first == (f"mic: {source} ({RATE} Hz, 1 ch; heard at 16000 Hz), "
                             "engine pocketsphinx\n"), first + p.stderr.read()
            assert p.stdout.readline() == 'say a rating, "one" to "five", now (4 s)...\n'
            player = subprocess.Popen(["paplay", "--device=mic", str(wav)], env=server.env)
            rest, err = p.communicate(timeout=30)
            player.wait(10)
        finally:
            p.kill()
    assert p.returncode == 0, rest + err
    lines = rest.splitlines()
    assert lines[0].startswith("heard 'four': rating 4 (confidence "), rest
    assert lines[1].startswith("speech at "), rest
    # the floor's white noise at 48 kHz, a third of its power under 8 kHz: -60 - 4.8 dB at 16 kHz
    assert lines[2] == "the room: -65 dBFS", rest
    assert len(lines) == 3 and err == "", rest + err


@pytest.mark.slow  # a real sound server, the CLI in a process of its own
def test_a_missing_source_is_one_line_naming_the_sources_there_are(tmp_path: Path) -> None:
    need_pulse()
    with pulse_server(tmp_path / "pulse") as server:
        add_mic(server, RATE)
        r = coach("mic", "--source", "nope", env=server.env, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "coach: mic: no PulseAudio/PipeWire source 'nope' (`pactl list short sources` lists "
        "them); here: coach_sink.monitor, mic.monitor"], r.stderr


def test_no_sound_server_is_one_line() -> None:
    # libpulse adds a second line of its own ("pa_context_connect() failed: ..."); one is said
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/coach-test"}
    r = coach("mic", env=env, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "coach: mic: pactl get-default-source: Connection failure: Connection refused"], r.stderr
