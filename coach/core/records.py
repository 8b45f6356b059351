"""What the history store gives back, as plain data: a session, its sets, the lifter's ratings,
the values each exercise used, a program's last finished session summed up per exercise, and a
session a crash left running. No I/O: the store (coach/store/history.py) builds them from its
rows; reports and progression read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coach.core.types import SIDES, Echo, Measure, Question, RatedHow, SessionStatus, SetStatus, Side


@dataclass(frozen=True)
class SetRecord:
    id: int
    session_id: int
    exercise: str
    exercise_index: int  # 0-based, as in the timeline
    set_no: int  # 1-based
    sets: int
    side: str | None  # "both" (one row for both sides of a unilateral set), "left", "right", None
    started_at: datetime
    ended_at: datetime | None
    status: SetStatus
    start_ms: int  # the set's start in the session timeline (ms)
    load: str | None = None  # as the program said it, normalised: "24kg", "bodyweight"
    # How much of the work was done (reps, seconds of a hold, poses: ``unit``) beside what was
    # planned; None for a set logged before schema 5 or still running.
    done: float | None = None
    planned: float | None = None
    unit: Measure | None = None
    # What the set actually played (schema 6): its tempo code ("4012") or hold (seconds; a
    # remedy's closing hold on a tempo set), and why a remedy changed it ("feel 2 on set 1").
    tempo: str | None = None
    hold: float | None = None
    adapted: str | None = None


@dataclass(frozen=True)
class RatingRecord:
    """The lifter's answer to one question about one set (one side of a unilateral set)."""

    id: int
    session_id: int
    set_id: int | None  # the sets row rated (None: not known, e.g. rated between rows)
    exercise: str
    exercise_index: int
    set_no: int
    side: Side | None
    question: Question
    value: int  # RATING_MIN-RATING_MAX (1-5)
    rated_at: datetime
    by: RatedBy | None = None  # None: rated before schema 7 (not recorded)


@dataclass(frozen=True)
class RatedBy:
    """How a rating was given: ``how``, and for one said into the mic the words the
    recogniser heard ("it was a four") and its confidence (0-1)."""

    how: RatedHow
    heard: str | None = None
    confidence: float | None = None

    @property
    def echo(self) -> Echo | None:
        """How it is read back: taps name the set first, a heard answer the number first; a
        rating sent on the socket is not read back."""
        if self.how == "taps":
            return "tap"
        return "heard" if self.how == "voice" else None


TAPPED, SENT = RatedBy("taps"), RatedBy("sent")


@dataclass(frozen=True)
class ExerciseUsed:
    """The values an exercise actually used in a session (after any progression)."""

    session_id: int
    exercise_index: int
    exercise: str
    reps: int | None
    hold_ms: int | None
    sets: int
    load: str | None = None  # "24kg", "bodyweight"; None: none given (or before schema 4)


@dataclass(frozen=True)
class SessionRecord:
    id: int
    program: str
    program_path: str
    started_at: datetime
    ended_at: datetime | None
    status: SessionStatus
    position_ms: int
    sets: list[SetRecord] = field(default_factory=list)
    ratings: list[RatingRecord] = field(default_factory=list)  # in set order
    used: list[ExerciseUsed] = field(default_factory=list)  # by exercise_index
    resumed_from: int | None = None
    coached_ms: int | None = None  # time actually coached, pauses excluded (None: before schema 5)
    paused_ms: int | None = None


def completed_sets(rows: list[SetRecord]) -> set[tuple[int, int]]:
    """The (exercise_index, set_no) of every set completed in ``rows``. A set logged per side
    (unilateral sets, from schema 5) needs a completed row for the left and for the right; one
    row for both sides (side "both", before schema 5) or a two-sided set's row needs to be
    completed. A set done twice (``back``) counts when either attempt completed it."""
    per: dict[tuple[int, int], dict[str, bool]] = {}
    for r in rows:
        sides = per.setdefault((r.exercise_index, r.set_no), {})
        names = SIDES if r.side == "both" else (r.side,) if r.side in SIDES else ("whole",)
        for n in names:
            sides[n] = sides.get(n, False) or r.status == "completed"
    out = set()
    for key, sides in per.items():
        if sides.keys() & set(SIDES):
            sides = {n: sides.get(n, False) for n in SIDES}  # a side never reached: not done
        if all(sides.values()):
            out.add(key)
    return out


@dataclass(frozen=True)
class ExerciseSummary:
    """One exercise of a program's last finished session: what progression decides from.

    ``reps``/``hold_ms``/``sets`` are the values used (None when that session predates
    schema 3 and did not record them; ``sets`` then falls back to the sets rows; ``load`` the
    load used, "24kg", None when none or before schema 4). ``completed``
    is true when every one of its sets was completed and the session itself completed;
    ``sets_completed`` counts its completed sets (skipped and partial ones never count).
    ``feel``/``effort`` are the means of every rating of the exercise (both sides, all sets),
    None when unrated."""

    exercise_index: int
    exercise: str
    reps: int | None
    hold_ms: int | None
    sets: int | None
    completed: bool
    feel: float | None
    effort: float | None
    session_id: int
    session_status: SessionStatus
    started_at: datetime
    load: str | None = None
    sets_completed: int | None = None


@dataclass(frozen=True)
class InterruptedSession:
    """A session a crash left "running". ``set`` is its last running set, or None when the crash
    came between sets (then resume from ``position_ms``)."""

    session_id: int
    program: str
    program_path: str
    started_at: datetime
    position_ms: int
    set: SetRecord | None
    updated_at: datetime | None = None  # the last position written (None: before schema 2)
    resumed_from: int | None = None  # this session itself resumed that interrupted one
    sets_completed: int = 0

    @property
    def exercise_index(self) -> int | None:
        return self.set.exercise_index if self.set else None

    @property
    def set_no(self) -> int | None:
        return self.set.set_no if self.set else None

    @property
    def start_ms(self) -> int | None:
        return self.set.start_ms if self.set else None
