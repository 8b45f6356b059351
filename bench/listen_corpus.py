"""The spoken-rating corpus bench_listen.py generates: voices (espeak-ng voices with variants,
and Piper's en_US-joe-medium at several length/noise scales and pitch shifts), answers, off-grammar
phrases, gym noise and music, mixed in a window at a known SNR. Disjoint sets: TUNE (what
the gate, the thresholds and the grammar were tuned on) and CHECK (what BENCHMARKS.md reports):
different voices, different off-grammar phrases, different noise seeds. FRESH (session 9):
again others, for a choice made after the check set had been seen."""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
WINDOW_S = 6.0


@dataclass(frozen=True)
class Voice:
    """espeak-ng: ``name`` is its voice (``+variant`` allowed), ``speed`` wpm. Piper: ``name``
    is "joe"; ``length``/``noise`` its scales, ``pitch`` a resampling factor (1.1: 10 % higher
    and faster, as a smaller speaker)."""

    engine: str  # "espeak-ng" | "piper"
    name: str
    speed: int = 170
    length: float = 1.0
    noise: float = 0.667
    pitch: float = 1.0

    @property
    def label(self) -> str:
        if self.engine == "espeak-ng":
            return f"{self.name}@{self.speed}"
        return f"piper joe l{self.length:g} n{self.noise:g} p{self.pitch:g}"


def _espeak(name: str, speeds: tuple[int, ...]) -> list[Voice]:
    return [Voice("espeak-ng", n, s) for n, s in zip(name.split(), speeds * 8, strict=False)]


SETS: dict[str, list[Voice]] = {
    "tune": _espeak("gmw/en gmw/en-us+m3 gmw/en-gb-x-rp+f2 gmw/en-029+m5 gmw/en-us-nyc+f4",
                    (170, 140, 200))
    + [Voice("piper", "joe"), Voice("piper", "joe", length=0.85, noise=0.9, pitch=1.12)],
    "check": _espeak("gmw/en-us gmw/en-gb-x-rp gmw/en-029 gmw/en-gb-scotland gmw/en-gb-x-gbclan "
                     "gmw/en-gb-x-gbcwmd gmw/en-us-nyc gmw/en-us+f3 gmw/en+m7",
                     (150, 190, 170))
    + [Voice("piper", "joe", length=1.15, noise=0.5),
       Voice("piper", "joe", length=0.9, noise=0.8, pitch=1.2),
       Voice("piper", "joe", length=1.0, noise=1.0, pitch=0.9)],
    # Heard by nothing before session 9: for a choice made after the check set was seen (one
    # run a choice, and the figure is what it is).
    "fresh": _espeak("gmw/en-gb-scotland+f1 gmw/en-gb-x-gbcwmd+m2 gmw/en-029+f2 gmw/en-us+m5 "
                     "gmw/en+f4 gmw/en-us-nyc+m1 gmw/en-gb-x-gbclan+f5 gmw/en-gb-x-rp+m4 "
                     "gmw/en-us+m6", (160, 180, 145, 195))
    + [Voice("piper", "joe", length=1.05, noise=0.6, pitch=1.06),
       Voice("piper", "joe", length=0.8, noise=0.75, pitch=0.95),
       Voice("piper", "joe", length=1.25, noise=0.85, pitch=1.15)],
}
NUMBERS = ("one", "two", "three", "four", "five")
# Five answers a voice: the bare number mostly, a carrier for two of them (which two turns
# with the voice).
FORMS = ("{}", "{}", "{}", "a {}", "it was a {}")
OFF: dict[str, tuple[str, ...]] = {
    "tune": ("like", "fine", "go", "hello there", "stop", "okay", "what", "seven",
             "I am done"),
    "check": ("nice", "so", "no", "wait a second", "that was hard", "let me see", "why",
              "water", "tired", "more"),
    "fresh": ("done", "yeah", "heavy", "too much", "that burned", "easy", "again", "nope",
              "alright", "give me a minute"),
}
SEEDS = {"tune": 22, "check": 2026, "fresh": 9}


