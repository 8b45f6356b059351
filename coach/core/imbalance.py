"""The imbalance between sides (pure): per unilateral exercise, each side's mean rating over
the last sessions that rated it, and the side that lagged (`coach history --imbalance`, and the
daemon, which starts a lagging side first: coach/core/remedy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coach.core.records import SessionRecord
from coach.core.types import SIDES, Side

LAG_POINTS = 1.0  # a side's session mean this far behind the other's...
LAG_SESSIONS = 3  # ...in at least this many of the sessions counted: that side is lagging
DEFAULT_IMBALANCE_SESSIONS = 5


@dataclass(frozen=True)
class Imbalance:
    """One unilateral exercise over the last sessions that rated its sides.

    ``left``/``right``: the mean of every rating of that side (all sets of those sessions),
    None when that side was never rated. ``lagging``: the side whose session mean was at least
    ``LAG_POINTS`` worse than the other's in at least ``LAG_SESSIONS`` of them; worse is lower
    for "feel" (how well the muscle worked) and higher for "effort" (the side that had to work
    harder for the same set is the weaker one)."""

    exercise: str
    sessions: int
    left: float | None
    right: float | None
    lagging: Side | None
    question: str = "feel"
    lagged: int = 0  # in how many of those sessions the lagging side was behind

    def to_json(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "sessions": self.sessions,
                "left": None if self.left is None else round(self.left, 2),
                "right": None if self.right is None else round(self.right, 2),
                "lagging": self.lagging}


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def imbalance(sessions: list[SessionRecord], question: str = "feel",
              last: int = DEFAULT_IMBALANCE_SESSIONS) -> list[Imbalance]:
    """Per unilateral exercise (one with left/right ratings of ``question``), by name, over the
    newest ``last`` sessions that rated a side of it. ``sessions`` newest first."""
    if last < 1:
        raise ValueError("last must be at least 1")
    # exercise -> [(left values, right values) per session, newest first]
    per: dict[str, list[tuple[list[int], list[int]]]] = {}
    for s in sessions:
        by_ex: dict[str, tuple[list[int], list[int]]] = {}
        for r in s.ratings:
            if r.question == question and r.side in SIDES:
                left, right = by_ex.setdefault(r.exercise, ([], []))
                (left if r.side == "left" else right).append(r.value)
        for name, lr in by_ex.items():
            if len(per.setdefault(name, [])) < last:
                per[name].append(lr)
    out = []
    for name in sorted(per):
        rows = per[name]
        lag: dict[Side, int] = {"left": 0, "right": 0}
        for left, right in rows:
            lm, rm = _mean(left), _mean(right)
            if lm is None or rm is None:
                continue
            # Orient so that a bigger number is better: effort is better when lower.
            lg, rg = (lm, rm) if question != "effort" else (-lm, -rm)
            if lg <= rg - LAG_POINTS:
                lag["left"] += 1
            elif rg <= lg - LAG_POINTS:
                lag["right"] += 1
        lagging: Side | None = next((side for side in SIDES if lag[side] >= LAG_SESSIONS), None)
        out.append(Imbalance(
            exercise=name, sessions=len(rows),
            left=_mean([v for lr in rows for v in lr[0]]),
            right=_mean([v for lr in rows for v in lr[1]]),
            lagging=lagging, question=question, lagged=lag[lagging] if lagging else 0,
        ))
    return out
