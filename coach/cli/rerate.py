"""`coach rerate`: a rating of a finished session changed or taken back by hand. The mic now
and then takes a word for a number ("that was hard" as "it was a four"; `coach history` says
what it heard), a tap can be one too many, and `coach rate` reaches only the set just done."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime

from coach.core.errors import CoachError, Diagnostic
from coach.core.records import SENT, RatingRecord, SessionRecord
from coach.core.types import QUESTIONS, RATINGS, Question, Side
from coach.store.history import History


def _error(message: str) -> CoachError:
    return CoachError(Diagnostic("coach rerate", 0, 0, message))


@dataclass(frozen=True)
class RerateTarget:
    """The set (side) a correction goes to, in one session."""

    exercise: str
    exercise_index: int
    set_no: int
    side: Side | None
    set_id: int


def rating_value(text: str) -> int | None:
    """The VALUE argument: 1-5, or none (take the rating back)."""
    if text.strip().lower() == "none":
        return None
    if text.strip() in {str(v) for v in RATINGS}:
        return int(text)
    raise _error(f"VALUE must be {RATINGS[0]}-{RATINGS[-1]} or none, got {text!r}")


def pick_session(sessions: list[SessionRecord], session_id: int | None) -> SessionRecord:
    """The session asked for (``sessions`` newest first), else the newest one that is over."""
    if session_id is not None:
        asked = [s for s in sessions if s.id == session_id]
        if not asked:
            raise _error(f"no session {session_id} in the history (`coach history` shows each "
                         "one's #N)")
    else:  # the newest that is over; the running one only to say so when it is the only one
        asked = [s for s in sessions if s.status != "running"][:1] or sessions[:1]
        if not asked:
            raise _error("no session in the history yet")
    s = asked[0]
    if s.status == "running":
        raise _error(f"session {s.id} ({s.program}) is still running: `coach rate N` rates the "
                     "set just done")
    return s


def find_set(session: SessionRecord, exercise: str, set_no: int,
             side: Side | None) -> RerateTarget:
    """The set ``set_no`` of ``exercise`` (its name, any case; a unique start of it will do)
    in ``session``, and the side for a unilateral one (which needs it)."""
    names = list(dict.fromkeys(r.exercise for r in session.sets))
    want = exercise.strip().casefold()
    found = [n for n in names if n.casefold() == want] or \
        [n for n in names if n.casefold().startswith(want)]
    where = f"session {session.id} ({_named(session)})"
    if len(found) != 1:
        which = "is in no set of" if not found else f"could be {', '.join(found)} in"
        raise _error(f"{exercise!r} {which} {where}; its exercises: {', '.join(names)}")
    name = found[0]
    rows = [r for r in session.sets if r.exercise == name]
    if len({r.exercise_index for r in rows}) > 1:
        raise _error(f"{name} is in {where} more than once; `coach rerate` cannot tell those "
                     "apart")
    rows_of_set = [r for r in rows if r.set_no == set_no]
    if not rows_of_set:
        done = sorted({r.set_no for r in rows})
        raise _error(f"{name} has no set {set_no} in {where} (its sets there: "
                     f"{', '.join(map(str, done))})")
    per_side = any(r.side in ("left", "right", "both") for r in rows_of_set)
    if per_side and side is None:
        raise _error(f"{name} is done per side: give --side left or --side right")
    if not per_side and side is not None:
        raise _error(f"{name} is not done per side: leave --side out")
    row = next((r for r in rows_of_set if r.side == side), None) or next(
        (r for r in rows_of_set if r.side == "both"), None)
    if row is None:
        raise _error(f"{name} set {set_no} has no {side} side in {where}")
    return RerateTarget(name, row.exercise_index, set_no, side, row.id)


def _named(s: SessionRecord) -> str:
    """"Legs, 2026-12-01 08:00": its program and start, in local time as `coach history` says."""
    return f"{s.program}, {s.started_at.astimezone():%Y-%m-%d %H:%M}"


def _rating_of(session: SessionRecord, t: RerateTarget, question: Question) -> RatingRecord | None:
    return next((r for r in session.ratings if (r.exercise_index, r.set_no, r.side, r.question)
                 == (t.exercise_index, t.set_no, t.side, question)), None)


def _said(r: RatingRecord | None) -> str:
    if r is None:
        return "unrated"
    return f"{r.value}" + (f" (heard {r.by.heard!r})" if r.by and r.by.heard else "")


def cmd_rerate(args: argparse.Namespace) -> int:
    value = rating_value(args.value)
    if args.set < 1:
        raise _error(f"SET must be at least 1, got {args.set}")
    with History() as h:
        if not h.enabled:
            raise _error(f"the history cannot be written: {h.disabled_reason}")
        session = pick_session(h.recent(None), args.session)
        t = find_set(session, args.exercise, args.set, args.side)
        rated = {r.question for r in session.ratings
                 if (r.exercise_index, r.set_no, r.side) == (t.exercise_index, t.set_no, t.side)}
        # the question it was asked (one rated), else feel, as `coach rate` does
        question: Question = args.question or (next(iter(rated)) if len(rated) == 1
                                               else QUESTIONS[0])
        was = _rating_of(session, t, question)
        ok = (h.unrate(session.id, t.exercise_index, t.set_no, t.side, question)
              if value is None else
              h.rate(session.id, t.set_id, t.exercise, t.exercise_index, t.set_no, t.side,
                     question, value, datetime.now(UTC), SENT) > 0)
        if not ok:
            raise _error(f"not saved: the history cannot be written: {h.disabled_reason}")
    side = f" ({t.side})" if t.side else ""
    print(f"{t.exercise} set {t.set_no}{side} {question}: {_said(was)} -> "
          f"{'unrated' if value is None else value}  (session {session.id}, "
          f"{_named(session)})")
    return 0
