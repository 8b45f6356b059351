"""Cue clips that run into the next cue: what `coach check` reports, from a timeline and the
lengths of its clips."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from coach.core.timeline.model import Cue, Timeline, clip_key

# An overlap shorter than this is not reported: it is the last few ms of a clip's decay under
# the next onset, not heard, and printed to the hundredth it read "overlaps ... by 0.00 s"
# (tempo "0404": a 1.002 s "last one hold" 1 s before "3"). The mixer never cuts either clip.
MIN_OVERLAP_MS = 50


@dataclass(frozen=True)
class Overlap:
    """A cue whose clip is still playing when the next cue starts (``count`` like it)."""

    cue: Cue
    next: Cue
    clip_ms: int
    count: int
    fit_rate: int | None  # a voice rate (wpm, <= 400) at which the clip would fit, if any


def find_overlaps(timeline: Timeline, clip_ms: dict[str, int] | Any) -> list[Overlap]:
    """Cues whose clip (length ``clip_ms[text]``; ticks are keyed by their label) runs into the
    next cue by MIN_OVERLAP_MS or more. Repeats of the same pair in the same exercise are
    reported once, with a count."""
    cues = timeline.cues
    found: dict[tuple, Overlap] = {}
    rate = timeline.voice.rate
    for i, c in enumerate(cues):
        j = i + 1
        while j < len(cues) and cues[j].t_ms <= c.t_ms:
            j += 1
        if j == len(cues):
            continue
        nxt = cues[j]
        length = clip_ms.get(clip_key(c))
        gap = nxt.t_ms - c.t_ms
        if length is None or length - gap < MIN_OVERLAP_MS:
            continue
        key = (c.exercise_index, c.text, nxt.text, gap)
        if key in found:
            o = found[key]
            found[key] = Overlap(o.cue, o.next, max(o.clip_ms, length), o.count + 1, o.fit_rate)
            continue
        need = ceil(rate * length / gap / 10) * 10
        found[key] = Overlap(c, nxt, length, 1, need if need <= 400 else None)
    return list(found.values())
