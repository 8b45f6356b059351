"""A remedy during a session (issue "the coach answers the answer"): a feel rating on a set
(or side) recompiles the timeline with the remedy's change (coach.core.remedy), the same up
to the rest's words; the session then plays the new plan through the same Source and its
clips are made by the clip worker during the rest (found in the cache: the worker made every
remedy's clips ahead, after the session's own: ``ahead_job``). The feels that brought the
changes are kept on disk (KeptRemedies), so that a session resumed after a crash plays them
again.

The session controller swaps what its output plays (``Switchable``) between two audio
blocks: every frame before the change's words is the same in both plans (they lie at least
CHANGE_LEAD_MS ahead of what is heard, beyond what the player has already rendered), so the
position goes on unbroken and every cue after the change lands on its sample in the new plan.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach.audio.pipeline import build_mixer
from coach.core.mixer import Mixer
from coach.core.program import Program
from coach.core.remedy import Change, Felt, next_change, replay
from coach.core.remedytime import CHANGE_LEAD_MS, ahead_texts, remedy_cases
from coach.core.timeline import Timeline, compile_program
from coach.daemon.clips import ClipJob
from coach.daemon.prepare import clip_order
from coach.daemon.rating import Rateable
from coach.store import remedies
from coach.store.programs import Resolved

log = logging.getLogger("coach.daemon.session")  # its lines are the session's

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
    """The new plan when ``feel`` lands on ``target`` at ``pos_ms`` (None: nothing changes).
    The change is derived as a resumed session derives it again (coach.core.remedy.replay)."""
    program = resolved.program
    change = next_change(program, changes, Felt(target.exercise_index, target.set_no,
                                                target.side, feel, pos_ms + CHANGE_LEAD_MS))
    if change is None:
        return None
    changes = changes + (change,)
    tl: Timeline = compile_program(program, changes)
    _, texts = clip_order(tl, pos_ms, program.words, False)
    job = ClipJob(resolved.stem, tl, [t for t in texts if t not in clips], "session")
    return Replan(change, changes, replace(resolved, timeline=tl),
                  build_mixer(tl, clips, rate=rate, pending=True), job)


def ahead_job(resolved: Resolved, changes: tuple[Change, ...], at_ms: int) -> ClipJob | None:
    """The clips a session's remedies could need (None: it has none), for the worker to make
    right after the session's own, in the order they could be needed: every low feel on every
    set but the last (each side) from ``at_ms`` on, with ``changes`` in force. A feel then
    finds its words in the cache (`coach check` proves they are made before set 1 ends, or
    in time after the rating). The texts are found by the worker (a few compiles a case)."""
    program = resolved.program
    if all(ex.remedy is None for ex in program.exercises):
        return None
    return ClipJob(resolved.stem, resolved.timeline, [], "ahead",
                   plan=lambda: ahead_texts(remedy_cases(program, changes, at_ms)))


class KeptRemedies:
    """The running session's remedies on disk (coach/store/remedies.py), for a resume after a
    crash; None: not kept (no history, so nothing to resume). Written by the session thread
    (a small file, at a remedy and at a resumed start); a failure is said once and the
    session plays on (a resume would then play the program's values)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._failed: str | None = None

    def keep(self, session_id: int | None, changes: tuple[Change, ...]) -> None:
        if self.path is None or not session_id or session_id < 0:
            return  # a session whose row is not stored cannot be resumed
        try:
            remedies.save(self.path, session_id, tuple(c.felt for c in changes))
        except OSError as e:
            if str(e) != self._failed:
                log.warning("cannot keep the session's remedies in %s (%s): a resume after a "
                            "crash would play the program's values", self.path, e)
                self._failed = str(e)

    def ended(self) -> None:
        """A session ended (stopped or completed): there is nothing to resume."""
        if self.path is not None:
            try:
                remedies.clear(self.path)
            except OSError as e:
                log.warning("cannot remove %s: %s", self.path, e)

    def resumed(self, program: Program, session_id: int) -> tuple[Change, ...]:
        """The remedies an interrupted session had, derived again on ``program``."""
        if self.path is None:
            return ()
        try:
            felt = remedies.load(self.path, session_id)
        except (OSError, ValueError) as e:
            log.warning("%s: cannot read the interrupted session's remedies (%s): it resumes "
                        "with the program's values", self.path, e)
            return ()
        changes = replay(program, felt)
        for c in changes:
            log.info("resume: %s from set %d: %s", program.exercises[c.exercise_index].name,
                     c.from_set, c.reason or "back to the program")
        return changes
