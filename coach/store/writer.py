"""The daemon's writes to the history. Each goes to the database at once; while the database
cannot take one (a full disk, a read-only folder, a lock held elsewhere), it waits in memory,
with every write after it, in order, and they are written when a retry finds the database
writable again: on the session thread's tick with back-off (1 s, doubling to 30 s), and at once
when a lifter waits for the answer (a rating, a session's end) and the last try is 1 s old.

Why memory and not a journal file beside the database: every cause that stops SQLite writing
(the disk full, the folder or file system read-only) stops a file beside it too, so such a
journal would be written exactly when it is not needed; what is held is lost only if the daemon
stops before the cause is gone (it tries once more as it stops, and says what it loses). A
write is acknowledged (``stored``) only once it is in the database."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from coach.core.records import RatedBy
from coach.core.types import Measure, Question, SessionStatus, SetStatus
from coach.store.history import History, check_rating, check_session_end, check_set_end

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0  # the first retry after history stopped writing; each failure doubles it
RETRY_MAX_S = 30.0  # at most this long between retries (a retry costs a few ms)
HELD_MAX = 10_000  # writes held in memory at most (positions merge: days of sessions)


@dataclass
class _Held:
    """One write not yet in the database: the History method and its arguments; ``ids``: which
    arguments are row ids (a negative one stands for a row that is itself held); ``makes``:
    the id standing for the row it creates (start_session, start_set)."""

    method: str
    args: tuple
    ids: tuple[int, ...] = ()
    makes: int | None = None


class HistoryWriter:
    """The history's writes as the session thread makes them (the History API's), each stored
    or held; reads go to the History itself. Used by the session thread only."""

    def __init__(self, history: History, monotonic: Callable[[], float] = time.monotonic):
        self.history = history
        self.monotonic = monotonic
        self._held: list[_Held] = []
        self._rows: dict[int, int] = {}  # a held row's stand-in id -> its id, once written
        self._next_stand_in = -1
        self._delay = RETRY_FIRST_S
        self._next_try = 0.0
        self._last_try = monotonic()
        self._dropped = 0
        if not history.enabled:
            self._off()

    # --- what is saved --------------------------------------------------------------------------

    @property
    def saving(self) -> bool:
        """Every write so far is in the database."""
        return not self._held and self.history.enabled

    @property
    def reason(self) -> str | None:
        """Why writes are not being saved ("disk full"); None while they are."""
        if self.saving:
            return None
        return self.history.disabled_reason or "earlier writes wait to be written"

    @property
    def problem(self) -> str | None:
        """The one line for `status`'s problems."""
        reason = self.reason
        return None if reason is None else f"history not saving: {reason}"

    @property
    def held(self) -> int:
        return len(self._held)

    # --- retries ----------------------------------------------------------------------------------

    def retry(self) -> bool:
        """The session thread's tick: when writes are held and the back-off has passed, try the
        database again and write them. True when every write is saved."""
        if self.saving:
            return True
        if self.monotonic() < self._next_try:
            return False
        return self._try()

    def _try(self) -> bool:
        self._last_try = now = self.monotonic()
        n = len(self._held)
        if self.history.reopen() and self._replay():
            log.info("history saving again (%s): %d held writes written", self.history.path, n)
            self._delay = RETRY_FIRST_S
            return True
        self._next_try = now + self._delay
        self._delay = min(self._delay * 2, RETRY_MAX_S)
        return False

    def _replay(self) -> bool:
        with self.history.quietly():
            while self._held:
                w = self._held[0]
                args = self._real(w.args, w.ids)
                if args is None:  # what it refers to was lost: it cannot be written
                    log.error("history: a held %s refers to a row never written; dropped",
                              w.method)
                    self._held.pop(0)
                    continue
                result = getattr(self.history, w.method)(*args)
                if not result:
                    return False
                if w.makes is not None:
                    self._rows[w.makes] = int(result)
                self._held.pop(0)
        return True

    def _off(self) -> None:
        """The database stopped taking writes: retry soon, then less often."""
        self._next_try = self.monotonic() + RETRY_FIRST_S
        self._delay = RETRY_FIRST_S * 2
        log.info("history: writes are held in memory until %s can be written again (retried "
                 "after %g s, then up to every %g s)", self.history.path, RETRY_FIRST_S,
                 RETRY_MAX_S)

    def close(self) -> None:
        """The daemon stops: one last try; what still cannot be written is said, and lost."""
        if not self._held or self._try():
            return
        log.error("history: %d writes not saved (%s) are lost as the daemon stops",
                  len(self._held), self.reason)

    # --- the plumbing: stored at once, or held in order ------------------------------------------

    def _real(self, args: tuple, ids: tuple[int, ...]) -> tuple | None:
        """``args`` with each stand-in id replaced by its row's id; None while one is held."""
        out = list(args)
        for i in ids:
            v = out[i]
            if isinstance(v, int) and v < 0:
                if v not in self._rows:
                    return None
                out[i] = self._rows[v]
        return tuple(out)

    def _do(self, method: str, args: tuple, ids: tuple[int, ...] = (), makes: bool = False,
            waited_for: bool = False) -> int:
        """Write now if nothing is held before it, else hold it (and everything after it).
        Returns what the History returned (an id, or 1 for a write that makes none) when
        stored; 0 when held (a write that makes a row: its stand-in id, below 0)."""
        if waited_for and not self.saving and \
                self.monotonic() - self._last_try >= RETRY_FIRST_S:
            self._try()  # a lifter waits for this answer: worth a try before saying no
        real = self._real(args, ids)
        if self.saving and real is not None:
            result = getattr(self.history, method)(*real)
            if result:
                return int(result)
            self._off()
        held = _Held(method, args, ids, self._new_stand_in() if makes else None)
        self._hold(held)
        return held.makes or 0

    def _new_stand_in(self) -> int:
        self._next_stand_in -= 1
        return self._next_stand_in + 1

    def _hold(self, w: _Held) -> None:
        last = self._held[-1] if self._held else None
        if w.method == "update_position" and last is not None and \
                last.method == "update_position" and last.args[0] == w.args[0]:
            # The newest position wins; the time coached and paused too, where it says them.
            session, position, now, coached, paused = w.args
            _, _, then, was_coached, was_paused = last.args
            last.args = (session, position, now or then,
                         was_coached if coached is None else coached,
                         was_paused if paused is None else paused)
            return
        if len(self._held) >= HELD_MAX:
            self._dropped += 1
            if self._dropped == 1:
                log.error("history: %d writes held in memory; later ones are dropped until %s "
                          "can be written", HELD_MAX, self.history.path)
            return
        self._held.append(w)

    # --- the History's writes -----------------------------------------------------------------

    def start_session(self, program: str, program_path: str, now: datetime,
                      resumed_from: int | None = None) -> int:
        """The session's id: its row's, or (held) a stand-in below 0 the writer maps later."""
        return self._do("start_session", (program, program_path, now, resumed_from), ids=(3,),
                        makes=True)

    def record_used(self, session_id: int, exercise_index: int, exercise: str,
                    reps: int | None, hold_ms: int | None, sets: int,
                    load: str | None = None) -> bool:
        return self._do("record_used", (session_id, exercise_index, exercise, reps, hold_ms,
                                        sets, load), ids=(0,)) > 0

    def start_set(self, session_id: int, exercise: str, exercise_index: int, set_no: int,
                  sets: int, side: str | None, start_ms: int, now: datetime,
                  load: str | None = None,
                  played: tuple[str | None, int | None, str | None] = (None, None, None)) -> int:
        return self._do("start_set", (session_id, exercise, exercise_index, set_no, sets, side,
                                      start_ms, now, load, played), ids=(0,), makes=True)

    def end_set(self, set_id: int, status: SetStatus, now: datetime, done: float | None = None,
                planned: float | None = None, unit: Measure | None = None) -> bool:
        check_set_end(status, unit)  # a held write is checked now, as a written one is
        return self._do("end_set", (set_id, status, now, done, planned, unit), ids=(0,)) > 0

    def update_position(self, session_id: int, position_ms: int, now: datetime | None = None,
                        coached_ms: int | None = None, paused_ms: int | None = None) -> bool:
        return self._do("update_position", (session_id, position_ms, now, coached_ms,
                                            paused_ms), ids=(0,)) > 0

    def end_session(self, session_id: int, status: SessionStatus, now: datetime,
                    coached_ms: int | None = None, paused_ms: int | None = None) -> bool:
        """True when the session's end is in the database (False: held, see ``reason``)."""
        check_session_end(status)
        return self._do("end_session", (session_id, status, now, coached_ms, paused_ms),
                        ids=(0,), waited_for=True) > 0

    def mark_interrupted(self, session_id: int, now: datetime) -> bool:
        return self.end_session(session_id, "interrupted", now)

    def rate(self, session_id: int, set_id: int | None, exercise: str, exercise_index: int,
             set_no: int, side: str | None, question: Question, value: int,
             now: datetime, by: RatedBy | None = None) -> bool:
        """True when the rating is in the database (False: held, see ``reason``)."""
        check_rating(question, side, value)
        return self._do("rate", (session_id, set_id, exercise, exercise_index, set_no, side,
                                 question, value, now, by), ids=(0, 1), waited_for=True) > 0

    def rating(self, session_id: int, exercise_index: int, set_no: int, side: str | None,
               question: Question) -> int | None:
        """The value a set (side) has for ``question`` in this session, held ones included."""
        for w in reversed(self._held):
            if w.method == "rate" and (w.args[0], w.args[3], w.args[4], w.args[5],
                                       w.args[6]) == (session_id, exercise_index, set_no,
                                                      side, question):
                return int(w.args[7])
        real = self._real((session_id,), (0,))
        if real is None:
            return None
        return self.history.rating(real[0], exercise_index, set_no, side, question)
