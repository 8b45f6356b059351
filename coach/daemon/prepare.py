"""A preparing session's clips: the order the clip worker makes them in, and when the session
may start (every clip still missing ready before its cue is heard, at the pace the worker has
shown: a cue is never played late)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from coach.audio.pipeline import first_use_ms
from coach.core.mixer import Mixer
from coach.core.navigation import echo_texts, extra_texts, resume_words
from coach.core.remedytime import READY_MARGIN_MS
from coach.core.timeline import TICK_KEY, Timeline

log = logging.getLogger(__name__)

# When may a preparing session start? Each clip still missing must be ready READY_MARGIN_MS
# before its cue is heard: the player renders 1 s ahead, and half a second more is slack (in
# core: `coach check`'s remedy proof plans with it too).
# The clip worker's measured seconds per character, times this, is the plan for the rest.
SYNTH_SAFETY = 2.0
MIN_CLIP_COST_S = 0.03


def clip_order(tl: Timeline, at_ms: int, words: Mapping[str, str], resumed: bool,
               answers: bool = False) -> tuple[list[str], list[str]]:
    """The words said before the timeline plays (a resume's), and every clip of a session
    starting at ``at_ms``, once each, in the order the worker makes them (``answers``: with
    those of "how long" and "stop", for a daemon that listens)."""
    # The worker's order: the resume words (said first), then every clip in the order it
    # is heard from the start point, then those heard only before it, then the rest.
    first = list(resume_words(tl, at_ms, words).texts) if resumed else []
    uses = first_use_ms(tl, at_ms)
    before = first_use_ms(tl)
    ahead = sorted(uses, key=lambda t: uses[t])
    # The read-back's words go in before the first clip heard after the first answer phase: a
    # rating (tapped or heard) is read back from clips made with the session, and one not made
    # yet is left out. At the end of the order, Piper's ~1 s a clip (BENCHMARKS.md, made ahead)
    # put them minutes into a long first session, past set 1's question.
    answer_ms = min((p.t_ms for p in tl.phases if p.phase == "answer" and p.t_ms >= at_ms),
                    default=None)
    if answer_ms is not None:
        k = sum(1 for t in ahead if uses[t] <= answer_ms)
        ahead[k:k] = [t for t in echo_texts(tl, words) if t not in ahead[:k]]
    behind = sorted((t for t in before if t not in uses), key=lambda t: before[t])
    texts = [t for t in first + ahead + behind + extra_texts(tl, words, answers)
             if t != TICK_KEY]
    return first, list(dict.fromkeys(texts))


def can_start(missing: list[str], uses: dict[str, int], start_ms: int, preroll_ms: int,
              per_char_s: float | None, first: frozenset[str] = frozenset()) -> bool:
    """Would every clip still ``missing`` (in the order the worker makes them) be ready
    READY_MARGIN_MS before its cue is heard, if playback started now from ``start_ms``, at the
    worker's measured seconds per character (times SYNTH_SAFETY)? ``uses``: each clip's first
    cue at or after ``start_ms``. ``first``: words said before the timeline plays ("resuming.
    Row, set 2 of 2. 3, 2, 1"), which must all be ready. Clips heard only before ``start_ms``
    (after a `back`) or never in the timeline are not waited for."""
    if first & set(missing):
        return False
    waited = [t for t in missing if t in uses]
    if not waited:
        return True
    if per_char_s is None:
        return False  # no pace measured yet (everything so far came from the cache)
    done_s = 0.0
    for text in missing:  # the worker's order: a clip not waited for still takes its time
        done_s += max(MIN_CLIP_COST_S, per_char_s * len(text) * SYNTH_SAFETY)
        if text not in uses:
            continue
        heard_ms = preroll_ms + uses[text] - start_ms
        if done_s * 1000 > heard_ms - READY_MARGIN_MS:
            return False
    return True


def late_clips(mixer: Mixer, timeline: Timeline, pos: int) -> None:
    """The start rule keeps every clip ahead of the play head; if a machine slowed down so
    much that one is still missing when its cue is rendered, say so once."""
    uses = first_use_ms(timeline, pos)
    late = [t for t in mixer.missing if uses.get(t, -1) < pos + 1000 and t in uses]
    for t in late:
        log.warning("clip %r not ready for its cue at %.1f s: the voice is slower than it "
                    "was when the session started", t[:40], uses[t] / 1000)
        mixer.missing.discard(t)  # once
