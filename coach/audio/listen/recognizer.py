"""What a recogniser is: 16 kHz mono audio of one mic window in, at most one answer out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from coach.core.types import RATING_MAX, RATING_MIN

RATE = 16000  # what every recogniser takes (PocketSphinx's English model is a 16 kHz one)

NUMBER_WORDS = ("one", "two", "three", "four", "five")
# A word for each rating; a carrier ("it was a four", "a four") may come before it.
RATING_OF = {w: i for i, w in enumerate(NUMBER_WORDS, start=1)}
assert (min(RATING_OF.values()), max(RATING_OF.values())) == (RATING_MIN, RATING_MAX)

Command = Literal["pause", "resume", "skip", "back", "repeat", "extend", "how long", "stop",
                  "yes"]
COMMANDS: tuple[Command, ...] = ("pause", "resume", "skip", "back", "repeat", "extend",
                                 "how long", "stop", "yes")
Listening = Literal["rating", "command"]
# Numbers off the rating scale. A rating window's recogniser that hears one says so (a Heard
# with neither a rating nor a command), so that coach can ask "one to five?": "zero" is what a
# lifter who felt nothing says, and silence left them waiting for a read-back.
OFF_SCALE_WORDS = ("zero", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Heard:
    """An answer: the words, the rating or command they mean, the decoder's confidence (0-1)
    and when the speech ended, seconds from the start of the audio given. With neither a rating
    nor a command (a rating window only), a number off the scale: ``text`` is its word."""

    text: str
    rating: int | None
    command: Command | None
    confidence: float
    end_s: float

    @property
    def off_scale(self) -> bool:
        return self.rating is None and self.command is None


def meaning(text: str, what: Listening) -> tuple[int | None, Command | None]:
    """The rating ("it was a four" -> 4) or command a grammar's words mean, else (None, None)."""
    words = text.split()
    if what == "rating":
        if words and words[-1] in RATING_OF and words[:-1] in ([], ["a"], ["it", "was", "a"]):
            return RATING_OF[words[-1]], None
        return None, None
    said = " ".join(words)
    for c in COMMANDS:
        if said == c:
            return None, c
    return None, None


class Recognizer(Protocol):
    """Hears one window: ``samples``, float32 mono at RATE. None: nothing that is an answer
    (silence, noise, music, speech that is not in the grammar); in a rating window, a Heard
    that is ``off_scale``: a number off the scale ("six"), no answer."""

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None: ...


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))
