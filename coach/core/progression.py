"""Progression: today's reps, hold or sets from the last session of a program (pure).

The daemon reads the last session of the program from its history and hands it in as
``PastExercise`` values keyed by exercise index; ``apply_progress`` returns the program to
play today and, for every rule, what it did and why (``describe_progress`` says it for
`coach plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from coach.core.program import Exercise, Program, ProgressRule, ProgressTarget

_FIELD: Mapping[ProgressTarget, str] = {"reps": "reps", "hold": "hold_ms", "sets": "sets"}


@dataclass(frozen=True)
class PastExercise:
    """What the last session of this program used for one exercise, and how it went."""

    sets: int
    completed: bool  # every set of the exercise completed, in a session that completed
    reps: int | None = None
    hold_ms: int | None = None
    feel: float | None = None  # mean ratings over its sets (None: not rated)
    effort: float | None = None
    # Its sets completed (skipped and partial ones never count) and how the session ended:
    # what `coach plan` says when it did not progress (None: not known).
    sets_completed: int | None = None
    session_status: str | None = None


@dataclass(frozen=True)
class Progressed:
    """One rule's outcome: ``new`` > ``old`` when it went up, ``new`` == ``old`` when not."""

    exercise_index: int
    exercise: str
    target: ProgressTarget
    old: int  # the last session's value (the program's when there is none); ms for hold
    new: int  # today's value
    reason: str  # "all sets completed", "feel 4.3 >= 4", "feel 3.2 < 4", "no previous session"


def _value(ex: Exercise | PastExercise, target: ProgressTarget) -> int | None:
    value = getattr(ex, _FIELD[target])
    return value if isinstance(value, int) else None


def _rating(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _condition(rule: ProgressRule, past: PastExercise) -> tuple[bool, str]:
    """Whether ``rule``'s condition held in ``past``, and why (said to the user)."""
    if not past.completed:
        return False, _not_completed(past)
    when = rule.when
    if when.kind == "completed":
        return True, "all sets completed"
    assert when.threshold is not None
    mean = past.feel if when.kind == "feel" else past.effort
    if mean is None:
        return False, f"no {when.kind} rating"
    if when.kind == "feel":
        ok = mean >= when.threshold
        return ok, f"feel {_rating(mean)} {'>=' if ok else '<'} {when.threshold}"
    ok = mean <= when.threshold
    return ok, f"effort {_rating(mean)} {'<=' if ok else '>'} {when.threshold}"


def _not_completed(past: PastExercise) -> str:
    """Why the last session does not count: "2 of 3 sets completed; skipped and partial sets
    do not count", "last session stopped"."""
    if past.sets_completed is not None and past.sets_completed < past.sets:
        return (f"{past.sets_completed} of {past.sets} sets completed; skipped and partial "
                "sets do not count")
    if past.session_status == "partial":
        return "last session had skipped or partial sets"
    if past.session_status in ("stopped", "interrupted"):
        return f"last session {past.session_status}"
    return "last session not completed"


def progress_rule(ex: Exercise, rule: ProgressRule, past: PastExercise | None
                  ) -> tuple[int, int, str]:
    """(old, new, reason) for one rule: the last session's value plus the step when its
    condition held, capped at ``rule.max``; else the last session's value. Never below the
    program's own value (nor above max); with no history, the program's value."""
    own = _value(ex, rule.target)
    assert own is not None, f"{ex.name} has no {rule.target}"  # the loader checked the kind
    last = _value(past, rule.target) if past is not None else None
    if past is None or last is None:
        return own, own, "no previous session"
    ok, why = _condition(rule, past)
    new = last + rule.step if ok else last
    top = _shown(rule.target, rule.max)
    if new > rule.max:
        # At the top already, or the step (or a max lowered since) goes past it.
        why = f"at max {top}" if ok and last == rule.max else f"{why}; capped at max {top}"
        new = rule.max
    if own > new:
        why = f"{why}; the program says {_shown(rule.target, own)}"
        new = own
    return last, new, why


def apply_progress(program: Program, history: Mapping[int, PastExercise]
                   ) -> tuple[Program, list[Progressed]]:
    """Today's program from the last session's (``history``, by exercise index) and one
    ``Progressed`` per rule, also for rules that did not progress (with the reason). An
    exercise whose value differs from its last session's says so in its first announcement
    (``Exercise.up_from``)."""
    exercises: list[Exercise] = []
    report: list[Progressed] = []
    for i, ex in enumerate(program.exercises):
        changes: dict[str, object] = {}
        up_from: list[tuple[ProgressTarget, int]] = []
        for rule in ex.progress:
            old, new, why = progress_rule(ex, rule, history.get(i))
            report.append(Progressed(i, ex.name, rule.target, old, new, why))
            changes[_FIELD[rule.target]] = new
            if new > old:
                up_from.append((rule.target, old))
        if changes:
            changes["up_from"] = tuple(up_from)
            ex = replace(ex, **changes)  # type: ignore[arg-type]
        exercises.append(ex)
    return replace(program, exercises=tuple(exercises)), report


def _shown(target: ProgressTarget, value: int) -> str:
    if target == "hold":
        return f"{value / 1000:g} s"
    return str(value)


def describe_progress(progressed: list[Progressed]) -> list[str]:
    """One line per rule for `coach plan`: "Lat pulldown: reps 8 → 9 (all sets completed)",
    "Wall sit: hold 45 s stays (feel 3.2 < 4)"."""
    out = []
    for p in progressed:
        if p.new != p.old:
            change = f"{_shown(p.target, p.old)} → {_shown(p.target, p.new)}"
        else:
            change = f"{_shown(p.target, p.new)} stays"
        out.append(f"{p.exercise}: {p.target} {change} ({p.reason})")
    return out
