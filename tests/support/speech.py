"""Spoken answers for the listening tests: espeak-ng speech as WAV files for paplay, and a mic
made of a null sink whose monitor is the source."""

from __future__ import annotations

import io
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


def espeak_ng(text: str, voice: str = "en", wpm: int = 170, peak: float | None = 0.3,
              rate: int = RATE) -> np.ndarray:
    """espeak-ng's own command at ``rate``, scaled to ``peak`` (0.3: bench/listen_corpus.py's
    level; None: as espeak-ng wrote it): the same samples every run (pyttsx3's clips differ from
    one call to the next, and the moonshine tests' clips are near a threshold)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        native = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    x = soxr.resample(x, native, rate).astype(np.float32)
    if peak is None:
        return x
    return (x * (peak / (np.max(np.abs(x)) + 1e-9))).astype(np.float32)


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


def say_into_mic(server: PulseServer, tmp: Path, words: str, rate: int = 48000,
                 voice: str | None = None) -> None:
    """``words`` (espeak-ng) played into the mic over a real mic's noise floor (-60 dBFS), until
    paplay ends. PocketSphinx takes a null sink's digital silence badly: espeak-ng's "stop" and
    "repeat" were heard as fillers over zeros, and as themselves over this floor."""
    x = np.concatenate([np.zeros(rate // 4, np.float32), speech(words, rate, voice),
                        np.zeros(rate // 2, np.float32)])
    x += np.random.default_rng(len(words)).normal(0, 1e-3, x.size).astype(np.float32)
    wav = write_wav(tmp / f"{words.replace(' ', '-')}.wav", x, rate)
    assert play_into_mic(server, wav).wait(20) == 0


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A mono 16-bit WAV (what `coach render` writes) as float32, and its rate."""
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
        return x, w.getframerate()


def loud_onsets(x: np.ndarray, at: list[int], window: int, dbfs: float = -45.0) -> list[int]:
    """The first sample above ``dbfs`` from ``window`` samples before each of ``at`` (-1: none):
    the same onset found in a render and in a capture is the same cue on the same sample."""
    loud = np.flatnonzero(np.abs(x) > 10 ** (dbfs / 20))
    out = []
    for a in at:
        k = int(np.searchsorted(loud, a - window))
        out.append(int(loud[k]) if k < loud.size else -1)
    return out

def gym_noise(n: int, seed: int) -> np.ndarray:
    """Brown noise (a ventilation rumble) with a clank a second (plates ringing at 2.5 kHz), unit
    RMS: bench/listen_corpus.py's gym."""
    rng = np.random.default_rng(seed)
    brown = np.cumsum(rng.normal(0, 1, n))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")
    x = brown / (np.std(brown) + 1e-9)
    for at in rng.integers(0, n, size=max(1, n // RATE)):
        k = np.arange(min(2000, n - at))
        x[at:at + k.size] += 4 * np.exp(-k / 300) * np.sin(2 * np.pi * 2500 * k / RATE)
    return (x / np.std(x)).astype(np.float32)


def music(n: int, seed: int) -> np.ndarray:
    """Chords changing every 0.25 s (five partials on a 110-247 Hz root) and a noise beat, unit
    RMS: bench/listen_corpus.py's music."""
    rng = np.random.default_rng(seed)
    seg = RATE // 4
    t = np.arange(seg) / RATE
    out = []
    for _ in range(n // seg + 1):
        f0 = rng.choice([110, 147, 165, 196, 220, 247])
        chord = sum(np.sin(2 * np.pi * f0 * k * t) for k in (1, 1.25, 1.5, 2, 3))
        out.append(chord + 2 * np.exp(-t * 30) * rng.normal(0, 1, t.size))
    x = np.concatenate(out)[:n]
    return (x / np.std(x)).astype(np.float32)


def in_window(clips: list[tuple[float, np.ndarray]], seconds: float,
              noise: np.ndarray | None = None, snr_db: float = 10.0) -> np.ndarray:
    """A window of ``seconds`` at RATE: a quiet room's hiss, each (at_s, clip) placed, and
    ``noise`` ``snr_db`` under the speech's active level (the first clip's)."""
    x = np.random.default_rng(7).normal(0, 0.002, int(RATE * seconds)).astype(np.float32)
    for at_s, clip in clips:
        a = int(at_s * RATE)
        x[a:a + clip.size] += clip[:x.size - a]
    if noise is not None:
        first = clips[0][1]
        active = first[np.abs(first) > 0.01]
        level = float(np.sqrt(np.mean(active.astype(np.float64) ** 2)))
        x += noise[:x.size] * level / 10 ** (snr_db / 20)
    return x
