"""Source frames into stream frames: the feeder's render jobs and the inserts, resampled to the
stream's rate and spread over its channels (done outside the Player's lock)."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import numpy as np

from coach.audio.player.callback import Chunk
from coach.audio.player.output import Source

# The package's lines read "coach.audio.player: ..." whichever module logs, as they always have
# (bench/bench_playback.py counts the underflow warnings by that name).
logger = logging.getLogger("coach.audio.player")


class Job(NamedTuple):
    """One render for the feeder, taken under the lock and done outside it."""

    source: Source
    gen: int
    first: int
    n: int
    resampler: Any
    channels: int
    stream_rate: int


def to_stream(mono: np.ndarray, rate: int, channels: int, stream_rate: int) -> np.ndarray:
    """Source-rate mono -> stream-rate (frames, channels) float32."""
    if rate != stream_rate:
        import soxr
        mono = soxr.resample(mono, rate, stream_rate).astype(np.float32, copy=False)
    if channels == 1:
        return np.ascontiguousarray(mono.reshape(-1, 1))
    return np.ascontiguousarray(np.repeat(mono.reshape(-1, 1), channels, axis=1))


def insert_frames(insert: np.ndarray | None, rate: int, channels: int,
                  stream_rate: int) -> np.ndarray | None:
    if insert is None or not len(insert):
        return None
    return to_stream(np.asarray(insert, dtype=np.float32).reshape(-1), rate, channels,
                     stream_rate)


def render(job: Job) -> Chunk | None:
    source, first = job.source, job.first
    n = max(0, min(job.n, source.total_frames - first))
    if n == 0:
        return None
    mono = np.asarray(source.render(first, n), dtype=np.float32).reshape(-1)
    if len(mono) != n:  # a misbehaving source must not shift everything after it
        logger.warning("source rendered %d frames, asked %d", len(mono), n)
        mono = np.pad(mono[:n], (0, max(0, n - len(mono))))
    if job.resampler is not None:
        last = first + n >= source.total_frames
        mono = job.resampler.resample_chunk(mono, last=last).astype(np.float32, copy=False)
    elif job.channels == 1:
        return Chunk(mono.reshape(-1, 1), first, n, job.gen)
    return Chunk(to_stream(mono, job.stream_rate, job.channels, job.stream_rate),
                 first, n, job.gen)

