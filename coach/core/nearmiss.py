"""Near misses: the word a user meant when they wrote an unknown one ("tmepo" -> tempo), for
"did you mean" in a message, or nothing when no word is close enough to be a typo of it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping


def edit_distance(a: str, b: str) -> int:
    """Letters inserted, deleted, changed or swapped with a neighbour to turn ``a`` into ``b``
    (optimal string alignment: "tmepo" -> "tempo" is 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


_PARTS = re.compile(r"[\s_.-]+")


def _miss(word: str, choice: str) -> int | None:
    """How far ``word`` is from ``choice`` as a typo (smaller is closer), None when too far to
    be one: one slip in a word of up to 7 letters, two in a longer one; or ``choice`` with
    more written after it ("rest_time", "progression"); or a start of it of 4+ letters
    ("lang"). A ratio of shared letters alone was not enough: difflib's 0.6 took "weigth" for
    "switch" and "notes" for "poses"."""
    w, c = word.lower(), choice.lower()
    limit = 1 if max(len(w), len(c)) <= 7 else 2
    # The lengths' difference is a floor of the distance: a long key is never compared whole.
    if abs(len(w) - len(c)) <= limit and (d := edit_distance(w, c)) <= limit:
        return d
    if (len(c) >= 4 and w.startswith(c)) or _PARTS.split(w)[0] == c:
        return 2  # "progression" -> progress, "rest_time" -> rest, "load_kg" -> load
    if len(w) >= 4 and c.startswith(w):
        return 2  # "lang" -> language
    return None


def near_miss(word: str, choices: Iterable[str],
              hints: Mapping[str, str] | None = None) -> str | None:
    """The choice ``word`` is a typo of, or None when none is close enough (see _miss).
    ``hints``: other words for a choice ("weight" -> "load"); a typo of one names its choice.
    The closest wins; a tie goes to the one sharing more letters, then to the first listed."""
    words = {c: c for c in choices}
    for w, c in (hints or {}).items():
        if c in words:
            words.setdefault(w, c)
    best: tuple[int, float, int] | None = None
    found = None
    for order, (w, c) in enumerate(words.items()):
        d = _miss(word, w)
        if d is None:
            continue
        key = (d, -difflib.SequenceMatcher(None, word.lower(), w.lower()).ratio(), order)
        if best is None or key < best:
            best, found = key, c
    return found


def did_you_mean(word: str, choices: Iterable[str],
                 hints: Mapping[str, str] | None = None) -> str:
    """' (did you mean "x"?)' for a near miss (near_miss), else ''."""
    close = near_miss(word, choices, hints)
    return f' (did you mean "{close}"?)' if close else ""
