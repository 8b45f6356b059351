"""Progression: `progress:` rules (validation, schema), the pure rule math of
coach.core.progression, what the announcement says and how `coach plan` describes it."""

from __future__ import annotations

import pytest
import yaml

from coach.core.errors import CoachError
from coach.core.program import Condition, ProgressRule, parse_condition, parse_program
from tests.support.programs import VALIDATOR

HEAD = "program: P\nexercises:\n"  # exercises start on line 3
ROW = "  - name: Row\n    reps: 8\n    tempo: '2020'\n    sets: 3\n    rate: feel\n"  # lines 3-7


def diags(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


# ---- validation ---------------------------------------------------------------------------


def test_one_rule_and_a_list_of_rules():
    one = parse_program(HEAD + ROW + "    progress: {reps: +1, max: 12}\n").exercises[0]
    assert one.progress == (ProgressRule("reps", 1, 12, Condition("completed", None)),)
    many = parse_program(HEAD + ROW + "    progress:\n"
                         "      - {reps: +2, max: 12, when: feel >= 4}\n"
                         "      - {sets: 1, max: 5, when: completed}\n").exercises[0]
    assert many.progress == (ProgressRule("reps", 2, 12, Condition("feel", 4)),
                             ProgressRule("sets", 1, 5, Condition()))
    hold = parse_program(HEAD + "  - {name: Wall sit, hold: 45s, rate: effort, progress: "
                         "{hold: +5s, max: 1m, when: effort <= 3}}\n").exercises[0]
    assert hold.progress == (ProgressRule("hold", 5000, 60_000, Condition("effort", 3)),)
    assert one.up_from == () and hold.up_from == ()


@pytest.mark.parametrize("text, cond", [
    ("completed", Condition()), ("feel >= 4", Condition("feel", 4)),
    ("feel>=1", Condition("feel", 1)), ("effort <= 5", Condition("effort", 5))])
def test_parse_condition(text, cond):
    assert parse_condition(text) == cond


@pytest.mark.parametrize("text, message", [
    ("complete", 'when must be completed, "feel >= N" or "effort <= N" (N 1-5), got "complete" '
                 '(did you mean "completed"?)'),
    ("feal >= 4", '(did you mean "feel"?)'),
    ("feel > 4", 'feel takes >= (the last mean feel at least N), got "feel > 4"'),
    ("feel <= 4", "feel takes >="),
    ("effort >= 2", 'effort takes <= (the last mean effort at most N), got "effort >= 2"'),
    ("feel >= 6", 'the threshold of feel must be a whole number from 1 to 5, got "6"'),
    ("feel >= 3.5", 'got "3.5"'),
    ("feel >= 0", 'got "0"'),
    ("feel", 'feel needs a threshold: "feel >= N" (N 1-5)'),
    ("completed >= 2", "completed takes no comparison"),
    ("feel >= 4 and effort <= 2", 'got "4 and effort <= 2"'),
    ("4 >= feel", "when must be completed"),
])
def test_parse_condition_is_strict(text, message):
    with pytest.raises(ValueError) as info:
        parse_condition(text)
    assert message in str(info.value)


# Each case: the progress value (written at line 8, col 15), the position and the message.
BAD_RULES = [
    ("{reps: -1, max: 12}", 8, 22, 'the reps step must be positive, like +1, got "-1"'),
    ("{reps: 0, max: 12}", 8, 22, 'the reps step must be positive, like +1, got "0"'),
    ("{reps: +1.5, max: 12}", 8, 22, 'the reps step must be a whole number like +1, got "+1.5"'),
    ("{reps: 5s, max: 12}", 8, 22, 'the reps step must be a whole number like +1, got "5s"'),
    ("{reps: +201, max: 12}", 8, 22, 'the reps step must be at most 200, got "+201"'),
    ("{reps: [1], max: 12}", 8, 22, "the reps step must be +1, got a list"),
    ("{reps: +1, max: 201}", 8, 31, "progress max of reps must be between 1 and 200, got 201"),
    ("{reps: +1, max: 6}", 8, 31, "progress max 6 is below the exercise's own reps (8): it "
                                  "could never go up"),
    ("{reps: +1}", 8, 15, "a progress rule needs a max: the most reps it goes up to (max: 12)"),
    ("{reps: +1, mx: 12}", 8, 26, 'unknown key "mx" in progress (did you mean "max"?)'),
    ("{rep: +1, max: 12}", 8, 16, 'unknown key "rep" in progress (did you mean "reps"?)'),
    ("{max: 12}", 8, 15, "a progress rule needs what it raises: reps, hold or sets"),
    ("{reps: +1, sets: +1, max: 12}", 8, 26, "a progress rule raises one of reps, hold or sets; "
                                             "this one has reps and sets"),
    ("{hold: +5s, max: 1m}", 8, 16, 'progress of hold needs an exercise with a hold; "Row" is '
                                    "a tempo exercise"),
    ("{sets: +1, max: 21}", 8, 31, "progress max of sets must be between 1 and 20, got 21"),
    ("{sets: +1, max: 2}", 8, 31, "progress max 2 is below the exercise's own sets (3)"),
    ("{reps: +1, max: 12, when: feel > 4}", 8, 41, 'feel takes >='),
    ("{reps: +1, max: 12, when: complete}", 8, 41, '(did you mean "completed"?)'),
    ("{reps: +1, max: 12, when: effort <= 3}", 8, 41, 'when: effort <= 3 needs "Row" to ask '
                                                      "effort after each set (rate: effort)"),
    ("{reps: +1, max: 12, when: ''}", 8, 41, "when must not be empty"),
    ("[{reps: +1, max: 12}, {reps: +2, max: 14}]", 8, 38, "progress has two reps rules (first "
                                                          "at line 8); give one"),
    ("[]", 8, 15, "progress must not be an empty list"),
    ("+1", 8, 15, 'progress must be a rule {reps: +1, max: 12} or a list of rules, got "+1"'),
    ("[reps]", 8, 16, 'a progress rule must be a mapping (key: value lines), got "reps"'),
]


@pytest.mark.parametrize("value, line, col, message", BAD_RULES, ids=[b[0] for b in BAD_RULES])
def test_bad_progress_rule(value, line, col, message):
    found = diags(HEAD + ROW + f"    progress: {value}\n")
    assert len(found) == 1, found
    assert found[0][:2] == (line, col) and message in found[0][2], found


def test_hold_rules_only_for_hold_exercises_and_reps_only_with_reps():
    found = diags(HEAD + "  - name: Wall sit\n    hold: 45s\n    progress: {reps: +1, max: 9}\n"
                  "  - name: Posing\n    poses: [a]\n    hold: 5s\n"
                  "    progress: {hold: +1s, max: 9s}\n")
    assert found == [
        (5, 16, 'progress of reps needs an exercise with reps (tempo or cadence); "Wall sit" is '
                "a hold exercise"),
        (9, 16, 'progress of hold needs an exercise with a hold; "Posing" is a poses exercise')]


def test_hold_step_and_max_are_durations():
    ex = parse_program(HEAD + "  - {name: W, hold: 45s, progress: {hold: '+2.5s', max: '1:30'}}\n"
                       ).exercises[0]
    assert ex.progress == (ProgressRule("hold", 2500, 90_000),)
    found = diags(HEAD + "  - {name: W, hold: 45s, progress: {hold: +5s, max: 11m}}\n")
    assert found == [(3, 53, 'progress max of hold must be between 1s and 10m, got "11m"')]
    found = diags(HEAD + "  - {name: W, hold: 45s, progress: {hold: +5s, max: 40s}}\n")
    assert found == [(3, 53, "progress max 40s is below the exercise's own hold (45s): it could "
                             "never go up")]
    found = diags(HEAD + "  - {name: W, hold: 45s, progress: {hold: -5s, max: 60s}}\n")
    assert found == [(3, 43, 'the hold step must be positive, like +5s, got "-5s"')]


@pytest.mark.parametrize("progress, ok", [
    ({"reps": "+1", "max": 12}, True), ({"reps": 1, "max": 12, "when": "feel >= 4"}, True),
    ([{"reps": 1, "max": 12}, {"sets": "+1", "max": 5}], True),
    ({"reps": 1, "max": 12, "when": "effort <= 2"}, True),
    ({"reps": "+1", "max": 201}, False), ({"reps": "-1", "max": 12}, False),
    ({"reps": "0", "max": 12}, False), ({"reps": 0, "max": 12}, False),
    ({"reps": 1}, False), ({"reps": 1, "sets": 1, "max": 12}, False), ({"max": 12}, False),
    ({"reps": 1, "max": 12, "when": "complete"}, False),
    ({"reps": 1, "max": 12, "when": "feel > 4"}, False),
    ({"reps": 1, "max": 12, "mx": 3}, False), ([], False), ("+1", False)])
def test_schema_progress(progress, ok):
    data = {"program": "P", "exercises": [{"name": "A", "reps": 8, "tempo": "2020",
                                           "rate": ["feel", "effort"], "progress": progress}]}
    assert VALIDATOR.is_valid(data) == ok
    try:
        parse_program(yaml.safe_dump(data))
        loads = True
    except CoachError:
        loads = False
    assert loads == ok


@pytest.mark.parametrize("progress, ok", [
    ({"hold": "+5s", "max": "1m"}, True), ({"hold": 5, "max": 60}, True),
    ({"hold": "5s", "max": 601}, False), ({"hold": "-5s", "max": 60}, False),
    ({"hold": 0, "max": 60}, False)])
def test_schema_hold_progress(progress, ok):
    data = {"program": "P", "exercises": [{"name": "A", "hold": "45s", "progress": progress}]}
    assert VALIDATOR.is_valid(data) == ok


# ---- the rule math ------------------------------------------------------------------------

from coach.core.program import Program  # noqa: E402
from coach.core.progression import (  # noqa: E402
    PastExercise,
    Progressed,
    apply_progress,
    describe_progress,
    progress_rule,
)
from coach.core.timeline import compile_program  # noqa: E402

PROGRAM = """\
program: P
exercises:
  - name: Lat pulldown
    sets: 3
    reps: 8
    tempo: "2020"
    rest: 30s
    rate: [feel, effort]
    progress:
      - {reps: +1, max: 10}
      - {sets: +1, max: 4, when: effort <= 3}
  - name: Wall sit
    hold: 45s
    rate: feel
    progress: {hold: +5s, max: 55s, when: feel >= 4}
"""


def loaded() -> Program:
    return parse_program(PROGRAM, "p.yaml")


def past(**kw) -> PastExercise:
    base: dict = dict(sets=3, completed=True, reps=8, hold_ms=None, feel=None, effort=None)
    return PastExercise(**{**base, **kw})


def rule_of(target: str, index: int = 0):
    ex = loaded().exercises[index]
    return ex, next(r for r in ex.progress if r.target == target)


def test_completed_adds_the_step():
    ex, rule = rule_of("reps")
    assert progress_rule(ex, rule, past(reps=8)) == (8, 9, "all sets completed")
    assert progress_rule(ex, rule, past(reps=9)) == (9, 10, "all sets completed")


def test_capped_at_max():
    ex, rule = rule_of("reps")
    assert progress_rule(ex, rule, past(reps=10)) == (10, 10, "at max 10")
    ex, rule = rule_of("hold", 1)
    old, new, why = progress_rule(ex, rule, past(hold_ms=52_000, feel=5.0))
    assert (old, new, why) == (52_000, 55_000, "feel 5 >= 4; capped at max 55 s")
    # a max lowered below the last value since: back to the max, never above it
    assert progress_rule(ex, rule, past(hold_ms=70_000, feel=1.0))[1] == 55_000


def test_a_failed_condition_keeps_the_last_value():
    ex, rule = rule_of("hold", 1)
    assert progress_rule(ex, rule, past(hold_ms=50_000, feel=3.2)) == (
        50_000, 50_000, "feel 3.2 < 4")
    assert progress_rule(ex, rule, past(hold_ms=50_000, feel=None)) == (
        50_000, 50_000, "no feel rating")
    assert progress_rule(ex, rule, past(hold_ms=50_000, feel=4.0)) == (
        50_000, 55_000, "feel 4 >= 4")


def test_effort_threshold():
    ex, rule = rule_of("sets")
    assert progress_rule(ex, rule, past(sets=3, effort=2.5)) == (3, 4, "effort 2.5 <= 3")
    assert progress_rule(ex, rule, past(sets=3, effort=3.0)) == (3, 4, "effort 3 <= 3")
    assert progress_rule(ex, rule, past(sets=3, effort=3.25)) == (3, 3, "effort 3.25 > 3")


def test_an_incomplete_session_never_progresses():
    for target, index, kw in [("reps", 0, {}), ("sets", 0, {"effort": 1.0}),
                              ("hold", 1, {"hold_ms": 45_000, "feel": 5.0})]:
        ex, rule = rule_of(target, index)
        old, new, why = progress_rule(ex, rule, past(completed=False, **kw))
        assert new == old and why == "last session not completed", target


def test_no_history_and_never_below_the_program():
    ex, rule = rule_of("reps")
    assert progress_rule(ex, rule, None) == (8, 8, "no previous session")
    # the file was raised to 8 since a session at 6: 8, said as up from 6
    old, new, why = progress_rule(ex, rule, past(reps=6, completed=False))
    assert (old, new) == (6, 8) and why == "last session not completed; the program says 8"


def test_apply_progress_returns_todays_program_and_every_reason():
    program, report = apply_progress(loaded(), {
        0: past(reps=8, sets=3, feel=4.3, effort=3.6),
        1: past(sets=1, reps=None, hold_ms=45_000, feel=3.2)})
    lat, wall = program.exercises
    assert (lat.reps, lat.sets, lat.up_from) == (9, 3, (("reps", 8),))
    assert (wall.hold_ms, wall.up_from) == (45_000, ())
    assert report == [
        Progressed(0, "Lat pulldown", "reps", 8, 9, "all sets completed"),
        Progressed(0, "Lat pulldown", "sets", 3, 3, "effort 3.6 > 3"),
        Progressed(1, "Wall sit", "hold", 45_000, 45_000, "feel 3.2 < 4")]
    assert describe_progress(report) == [
        "Lat pulldown: reps 8 → 9 (all sets completed)",
        "Lat pulldown: sets 3 stays (effort 3.6 > 3)",
        "Wall sit: hold 45 s stays (feel 3.2 < 4)"]
    # the program handed in is unchanged; with no history nothing changes
    assert loaded().exercises[0].reps == 8
    same, report = apply_progress(loaded(), {})
    assert same == loaded() and [p.reason for p in report] == ["no previous session"] * 3


def test_the_announcement_says_what_went_up():
    program, _ = apply_progress(loaded(), {
        0: past(reps=8, sets=3, effort=2.0), 1: past(hold_ms=45_000, feel=4.5)})
    tl = compile_program(program)
    announcements = [c.text for c in tl.cues if c.phrase == "announce"]
    assert announcements[0] == ("Lat pulldown. Set 1 of 4. 4 sets today, up from 3. "
                                "9 reps today, up from 8, tempo 2 0 2 0.")
    assert "9 reps today, up from 8" in announcements[0]
    assert announcements[1] == "Lat pulldown. Set 2 of 4. 9 reps, tempo 2 0 2 0."
    assert announcements[-1] == "Wall sit. Hold 50 seconds today, up from 45."
    # the values used are the timeline's: 4 sets of 9 reps, a 50 s hold
    assert max(p.rep or 0 for p in tl.phases if p.exercise == "Lat pulldown") == 9
    assert max(p.set for p in tl.phases if p.exercise == "Lat pulldown") == 4
    assert next(p for p in tl.phases if p.phase == "hold").duration_ms == 50_000


def test_progressed_in_other_languages():
    text = PROGRAM.replace("program: P\n", "program: P\nlanguage: de\n")
    program, _ = apply_progress(parse_program(text), {0: past(reps=8, effort=4.0)})
    first = next(c.text for c in compile_program(program).cues if c.phrase == "announce")
    assert "Heute neun Wiederholungen, vorher acht" in first, first
