"""Parsers of the format's scalar strings: tempo, schedule, progress condition, phrase template."""

from __future__ import annotations

import re
import string

from coach.core.phrases import PLACEHOLDERS
from coach.core.program.model import Condition, Schedule, Tempo
from coach.core.types import RATING_RANGE
from coach.core.yamlnodes import did_you_mean, quote

EXPLOSIVE_MS = 1000  # an "X" in a tempo is a 1 s phase spoken "explode"

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_GROUPS = {"daily": tuple(range(7)), "weekdays": tuple(range(5)), "weekends": (5, 6)}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_tempo(text: str) -> Tempo:
    """'4040', '4-0-4-0', '31X0' (x in any case) -> Tempo. ValueError carries the message."""
    written = text.strip()
    code = written.replace("-", "").upper()
    if len(code) != 4 or any(c not in "0123456789X" for c in code):
        raise ValueError(f"tempo needs 4 symbols of 0-9 or X, got {quote(written)}")
    phases = tuple(EXPLOSIVE_MS if c == "X" else int(c) * 1000 for c in code)
    if not any(phases):
        raise ValueError(f"tempo {quote(written)} has no movement: at least one phase must be "
                         "longer than 0 s")
    return Tempo(code, phases, tuple(c == "X" for c in code))  # type: ignore[arg-type]


DAY_ABBREVIATIONS = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}


def _day(token: str) -> int:
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    if token in DAY_ABBREVIATIONS:
        return DAY_ABBREVIATIONS[token]
    if token in FULL_DAY_NAMES:
        return FULL_DAY_NAMES.index(token)
    choices = DAY_NAMES + tuple(DAY_GROUPS)
    raise ValueError(f"unknown day {quote(token)} in schedule; use daily, weekdays, weekends, "
                     f"mon..sun or a range like mon-fri{did_you_mean(token, choices)}")


def parse_schedule(text: str) -> Schedule:
    """'mon,wed,fri 07:00', 'daily 6:30', 'mon-fri 18:00' -> Schedule. ValueError carries the message."""
    written = text.strip()
    parts = written.rsplit(None, 1)
    if len(parts) != 2:
        raise ValueError(f'schedule must be "DAYS HH:MM" like "mon,wed,fri 07:00", '
                         f"got {quote(written)}")
    days_text, time_text = parts
    m = _TIME.match(time_text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"schedule time must be HH:MM between 00:00 and 23:59, "
                         f"got {quote(time_text)}")
    days: set[int] = set()
    for token in re.split(r"\s*,\s*", days_text.strip().lower()):
        if token in DAY_GROUPS:
            days.update(DAY_GROUPS[token])
        elif "-" in token:
            a, _, b = (s.strip() for s in token.partition("-"))
            start, end = _day(a), _day(b)
            # A range may wrap round the week end: fri-mon is fri, sat, sun, mon.
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_day(token))
    return Schedule(written, tuple(sorted(days)), int(m[1]), int(m[2]))


_WHEN = re.compile(r"^([A-Za-z_][\w-]*)\s*(?:([<>=!]+)\s*(.*))?$")
CONDITION_WORDS = ("completed", "feel", "effort")


def parse_condition(text: str) -> Condition:
    """'completed', 'feel >= 4', 'effort <= 3' -> Condition (strict: feel only with >=,
    effort only with <=, N a whole number 1-5). ValueError carries the message."""
    written = text.strip()
    shape = 'when must be completed, "feel >= N" or "effort <= N" (N 1-5)'
    m = _WHEN.match(written)
    if not m:
        raise ValueError(f"{shape}, got {quote(written)}")
    word, op, rest = m[1], m[2], (m[3] or "").strip()
    if word not in CONDITION_WORDS:
        raise ValueError(f"{shape}, got {quote(written)}{did_you_mean(word, CONDITION_WORDS)}")
    if word == "completed":
        if op is not None:
            raise ValueError(f"completed takes no comparison, got {quote(written)}")
        return Condition()
    want = ">=" if word == "feel" else "<="
    if op is None or not rest:
        raise ValueError(f'{word} needs a threshold: "{word} {want} N" (N 1-5)')
    if op != want:
        meaning = "at least" if word == "feel" else "at most"
        raise ValueError(f'{word} takes {want} (the last mean {word} {meaning} N), '
                         f"got {quote(written)}")
    lo, hi = RATING_RANGE
    if not re.fullmatch(f"[{lo}-{hi}]", rest):
        raise ValueError(f"the threshold of {word} must be a whole number from {lo} to {hi}, "
                         f"got {quote(rest)}")
    return Condition(word, int(rest))  # type: ignore[arg-type]


def template_problem(phrase_id: str, text: str) -> str | None:
    """Why ``text`` cannot replace phrase ``phrase_id`` (None when it can)."""
    label = f"words.{phrase_id}"
    fields = PLACEHOLDERS.get(phrase_id, ())
    takes = ", ".join("{" + f + "}" for f in fields) if fields else "no {fields}"
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        return f"{label} is not a valid template ({e}); write {{{{ or }}}} for a literal brace"
    used: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        # Only bare known fields: "{n.__class__}", "{0}" or "{n:>9}" could fail or leak later.
        if name not in fields or spec or conversion:
            written = "{" + name + (f"!{conversion}" if conversion else "") + \
                (f":{spec}" if spec else "") + "}"
            # user text: quote() keeps it on one line (a field name may hold a line break)
            return f'{label}: field {quote(written)[1:-1]} is not allowed; "{phrase_id}" takes {takes}'
        used.add(name)
    missing = [f for f in fields if f not in used]
    if missing:
        return f"{label} must keep {takes}; missing " + ", ".join("{" + f + "}" for f in missing)
    return None
