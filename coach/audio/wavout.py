"""Rendering a mixer to a 16-bit PCM mono WAV file, streamed block by block.

Never holds the whole session in memory: one block of audio at a time.
"""

from __future__ import annotations

import logging
import os
import wave
from collections.abc import Callable

import numpy as np

from coach.files import atomic_open

logger = logging.getLogger(__name__)


def to_int16(block: np.ndarray) -> np.ndarray:
    """Float samples to 16-bit PCM: clamp to [-1, 1], scale by 32767, round to nearest."""
    # float64 so the scaling itself adds no rounding error before the one rounding to int16.
    return np.rint(np.clip(block.astype(np.float64), -1.0, 1.0) * 32767.0).astype("<i2")


def render_to_wav(mixer, path: str | os.PathLike, block_frames: int = 48000,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Write all ``mixer.total_frames`` frames to ``path`` as 16-bit mono PCM at ``mixer.rate``.

    ``progress(done_frames, total_frames)`` is called after each block. The file is written
    under a temporary name and renamed at the end, so a failure never leaves a truncated WAV.
    """
    if block_frames <= 0:
        raise ValueError(f"block_frames must be > 0, got {block_frames}")
    total = mixer.total_frames
    with atomic_open(path) as f, wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(mixer.rate)
        w.setnframes(total)  # known up front: the header is never rewritten
        done = 0
        while done < total:
            n = min(block_frames, total - done)
            w.writeframesraw(to_int16(mixer.render(done, n)).tobytes())
            done += n
            if progress is not None:
                progress(done, total)
    # debug: the command line prints its own line saying what was written.
    logger.debug("wrote %s: %d frames at %d Hz", path, total, mixer.rate)
