"""SQLite log of sessions and sets (what was trained, when, how it ended); finds a session a crash
left running so the daemon can resume it. History must never stop the player: on a locked or
unusable database it logs a warning once and its writes write nothing and say so (the daemon's
coach/store/writer.py keeps them and retries). What it returns is plain data
(coach/core/records.py); its file, opening and faults are coach/store/dbfile.py, its schema and
migrations coach/store/migrations.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import platformdirs

from coach.core.records import (
    ExerciseSummary,
    ExerciseUsed,
    InterruptedSession,
    RatedBy,
    RatingRecord,
    SessionRecord,
    SetRecord,
    completed_sets,
)
from coach.core.types import (
    MEASURES,
    QUESTIONS,
    RATED_HOW,
    RATING_MAX,
    RATING_MIN,
    SESSION_STATUSES,
    SET_STATUSES,
    Measure,
    Question,
    SessionStatus,
    SetStatus,
)
from coach.store.dbfile import DEFAULT_BUSY_TIMEOUT, HistoryFile


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("coach")) / "history.sqlite3"


def _ts(now: datetime) -> str:
    return now.isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _dt_req(text: str) -> datetime:
    return datetime.fromisoformat(text)


def check_set_end(status: str, unit: str | None) -> None:
    """A set's end as the schema takes it (ValueError otherwise: a caller's bug)."""
    if status not in SET_STATUSES or status == "running":
        raise ValueError(f"bad set status {status!r}")
    if unit is not None and unit not in MEASURES:
        raise ValueError(f"bad set unit {unit!r}")


def check_session_end(status: str) -> None:
    if status not in SESSION_STATUSES or status == "running":
        raise ValueError(f"bad session status {status!r}")


def check_rating(question: str, side: str | None, value: object) -> None:
    """A rating as the schema takes it: the caller checks what a user said before it."""
    if question not in QUESTIONS:
        raise ValueError(f"bad rating question {question!r}")
    if side not in ("left", "right", None):
        raise ValueError(f"bad rating side {side!r}")
    if isinstance(value, bool) or not isinstance(value, int) or not (
        RATING_MIN <= value <= RATING_MAX
    ):
        raise ValueError(f"bad rating value {value!r} (want {RATING_MIN}-{RATING_MAX})")


class History(HistoryFile):
    """The history database: sessions, their sets (sides) and ratings, the values each exercise
    used. Thread-safe (one connection behind a lock); every write is one committed transaction
    (all of it or none), so a kill -9 loses nothing already written. Opened, read-only where it
    cannot be written, and retried as coach/store/dbfile.py says."""

    def __init__(self, path: Path | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 read_only: bool = False):
        super().__init__(Path(path) if path is not None else default_path(),
                         busy_timeout=busy_timeout, read_only=read_only)

    # -- API: each write returns whether it was written (an id: 0 when it was not) ------------
    def start_session(self, program: str, program_path: str, now: datetime,
                      resumed_from: int | None = None) -> int:
        """Record a new running session; returns its id (0 when it could not be written).

        A session still "running" from before (a crash nobody resumed) is marked interrupted:
        only one session plays at a time."""
        ids = self._write(
            ("UPDATE sets SET status='interrupted', ended_at=? WHERE status='running'",
             (_ts(now),)),
            ("UPDATE sessions SET status='interrupted', ended_at=? WHERE status='running'",
             (_ts(now),)),
            ("INSERT INTO sessions(program, program_path, started_at, status, updated_at, "
             "resumed_from) VALUES (?, ?, ?, 'running', ?, ?)",
             (program, program_path, _ts(now), _ts(now), resumed_from)),
        )
        return int(ids[-1] or 0) if ids is not None else 0

    def start_set(
        self,
        session_id: int,
        exercise: str,
        exercise_index: int,
        set_no: int,
        sets: int,
        side: str | None,
        start_ms: int,
        now: datetime,
        load: str | None = None,
        played: tuple[str | None, int | None, str | None] = (None, None, None),
    ) -> int:
        """Record a set that starts now at ``start_ms`` in the timeline, lifting ``load`` ("24kg")
        and playing ``played``: its tempo code, hold (ms) and why a remedy changed them (None:
        it did not); returns its id (0 when it could not be written). Also moves the session's
        position to ``start_ms``."""
        ids = self._write(
            ("INSERT INTO sets(session_id, exercise, exercise_index, set_no, sets, side, "
             "started_at, status, start_ms, load, tempo, hold_ms, adapted) VALUES (?, ?, ?, ?, "
             "?, ?, ?, 'running', ?, ?, ?, ?, ?)",
             (session_id, exercise, exercise_index, set_no, sets, side, _ts(now), start_ms,
              load, *played)),
            ("UPDATE sessions SET position_ms=? WHERE id=?", (start_ms, session_id)),
        )
        return int(ids[0] or 0) if ids is not None else 0

    def end_set(self, set_id: int, status: SetStatus, now: datetime, done: float | None = None,
                planned: float | None = None, unit: Measure | None = None) -> bool:
        """Close a set (one side of a unilateral set): how it went, and how much of its work
        was ``done`` beside what was ``planned`` (reps, seconds of a hold, or poses: ``unit``)."""
        check_set_end(status, unit)
        return self._write(
            ("UPDATE sets SET status=?, ended_at=?, done=?, planned=?, unit=? WHERE id=?",
             (status, _ts(now), done, planned, unit, set_id))) is not None

    def update_position(self, session_id: int, position_ms: int,
                        now: datetime | None = None, coached_ms: int | None = None,
                        paused_ms: int | None = None) -> bool:
        """The session's position (and, when given, the time coached and paused so far)."""
        statements: list[tuple[str, tuple]] = []
        if coached_ms is not None or paused_ms is not None:
            statements.append(("UPDATE sessions SET coached_ms=coalesce(?, coached_ms), "
                               "paused_ms=coalesce(?, paused_ms) WHERE id=?",
                               (coached_ms, paused_ms, session_id)))
        if now is None:
            statements.append(("UPDATE sessions SET position_ms=? WHERE id=?",
                               (position_ms, session_id)))
        else:
            statements.append(("UPDATE sessions SET position_ms=?, updated_at=? WHERE id=?",
                               (position_ms, _ts(now), session_id)))
        return self._write(*statements) is not None

    def end_session(self, session_id: int, status: SessionStatus, now: datetime,
                    coached_ms: int | None = None, paused_ms: int | None = None) -> bool:
        """Close a session, with the time it coached and was paused when known; a set still
        running in it is closed as interrupted."""
        check_session_end(status)
        return self._write(
            ("UPDATE sets SET status='interrupted', ended_at=? "
             "WHERE session_id=? AND status='running'", (_ts(now), session_id)),
            ("UPDATE sessions SET status=?, ended_at=?, coached_ms=coalesce(?, coached_ms), "
             "paused_ms=coalesce(?, paused_ms) WHERE id=?",
             (status, _ts(now), coached_ms, paused_ms, session_id)),
        ) is not None

    def mark_interrupted(self, session_id: int, now: datetime) -> bool:
        return self.end_session(session_id, "interrupted", now)

    def interrupted(self) -> InterruptedSession | None:
        """The latest session left "running" (by a crash), with its last running set."""
        rows = self._read(
            "SELECT id, program, program_path, started_at, position_ms, updated_at, "
            "resumed_from FROM sessions WHERE status='running' ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        sid, program, program_path, started_at, position_ms, updated_at, resumed_from = rows[0]
        # Whole sets completed (a unilateral one: both sides), not rows.
        done = completed_sets([_set_record(r) for r in self._read(
            f"SELECT {_SET_COLS} FROM sets WHERE session_id=?", (sid,))])
        sets = self._read(
            f"SELECT {_SET_COLS} FROM sets WHERE session_id=? AND status='running' "
            "ORDER BY id DESC LIMIT 1",
            (sid,),
        )
        return InterruptedSession(
            session_id=sid,
            program=program,
            program_path=program_path,
            started_at=_dt_req(started_at),
            position_ms=position_ms,
            set=_set_record(sets[0]) if sets else None,
            updated_at=_dt(updated_at),
            resumed_from=resumed_from,
            sets_completed=len(done),
        )

    def rate(
        self,
        session_id: int,
        set_id: int | None,
        exercise: str,
        exercise_index: int,
        set_no: int,
        side: str | None,
        question: Question,
        value: int,
        now: datetime,
        by: RatedBy | None = None,
    ) -> int:
        """Record the lifter's rating of a set (one side of a unilateral set), and how it was
        given (``by``; None: not known); returns the rating's id (0 when it could not be
        written). A rating of the same set, side and question replaces the earlier one (a
        correction), how it was given with it. Raises ValueError for a question, side, value
        or way outside the schema: the caller checks what a user said before it gets here."""
        check_rating(question, side, value)
        if by is not None and by.how not in RATED_HOW:
            raise ValueError(f"bad rating way {by.how!r}")
        # One statement: the upsert is atomic, and written again it changes nothing.
        if self._write((
            "INSERT INTO ratings(session_id, set_id, exercise, exercise_index, set_no, side, "
            "question, value, rated_at, given, heard, confidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(session_id, exercise_index, set_no, coalesce(side, ''), question) "
            "DO UPDATE SET value=excluded.value, rated_at=excluded.rated_at, "
            "set_id=excluded.set_id, exercise=excluded.exercise, given=excluded.given, "
            "heard=excluded.heard, confidence=excluded.confidence",
            (session_id, set_id or None, exercise, exercise_index, set_no, side, question,
             value, _ts(now), by.how if by else None, by.heard if by else None,
             by.confidence if by else None),
        )) is None:
            return 0
        rows = self._read(
            "SELECT id FROM ratings WHERE session_id=? AND exercise_index=? AND set_no=? "
            "AND coalesce(side, '')=? AND question=?",
            (session_id, exercise_index, set_no, side or "", question),
        )
        return int(rows[0][0]) if rows else 0

    def unrate(self, session_id: int, exercise_index: int, set_no: int, side: str | None,
               question: Question) -> bool:
        """Take a rating back (`coach rerate ... none`: the set is then unrated, as if nothing
        had been said); True when written, whether or not there was one."""
        return self._write((
            "DELETE FROM ratings WHERE session_id=? AND exercise_index=? AND set_no=? "
            "AND coalesce(side, '')=? AND question=?",
            (session_id, exercise_index, set_no, side or "", question),
        )) is not None

    def rating(self, session_id: int, exercise_index: int, set_no: int, side: str | None,
               question: Question) -> int | None:
        """The value a set (side) has for ``question`` in this session, None when unrated."""
        rows = self._read(
            "SELECT value FROM ratings WHERE session_id=? AND exercise_index=? AND set_no=? "
            "AND coalesce(side, '')=? AND question=?",
            (session_id, exercise_index, set_no, side or "", question),
        )
        return int(rows[0][0]) if rows else None

    def record_used(self, session_id: int, exercise_index: int, exercise: str,
                    reps: int | None, hold_ms: int | None, sets: int,
                    load: str | None = None) -> bool:
        """Record the values an exercise uses in this session (written at session start);
        recording it again replaces them."""
        return self._write((
            "INSERT INTO session_exercises(session_id, exercise_index, exercise, reps, hold_ms, "
            "sets, load) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, exercise_index) "
            "DO UPDATE SET exercise=excluded.exercise, reps=excluded.reps, "
            "hold_ms=excluded.hold_ms, sets=excluded.sets, load=excluded.load",
            (session_id, exercise_index, exercise, reps, hold_ms, sets, load),
        )) is not None

    def last_session_summary(self, program: str) -> dict[int, ExerciseSummary]:
        """Per exercise index, how the most recent finished session (any status but running)
        of ``program`` went. ``program`` is the program's file path or its name (either
        matches). A session that resumed an interrupted one also counts the sets and ratings
        of the session it resumed (and of that one's, and so on). Empty when there is none."""
        rows = self._read(
            "SELECT id, status, started_at, resumed_from FROM sessions "
            "WHERE status != 'running' AND (program_path=? OR program=?) "
            "ORDER BY id DESC LIMIT 1",
            (program, program),
        )
        if not rows:
            return {}
        sid, status, started, resumed_from = rows[0]
        chain = [sid]
        while resumed_from is not None and resumed_from not in chain and len(chain) < 50:
            chain.append(resumed_from)
            prev = self._read("SELECT resumed_from FROM sessions WHERE id=?", (resumed_from,))
            resumed_from = prev[0][0] if prev else None
        marks = ",".join("?" * len(chain))
        used = {row[0]: row[1:] for row in self._read(
            "SELECT exercise_index, exercise, reps, hold_ms, sets, load FROM session_exercises "
            "WHERE session_id=?", (sid,))}
        planned: dict[int, tuple[str, int]] = {}
        lifted: dict[int, str] = {}  # the last load of its sets (a session before schema 4's used)
        logged = [_set_record(r) for r in self._read(
            f"SELECT {_SET_COLS} FROM sets WHERE session_id IN ({marks}) ORDER BY id",
            tuple(chain))]
        for r in logged:
            planned[r.exercise_index] = (r.exercise, r.sets)
            if r.load is not None:
                lifted[r.exercise_index] = r.load
        # Only completed sets count: a skipped or partial one never progresses anything.
        done: dict[int, set[int]] = {}
        for idx, set_no in completed_sets(logged):
            done.setdefault(idx, set()).add(set_no)
        ratings: dict[tuple[int, str], list[int]] = {}
        # Per logical set, side and question, the latest session's rating wins.
        seen: set[tuple[int, int, str, str]] = set()
        for idx, set_no, side, question, value in self._read(
            f"SELECT exercise_index, set_no, coalesce(side, ''), question, value FROM ratings "
            f"WHERE session_id IN ({marks}) ORDER BY session_id DESC", tuple(chain)
        ):
            key = (idx, set_no, side, question)
            if key not in seen:
                seen.add(key)
                ratings.setdefault((idx, question), []).append(value)

        def mean(values: list[int] | None) -> float | None:
            return sum(values) / len(values) if values else None

        out: dict[int, ExerciseSummary] = {}
        for idx in sorted(set(used) | set(planned)):
            if idx in used:
                name, reps, hold, nsets, load = used[idx]
            else:
                name, nsets = planned[idx]
                reps = hold = load = None
            want = nsets if nsets is not None else planned.get(idx, (name, 0))[1]
            n_done = len(set(range(1, want + 1)) & done.get(idx, set()))
            completed = status == "completed" and want > 0 and n_done == want
            out[idx] = ExerciseSummary(
                exercise_index=idx, exercise=name, reps=reps, hold_ms=hold, sets=nsets,
                completed=completed, feel=mean(ratings.get((idx, "feel"))),
                effort=mean(ratings.get((idx, "effort"))), session_id=sid,
                session_status=status, started_at=_dt_req(started), sets_completed=n_done,
                load=load if load is not None else lifted.get(idx),
            )
        return out

    def recent(self, limit: int | None = 10) -> list[SessionRecord]:
        """The latest ``limit`` sessions (None: all), newest first, each with its sets in
        order, its ratings and the values its exercises used."""
        rows = self._read(
            "SELECT id, program, program_path, started_at, ended_at, status, position_ms, "
            "resumed_from, coached_ms, paused_ms FROM sessions ORDER BY id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        out = []
        for sid, program, path, started, ended, status, pos, resumed_from, coached, paused \
                in rows:
            sets = self._read(
                f"SELECT {_SET_COLS} FROM sets WHERE session_id=? ORDER BY id", (sid,)
            )
            ratings = self._read(
                f"SELECT {_RATING_COLS} FROM ratings WHERE session_id=? "
                "ORDER BY exercise_index, set_no, side, question", (sid,)
            )
            used = self._read(
                "SELECT session_id, exercise_index, exercise, reps, hold_ms, sets, load "
                "FROM session_exercises WHERE session_id=? ORDER BY exercise_index", (sid,)
            )
            out.append(
                SessionRecord(
                    sid, program, path, _dt_req(started), _dt(ended), status, pos,
                    [_set_record(r) for r in sets],
                    [_rating_record(r) for r in ratings],
                    [ExerciseUsed(*r) for r in used],
                    resumed_from, coached, paused,
                )
            )
        return out


_SET_COLS = (
    "id, session_id, exercise, exercise_index, set_no, sets, side, started_at, ended_at, "
    "status, start_ms, load, done, planned, unit, tempo, hold_ms, adapted"
)


def _amount(x: float | None) -> float | None:
    """A stored amount as read back: whole reps and seconds as ints (8, not 8.0)."""
    return int(x) if x is not None and float(x).is_integer() else x


def _set_record(row: tuple) -> SetRecord:
    (sid, session_id, exercise, idx, set_no, sets, side, started, ended, status, start_ms, load,
     done, planned, unit, tempo, hold_ms, adapted) = row
    return SetRecord(
        sid, session_id, exercise, idx, set_no, sets, side, _dt_req(started), _dt(ended), status,
        start_ms, load=load, done=_amount(done), planned=_amount(planned), unit=unit,
        tempo=tempo, hold=_amount(None if hold_ms is None else hold_ms / 1000), adapted=adapted)


_RATING_COLS = (
    "id, session_id, set_id, exercise, exercise_index, set_no, side, question, value, rated_at, "
    "given, heard, confidence"
)


def _rating_record(row: tuple) -> RatingRecord:
    (rid, session_id, set_id, exercise, idx, set_no, side, question, value, rated_at, given,
     heard, confidence) = row
    return RatingRecord(rid, session_id, set_id, exercise, idx, set_no, side, question, value,
                        _dt_req(rated_at),
                        RatedBy(given, heard, confidence) if given is not None else None)
