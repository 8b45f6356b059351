"""Pure views of history records: the sets of a session with their ratings per side (the
`coach history --json` contract), the imbalance line, and the numbers the history
picture plots. No I/O: they take ``SessionRecord``s (newest first, as ``History.recent`` gives)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from coach.core.imbalance import Imbalance
from coach.core.program import Program
from coach.core.records import RatingRecord, SessionRecord, SetRecord, completed_sets
from coach.core.types import QUESTIONS, SIDES


def _iso(o: Any) -> Any:
    return o.isoformat() if isinstance(o, datetime) else o


def _ratings_of(row: SetRecord, ratings: list[RatingRecord]) -> list[RatingRecord]:
    """The ratings of a sets row: those naming it, and those naming no row but its set."""
    return [r for r in ratings
            if r.set_id == row.id or (r.set_id is None and (r.exercise_index, r.set_no)
                                      == (row.exercise_index, row.set_no))]


def set_entries(session: SessionRecord) -> list[dict[str, Any]]:
    """The session's sets as `coach history --json` lists them (contract): each with
    ``exercise``, ``set``, ``side``, ``status`` and ``ratings`` (question → value, {} when
    unrated), ``given`` (question → how: taps, voice or sent; none before schema 7) and
    ``heard`` (question → the words the mic heard and their confidence, for one said), plus
    the sets row's own keys (``set_no``, ``started_at``...). One sets row covers
    both sides of a unilateral set (side "both"): it is listed twice, left then right, each with
    that side's ratings and the row's status. A rating with no side on such a row (the set as a
    whole) shows on both."""
    out: list[dict[str, Any]] = []
    for row in session.sets:
        base = {k: _iso(v) for k, v in asdict(row).items()}
        base["set"] = row.set_no
        mine = _ratings_of(row, session.ratings)
        sides: tuple[str | None, ...] = SIDES if row.side == "both" else (row.side,)
        for side in sides:
            entry = dict(base, side=side)
            rated = [r for r in mine if r.side == side or r.side is None]
            entry["ratings"] = {r.question: r.value for r in rated}
            entry["given"] = {r.question: r.by.how for r in rated if r.by is not None}
            entry["heard"] = {r.question: {"words": r.by.heard, "confidence": r.by.confidence}
                              for r in rated if r.by is not None and r.by.heard is not None}
            out.append(entry)
    return out


def sets_count(session: SessionRecord) -> tuple[int, int]:
    """(completed, planned) sets of a session: "N/M sets". A set is completed when its work
    (both sides of a unilateral one) was played in full; M is the program's number of sets as
    the session used it (before schema 3: the sets it reached)."""
    done = len(completed_sets(session.sets))
    planned = sum(u.sets for u in session.used) or len(
        {(r.exercise_index, r.set_no) for r in session.sets})
    return done, planned


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else round(ms / 1000, 1)


def session_json(session: SessionRecord) -> dict[str, Any]:
    """One session of `coach history --json`: its row's keys, ``coached_s`` (time actually
    coached, pauses excluded) and ``paused_s`` (null for a session logged before schema 5),
    ``sets_completed`` and ``sets_planned``, ``sets`` (see set_entries) and ``used`` (the
    values each exercise used, when recorded)."""
    out = {k: _iso(getattr(session, k)) for k in
           ("id", "program", "program_path", "started_at", "ended_at", "status", "position_ms",
            "resumed_from")}
    out["coached_s"] = _seconds(session.coached_ms)
    out["paused_s"] = _seconds(session.paused_ms)
    out["sets_completed"], out["sets_planned"] = sets_count(session)
    out["sets"] = set_entries(session)
    out["used"] = [asdict(u) for u in session.used]
    return out


def outcome_text(row: SetRecord) -> str:
    """"completed", "skipped", "partial 5/8 reps", "partial 23.4/45 s"."""
    if row.status != "partial" or row.done is None or row.planned is None:
        return row.status
    return f"partial {row.done:g}/{row.planned:g} {row.unit or ''}".rstrip()


def ratings_text(entries: list[dict[str, Any]]) -> str:
    """"left feel 4 · right feel 2" for a unilateral row's entries, "feel 4 effort 2" for a
    bilateral one, "feel 4 (heard 'it was a four')" for one said into the mic; "" when
    unrated."""
    parts = []
    for e in entries:
        if e["ratings"]:
            values = " ".join(f"{q} {e['ratings'][q]}" + (
                f" (heard {e['heard'][q]['words']!r})" if q in e.get("heard", {}) else "")
                for q in QUESTIONS if q in e["ratings"])
            parts.append(f"{e['side']} {values}" if e["side"] else values)
    return " · ".join(parts)


def one_line(text: str) -> str:
    """A lifter's notes (perhaps written over several lines) as one line of a table."""
    return " ".join(text.split())


