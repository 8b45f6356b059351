"""The coach listens back: the `rate` key (validation, schema) and the rating prompts and
answer windows the timeline lays out after each set."""

from __future__ import annotations

import pytest
import yaml
from conftest import PROGRAMS
from test_schema import VALIDATOR

from coach.core.errors import CoachError
from coach.core.program import load_program, parse_program

HEAD = "program: P\nexercises:\n"  # exercises start on line 3


def diags(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CoachError) as info:
        parse_program(text, "r.yaml")
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


# ---- the `rate` key -----------------------------------------------------------------------


@pytest.mark.parametrize("written, rate", [
    ("feel", ("feel",)), ("effort", ("effort",)), ("[feel, effort]", ("feel", "effort")),
    ("[effort, feel]", ("effort", "feel")), ("[feel]", ("feel",)), ("false", ()),
    ("no", ()), ("Off", ())])
def test_rate_forms(written, rate):
    p = parse_program(HEAD + f"  - {{name: A, hold: 20s, rate: {written}}}\n")
    assert p.exercises[0].rate == rate
    assert p.exercises[0].rate_at == (3, 26)


def test_no_rate_by_default():
    p = parse_program(HEAD + "  - {name: A, hold: 20s}\n")
    assert p.exercises[0].rate == () and p.exercises[0].rate_at == (0, 0)


def test_top_level_rate_applies_and_the_exercise_wins():
    p = parse_program("program: P\nrate: [feel, effort]\nexercises:\n"
                      "  - {name: A, hold: 20s}\n"
                      "  - {name: B, hold: 20s, rate: effort}\n"
                      "  - {name: C, hold: 20s, rate: false}\n")
    a, b, c = p.exercises
    assert (a.rate, a.rate_at) == (("feel", "effort"), (2, 1))
    assert (b.rate, b.rate_at) == (("effort",), (5, 26))
    assert (c.rate, c.rate_at) == ((), (6, 26))


@pytest.mark.parametrize("written, line, col, message", [
    ("rate: feal", 4, 11, 'rate must be feel, effort, a list of both ([feel, effort]) or '
                          'false, got "feal" (did you mean "feel"?)'),
    ("rate: efort", 4, 11, 'got "efort" (did you mean "effort"?)'),
    ("rate: true", 4, 11, 'rate must be feel, effort, a list of both ([feel, effort]) or '
                          'false, got "true"'),
    ("rate: 4", 4, 11, 'got "4"'),
    ("rate:", 4, 10, "got nothing"),
    ("rate: {feel: 1}", 4, 11, "got a mapping"),
    ("rate: []", 4, 11, "rate must not be an empty list"),
    ("rate: [feel, feal]", 4, 18, 'each rating in the rate list must be feel or effort, got '
                                  '"feal" (did you mean "feel"?)'),
    ("rate: [feel, feel]", 4, 18, "rate asks feel twice"),
    ("rate: [[feel]]", 4, 12, "got a list"),
    ("rat: feel", 4, 5, 'unknown key "rat" in exercise 1 (did you mean "rate"?)'),
])
def test_bad_rate_in_an_exercise(written, line, col, message):
    text = HEAD + f"  - name: A\n    {written}\n    hold: 20s\n"
    found = diags(text)
    assert len(found) == 1, found
    assert found[0][:2] == (line, col) and message in found[0][2], found


def test_bad_rate_at_the_top_level():
    found = diags("program: P\nrate: [feel, efort]\nexercises:\n  - {name: A, hold: 20s}\n")
    assert found == [(2, 14, 'each rating in the rate list must be feel or effort, got "efort" '
                             '(did you mean "effort"?)')]


@pytest.mark.parametrize("rate, ok", [
    ("feel", True), ("effort", True), (["feel", "effort"], True), (False, True), (["feel"], True),
    ("no", True), (True, False), ("feal", False), ([], False), (["feel", "feel"], False),
    (["feel", "x"], False), (4, False), (None, False)])
def test_schema_rate(rate, ok):
    data = {"program": "P", "rate": rate,
            "exercises": [{"name": "A", "hold": "30s", "rate": rate}]}
    assert VALIDATOR.is_valid(data) == ok
    text = yaml.safe_dump(data)
    try:
        parse_program(text)
        loads = True
    except CoachError:
        loads = False
    assert loads == ok


RATED_EXAMPLE = "unilateral-rated.yaml"
UNRATED = sorted(p for p in PROGRAMS.glob("*.yaml") if p.name != RATED_EXAMPLE)


@pytest.mark.parametrize("path", UNRATED, ids=lambda p: p.name)
def test_shipped_programs_without_rate_ask_nothing(path):
    program = load_program(path)
    assert all(ex.rate == () for ex in program.exercises)
