"""A recogniser for tests of what hears it: the same gate as the real one, then the words it
was told the next speech says."""

from __future__ import annotations

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import OFF_SCALE_WORDS, Heard, Listening, meaning


class FakeRecognizer:
    def __init__(self, says: str) -> None:
        self.says = says

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        found = vad.speech(samples)
        if found is None:
            return None
        rating, command = meaning(self.says, what)
        if rating is None and command is None:
            off = what == "rating" and self.says in OFF_SCALE_WORDS
            return Heard(self.says, None, None, 1.0, found.end_s) if off else None
        return Heard(self.says, rating, command, 1.0, found.end_s)