def program_notes(program: Program) -> list[str]:
    """`coach plan`'s notes lines: "notes: Bring chalk", "notes: Goblet squat: heels up"."""
    lines = [f"notes: {one_line(program.notes)}"] if program.notes else []
    return lines + [f"notes: {ex.name}: {one_line(ex.notes)}"
                    for ex in program.exercises if ex.notes]


def session_lines(session: SessionRecord, program: Program | None = None) -> list[str]:
    """The set lines of plain `coach history`, e.g.
    "Bulgarian split squat set 1 of 2: completed  left feel 4 · right feel 2" (one row for
    both sides, before schema 5), "Split squat set 1 of 2 (right): partial 5/8 reps  feel 2",
    "Goblet squat set 1 of 3, 24kg: completed", "Row set 2 of 3, tempo 4012 (feel 2 on set 1):
    completed" (a set a remedy changed). With the session's ``program`` (as its file
    says now: notes are not logged), its notes first and each exercise's under its first set."""
    entries = set_entries(session)
    lines = [f"notes: {one_line(program.notes)}"] if program is not None and program.notes else []
    noted: set[int] = set()
    for row in session.sets:
        mine = [e for e in entries if e["id"] == row.id]
        side = f" ({row.side})" if row.side and row.side != "both" else ""
        load = f", {row.load}" if row.load else ""
        if row.adapted:  # "Row set 2 of 3, tempo 4012 (feel 2 on set 1): completed"
            if row.tempo:
                load += f", tempo {row.tempo}"
            if row.hold:
                load += f", hold {row.hold:g} s"
            load += f" ({row.adapted})"
        text = ratings_text(mine)
        lines.append(f"{row.exercise} set {row.set_no} of {row.sets}{side}{load}: "
                     f"{outcome_text(row)}" + (f"  {text}" if text else ""))
        ex = (program.exercises[row.exercise_index] if program is not None
              and row.exercise_index < len(program.exercises) else None)
        if ex is not None and ex.name == row.exercise and ex.notes and \
                row.exercise_index not in noted:
            noted.add(row.exercise_index)
            lines.append(f"  notes: {one_line(ex.notes)}")
    return lines


# --- imbalance (the rule: coach/core/imbalance.py) ---------------------------------------

def imbalance_line(x: Imbalance) -> str:
    """"Bulgarian split squat: left 4.3, right 2.7 over 3 sessions — right side lagging"."""
    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"
    n = f"{x.sessions} session" + ("" if x.sessions == 1 else "s")
    tail = f" — {x.lagging} side lagging" if x.lagging else ""
    return f"{x.exercise}: left {num(x.left)}, right {num(x.right)} over {n}{tail}"


# --- what the history picture plots -------------------------------------------------------

LB_KG = 0.45359237  # one pound in kilograms (exact, by definition)
# A load as a program writes it: "24kg", "24.5 kg", "50lb" (also "lbs"); "bodyweight" and
# anything else has no number to plot.
_LOAD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|lbs?)\s*$", re.IGNORECASE)


def load_value(text: str | None) -> tuple[float, str] | None:
    """The number and unit ("kg" or "lb") of a load as written, or None for "bodyweight",
    nothing, or text without a weight in it."""
    m = _LOAD.match(text or "")
    if m is None:
        return None
    unit = m.group(2).lower()
    return float(m.group(1)), "kg" if unit == "kg" else "lb"


@dataclass
class Panel:
    """One exercise of one program: per series ("left", "right" or "both", and the question)
    the mean rating of each session that rated it, and per session the reps / hold (seconds)
    it used and its heaviest load (in ``load_unit``, the unit of its newest load)."""

    program: str
    exercise: str
    unilateral: bool
    ratings: dict[tuple[str, str], list[tuple[datetime, float]]] = field(default_factory=dict)
    reps: list[tuple[datetime, int]] = field(default_factory=list)
    hold_s: list[tuple[datetime, float]] = field(default_factory=list)
    load: list[tuple[datetime, float]] = field(default_factory=list)
    load_unit: str | None = None

    def dates(self) -> list[datetime]:
        """Every date this panel draws a point at."""
        dates = {t for points in self.ratings.values() for t, _ in points}
        dates.update(t for t, _ in self.reps)
        dates.update(t for t, _ in self.hold_s)
        dates.update(t for t, _ in self.load)
        return sorted(dates)


