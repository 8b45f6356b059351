"""What the history holds of the running session, written by the session thread: its row and
the values it used, its current set's row (kept in step with the position), its ratings, and
the position every few seconds (which dates an interruption)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from coach.core.timeline import locate
from coach.core.types import Question, SessionEnd, SetStatus
from coach.daemon.rating import Rateable
from coach.daemon.schedules import Clock
from coach.store.history import History
from coach.store.programs import Resolved

log = logging.getLogger(__name__)

# How often the position goes to the history: a crash resumes at the set's start (its own
# row), so this only dates the interruption (the 2-minute auto-resume rule); every 5 s keeps
# the SQLite writes of a session (and its CPU: measured 0.7-1.07 % of a core at 1 s) low.
POSITION_SAVE_S = 5.0


@dataclass
class SessionRecord:
    """One session's rows in the history (none when ``history`` is None) and the set the
    position is in."""

    history: History | None
    wall: Clock
    session_id: int | None = None
    set_index: int | None = None
    set_row: int | None = None
    set_reached_work_end: bool = False
    last_position_saved: float = 0.0

    def begin(self, resolved: Resolved, resumed_from: int | None) -> None:
        if self.history is not None:
            self.session_id = self.history.start_session(resolved.program.name,
                                                         str(resolved.path), self.wall(),
                                                         resumed_from=resumed_from)
            # The values each exercise uses this time: what progression steps from next time.
            for i, ex in enumerate(resolved.program.exercises):
                self.history.record_used(self.session_id, i, ex.name, ex.reps, ex.hold_ms,
                                         ex.sets, None if ex.load is None else str(ex.load))

    def end(self, pos: int, status: SessionEnd) -> None:
        if self.history is not None and self.session_id is not None:
            if self.set_row is not None:
                self.end_set("completed" if status == "completed" else "skipped")
            self.history.update_position(self.session_id, pos, self.wall())
            self.history.end_session(self.session_id, status, self.wall())

    def position(self, pos: int) -> None:
        if self.history is not None and self.session_id is not None:
            self.history.update_position(self.session_id, pos, self.wall())

    def save_position(self, pos: int, now: float) -> None:
        """The position, at most every POSITION_SAVE_S (``now``: the monotonic clock)."""
        if self.history is not None and self.session_id is not None and \
                now - self.last_position_saved > POSITION_SAVE_S:
            self.history.update_position(self.session_id, pos, self.wall())
            self.last_position_saved = now

    def end_set(self, status: SetStatus) -> None:
        if self.set_row is not None and self.history is not None:
            if status == "skipped" and self.set_reached_work_end:
                status = "completed"
            self.history.end_set(self.set_row, status, self.wall())
        self.set_row = None

    def track(self, resolved: Resolved, pos_ms: int, why: str = "") -> bool:
        """Keep history's current set in step with the position; True when the position
        left the set it was in (``set_index`` is then the new one, None between sets)."""
        tl = resolved.timeline
        idx, _ = locate(tl, pos_ms)
        if idx is not None and idx == self.set_index:
            if pos_ms >= tl.sets[idx].work_end_ms:
                self.set_reached_work_end = True
            return False
        if self.set_index is not None:
            self.end_set("skipped" if why in ("skip", "back") else "completed")
        self.set_index = idx
        self.set_reached_work_end = False
        if idx is not None and self.history is not None and self.session_id is not None:
            span = tl.sets[idx]
            ex = resolved.program.exercises[span.exercise_index]
            sides = "both" if len(ex.sides) > 1 else None
            self.set_row = self.history.start_set(self.session_id, span.exercise,
                                                  span.exercise_index, span.set, span.sets,
                                                  sides, span.start_ms, self.wall(),
                                                  None if ex.load is None else str(ex.load))
        return True

    def rate(self, target: Rateable, question: Question, value: int) -> None:
        log.info("rating: %s set %d%s %s = %d", target.exercise, target.set_no,
                 f" {target.side}" if target.side else "", question, value)
        if self.history is not None and self.session_id is not None:
            self.history.rate(self.session_id, target.set_row, target.exercise,
                              target.exercise_index, target.set_no, target.side, question,
                              value, self.wall())