def answers(voice_index: int) -> list[str]:
    return [FORMS[(i + voice_index) % len(FORMS)].format(n) for i, n in enumerate(NUMBERS)]


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    import io
    with wave.open(io.BytesIO(data)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    return x, rate


class Synth:
    """Clips at RATE, cached on disk (``cache``) by voice and text."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)
        self._piper = None

    def clip(self, v: Voice, text: str) -> np.ndarray:
        f = self.cache / (f"{v.label}|{text}".replace("/", "_").replace(" ", "_") + ".npy")
        if f.exists():
            return np.load(f)
        import soxr
        if v.engine == "espeak-ng":
            out = subprocess.run(["espeak-ng", "-v", v.name, "-s", str(v.speed), "--stdout",
                                  text], capture_output=True, check=True).stdout
            x, rate = _read_wav(out)
        else:
            x, rate = self._piper_synth(v, text)
        # a pitch factor p: the clip played p times as fast (formants and f0 up, as a smaller
        # speaker's)
        x = soxr.resample(x, rate / v.pitch, RATE).astype(np.float32)
        x = _trim(x)
        x *= 0.3 / (np.max(np.abs(x)) + 1e-9)
        np.save(f, x)
        return x

    def _piper_synth(self, v: Voice, text: str) -> tuple[np.ndarray, int]:
        import piper

        from coach.audio.voice.piper import resolve_piper_model
        if self._piper is None:
            m = resolve_piper_model(None, "en")
            self._piper = piper.PiperVoice.load(str(m.path), config_path=str(m.config))
        syn = piper.SynthesisConfig(length_scale=v.length, noise_scale=v.noise,
                                    normalize_audio=False)
        x = np.concatenate([c.audio_float_array for c in self._piper.synthesize(text, syn)])
        return x.astype(np.float32), int(self._piper.config.sample_rate)


def _trim(x: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > 0.01 * np.max(np.abs(x)))
    return x[max(0, loud[0] - 160):loud[-1] + 160] if loud.size else x


def gym(n: int, rng: np.random.Generator) -> np.ndarray:
    """Brown noise (a ventilation rumble) with a clank a second (plates, 2.5 kHz ringing)."""
    brown = np.cumsum(rng.normal(0, 1, n))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")
    x = brown / (np.std(brown) + 1e-9)
    for at in rng.integers(0, n, size=max(1, n // RATE)):
        k = np.arange(min(2000, n - at))
        x[at:at + k.size] += 4 * np.exp(-k / 300) * np.sin(2 * np.pi * 2500 * k / RATE)
    return x.astype(np.float32)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Chords changing every 0.25 s (five partials on a 110-247 Hz root) and a noise beat."""
    seg = int(RATE * 0.25)
    t = np.arange(seg) / RATE
    out = []
    for _ in range(n // seg + 1):
        f0 = rng.choice([110, 147, 165, 196, 220, 247])
        chord = sum(np.sin(2 * np.pi * f0 * k * t) for k in (1, 1.25, 1.5, 2, 3))
        beat = np.exp(-t * 30) * rng.normal(0, 1, t.size)
        out.append(chord + 2 * beat)
    x = np.concatenate(out)[:n]
    return (x / np.std(x)).astype(np.float32)


NOISES = {"gym": gym, "music": music}


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def window(clip: np.ndarray | None, noise: np.ndarray | None, snr: float | None,
           at_s: float, rng: np.random.Generator, hiss: float = 0.002
           ) -> tuple[np.ndarray, float]:
    """A WINDOW_S window: a quiet room's hiss (RMS ``hiss``: -54 dBFS), the clip at ``at_s``,
    ``noise`` at ``snr`` dB under the speech's active level (None: none; with no clip, under a
    0.1 level); and when the speech ends, s."""
    n = int(RATE * WINDOW_S)
    x = rng.normal(0, hiss, n).astype(np.float32)
    end = 0.0
    level = 0.1
    if clip is not None:
        a = int(at_s * RATE)
        x[a:a + clip.size] += clip[:n - a]
        active = clip[np.abs(clip) > 0.01]
        level = rms(active) if active.size else rms(clip)
        loud = np.flatnonzero(np.abs(clip) > 0.02 * np.max(np.abs(clip)))
        end = at_s + (loud[-1] + 1) / RATE
    if noise is not None and snr is not None:
        x += noise[:n] * level / 10 ** (snr / 20)
    return x, end
