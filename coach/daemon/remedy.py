"""A remedy during a session (issue "the coach answers the answer"): a feel rating on a set
(or side) recompiles the timeline with the remedy's change (coach.core.remedy), the same up
to the rest's words; the session then plays the new plan through the same Source and its
clips are made by the clip worker during the rest.

The session controller swaps what its output plays (``Switchable``) between two audio
blocks: every frame before the change's words is the same in both plans (they lie at least
CHANGE_LEAD_MS ahead of what is heard, beyond what the player has already rendered), so the
position goes on unbroken and every cue after the change lands on its sample in the new plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from coach.audio.pipeline import build_mixer
from coach.core.mixer import Mixer
from coach.core.phrases import phrase_table
from coach.core.remedy import Change, apply_remedy, playing
from coach.core.remedytime import CHANGE_LEAD_MS
from coach.core.timeline import Timeline, compile_program
from coach.daemon.clips import ClipJob
from coach.daemon.prepare import clip_order
from coach.daemon.rating import Rateable
from coach.store.programs import Resolved

# The change's words come no earlier than CHANGE_LEAD_MS after the position heard (in core:
# `coach check` proves the clips are made in time from the same moment).


class Switchable:
    """What the output plays: a mixer that the session thread may replace (one assignment;
    a render reads it once, so a block comes whole from one plan)."""

    def __init__(self, mixer: Mixer) -> None:
        self.rate = mixer.rate
        self.mixer = mixer
        self.total_frames = mixer.total_frames

    def swap(self, mixer: Mixer) -> None:
        self.total_frames = mixer.total_frames
        self.mixer = mixer

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        return self.mixer.render(first_frame, n_frames)


@dataclass(frozen=True)
class Replan:
    """A session's plan after a remedy: its changes so far, the program with the new timeline,
    the mixer of that timeline (clips still missing filled in as the worker makes them) and
    the worker's job for them."""

    change: Change
    changes: tuple[Change, ...]
    resolved: Resolved
    mixer: Mixer
    job: ClipJob


def replan(resolved: Resolved, changes: tuple[Change, ...], clips: Mapping[str, np.ndarray],
           target: Rateable, feel: int, pos_ms: int, rate: int) -> Replan | None:
    """The new plan when ``feel`` lands on ``target`` at ``pos_ms`` (None: nothing changes)."""
    program = resolved.program
    ei = target.exercise_index
    current, _ = playing(program, changes, ei, target.set_no + 1)
    words = phrase_table(program.language, program.words, program.exercises[ei].words)
    change = apply_remedy(program, ei, current, feel, target.set_no, target.side, words,
                          at_ms=pos_ms + CHANGE_LEAD_MS)
    if change is None:
        return None
    changes = changes + (change,)
    tl: Timeline = compile_program(program, changes)
    _, texts = clip_order(tl, pos_ms, program.words, False)
    job = ClipJob(resolved.stem, tl, [t for t in texts if t not in clips], "session")
    return Replan(change, changes, replace(resolved, timeline=tl),
                  build_mixer(tl, clips, rate=rate, pending=True), job)
