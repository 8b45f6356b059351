"""The voice package's shared types: Clip, the Synth protocol every engine implements, VoiceUnavailable."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# One logger for the whole package, whichever module logs: its lines read "coach.audio.voice: ..."
# as they always have (users and tests look for that name).
logger = logging.getLogger("coach.audio.voice")


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # float32 mono, at `rate`, trimmed, loudness-normalised, scaled by volume
    rate: int
    engine: str  # "espeak", "piper" or "tone" (fallback)
    model: str  # espeak voice id, piper model name, or "tone"
    text: str


class VoiceUnavailable(Exception):
    """The TTS engine is missing or broken (not the user's mistake)."""


# --- synthesizers: text -> raw float32 samples at their native rate --------------------------


class Synth(Protocol):
    engine: str
    model: str
    native_rate: int

    def synth(self, text: str) -> np.ndarray: ...
