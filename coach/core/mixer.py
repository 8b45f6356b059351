"""The mixer: a timeline's cues and their clips in, exactly the output frames [a, a+n) out.

Pure numpy. Memory grows with the number of distinct clips, never with the session's length.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from coach.core.timeline import TICK_KEY, Cue, Phase, Timeline, clip_key  # noqa: F401 (re-exported)
from coach.core.types import TEMPO_PHASES

logger = logging.getLogger(__name__)



def default_tick(rate: int = 48000) -> np.ndarray:
    """A soft click: 25 ms of a 1.5 kHz tone with a sharp onset and an exponential decay."""
    n = rate * 25 // 1000
    t = np.arange(n, dtype=np.float64) / rate
    return (0.25 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.005)).astype(np.float32)


class Mixer:
    """Places each cue's clip at frame ``t_ms * rate // 1000``; overlapping clips add up."""

    def __init__(self, timeline: Timeline, clips: Mapping[str, np.ndarray], rate: int = 48000,
                 metronome: bool = False, tick: np.ndarray | None = None,
                 pending_max_frames: int | None = None):
        """``pending_max_frames``: clips missing from ``clips`` are silent until ``fill``ed
        (a session that starts while its clips are still being made); none may be longer
        than this. Without it, a missing clip is a KeyError (a caller's bug)."""
        self.rate = int(rate)
        self.timeline = timeline
        # One array per distinct clip; cues refer to them by index (many cues, few clips).
        self._clips: list[np.ndarray] = []
        index: dict[str, int] = {}
        self.missing: set[str] = set()

        def clip_id(key: str, samples: np.ndarray | None = None) -> int:
            if key not in index:
                if samples is None and pending_max_frames is not None and key not in clips:
                    self.missing.add(key)
                    samples = np.zeros(0, np.float32)
                data = clips[key] if samples is None else samples  # KeyError: a caller's bug
                arr = np.ascontiguousarray(data, dtype=np.float32)
                if arr.ndim != 1:
                    raise ValueError(f"clip {key!r} must be mono (1-D), got shape {arr.shape}")
                index[key] = len(self._clips)
                self._clips.append(arr)
            return index[key]

        starts: list[int] = []
        ids: list[int] = []
        for ev in timeline.events:
            if isinstance(ev, Cue):
                starts.append(self.frame_of(ev.t_ms))
                ids.append(clip_id(clip_key(ev)))
        if metronome:
            cue_ms = {ev.t_ms for ev in timeline.events if isinstance(ev, Cue)}
            tick_samples = tick if tick is not None else clips.get(TICK_KEY, default_tick(self.rate))
            tid = clip_id("\x00metronome", tick_samples)
            for t in self._metronome_ms(timeline, cue_ms):
                starts.append(self.frame_of(t))
                ids.append(tid)

        # Stable sort: at equal frames cues keep timeline order, so the sum order is fixed.
        order = np.argsort(np.asarray(starts, dtype=np.int64), kind="stable")
        self._starts = np.asarray(starts, dtype=np.int64)[order]
        self._ids = np.asarray(ids, dtype=np.int32)[order]
        self._index = index
        self._lengths = np.array([len(c) for c in self._clips], dtype=np.int64)
        self._max_len = int(self._lengths.max()) if len(self._clips) else 0
        # The latest start of each clip: where a late clip's end may move the session's end.
        self._last_start: dict[int, int] = {}
        for start, cid in zip(self._starts.tolist(), self._ids.tolist()):
            self._last_start[cid] = start
        if pending_max_frames is not None:
            self._max_len = max(self._max_len, int(pending_max_frames))
        self._pending_max = pending_max_frames

        end = -(-timeline.duration_ms * self.rate // 1000)
        if len(self._starts):
            end = max(end, int((self._starts + self._lengths[self._ids]).max()))
        self.total_frames: int = end
        logger.debug("mixer: %d cues, %d distinct clips, %d frames", len(self._starts),
                     len(self._clips), self.total_frames)

    def fill(self, key: str, samples: np.ndarray) -> None:
        """Give a pending clip its samples. The player's feeder may be rendering at the same
        time: it reads each clip slot once per window, and a slot is replaced in one
        assignment, so a window sees either silence or the whole clip, never a part."""
        cid = self._index[key]
        arr = np.ascontiguousarray(samples, dtype=np.float32)
        if arr.ndim != 1:
            raise ValueError(f"clip {key!r} must be mono (1-D), got shape {arr.shape}")
        if self._pending_max is not None and len(arr) > self._pending_max:
            raise ValueError(f"clip {key!r} is {len(arr)} frames, over the {self._pending_max} "
                             "allowed for a pending clip")
        self._lengths[cid] = len(arr)
        self._clips[cid] = arr
        if cid in self._last_start:
            self.total_frames = max(self.total_frames, self._last_start[cid] + len(arr))
        self.missing.discard(key)

    def clip_frames(self) -> dict[str, int]:
        """Each clip's length in frames, by clip key (0 for one still pending)."""
        return {k: int(self._lengths[i]) for k, i in self._index.items()}

    def first_use_ms(self) -> dict[str, int]:
        """Each pending clip's first cue time (ms): the deadline it must be filled by."""
        out: dict[str, int] = {}
        for ev in self.timeline.cues:
            k = clip_key(ev)
            if k in self.missing and k not in out:
                out[k] = ev.t_ms
        return out

    @staticmethod
    def _metronome_ms(timeline: Timeline, cue_ms: set[int]) -> list[int]:
        """Whole seconds from each tempo phase's start, inside the phase, where no cue starts
        (counted from the phase start, like the spoken seconds, so ticks fall on the beat)."""
        out: set[int] = set()
        for ev in timeline.events:
            if isinstance(ev, Phase) and ev.phase in TEMPO_PHASES:
                for t in range(ev.t_ms, ev.end_ms, 1000):
                    if t not in cue_ms:
                        out.add(t)
        return sorted(out)

    def frame_of(self, t_ms: int) -> int:
        """The output frame of time ``t_ms``: exact integer arithmetic, no float drift."""
        return t_ms * self.rate // 1000

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        """Exactly the output frames [first_frame, first_frame + n_frames), float32 in [-1, 1]."""
        first_frame, n_frames = int(first_frame), int(n_frames)
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        out = np.zeros(n_frames, dtype=np.float32)
        end = first_frame + n_frames
        # Only cues starting in (first - max_len, end) can reach the window: two bisections.
        lo = int(np.searchsorted(self._starts, first_frame - self._max_len, side="right"))
        hi = int(np.searchsorted(self._starts, end, side="left"))
        for i in range(lo, hi):
            start = int(self._starts[i])
            clip = self._clips[self._ids[i]]
            a = max(first_frame, start)
            b = min(end, start + len(clip))
            if a < b:
                out[a - first_frame:b - first_frame] += clip[a - start:b - start]
        np.clip(out, -1.0, 1.0, out=out)
        return out
