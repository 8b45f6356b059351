"""When other streams are lowered under the coach's voice: a pure function of the timeline.

From each speech cue (ticks never duck) and its clip's length in frames at the mixer rate, the
interval [first sample - ``before``, clip end + ``after``) in source frames; intervals that
overlap, touch, or leave the music less than ``MIN_GAP_MS`` at its own level between them
merged. With the mic listening for spoken answers, a rating question's interval runs on
through the time its answer window listens (the music the mic hears is lowered as well as the
music the lifter hears). The fade down fills an interval's first ``before`` frames (so the
music is fully down at the cue's first sample) and the fade up its last ``after`` frames (so it
is back ``after`` after the clip ends). No I/O, no clock: the ducker asks ``gain_db`` at the
position being heard.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

from coach.core.timeline import Timeline, clip_key
from coach.core.types import Question, Side

BEFORE_MS = 150  # the fade down starts this long before a cue's first sample
AFTER_MS = 200  # and the fade up ends this long after its clip's last
# Two intervals closer than this are one: the music would come back for less than half a second
# between them, a swell at the words' cadence (tempo words a second apart: up for 0-350 ms), and
# each swell is twelve volume changes (a cue every second with music playing cost the ducker
# 0.5 % of a core on the bench machine; merged, a tempo set is one duck).
MIN_GAP_MS = 500


@dataclass(frozen=True)
class DuckPlan:
    """Merged duck intervals ``[starts[i], ends[i])`` in source frames, sorted, disjoint and
    never adjacent; ``down``/``up`` frames of fade at each interval's start/end."""

    rate: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    down: int
    up: int

    def __len__(self) -> int:
        return len(self.starts)

    def interval_at(self, frame: int) -> int | None:
        """The index of the interval holding ``frame``, if any."""
        i = bisect.bisect_right(self.starts, frame) - 1
        if i >= 0 and frame < self.ends[i]:
            return i
        return None

    def depth(self, frame: int) -> float:
        """How far down at ``frame``: 0 (not ducked) to 1 (fully ducked), linear across each
        fade; where an interval is shorter than both fades (never, from ``plan``), the smaller
        of the two ramps."""
        i = self.interval_at(frame)
        if i is None:
            return 0.0
        into, left = frame - self.starts[i], self.ends[i] - frame
        d = 1.0
        if self.down > 0:
            d = min(d, (into + 1) / self.down)
        if self.up > 0:
            d = min(d, left / self.up)
        return max(0.0, min(1.0, d))

    def gain_db(self, frame: int, level_db: float) -> float:
        """The gain other streams get at ``frame`` (0 dB outside intervals, ``level_db`` inside)."""
        return level_db * self.depth(frame)

    def step(self, frame: int, steps: int) -> int:
        """How far down at ``frame`` in whole steps of ``steps`` (0: not ducked, ``steps``: the
        full depth), rounded deeper: a fade down's first step acts at once and its last is
        reached before the fade ends; a fade up's last step is left at the interval's end."""
        d = self.depth(frame)
        if d <= 0:
            return 0
        return min(steps, math.ceil(d * steps - 1e-9))

    def next_step(self, frame: int, steps: int) -> int | None:
        """The first frame after ``frame`` where ``step`` differs from its value at ``frame``
        (None: never again). Found from the fades' arithmetic, then checked a few frames
        either side (float rounding); where that finds no change (an interval shorter than
        its two fades) it answers a frame at which to ask again, never one past the change."""
        k = self.step(frame, steps)
        i = self.interval_at(frame)
        if i is None:
            j = bisect.bisect_right(self.starts, frame)
            return self.starts[j] if j < len(self.starts) else None
        s, e = self.starts[i], self.ends[i]
        cands = [e]  # intervals are never adjacent: 0 from here
        if k < steps and self.down > 0:
            # Deeper once (f - s + 1) * steps > k * down.
            cands.append(s + k * self.down // steps)
        if k > 0 and self.up > 0:
            # Shallower once (e - f) * steps <= (k - 1) * up.
            cands.append(e - (k - 1) * self.up // steps)
        c = min(x for x in cands if x > frame) if any(x > frame for x in cands) else frame + 1
        for _ in range(4):  # rounding: the change may lie a frame or two earlier
            if c - 1 > frame and self.step(c - 1, steps) != k:
                c -= 1
        for _ in range(4):  # or later
            if c < e and self.step(c, steps) == k:
                c += 1
        return c


class Steps:
    """A plan in whole steps of ``steps`` (``DuckPlan.step``), each interval's changes worked
    out once and kept: where the step is at a frame, and where it next changes, in a bisect or
    two (the ducker asks at every wake-up; ``next_step``'s arithmetic each time cost more than
    the volume change it schedules)."""

    def __init__(self, plan: DuckPlan, steps: int) -> None:
        self.plan = plan
        self.steps = steps
        self._changes: dict[int, tuple[list[int], list[int]]] = {}

    def _of(self, i: int) -> tuple[list[int], list[int]]:
        """Interval ``i``'s changes: frames (from its start to its end) and the step from each."""
        got = self._changes.get(i)
        if got is None:
            p, n = self.plan, self.steps
            frames, ks = [p.starts[i]], [p.step(p.starts[i], n)]
            f: int | None = p.starts[i]
            while f is not None and f < p.ends[i]:
                f = p.next_step(f, n)
                if f is None:
                    break
                k = p.step(f, n)
                if k != ks[-1] or f >= p.ends[i]:
                    frames.append(f)
                    ks.append(k)
            for old in [j for j in self._changes if j < i - 2]:  # only the last few are asked
                del self._changes[old]
            got = self._changes[i] = (frames, ks)
        return got

    def at(self, frame: int) -> tuple[int, int | None]:
        """The step at ``frame``, and the first frame after it where the step changes."""
        p = self.plan
        i = bisect.bisect_right(p.starts, frame) - 1
        if i >= 0 and frame < p.ends[i]:
            frames, ks = self._of(i)
            m = bisect.bisect_right(frames, frame) - 1
            return ks[m], frames[m + 1] if m + 1 < len(frames) else p.ends[i]
        return 0, p.starts[i + 1] if i + 1 < len(p.starts) else None

    def next_deeper(self, frame: int, k: int) -> int | None:
        """The first frame after ``frame`` more than ``k`` steps down (None: never), where
        ``frame`` is itself at most ``k`` down (the step only changes where ``at`` says)."""
        p = self.plan
        if k >= self.steps:
            return None
        i = max(0, bisect.bisect_right(p.starts, frame) - 1)
        for j in range(i, len(p.starts)):
            if p.ends[j] <= frame:
                continue
            frames, ks = self._of(j)
            for f, kk in zip(frames, ks):
                if f > frame and kk > k:
                    return f
        return None


def plan(timeline: Timeline, clip_frames: Mapping[str, int], rate: int = 48000,
         before_ms: int = BEFORE_MS, after_ms: int = AFTER_MS,
         min_gap_ms: int = MIN_GAP_MS, listen_ms: int = 0) -> DuckPlan:
    """The duck intervals of ``timeline``'s speech cues; ``clip_frames[text]`` is each clip's
    length in frames at ``rate`` (a clip not given counts as 0 frames: its cue still ducks for
    ``before_ms + after_ms``). A cue starts at frame ``t_ms * rate // 1000``, as in the mixer.
    Intervals less than ``min_gap_ms`` apart are merged (0: only overlapping or adjacent).
    ``listen_ms`` > 0 (the daemon listens for spoken answers): each rating question stays down
    from its first sample to ``listen_ms`` after its last (never past its answer phase), the
    time the mic is open, so the music the mic hears is lowered too."""
    before = before_ms * rate // 1000
    after = after_ms * rate // 1000
    gap = max(1, min_gap_ms * rate // 1000)
    phase_ends = _answer_ends(timeline) if listen_ms > 0 else {}
    spans = []
    for cue in timeline.cues:
        if cue.kind != "speech":
            continue
        first = cue.t_ms * rate // 1000
        n = int(clip_frames.get(clip_key(cue), 0))
        # Not clamped at frame 0: a cue at 0 is heard after the preroll, with the position
        # held at 0 until then, so the music is down by the time it is heard.
        end = first + max(0, n)
        if cue.question is not None:
            # The question's own span runs on while the mic listens after it.
            until = phase_ends.get((cue.exercise_index, cue.set, cue.side, cue.question))
            if until is not None:
                end = max(end, min(until * rate // 1000, end + listen_ms * rate // 1000))
        spans.append((first - before, end + after))
    spans.sort()
    starts: list[int] = []
    ends: list[int] = []
    for a, b in spans:
        if starts and a - ends[-1] < gap:  # overlapping, adjacent or too close: one interval
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return DuckPlan(rate, tuple(starts), tuple(ends), before, after)


def _answer_ends(timeline: Timeline) -> dict[tuple[int, int, Side | None, Question], int]:
    """Where each answer phase ends (ms), by its question's set, side and kind."""
    return {(p.exercise_index, p.set, p.side, p.question): p.end_ms
            for p in timeline.phases if p.phase == "answer" and p.question is not None}
