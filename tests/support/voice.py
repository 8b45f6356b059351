"""Voice helpers the espeak-ng and Piper tests share."""

from __future__ import annotations

import numpy as np

from coach.audio.voice import Voice


def record_given(v: Voice) -> list[str]:
    """The texts ``v``'s engine is given from now on, in order."""
    given: list[str] = []
    synth = v._synth.synth

    def recording(text: str) -> np.ndarray:
        given.append(text)
        return synth(text)

    v._synth.synth = recording  # type: ignore[method-assign]
    return given
