"""What the log keeps of each set, from the timeline alone (pure): the units a session is
logged in (a set, or one side of a unilateral set, each with its work's span and the end of
each rep, second or pose in it), and a unit's outcome from how much of its work was played."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace

from coach.core.timeline import Phase, Timeline
from coach.core.types import TEMPO_PHASES, Measure, PhaseKind, SetOutcome, Side

WORK_PHASES: frozenset[PhaseKind] = frozenset((*TEMPO_PHASES, "hold", "rep", "pose"))


@dataclass(frozen=True)
class Unit:
    """A set (or one side of a unilateral set) as the log keeps it.

    It runs from ``start_ms`` (its set's announcement; for a later side, the start of that
    side's work) to ``end_ms`` (where the next unit starts), so the units tile the session and
    the switch belongs to the side before it: a side is rated from the end of its work until
    the next side (or set) starts."""

    index: int  # into the session's units
    set_index: int  # into timeline.sets
    exercise: str
    exercise_index: int
    set: int
    sets: int
    side: Side | None
    set_start_ms: int  # its set's announcement: where a crash resumes
    start_ms: int
    work_start_ms: int
    work_end_ms: int
    end_ms: int
    measure: Measure
    marks: tuple[int, ...] = ()  # reps, poses: where each one ends

    @property
    def planned(self) -> float:
        if self.measure == "s":
            return (self.work_end_ms - self.work_start_ms) / 1000
        return len(self.marks)

    def done_at(self, t_ms: int) -> float:
        """How much of the work lies before ``t_ms``: whole reps or poses, or the seconds of a
        hold to the tenth (rounded down: a rep or second counts once it is over)."""
        if self.measure == "s":
            ms = min(t_ms, self.work_end_ms) - self.work_start_ms
            return max(0, ms) // 100 / 10
        return len(self.marks[:bisect_right(self.marks, t_ms)])


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a unit did: its status, and how much of the planned work."""

    status: SetOutcome
    done: float
    planned: float
    measure: Measure


def outcome(unit: Unit, from_ms: int, to_ms: int) -> Outcome:
    """The outcome of playing ``unit`` from ``from_ms`` to ``to_ms`` (where it was cut, or
    where its work ended): ``completed`` when its whole work was played, ``skipped`` when none
    of it was (cut in the announcement or lead-in, or jumped over), else ``partial``."""
    planned = unit.planned
    if from_ms <= unit.work_start_ms and to_ms >= unit.work_end_ms:
        return Outcome("completed", planned, planned, unit.measure)
    played = min(to_ms, unit.work_end_ms) - max(from_ms, unit.work_start_ms)
    if played <= 0:
        return Outcome("skipped", 0, planned, unit.measure)
    done = max(0.0, unit.done_at(to_ms) - unit.done_at(from_ms))
    return Outcome("partial", done, planned, unit.measure)


def _measure(phases: list[Phase]) -> tuple[Measure, tuple[int, ...]]:
    kinds = {p.phase for p in phases}
    reps = [p for p in phases if p.rep is not None]
    if "hold" in kinds and not reps:  # a remedy's closing hold ends a set of reps: still reps
        return "s", ()
    if "pose" in kinds:
        return "poses", tuple(p.end_ms for p in phases)
    ends: dict[int, int] = {}  # rep -> the end of its last phase
    for p in reps or phases:
        ends[p.rep or 0] = max(ends.get(p.rep or 0, 0), p.end_ms)
    return "reps", tuple(sorted(ends.values()))


def units(timeline: Timeline) -> tuple[Unit, ...]:
    """Every unit of the session, in order; they tile it from the first set's start to its end."""
    by_set = {(s.exercise_index, s.set): i for i, s in enumerate(timeline.sets)}
    work: dict[tuple[int, Side | None], list[Phase]] = {}  # in time order
    for p in timeline.phases:
        i = by_set.get((p.exercise_index, p.set))
        if p.phase in WORK_PHASES and i is not None:
            work.setdefault((i, p.side), []).append(p)
    found: list[tuple[int, Side | None, list[Phase]]] = []
    for i in range(len(timeline.sets)):
        mine = [(side, ph) for (j, side), ph in work.items() if j == i]
        found += [(i, side, ph) for side, ph in mine] or [(i, None, [])]
    out: list[Unit] = []
    for k, (i, side, phases) in enumerate(found):
        span = timeline.sets[i]
        first = k == 0 or found[k - 1][0] != i
        w0 = phases[0].t_ms if phases else span.work_end_ms
        w1 = phases[-1].end_ms if phases else span.work_end_ms
        start = span.start_ms if first else w0
        measure, marks = _measure(phases) if phases else ("reps", ())
        out.append(Unit(k, i, span.exercise, span.exercise_index, span.set, span.sets, side,
                        span.start_ms, start, w0, w1, 0, measure, marks))
    ends = [u.start_ms for u in out[1:]] + [timeline.duration_ms]
    return tuple(replace(u, end_ms=end) for u, end in zip(out, ends))


def unit_at(all_units: tuple[Unit, ...], t_ms: int) -> int | None:
    """The index of the unit ``t_ms`` falls in (past the end: the last; None before the first)."""
    i = bisect_right([u.start_ms for u in all_units], t_ms) - 1
    return i if i >= 0 else None
