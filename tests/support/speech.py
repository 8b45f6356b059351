"""Spoken answers for the listening tests: espeak-ng speech as WAV files for paplay, and a mic
made of a null sink whose monitor is the source."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import soxr

from coach.audio.listen.recognizer import RATE
from coach.audio.voice.espeak import EspeakSynth
from tests.support.audio import PulseServer

MIC = "mic"  # the null sink played into; its monitor, mic.monitor, is the configured source


def speech(text: str, rate: int = RATE, voice: str | None = None) -> np.ndarray:
    synth = EspeakSynth(voice, "en", 170)
    return soxr.resample(synth.synth(text), synth.native_rate, rate).astype(np.float32)


def write_wav(path: Path, x: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def add_mic(server: PulseServer, rate: int = 48000) -> str:
    """A null sink ``mic`` at ``rate``: its monitor is the source speech is played into."""
    r = server.pactl("load-module", "module-null-sink", f"sink_name={MIC}", f"rate={rate}",
                     "channels=1")
    assert r.returncode == 0, r.stderr
    return f"{MIC}.monitor"


def play_into_mic(server: PulseServer, wav: Path) -> subprocess.Popen:
    return subprocess.Popen(["paplay", f"--device={MIC}", str(wav)], env=server.env)
