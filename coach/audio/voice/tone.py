"""The fallback when no TTS works: distinct tones per kind of cue instead of words (ToneSynth)."""

from __future__ import annotations

import re

import numpy as np

_NUMBER_RE = re.compile(r"\s*[-+]?\d+([.,]\d+)?\s*")


class ToneSynth:
    """The fallback when no TTS works: distinct tones per cue type so a session still runs."""

    engine = "tone"
    model = "tone"
    native_rate = 48000

    def synth(self, text: str) -> np.ndarray:
        r = self.native_rate
        if _NUMBER_RE.fullmatch(text):  # counts: a short high tick
            return _tone(r, [(1760.0, 0.05)])
        if len(text.split()) > 3:  # announcements: a rising two-tone chime
            return _tone(r, [(523.25, 0.12), (783.99, 0.18)])
        return _tone(r, [(880.0, 0.12)])  # phase words ("lower", "squeeze", "hold"...)


def _tone(rate: int, parts: list[tuple[float, float]]) -> np.ndarray:
    out = []
    for freq, dur in parts:
        n = int(rate * dur)
        t = np.arange(n) / rate
        env = np.minimum(1.0, np.minimum(t / 0.003, (dur - t) / 0.02))  # 3 ms attack, 20 ms release
        out.append((np.sin(2 * np.pi * freq * t) * np.clip(env, 0, 1) * 0.5).astype(np.float32))
    return np.concatenate(out)
