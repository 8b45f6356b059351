"""How long a session may last: a cheap lower bound of its length and the 6-hour limit."""

from __future__ import annotations

from coach.core.errors import CoachError
from coach.core.program.model import Exercise, Program

# The whole session, not only each value: every value in range still allowed 30 exercises x
# 20 sets x 200 reps at tempo 9999, a 1211-hour session whose timeline took 20 s and 2.5 GB to
# build. The longest real session is ~2 h; 6 h is generous.
MAX_SESSION_MS = 6 * 3600 * 1000


def work_ms(ex: Exercise) -> int:
    """One side of one set of ``ex``: its reps, hold or poses, as the timeline lays them out."""
    if ex.kind == "tempo":
        assert ex.reps is not None and ex.tempo is not None
        return ex.reps * sum(ex.tempo.phases_ms)  # an X phase is EXPLOSIVE_MS already
    if ex.kind == "cadence":
        assert ex.reps is not None and ex.cadence_ms is not None
        return ex.reps * ex.cadence_ms
    if ex.kind == "hold":
        assert ex.hold_ms is not None
        return ex.hold_ms
    return sum(p.hold_ms for p in ex.poses)


def session_lower_bound_ms(exercises: tuple[Exercise, ...] | list[Exercise]) -> int:
    """A lower bound of the session's length, from the exercises' parameters alone (cheap:
    no events are built). Each set is its announce (when given; an estimated one counts 0),
    lead-in, the work on each side, a switch between sides, and its rest; the last set of the
    session has no rest. The timeline adds only what this leaves out (estimated announcements,
    the gap after an end word, "session complete"), so this is never above its duration."""
    total = 0
    for ex in exercises:
        sides = len(ex.sides)
        per_set = ((ex.announce_ms or 0) + ex.lead_in_ms + sides * work_ms(ex)
                   + (sides - 1) * ex.switch_ms + ex.rest_ms)
        total += ex.sets * per_set
    if exercises:
        total -= exercises[-1].rest_ms
    return total


def _hms(ms: int) -> str:
    s = -(-ms // 1000)  # whole seconds up: the timeline's duration is whole seconds, >= ms
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def session_too_long_message(ms: int, exact: bool = False) -> str:
    """The one message for a session over MAX_SESSION_MS (from the bound, or ``exact``)."""
    return (f"the session would last {'' if exact else 'at least '}{_hms(ms)}; the maximum is "
            f"{_hms(MAX_SESSION_MS)} (fewer sets, reps or shorter holds)")


def check_session_length(program: Program, duration_ms: int | None = None) -> None:
    """CoachError at the `exercises` key when the session is over MAX_SESSION_MS: its lower
    bound, or its exact ``duration_ms`` once compiled (so the two checks never disagree)."""
    ms = session_lower_bound_ms(program.exercises) if duration_ms is None else duration_ms
    if ms > MAX_SESSION_MS:
        raise CoachError.at(program.path, *program.exercises_at,
                            session_too_long_message(ms, exact=duration_ms is not None))
