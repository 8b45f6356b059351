"""Parsers of the format's scalar strings: tempo, schedule, progress condition, phrase template."""

from __future__ import annotations

import re
import string

from coach.core.nearmiss import did_you_mean
from coach.core.phrases import PLACEHOLDERS
from coach.core.program.model import LOAD_UNITS, Condition, Load, LoadUnit, Schedule, Tempo
from coach.core.types import RATING_RANGE
from coach.core.yamlnodes import quote

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


# Units as lifters write them; each is kept as the unit it names (never converted).
UNIT_WORDS: dict[str, LoadUnit] = {
    "kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb"}
# The heaviest load coach takes (the heaviest lifts ever are about 500 kg): beyond is a typo.
MAX_LOAD = {"kg": 100_000, "lb": 200_000}  # hundredths
BODYWEIGHT = "bodyweight"
_LOAD = re.compile(r"^(?P<sign>[+-]?)\s*(?P<num>[0-9.,]+)\s*(?P<unit>[^\s0-9.,+-].*?)?$")
_AMOUNT = re.compile(r"^(?:(?P<whole>[0-9]{1,6})(?:[.,](?P<frac>[0-9]*))?|[.,](?P<only>[0-9]+))$")


def parse_load(text: str, label: str = "load") -> Load:
    """'24kg', '24.5 kg', '24,5 kg', '50lb', '50 lbs', 'bodyweight' -> Load (a positive number
    with its unit, or bodyweight). ValueError carries the message."""
    written = text.strip()
    if written.lower() == BODYWEIGHT:
        return Load()
    shape = f"{label} must be a weight like 24kg, 24.5 kg or 50lb, or {BODYWEIGHT}"
    m = _LOAD.match(written)
    if not m:
        hint = did_you_mean(written.lower(), (BODYWEIGHT,)) if written[:1].isalpha() else ""
        raise ValueError(f"{shape}, got {quote(written)}{hint}")
    if m["sign"] == "-":
        raise ValueError(f"{label} must be more than 0, got {quote(written)}")
    amount, unit = _amount_and_unit(m, written, label)
    if amount <= 0:
        raise ValueError(f"{label} must be more than 0, got {quote(written)}")
    if amount > MAX_LOAD[unit]:
        raise ValueError(f"{label} must be at most {MAX_LOAD[unit] // 100}{unit}, "
                         f"got {quote(written)}")
    return Load(amount, unit)


def parse_load_step(text: str, label: str = "the load step") -> tuple[int, LoadUnit]:
    """'+2.5kg', '2.5 kg', '+5lb' -> (hundredths, unit): a positive amount with its unit."""
    written = text.strip()
    m = _LOAD.match(written)
    if not m or m["sign"] == "-":
        raise ValueError(f"{label} must be a positive weight like +2.5kg or +5lb, "
                         f"got {quote(written)}")
    amount, unit = _amount_and_unit(m, written, label)
    if amount <= 0:
        raise ValueError(f"{label} must be more than 0, like +2.5kg, got {quote(written)}")
    if amount > MAX_LOAD[unit]:
        raise ValueError(f"{label} must be at most {MAX_LOAD[unit] // 100}{unit}, "
                         f"got {quote(written)}")
    return amount, unit


def _amount_and_unit(m: re.Match[str], written: str, label: str) -> tuple[int, LoadUnit]:
    number = _AMOUNT.match(m["num"])
    if not number:
        raise ValueError(f"{label} must be a weight like 24kg, 24.5 kg or 50lb, "
                         f"got {quote(written)}")
    frac = number["frac"] if number["only"] is None else number["only"]
    # "1,250" is a thousands separator as often as a decimal comma: never guess.
    if frac and (len(frac.rstrip("0")) > 2 or ("," in m["num"] and len(frac) > 2)):
        raise ValueError(f"{label} takes at most two decimals (like 1.25kg), "
                         f"got {quote(written)}")
    raw_unit = (m["unit"] or "").strip()
    if not raw_unit:
        raise ValueError(f"{label} needs its unit, kg or lb: {m['num']}kg or {m['num']}lb, "
                         f"got {quote(written)}")
    unit = UNIT_WORDS.get(raw_unit.lower())
    if unit is None:
        raise ValueError(f"the unit of {label} must be kg or lb, got {quote(written)}"
                         f"{did_you_mean(raw_unit.lower(), LOAD_UNITS + tuple(UNIT_WORDS))}")
    whole = int(number["whole"] or 0)
    cents = int(((frac or "") + "00")[:2])
    return whole * 100 + cents, unit


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
