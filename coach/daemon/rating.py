"""Where a rating goes and the play-key taps that make one. A rating always goes to the set (or
side) whose work ended last, from that moment until the next set or side starts (the session
record knows which: record.py); taps are counted from a rating question's last sample as heard
through its answer phase (and 2 s after the last tap), where they are the rating and not
pause/resume."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from coach.core.outcome import Unit
from coach.core.timeline import Cue, Phase, Timeline, answer_open, locate
from coach.core.types import Question, Side
from coach.store.programs import Resolved

log = logging.getLogger(__name__)

# A rating by taps: the window stays open this long after the last tap (1-5 taps, the play
# key or the GPIO button); taps inside it are the rating, not pause/resume.
TAP_CLOSE_S = 2.0
# A spoken answer: the mic opens this long after the question's last sample is heard (the
# output's position, accurate to 10-30 ms: DESIGN.md, ducking), not at the answer phase the
# timeline placed at its estimated length rounded up to whole seconds (1.24 s later for
# espeak-ng's "How well did you feel it? Tap one to five."): a lifter answers sooner. With the
# session thread's tick and parec's start, the mic records from 0.12-0.24 s after the question's
# end (bench_listen_ducked.py --after-question); it never hears the question's own "five".
QUESTION_TAIL_MS = 100

RATE_RULE = "a set (or side) can be rated from the moment its work ends until the next one starts"


@dataclass(frozen=True)
class Rateable:
    """A set (one side of a unilateral set) whose work ended and whose next set or side has not
    started: what a rating given now goes to."""

    set_index: int  # into timeline.sets
    set_row: int | None  # its row in the history (this attempt's)
    exercise: str
    exercise_index: int
    set_no: int
    side: Side | None
    questions: tuple[Question, ...]  # what its exercise asks (may be none)


def rateable(resolved: Resolved, unit: Unit, set_row: int | None) -> Rateable:
    ex = resolved.program.exercises[unit.exercise_index]
    return Rateable(unit.set_index, set_row, unit.exercise, unit.exercise_index, unit.set,
                    unit.side, ex.rate)


def asked_now(phase: Phase | None, target: Rateable) -> Question | None:
    """The question being answered now: that of the answer phase playing, if it is the
    target's (a rating given without a question goes to it; else to the first one asked)."""
    if phase is None or phase.phase != "answer" or phase.question is None:
        return None
    if (phase.exercise_index, phase.set, phase.side) != (target.exercise_index, target.set_no,
                                                          target.side):
        return None
    return phase.question


def answering(tl: Timeline, pos: int, heard_ms: Callable[[Cue], int | None]) -> Phase | None:
    """The answer phase a tap or a rating given at ``pos`` answers: from its question's last
    sample as heard (``heard_ms``: a cue's real length; as the mic opens), or while it plays (a
    voice slower than the timeline's estimate, still asking). Taps counted only from the answer
    phase the timeline placed at the estimate rounded up to whole seconds paused the session
    when the lifter tapped at once: 1.24 s after espeak-ng's "How well did you feel it? Tap one
    to five." has ended, the first tap paused, the second resumed (a play-through, session
    14)."""
    _, phase = locate(tl, pos)
    if phase is not None and phase.phase == "answer":
        return phase
    return answer_open(tl, pos, heard_ms, QUESTION_TAIL_MS)


def nothing_to_rate(unit: Unit | None) -> str:
    """Why a rating given now goes nowhere (``unit``: the set or side playing, if any)."""
    if unit is None:
        return f"nothing to rate yet: {RATE_RULE}"
    side = f" {unit.side} side" if unit.side else ""
    return f"nothing to rate yet: {unit.exercise} set {unit.set}{side} has not ended ({RATE_RULE})"


@dataclass
class Taps:
    """Taps counted in one answer window."""

    target: Rateable
    question: Question
    count: int = 0
    last_tap: float = 0.0


@dataclass
class RatingWindow:
    """One session's taps in progress, moved by the session thread."""

    taps: Taps | None = None

    def closed(self, now: float) -> Taps | None:
        """Close a window 2 s after its last tap: its taps, to be recorded."""
        if self.taps is not None and self.taps.count and \
                now - self.taps.last_tap >= TAP_CLOSE_S:
            taps, self.taps = self.taps, None
            return taps
        return None

    def follow(self, phase: Phase | None, target: Rateable | None) -> None:
        """Open a tap window while an answer phase plays; its taps go to ``target``, the set
        or side that ended last."""
        if target is None or phase is None or phase.phase != "answer" or phase.question is None:
            if self.taps is not None and not self.taps.count:
                self.taps = None  # the window passed without a tap: the set stays unrated
            return
        if self.taps is None or (not self.taps.count and
                                 (self.taps.target, self.taps.question) != (target, phase.question)):
            self.taps = Taps(target, phase.question)

    def tap(self, answering: Phase | None, now: float) -> bool:
        """A play-key press inside an answer window (``answering``: the answer phase being
        answered now, rating.answering), or 2 s after a tap, is one more tap."""
        taps = self.taps
        if taps is None:
            return False
        if not taps.count and (answering is None or answering.phase != "answer"):
            return False
        taps.count += 1
        taps.last_tap = now
        log.info("rating: tap %d for %s set %d%s", taps.count, taps.target.exercise,
                 taps.target.set_no, f" {taps.target.side}" if taps.target.side else "")
        return True

    def answered(self, target: Rateable, question: Question) -> None:
        """The shell's answer wins over taps being counted for the same set and question."""
        if self.taps is not None and (self.taps.target, self.taps.question) == (target, question):
            self.taps = None

    def next_unit(self) -> Taps | None:
        """The next set or side started: taps still being counted are the rating now (they
        were given in time); an empty window just closes."""
        taps, self.taps = self.taps, None
        return taps if taps is not None and taps.count else None
