"""Progression: today's reps, hold, sets and load from the last session of a program (pure).

The daemon reads the last session of the program from its history and hands it in as
``PastExercise`` values keyed by exercise index; ``apply_progress`` returns the program to
play today and, for every rule, what it did and why (``describe_progress`` says it for
`coach plan`). A rule with `then:` is double progression: the target rises to its max, then
the load goes up and the target returns to its floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from coach.core.program import Exercise, Load, Program, ProgressRule, ProgressTarget, Raised

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
    load: Load | None = None  # the load it used (None: none recorded)
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
    # A rule with `then:`: the last session's load and today's (None for other rules).
    load_old: Load | None = None
    load_new: Load | None = None

    def to_json(self) -> dict[str, Any]:
        """One entry of `coach plan --json`'s ``progress``; a `then:` rule adds ``load``."""
        out: dict[str, Any] = {"exercise": self.exercise, "exercise_index": self.exercise_index,
                               "target": self.target, "old": self.old, "new": self.new,
                               "reason": self.reason}
        if self.load_old is not None and self.load_new is not None:
            out["load"] = {"old": str(self.load_old), "new": str(self.load_new)}
        return out


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


def double_progress(ex: Exercise, rule: ProgressRule, past: PastExercise | None
                    ) -> tuple[int, int, str, Load, Load]:
    """(old, new, reason, old load, new load) for a rule with `then:`. Below max it is
    ``progress_rule`` at the last session's load; after a session that met the condition
    with the target already at max, the load goes up by the step and the target returns to
    the floor (the exercise's own value unless `then` gives one). The load steps from the
    last session's (in the same unit), never below the program's own."""
    then, own_load = rule.then, ex.load
    assert then is not None and own_load is not None and own_load.unit == then.unit
    old, new, why = progress_rule(ex, rule, past)
    last_load = past.load if past is not None else None
    if last_load is None or last_load.unit != own_load.unit:
        last_load = own_load  # none recorded, or the unit changed since: the program's
    if own_load.amount > last_load.amount:
        return old, new, f"{why}; the program says {own_load}", last_load, own_load
    last = _value(past, rule.target) if past is not None else None
    if past is None or last is None or last < rule.max:
        return old, new, why, last_load, last_load
    ok, held = _condition(rule, past)
    if not ok:
        return old, new, why, last_load, last_load
    floor = then.floor if then.floor is not None else _value(ex, rule.target)
    assert floor is not None
    reached = f"{rule.target} reached {_shown(rule.target, rule.max)}"
    if rule.when.kind != "completed":
        reached = f"{reached}, {held}"
    return old, floor, reached, last_load, replace(last_load, amount=last_load.amount + then.load)


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
        up_from: list[tuple[Raised, int]] = []
        for rule in ex.progress:
            if rule.then is not None and ex.load is not None and ex.load.unit == rule.then.unit:
                old, new, why, load_old, load_new = double_progress(ex, rule, history.get(i))
                report.append(Progressed(i, ex.name, rule.target, old, new, why,
                                         load_old, load_new))
                changes["load"] = load_new
                if load_new.amount > load_old.amount:
                    up_from.append(("load", load_old.amount))
            else:
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
    "Wall sit: hold 45 s stays (feel 3.2 < 4)"; a `then:` rule says its load: "Goblet squat:
    reps 9 → 10 at 24kg (all sets completed)", "Goblet squat: load 24kg → 26.5kg, reps 12 → 8
    (reps reached 12)"."""
    out = []
    for p in progressed:
        if p.new != p.old:
            change = f"{_shown(p.target, p.old)} → {_shown(p.target, p.new)}"
        else:
            change = f"{_shown(p.target, p.new)} stays"
        if p.load_old is not None and p.load_new is not None and p.load_new != p.load_old:
            change = f"load {p.load_old} → {p.load_new}, {p.target} {change}"
        elif p.load_new is not None:
            change = f"{p.target} {change} at {p.load_new}"
        else:
            change = f"{p.target} {change}"
        out.append(f"{p.exercise}: {change} ({p.reason})")
    return out
