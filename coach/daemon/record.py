"""What the history holds of the running session, written by the session thread: its row and
the values it used; a row per set (per side of a unilateral set) saying how it went, kept in
step with the position (coach/core/outcome.py says what a position means for a set); its
ratings; the time coached and paused; and the position every few seconds (which dates an
interruption)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from coach.core.outcome import Outcome, Unit, outcome, unit_at, units
from coach.core.program import Program
from coach.core.records import RatedBy
from coach.core.remedy import Change, playing
from coach.core.timeline import Timeline
from coach.core.types import Question, SessionEnd, SessionState, SessionStatus
from coach.daemon.rating import Rateable
from coach.daemon.schedules import Clock
from coach.protocol.messages import SetEnded
from coach.store.programs import Resolved
from coach.store.writer import HistoryWriter

log = logging.getLogger(__name__)

# How often the position goes to the history: a crash resumes at the set's start (its own
# row), so this only dates the interruption (the 2-minute auto-resume rule); every 5 s keeps
# the SQLite writes of a session (and its CPU: measured 0.7-1.07 % of a core at 1 s) low.
POSITION_SAVE_S = 5.0

_RANK = {"skipped": 0, "partial": 1, "completed": 2}


@dataclass
class Attempt:
    """One go at a unit (a set, or one side): played from ``from_ms`` (its start, or where a
    jump landed) up to ``reached``; ``result`` once its work ended or was cut (from then until
    the next unit starts, it is the one a rating goes to)."""

    unit: Unit
    row: int | None
    from_ms: int
    reached: int
    result: Outcome | None = None


@dataclass(frozen=True)
class Saved:
    """A rating stored; ``was``: the value it replaced (None: the first answer)."""

    was: int | None


@dataclass(frozen=True)
class NotSaved:
    """A rating the history did not take, and why (said to the lifter)."""

    reason: str


@dataclass
class CoachedTime:
    """Seconds coached (playing) and paused (by the lifter, or waiting for a lost output),
    from the session thread's observations: each interval goes to the state seen at its start,
    so the controller looks before and after every change of state."""

    coached: float = 0.0
    paused: float = 0.0
    last_t: float | None = None
    last_state: SessionState = "preparing"

    def account(self, now: float, state: SessionState) -> None:
        if self.last_t is not None and now > self.last_t:
            if self.last_state == "playing":
                self.coached += now - self.last_t
            elif self.last_state == "paused":
                self.paused += now - self.last_t
        self.last_t, self.last_state = now, state

    @property
    def coached_ms(self) -> int:
        return round(self.coached * 1000)

    @property
    def paused_ms(self) -> int:
        return round(self.paused * 1000)


@dataclass
class SessionRecord:
    """One session's rows in the history (none when ``history`` is None) and the unit the
    position is in. Each write is stored or, while the history cannot take it, held by the
    writer (a row held has a stand-in id below 0)."""

    history: HistoryWriter | None
    wall: Clock
    session_id: int | None = None
    units: tuple[Unit, ...] = ()
    origin: int = 0  # the first unit this session answers for (a resume starts later)
    loads: tuple[str | None, ...] = ()  # per exercise index, the load its sets lift ("24kg")
    attempt: Attempt | None = None
    best: dict[int, Outcome] = field(default_factory=dict)  # per unit, the best attempt
    time: CoachedTime = field(default_factory=CoachedTime)
    last_position_saved: float = 0.0
    changes: tuple[Change, ...] = ()  # remedies so far: what each set plays, and why
    program: Program | None = None
    # Units closed since the controller last looked (it tells its listeners, SetEnded), and
    # the ratings stored per unit: a unit closes before the taps of its window are recorded.
    closed: list[tuple[Unit, Outcome]] = field(default_factory=list)
    ratings: dict[int, dict[Question, int]] = field(default_factory=dict)

    @property
    def _on(self) -> bool:
        return self.history is not None and bool(self.session_id)

    def begin(self, resolved: Resolved, resumed_from: int | None, start_ms: int,
              now: float) -> None:
        self.units, self.program = units(resolved.timeline), resolved.program
        self.loads = tuple(None if ex.load is None else str(ex.load)
                           for ex in resolved.program.exercises)
        if resumed_from is not None:
            self.origin = unit_at(self.units, start_ms) or 0
        self.time.account(now, "preparing")
        if self.history is not None:
            self.session_id = self.history.start_session(resolved.program.name,
                                                         str(resolved.path), self.wall(),
                                                         resumed_from=resumed_from)
            # The values each exercise uses this time: what progression steps from next time.
            for i, ex in enumerate(resolved.program.exercises):
                self.history.record_used(self.session_id, i, ex.name, ex.reps, ex.hold_ms,
                                         ex.sets, None if ex.load is None else str(ex.load))

    def account(self, now: float, state: SessionState) -> None:
        self.time.account(now, state)

    def replan(self, timeline: Timeline, changes: tuple[Change, ...]) -> None:
        """A remedy changed the plan from a later set on: the units are the new plan's (the
        same up to the one playing)."""
        self.units, self.changes = units(timeline), changes

    # --- the position: units begun, played and cut -------------------------------------------

    def observe(self, pos: int) -> bool:
        """The position as played (a tick): the unit it is in, and those played through to
        get there. True when a new unit began (the last one's rating window closed)."""
        u = unit_at(self.units, pos)
        a = self.attempt
        if u is None:
            return False
        if a is None:  # the session begins here: what lies before it was never played
            self._pass(self.origin, u)
            self._open(u, pos)
            return True
        if u < a.unit.index:
            return False  # a recovered output goes back to the cut cue: the same attempt
        if u == a.unit.index:
            a.reached = max(a.reached, pos)
            self._settle(a)
            return False
        a.reached = max(a.reached, a.unit.end_ms)  # played on, to its end and beyond
        self._settle(a)
        self._close(a)
        for k in range(a.unit.index + 1, u):  # played through between two ticks
            self._finish(self._open(k, self.units[k].start_ms), self.units[k].end_ms)
        self._open(u, self.units[u].start_ms, reached=pos)
        return True

    def seek(self, before: int, target: int, why: str) -> bool:
        """A jump (skip, back) from ``before`` to ``target``: the unit playing is cut where it
        was, units jumped over are skipped, and the jump's target begins a new attempt unless
        it is the same unit's rest (a skip from the work). True when a new unit began."""
        if self.attempt is None:
            return self.observe(target)
        moved = self.observe(before)
        a = self.attempt
        assert a is not None
        if a.result is None:
            a.result = outcome(a.unit, a.from_ms, before)
            self._said(a)
        t = unit_at(self.units, target)
        if t is None or (t == a.unit.index and why == "skip"):
            return moved
        self._close(a)
        self._pass(a.unit.index + 1, t)
        self._open(t, target)
        return True

    def current(self) -> Attempt | None:
        return self.attempt

    def rateable(self) -> Attempt | None:
        """The attempt whose work ended (or was cut) and whose next unit has not started."""
        a = self.attempt
        return a if a is not None and a.result is not None else None

    def _open(self, k: int, from_ms: int, reached: int | None = None) -> Attempt:
        unit = self.units[k]
        row = None
        if self._on:
            assert self.history is not None and self.session_id is not None
            row = self.history.start_set(self.session_id, unit.exercise, unit.exercise_index,
                                         unit.set, unit.sets, unit.side, unit.set_start_ms,
                                         self.wall(), self.loads[unit.exercise_index],
                                         self._played(unit)) or None
        a = self.attempt = Attempt(unit, row, from_ms, from_ms if reached is None else reached)
        self._settle(a)  # a jump into its rest: skipped at once
        return a

    def _played(self, unit: Unit) -> tuple[str | None, int | None, str | None]:
        """The tempo code and hold (ms) the unit's set plays, and why a remedy changed them."""
        assert self.program is not None
        ex, why = playing(self.program, self.changes, unit.exercise_index, unit.set)
        hold = ex.hold_ms if ex.kind == "hold" else ex.closing_hold_ms or None
        return (ex.tempo.code if ex.tempo is not None else None), hold, why

    def _settle(self, a: Attempt) -> None:
        if a.result is None and a.reached >= a.unit.work_end_ms:
            a.result = outcome(a.unit, a.from_ms, a.reached)
            self._said(a)

    def _finish(self, a: Attempt, reached: int) -> None:
        a.reached = max(a.reached, reached)
        self._settle(a)
        self._close(a)

    def _pass(self, first: int, stop: int) -> None:
        """Units jumped over (or before a session's start point): skipped."""
        for k in range(first, stop):
            self._close(self._open(k, self.units[k].end_ms))

    def _close(self, a: Attempt) -> None:
        if a.result is None:
            a.result = outcome(a.unit, a.from_ms, a.reached)
            self._said(a)
        r = a.result
        best = self.best.get(a.unit.index)
        if best is None or (_RANK[r.status], r.done) > (_RANK[best.status], best.done):
            self.best[a.unit.index] = r
        if a.row is not None and self.history is not None:
            self.history.end_set(a.row, r.status, self.wall(), r.done, r.planned, r.measure)
        self.closed.append((a.unit, r))
        self.attempt = None

    def take_closed(self, program: str) -> list[SetEnded]:
        """The units closed since the last call, each with the ratings stored for it."""
        closed, self.closed = self.closed, []
        return [SetEnded(program, u.exercise, u.exercise_index, u.set, u.sets, u.side, r.status,
                         r.done, r.planned, r.measure, dict(self.ratings.get(u.index, {})))
                for u, r in closed]

    def _said(self, a: Attempt) -> None:
        r = a.result
        assert r is not None
        side = f" {a.unit.side}" if a.unit.side else ""
        log.info("set: %s set %d%s %s (%g of %g %s)", a.unit.exercise, a.unit.set, side,
                 r.status, r.done, r.planned, r.measure)

    # --- the session's end, position and time -------------------------------------------------

    def end(self, pos: int, how: SessionEnd) -> SessionStatus:
        """Close the session at ``pos``, played out or stopped: the unit playing is cut there.
        Played out, it is completed only if every unit it answers for was."""
        if self.attempt is not None:
            self.observe(pos)
            if self.attempt is not None:
                self._close(self.attempt)
        status: SessionStatus = "stopped"
        if how == "completed":
            done = all(k in self.best and self.best[k].status == "completed"
                       for k in range(self.origin, len(self.units)))
            status = "completed" if done else "partial"
        if self._on:
            assert self.history is not None and self.session_id is not None
            self.history.update_position(self.session_id, pos, self.wall())
            self.history.end_session(self.session_id, status, self.wall(),
                                     self.time.coached_ms, self.time.paused_ms)
        return status

    def position(self, pos: int) -> None:
        if self._on:
            assert self.history is not None and self.session_id is not None
            self.history.update_position(self.session_id, pos, self.wall())

    def save_position(self, pos: int, now: float) -> None:
        """The position and the time coached, at most every POSITION_SAVE_S (``now``: the
        monotonic clock)."""
        if self._on and now - self.last_position_saved > POSITION_SAVE_S:
            assert self.history is not None and self.session_id is not None
            self.history.update_position(self.session_id, pos, self.wall(),
                                         self.time.coached_ms, self.time.paused_ms)
            self.last_position_saved = now

    # --- ratings ------------------------------------------------------------------------------

    def rate(self, target: Rateable, question: Question, value: int,
             by: RatedBy) -> Saved | NotSaved:
        """Store a rating and how it was given; what it replaced, or why it was not stored
        (the seam where a history that is off is said)."""
        log.info("rating: %s set %d%s %s = %d (%s)", target.exercise, target.set_no,
                 f" {target.side}" if target.side else "", question, value,
                 f"heard {by.heard!r}" if by.heard is not None else by.how)
        if self.history is None or not self.session_id:
            return NotSaved("history is off")
        was = self.history.rating(self.session_id, target.exercise_index, target.set_no,
                                  target.side, question)
        if self.history.rate(self.session_id, target.set_row, target.exercise,
                             target.exercise_index, target.set_no, target.side, question,
                             value, self.wall(), by):
            for u in self.units:
                if (u.exercise_index, u.set, u.side) == (target.exercise_index, target.set_no,
                                                         target.side):
                    self.ratings.setdefault(u.index, {})[question] = value
            return Saved(was)
        # Held in memory: written if the history comes back, but not saved now.
        reason = f"history is off: {self.history.reason}"
        log.warning("rating not saved (%s): held, and written once the history can be", reason)
        return NotSaved(reason)

    def not_saved(self) -> str | None:
        """Why what this session recorded is not all saved (None: it is, or no history)."""
        if self.history is None or self.history.saving:
            return None
        return f"history is off: {self.history.reason}"
