"""Unknown keys and "did you mean": a suggestion only when the key is a typo of it (issue 18,
point 5: `weigth:` was "did you mean switch?", `notes:` in defaults "did you mean sets?")."""

from __future__ import annotations

import pytest

from coach.core.errors import CoachError
from coach.core.program import parse_program

HEAD = "program: P\nexercises:\n  - name: Squat\n    tempo: \"3010\"\n    reps: 5\n"


def unknown(text: str) -> list[str]:
    """The messages about unknown keys a program text gets."""
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    return [d.message for d in info.value.diagnostics if d.message.startswith("unknown key")]


def exercise_key(key: str) -> str:
    [message] = unknown(HEAD + f"    {key}: 1\n")
    return message


# (typo, the key it names or None): one slip, a key with more after it, a start of a key,
# another word for a key; and words no key is close to, which get no suggestion at all.
EXERCISE_TYPOS = [
    ("weigth", "load"), ("wieght", "load"), ("weight", "load"), ("kgs", "load"),
    ("note", "notes"), ("nots", "notes"), ("comment", "notes"),
    ("tmepo", "tempo"), ("temp", "tempo"), ("rep", "reps"), ("repss", "reps"),
    ("set", "sets"), ("sest", "sets"), ("holds", "hold"), ("hold_time", "hold"),
    ("rest_time", "rest"), ("restt", "rest"), ("leadin", "lead_in"), ("lead-in", "lead_in"),
    ("switch_time", "switch"), ("progres", "progress"), ("progression", "progress"),
    ("annouce", "announce"), ("side", "sides"), ("cadance", "cadence"), ("pose", "poses"),
    ("posess", "poses"), ("load_kg", "load"), ("Tempo", "tempo"), ("nmae", "name"),
    ("max", None), ("when", None), ("then", None), ("music", None), ("color", None),
    ("describe", None), ("xyz", None), ("title", None), ("voice_rate", None),
]


@pytest.mark.parametrize("typo, meant", EXERCISE_TYPOS, ids=[t for t, _ in EXERCISE_TYPOS])
def test_an_unknown_exercise_key_names_the_key_it_is_a_typo_of(typo, meant):
    message = exercise_key(typo)
    if meant is None:
        assert "did you mean" not in message, message
    else:
        assert message.endswith(f'in exercise 1 (did you mean "{meant}"?)'), message


TOP_TYPOS = [
    ("name", "program"), ("title", "program"), ("program_name", "program"),
    ("exercise", "exercises"), ("excercises", "exercises"), ("langauge", "language"),
    ("lang", "language"), ("shedule", "schedule"), ("defualts", "defaults"),
    ("default", "defaults"), ("voice_rate", "voice"),
    ("progres", None), ("weight", None), ("tempo", None), ("colour", None),
]


@pytest.mark.parametrize("typo, meant", TOP_TYPOS, ids=[t for t, _ in TOP_TYPOS])
def test_an_unknown_top_level_key_names_the_key_it_is_a_typo_of(typo, meant):
    messages = unknown(HEAD + f"{typo}: x\n")
    [message] = messages
    if meant is None:
        assert "did you mean" not in message, message
    else:
        assert message.endswith(f'at the top level (did you mean "{meant}"?)'), message


DEFAULTS_TYPOS = [("notes", None), ("note", None), ("weigth", "load"), ("restt", "rest"),
                  ("leadin", "lead_in"), ("sets_per_side", "sets"), ("tempo", None)]


@pytest.mark.parametrize("typo, meant", DEFAULTS_TYPOS, ids=[t for t, _ in DEFAULTS_TYPOS])
def test_an_unknown_defaults_key_names_the_key_it_is_a_typo_of(typo, meant):
    [message] = unknown(f"defaults: {{{typo}: 1}}\n" + HEAD)
    if meant is None:
        assert "did you mean" not in message, message
    else:
        assert message.endswith(f'in defaults (did you mean "{meant}"?)'), message


def test_name_for_program_is_one_error_not_two():
    # "name:" at the top is the program's name: pointed at `program`, and not also "needs a
    # name" (the suggestion already says what is missing).
    with pytest.raises(CoachError) as info:
        parse_program("name: P\nexercises:\n  - name: Squat\n    hold: 5s\n", "p.yaml")
    assert [str(d) for d in info.value.diagnostics] == [
        'p.yaml:1:1: error: unknown key "name" at the top level (did you mean "program"?)']


def test_a_long_unknown_key_is_reported_at_once():
    # The edit distance is never worked out for a key far longer than every choice.
    key = "x" * 1000
    [message] = unknown(HEAD + f"    {key}: 1\n")
    assert "did you mean" not in message
    assert unknown(HEAD + f"    rest{key}: 1\n")[0].endswith('(did you mean "rest"?)')


def test_no_look_alike_without_a_hint():
    # The two found: without the words for `load` and `notes`, letters in common were enough
    # ("weigth" -> switch, "notes" -> poses, as before `notes` was a key).
    from coach.core.nearmiss import did_you_mean
    assert did_you_mean("weigth", ("name", "sets", "reps", "tempo", "switch", "rest")) == ""
    assert did_you_mean("notes", ("name", "focus", "sets", "reps", "tempo", "poses")) == ""
    assert did_you_mean("tmepo", ("name", "tempo", "poses")) == ' (did you mean "tempo"?)'
