"""A set's rating window: which set a rating goes to (from its answer phase until the next set
starts) and the play-key taps counted in it, which are the rating and not pause/resume."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coach.core.timeline import Phase, Timeline, locate
from coach.core.types import Question, Side
from coach.store.programs import Resolved

log = logging.getLogger(__name__)

# A rating by taps: the window stays open this long after the last tap (1-5 taps, the play
# key or the GPIO button); taps inside it are the rating, not pause/resume.
TAP_CLOSE_S = 2.0


@dataclass(frozen=True)
class Rateable:
    """A set (one side of a unilateral set) whose rating is awaited: from its answer window
    until the next set starts."""

    set_index: int
    set_row: int | None
    exercise: str
    exercise_index: int
    set_no: int
    side: Side | None
    questions: tuple[Question, ...]


@dataclass
class Taps:
    """Taps counted in one answer window."""

    target: Rateable
    question: Question
    count: int = 0
    last_tap: float = 0.0


def rateable(resolved: Resolved, idx: int, phase: Phase, set_row: int | None) -> Rateable:
    ex = resolved.program.exercises[phase.exercise_index]
    return Rateable(idx, set_row, phase.exercise, phase.exercise_index, phase.set,
                    phase.side, ex.rate)


@dataclass
class RatingWindow:
    """One session's ratings in progress, moved by the session thread: the set a rating goes
    to now (``rateable``) and the taps being counted in its answer window."""

    rateable: Rateable | None = None
    taps: Taps | None = None

    def closed(self, now: float) -> Taps | None:
        """Close a window 2 s after its last tap: its taps, to be recorded."""
        if self.taps is not None and self.taps.count and \
                now - self.taps.last_tap >= TAP_CLOSE_S:
            taps, self.taps = self.taps, None
            return taps
        return None

    def follow(self, resolved: Resolved, set_row: int | None, pos: int) -> None:
        """Open a window when an answer phase plays."""
        idx, phase = locate(resolved.timeline, pos)
        if idx is None or phase is None or phase.phase != "answer" or phase.question is None:
            if self.taps is not None and not self.taps.count:
                self.taps = None  # the window passed without a tap: the set stays unrated
            return
        target = rateable(resolved, idx, phase, set_row)
        self.rateable = target
        if self.taps is None or (self.taps.target, self.taps.question) != (target, phase.question):
            if self.taps is None or not self.taps.count:
                self.taps = Taps(target, phase.question)

    def tap(self, tl: Timeline, pos: int, now: float) -> bool:
        """A play-key press inside an answer window (or 2 s after a tap) is one more tap."""
        taps = self.taps
        if taps is None:
            return False
        if not taps.count:
            _, phase = locate(tl, pos)
            if phase is None or phase.phase != "answer":
                return False
        taps.count += 1
        taps.last_tap = now
        log.info("rating: tap %d for %s set %d%s", taps.count, taps.target.exercise,
                 taps.target.set_no, f" {taps.target.side}" if taps.target.side else "")
        return True

    def answer(self, question: Question | None) -> tuple[Rateable, Question] | None:
        """The set and question a rating given now goes to (None: no set is waiting)."""
        target = self.rateable
        if target is None:
            return None
        q = question or (target.questions[0] if target.questions else "feel")
        if self.taps is not None and self.taps.target == target and self.taps.question == q:
            self.taps = None  # the shell's answer wins over taps being counted
        return target, q

    def next_set(self, idx: int | None) -> None:
        """The position entered set ``idx`` (None: between or after the sets)."""
        if self.rateable is not None and self.rateable.set_index != idx:
            self.rateable = None  # the next set started: the last one can no longer be rated
            self.taps = None