def _kg(v: tuple[float, str]) -> float:
    return v[0] * LB_KG if v[1] == "lb" else v[0]


def _session_loads(s: SessionRecord) -> dict[int, tuple[float, str]]:
    """Per exercise_index, the heaviest load the session's sets of it carried (the top set,
    as a lifter logs it), else the load the exercise used. Read as an optional ``load``
    attribute (the load as written, e.g. "24kg"): the history records gain it with the
    ``load`` program key, and a history from before has none."""
    out: dict[int, tuple[float, str]] = {}
    for row in s.sets:
        v = load_value(getattr(row, "load", None))
        if v is not None:
            best = out.get(row.exercise_index)
            if best is None or _kg(v) > _kg(best):
                out[row.exercise_index] = v
    for u in s.used:
        v = load_value(getattr(u, "load", None))
        if v is not None:
            out.setdefault(u.exercise_index, v)
    return out


class _Panels:
    """The panels being gathered, by (program, exercise), in the order they were made."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Panel] = {}

    def get(self, program: str, exercise: str) -> Panel:
        key = (program, exercise)
        if key not in self.by_key:
            self.by_key[key] = Panel(program, exercise, unilateral=False)
        return self.by_key[key]

    def drawn(self) -> list[Panel]:
        """The panels with something to draw, each program's together (programs in the order
        they were first done), each in the order its exercises first appeared."""
        rank: dict[str, int] = {}
        for program, _ in self.by_key:
            rank.setdefault(program, len(rank))
        order = sorted(enumerate(self.by_key.values()), key=lambda ip: (rank[ip[1].program], ip[0]))
        return [p for _, p in order if p.dates()]


def plot_data(sessions: list[SessionRecord]) -> list[Panel]:
    """The panels of the history picture, one per program and exercise (by name: the same
    exercise in two programs is two panels, since each program steps its own reps and load);
    each series in time order. Only what a session reached counts: an exercise with no sets
    row and no rating in a session (the session stopped before it, or while preparing) gives
    no point there, and a panel exists only where something was done.
    ``sessions`` newest first, as History.recent gives them."""
    panels = _Panels()
    loads: dict[tuple[str, str], list[tuple[datetime, float, str]]] = {}
    for s in reversed(sessions):
        when = s.started_at
        reached = {r.exercise_index for r in s.sets} | {r.exercise_index for r in s.ratings}
        for row in s.sets:
            p = panels.get(s.program, row.exercise)
            if row.side in ("both", "left", "right"):
                p.unilateral = True
        groups: dict[tuple[str, str, str], list[int]] = {}
        for r in s.ratings:
            side: str = r.side or "both"
            if r.side is not None:
                panels.get(s.program, r.exercise).unilateral = True
            groups.setdefault((r.exercise, side, r.question), []).append(r.value)
        for (name, side, question), values in sorted(groups.items()):
            panels.get(s.program, name).ratings.setdefault((side, question), []).append(
                (when, sum(values) / len(values)))
        names = {u.exercise_index: u.exercise for u in s.used}
        names.update({r.exercise_index: r.exercise for r in s.sets})
        for u in s.used:
            if u.exercise_index not in reached:
                continue
            if u.reps is not None:
                panels.get(s.program, u.exercise).reps.append((when, u.reps))
            if u.hold_ms is not None:
                panels.get(s.program, u.exercise).hold_s.append((when, u.hold_ms / 1000))
        for i, (value, unit) in sorted(_session_loads(s).items()):
            if i in reached:
                loads.setdefault((s.program, names[i]), []).append((when, value, unit))
    for (program, name), points in loads.items():
        p = panels.get(program, name)
        # One axis, one unit: the newest load's (a program switched to pounds reads in them).
        p.load_unit = unit = points[-1][2]
        p.load = [(t, v if u == unit else _kg((v, u)) / (LB_KG if unit == "lb" else 1.0))
                  for t, v, u in points]
    return panels.drawn()
