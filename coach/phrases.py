"""Phrase packs: every word coach itself says, by phrase id, per language.

Templates use ``str.format`` fields; ``PLACEHOLDERS`` says which fields each id must keep
when a program overrides it with ``words:``.
"""

from __future__ import annotations

from typing import Mapping

# Phrase ids a program may override with `words:`. Order is the documentation order.
PHRASE_IDS: tuple[str, ...] = (
    "lower", "bottom_hold", "squeeze", "top_hold", "explode", "go", "rest", "next", "set_of",
    "last_rep", "last_reps", "hold", "halfway", "seconds_left", "release", "relax",
    "eyes_closed", "switch_sides", "left", "right", "reps", "tempo", "cadence", "hold_for",
    "poses", "focus", "done", "resuming", "extended", "numbers",
)

# Fields each template must keep (an override that drops one is a `coach check` error).
PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "rest": ("seconds",),
    "next": ("exercise",),
    "set_of": ("n", "total"),
    "last_reps": ("n",),
    "seconds_left": ("n",),
    "reps": ("n",),
    "tempo": ("code",),
    "cadence": ("seconds",),
    "hold_for": ("seconds",),
    "poses": ("n",),
    "focus": ("text",),
    "extended": ("seconds",),
}

EN: Mapping[str, str] = {
    "lower": "lower",
    "bottom_hold": "hold",
    "squeeze": "squeeze",
    "top_hold": "hold",
    "explode": "explode",
    "go": "go",
    "rest": "rest {seconds} seconds",
    "next": "next: {exercise}",
    "set_of": "set {n} of {total}",
    "last_rep": "last one",
    "last_reps": "last {n}",
    "hold": "hold",
    "halfway": "halfway",
    "seconds_left": "{n} seconds",
    "release": "release",
    "relax": "relax",
    "eyes_closed": "eyes closed",
    "switch_sides": "switch sides",
    "left": "left side",
    "right": "right side",
    "reps": "{n} reps",
    "tempo": "tempo {code}",
    "cadence": "one rep every {seconds} seconds",
    "hold_for": "hold {seconds} seconds",
    "poses": "{n} poses",
    "focus": "focus: {text}",
    "done": "session complete. Well done.",
    "resuming": "resuming",
    "extended": "{seconds} more seconds",
    # "numbers" is not a template: numbers are spoken by the voice from digits unless a pack
    # gives words for them (see NUMBERS).
    "numbers": "",
}

PACKS: Mapping[str, Mapping[str, str]] = {"en": EN}

# Optional number words per language: n -> word. Missing entries are spoken as digits,
# which the language's espeak-ng voice reads in that language.
NUMBERS: Mapping[str, Mapping[int, str]] = {"en": {}}


def phrase_table(language: str, *overrides: Mapping[str, str]) -> dict[str, str]:
    """The phrases for ``language`` with each mapping of ``overrides`` applied in order."""
    table = dict(PACKS[language])
    for words in overrides:
        table.update(words)
    return table


def say_number(n: int, language: str = "en") -> str:
    """How a number is written in a cue's text for ``language``."""
    return NUMBERS.get(language, {}).get(n, str(n))
