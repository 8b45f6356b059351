"""Load, notes and double progression in the program format: the loader's mistakes at their
exact positions, the values it keeps (normalised, never converted), the JSON Schema agreeing
with it, the announcement in every language pack, and the pure double-progression rule."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from coach.core.errors import CoachError
from coach.core.program import Load, ProgressRule, Then, parse_load, parse_program
from coach.core.progression import PastExercise, apply_progress, describe_progress
from coach.core.schema import program_schema
from coach.core.timeline import compile_program

HEAD = "program: P\nexercises:\n"  # exercises start on line 3
SQUAT = "  - name: Goblet squat\n    reps: 8\n    tempo: '3010'\n    sets: 3\n"  # lines 3-6
LOAD = "    load: 24kg\n"  # line 7
DOUBLE = "    progress: {reps: +1, max: 12, then: {load: +2.5kg, reps: 8}, when: completed}\n"
VALIDATOR = jsonschema.Draft202012Validator(program_schema())


def diags(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:")  # FILE:LINE:COL: error: ...
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


# ---- good values ----------------------------------------------------------------------------


@pytest.mark.parametrize("written, kept", [
    ("24kg", "24kg"), ("24 kg", "24kg"), ("24.5 kg", "24.5kg"), ("24,5 kg", "24.5kg"),
    ("24.50kg", "24.5kg"), ("1.25kg", "1.25kg"), (".5kg", "0.5kg"), ("50lb", "50lb"),
    ("50 lbs", "50lb"), ("50 LB", "50lb"), ("20 kilos", "20kg"), ("45 pounds", "45lb"),
    ("1000kg", "1000kg"), ("bodyweight", "bodyweight"), ("Bodyweight", "bodyweight")])
def test_a_load_is_kept_in_its_unit_in_a_normalised_form(written, kept):
    ex = parse_program(HEAD + SQUAT + f"    load: {written}\n").exercises[0]
    assert ex.load is not None and str(ex.load) == kept
    assert parse_load(kept) == ex.load  # what history keeps reads back as the same load


def test_units_are_never_converted_and_amounts_are_exact():
    assert parse_load("50lb") == Load(5000, "lb")
    assert parse_load("24.5kg") == Load(2450, "kg") and parse_load("24.5kg").number == 24.5
    assert parse_load("24kg").number == 24 and isinstance(parse_load("24kg").number, int)
    assert parse_load("bodyweight") == Load() and Load().bodyweight


def test_defaults_give_every_exercise_a_load_and_an_exercise_overrides_it():
    # One kettlebell for the whole session; the plank is done without it.
    p = parse_program("defaults: {load: 16kg}\n" + HEAD + SQUAT
                      + "  - {name: Swing, reps: 20, cadence: 2s}\n"
                      + "  - {name: Plank, hold: 30s, load: bodyweight}\n")
    assert [str(e.load) for e in p.exercises] == ["16kg", "16kg", "bodyweight"]
    assert parse_program(HEAD + SQUAT).exercises[0].load is None  # none given: none at all


def test_notes_are_kept_at_the_top_and_per_exercise():
    p = parse_program("notes: |\n  Bring chalk.\n  Belt for the last set.\n" + HEAD + SQUAT
                      + "    notes: heels on 2.5 kg plates\n")
    assert p.notes == "Bring chalk.\nBelt for the last set."
    assert p.exercises[0].notes == "heels on 2.5 kg plates"


def test_a_double_progression_rule_is_read():
    ex = parse_program(HEAD + SQUAT + LOAD + DOUBLE).exercises[0]
    assert ex.progress == (ProgressRule("reps", 1, 12, then=Then(250, "kg", 8)),)
    plain = parse_program(HEAD + SQUAT + LOAD
                          + "    progress: {reps: +1, max: 12, then: {load: +2.5kg}}\n")
    assert plain.exercises[0].progress[0].then == Then(250, "kg", None)  # floor: its own 8
    hold = parse_program(HEAD + "  - {name: Plank, hold: 30s, load: 10lb, progress: "
                         "{hold: +5s, max: 60s, then: {load: +5lb, hold: 40s}}}\n")
    assert hold.exercises[0].progress[0].then == Then(500, "lb", 40_000)


# ---- mistakes, each one line at its exact place ----------------------------------------------

# (the load value, written at line 7 col 11; the message)
BAD_LOADS = [
    ("24", 'load needs its unit, kg or lb: 24kg or 24lb, got "24"'),
    ("0kg", 'load must be more than 0, got "0kg"'),
    ("'0.00 kg'", 'load must be more than 0, got "0.00 kg"'),
    ("-5kg", 'load must be more than 0, got "-5kg"'),
    ("heavy", 'load must be a weight like 24kg, 24.5 kg or 50lb, or bodyweight, got "heavy"'),
    ("bodywieght", 'load must be a weight like 24kg, 24.5 kg or 50lb, or bodyweight, got '
                   '"bodywieght" (did you mean "bodyweight"?)'),
    ("24 stone", 'the unit of load must be kg or lb, got "24 stone"'),
    ("24kgg", 'the unit of load must be kg or lb, got "24kgg" (did you mean "kg"?)'),
    ("1200kg", 'load must be at most 1000kg, got "1200kg"'),
    ("2500lb", 'load must be at most 2000lb, got "2500lb"'),
    ("24.125kg", 'load takes at most two decimals (like 1.25kg), got "24.125kg"'),
    # a thousands separator or a decimal comma? never guessed
    ("1,250lb", 'load takes at most two decimals (like 1.25kg), got "1,250lb"'),
    ("[24, kg]", "load must be text, got a list"),
    ("{kg: 24}", "load must be text, got a mapping"),
]


@pytest.mark.parametrize("value, message", BAD_LOADS, ids=[b[0] for b in BAD_LOADS])
def test_bad_load(value, message):
    assert diags(HEAD + SQUAT + f"    load: {value}\n") == [(7, 11, message)]


@pytest.mark.parametrize("text, expected", [
    # A lifter's word for the key points at it, never at a look-alike ("switch").
    (HEAD + SQUAT + "    weight: 24kg\n",
     (7, 5, 'unknown key "weight" in exercise 1 (did you mean "load"?)')),
    (HEAD + SQUAT + "    weigth: 24kg\n",
     (7, 5, 'unknown key "weigth" in exercise 1 (did you mean "load"?)')),
    (HEAD + SQUAT + "    lbs: 50\n", (7, 5, 'unknown key "lbs" in exercise 1 (did you mean "load"?)')),
    (HEAD + SQUAT + "    note: x\n", (7, 5, 'unknown key "note" in exercise 1 (did you mean "notes"?)')),
    (HEAD + SQUAT + "    notes: [a, b]\n", (7, 12, "notes must be text, got a list")),
    ("notes:\n" + HEAD + SQUAT, (1, 7, "notes must not be empty")),
    ("defaults: {load: 24}\n" + HEAD + SQUAT,
     (1, 18, 'defaults.load needs its unit, kg or lb: 24kg or 24lb, got "24"')),
    ("defaults: {weight: 24kg}\n" + HEAD + SQUAT,
     (1, 12, 'unknown key "weight" in defaults (did you mean "load"?)')),
])
def test_bad_load_and_notes_keys(text, expected):
    assert diags(text) == [expected]


# (the `then:` value, written at line 8 col 41 after a 24kg load; where and what is wrong)
BAD_THEN = [
    ("{load: +5lb, reps: 8}", 8, 48, 'the load step is in lb, but the load of "Goblet squat" is '
                                     "in kg (24kg): give the step in kg, like +2.5kg"),
    ("{load: +2.5kg, reps: 14}", 8, 62, "then reps 14 is above the rule's max (12)"),
    ("{load: +2.5kg, reps: 6}", 8, 62, "then reps 6 is below the exercise's own reps (8); "
                                       "lower the exercise's reps"),
    ("{load: +2.5kg, sets: 2}", 8, 56, "then returns the rule's own target (reps) to a floor, "
                                       "not sets: then: {load: +2.5kg, reps: ...}"),
    ("{reps: 8}", 8, 41, "then needs the load it adds: then: {load: +2.5kg, reps: 8}"),
    ("{lod: +2.5kg}", 8, 42, 'unknown key "lod" in then (did you mean "load"?)'),
    ("{load: -2.5kg}", 8, 48, 'the load step must be a positive weight like +2.5kg or +5lb, '
                              'got "-2.5kg"'),
    ("{load: 0kg}", 8, 48, 'the load step must be more than 0, like +2.5kg, got "0kg"'),
    ("{load: 2.5}", 8, 48, 'the load step needs its unit, kg or lb: 2.5kg or 2.5lb, got "2.5"'),
    ("{load: [2.5kg]}", 8, 48, "the load step must be a positive weight like +2.5kg or +5lb, "
                               "got a list"),
    ("8", 8, 41, 'then must be a mapping (key: value lines), got "8"'),
]


@pytest.mark.parametrize("value, line, col, message", BAD_THEN, ids=[b[0] for b in BAD_THEN])
def test_bad_then(value, line, col, message):
    text = HEAD + SQUAT + LOAD + f"    progress: {{reps: +1, max: 12, then: {value}}}\n"
    assert diags(text) == [(line, col, message)]


def test_then_needs_a_load_to_add_to():
    rule = "    progress: {reps: +1, max: 12, then: {load: +2.5kg}}\n"
    assert diags(HEAD + SQUAT + rule) == [
        (7, 48, 'then adds load, but "Goblet squat" has no load: give it one (load: 24kg)')]
    assert diags(HEAD + SQUAT + "    load: bodyweight\n" + rule) == [
        (8, 48, 'then adds load, but "Goblet squat" is a bodyweight exercise (load: bodyweight)')]
    # the defaults' bodyweight counts too
    assert diags("defaults: {load: bodyweight}\n" + HEAD + SQUAT + rule) == [
        (8, 48, 'then adds load, but "Goblet squat" is a bodyweight exercise (load: bodyweight)')]
    # a bad load is reported once, at the load, not again at the rule
    assert diags(HEAD + SQUAT + "    load: 24\n" + rule) == [
        (7, 11, 'load needs its unit, kg or lb: 24kg or 24lb, got "24"')]
    assert diags("defaults: {load: 24}\n" + HEAD + SQUAT + rule) == [
        (1, 18, 'defaults.load needs its unit, kg or lb: 24kg or 24lb, got "24"')]


def test_one_rule_adds_the_load():
    assert diags(HEAD + SQUAT + LOAD + "    progress:\n"
                 "      - {reps: +1, max: 12, then: {load: +2.5kg}}\n"
                 "      - {sets: +1, max: 5, then: {load: +2.5kg}}\n") == [
        (10, 28, "progress has two rules with then (first at line 9); one rule adds the load")]


def test_a_hold_floor_is_a_duration_within_max():
    assert diags(HEAD + "  - {name: Plank, hold: 30s, load: 10kg, progress: {hold: +5s, max: 60s, "
                 "then: {load: +2.5kg, hold: 90s}}}\n") == [
        (3, 101, "then hold 90s is above the rule's max (1m)")]


# ---- the JSON Schema agrees ------------------------------------------------------------------


def _loads(data: dict) -> bool:
    try:
        parse_program(yaml.safe_dump(data))
        return True
    except CoachError:
        return False


@pytest.mark.parametrize("load", [
    "24kg", "24.5 kg", "24,5 kg", "50lb", "50 LBS", "20 kilos", ".5kg", "24.kg", "24.500kg",
    "bodyweight", "BodyWeight", "0.01kg",
    "24", 24, 24.5, "0kg", "0.0 kg", "-5kg", "heavy", "24 stone", "24.125kg", "1,250lb", "",
    ["24kg"], {"kg": 24}, True, None])
def test_schema_load_agrees_with_the_loader(load):
    data = {"program": "P", "exercises": [{"name": "A", "reps": 8, "tempo": "2020",
                                           "load": load}]}
    assert VALIDATOR.is_valid(data) == _loads(data), load
    data = {"program": "P", "defaults": {"load": load},
            "exercises": [{"name": "A", "hold": "30s"}]}
    assert VALIDATOR.is_valid(data) == _loads(data), load


@pytest.mark.parametrize("then, ok", [
    ({"load": "+2.5kg", "reps": 8}, True), ({"load": "2.5 kg"}, True), ({"load": "+2,5kg"}, True),
    ({"load": "+2.5kg", "reps": 8, "sets": 2}, False), ({"reps": 8}, False),
    ({"load": "-2.5kg"}, False), ({"load": "0kg"}, False), ({"load": 2.5}, False),
    ({"load": "+2.5"}, False), ({"load": "+2.5kg", "lod": 1}, False), ("+2.5kg", False),
    ({"load": "+2.5kg", "reps": 201}, False)])
def test_schema_then_agrees_with_the_loader(then, ok):
    data = {"program": "P", "exercises": [{"name": "A", "reps": 8, "tempo": "2020",
                                           "load": "24kg",
                                           "progress": {"reps": 1, "max": 12, "then": then}}]}
    assert VALIDATOR.is_valid(data) == ok
    assert _loads(data) == ok


def test_schema_has_load_and_notes_where_the_loader_takes_them():
    s = program_schema()
    assert {"load", "notes"} <= set(s["$defs"]["exercise"]["properties"])
    assert "notes" in s["properties"] and "load" not in s["properties"]
    assert "load" in s["$defs"]["defaults"]["properties"]
    assert "notes" not in s["$defs"]["defaults"]["properties"]
    assert "then" in s["$defs"]["progress_rule"]["properties"]
    good = {"program": "P", "notes": "chalk", "exercises": [
        {"name": "A", "reps": 8, "tempo": "2020", "load": "24kg", "notes": "seat 4"}]}
    assert VALIDATOR.is_valid(good) and _loads(good)


# ---- what is said ----------------------------------------------------------------------------


def announcement(text: str) -> str:
    return next(c.text for c in compile_program(parse_program(text)).cues
                if c.phrase == "announce")


@pytest.mark.parametrize("lang, load, said", [
    ("en", "24kg", "Goblet squat, 24 kilos. Set 1 of 3. 8 reps, tempo 3 0 1 0."),
    ("en", "24.5 kg", "Goblet squat, 24.5 kilos. Set 1 of 3."),
    ("en", "1kg", "Goblet squat, 1 kilo. Set 1 of 3."),
    ("en", "50lb", "Goblet squat, 50 pounds. Set 1 of 3."),
    ("en", "1lb", "Goblet squat, 1 pound. Set 1 of 3."),
    # bodyweight is logged, not said: the exercise's name already says what to lift
    ("en", "bodyweight", "Goblet squat. Set 1 of 3. 8 reps, tempo 3 0 1 0."),
    ("de", "24kg", "Goblet squat, vierundzwanzig Kilo. Satz eins von drei. Acht "
                   "Wiederholungen, Tempo drei null eins null."),
    ("de", "24.5 kg", "Goblet squat, vierundzwanzig Komma fünf Kilo. Satz eins von drei."),
    ("de", "1kg", "Goblet squat, ein Kilogramm. Satz eins von drei."),
    ("de", "50lb", "Goblet squat, fünfzig englische Pfund. Satz eins von drei."),
    ("de", "1lb", "Goblet squat, ein englisches Pfund."),
    ("de", "bodyweight", "Goblet squat. Satz eins von drei."),
    ("es", "21kg", "Goblet squat, con veintiún kilos. Serie uno de tres."),
    ("es", "1lb", "Goblet squat, con una libra."),
    ("es", "24.5kg", "Goblet squat, con veinticuatro coma cinco kilos."),
    ("fr", "21kg", "Goblet squat, avec vingt et un kilos. Série un sur trois."),
    ("fr", "1lb", "Goblet squat, avec une livre."),
    ("fr", "24.5kg", "Goblet squat, avec vingt-quatre virgule cinq kilos."),
])
def test_the_announcement_says_the_load(lang, load, said):
    text = announcement(f"program: P\nlanguage: {lang}\n" + HEAD[len("program: P\n"):] + SQUAT
                        + f"    load: {load}\n")
    assert text.startswith(said), text


def test_notes_are_never_spoken():
    p = parse_program("notes: NOTE-TOP\n" + HEAD + SQUAT + LOAD + "    notes: NOTE-EX\n")
    assert not any("NOTE" in c.text for c in compile_program(p).cues)


def test_a_words_override_names_the_unit_its_own_way():
    text = announcement("words: {kilos: '{n} kilograms'}\n" + HEAD + SQUAT + LOAD)
    assert text.startswith("Goblet squat, 24 kilograms. Set 1 of 3.")


# ---- double progression, pure ----------------------------------------------------------------

PROGRAM = HEAD + SQUAT + LOAD + DOUBLE


def test_double_progression_walks_reps_to_max_then_adds_load_at_the_floor():
    program = parse_program(PROGRAM)
    past: PastExercise | None = None
    walked = []
    for _ in range(7):
        today, report = apply_progress(program, {0: past} if past else {})
        ex = today.exercises[0]
        walked.append((ex.reps, str(ex.load)))
        past = PastExercise(sets=ex.sets, completed=True, reps=ex.reps, load=ex.load)
    assert walked == [(8, "24kg"), (9, "24kg"), (10, "24kg"), (11, "24kg"), (12, "24kg"),
                      (8, "26.5kg"), (9, "26.5kg")]


def test_plan_says_what_went_up_and_why():
    program = parse_program(PROGRAM)
    at_max = PastExercise(sets=3, completed=True, reps=12, load=parse_load("24kg"))
    today, report = apply_progress(program, {0: at_max})
    assert describe_progress(report) == [
        "Goblet squat: load 24kg → 26.5kg, reps 12 → 8 (reps reached 12)"]
    assert report[0].to_json()["load"] == {"old": "24kg", "new": "26.5kg"}
    assert (today.exercises[0].reps, today.exercises[0].up_from) == (8, (("load", 2400),))
    assert announcement_of(today).startswith(
        "Goblet squat, 26.5 kilos today, up from 24. Set 1 of 3. 8 reps, tempo 3 0 1 0.")
    below = PastExercise(sets=3, completed=True, reps=9, load=parse_load("26.5kg"))
    assert describe_progress(apply_progress(program, {0: below})[1]) == [
        "Goblet squat: reps 9 → 10 at 26.5kg (all sets completed)"]


def test_an_unfinished_session_at_max_keeps_the_load():
    program = parse_program(PROGRAM)
    stopped = PastExercise(sets=3, completed=False, reps=12, load=parse_load("24kg"))
    today, report = apply_progress(program, {0: stopped})
    assert (today.exercises[0].reps, str(today.exercises[0].load)) == (12, "24kg")
    assert describe_progress(report) == [
        "Goblet squat: reps 12 stays at 24kg (last session not completed)"]


def test_the_load_steps_from_the_last_one_never_below_the_program():
    program = parse_program(PROGRAM)
    # the lifter raised the file's load to 30kg since: the program's value wins, reps stay
    raised = parse_program(PROGRAM.replace("24kg", "30kg"))
    today, report = apply_progress(raised, {0: PastExercise(3, True, 12, load=parse_load("24kg"))})
    assert (today.exercises[0].reps, str(today.exercises[0].load)) == (12, "30kg")
    assert report[0].reason == "at max 12; the program says 30kg"
    # no load recorded (a session logged before loads), or another unit: the program's load
    for logged in (None, parse_load("50lb"), parse_load("bodyweight")):
        today, _ = apply_progress(program, {0: PastExercise(3, True, 12, load=logged)})
        assert (today.exercises[0].reps, str(today.exercises[0].load)) == (8, "26.5kg"), logged


def test_a_rating_condition_says_both_reasons():
    text = PROGRAM.replace("when: completed", "when: feel >= 4").replace(
        "    sets: 3\n", "    sets: 3\n    rate: feel\n    rest: 30s\n")
    program = parse_program(text)
    past = PastExercise(3, True, 12, feel=4.5, load=parse_load("24kg"))
    assert apply_progress(program, {0: past})[1][0].reason == "reps reached 12, feel 4.5 >= 4"
    low = PastExercise(3, True, 12, feel=3.0, load=parse_load("24kg"))
    assert str(apply_progress(program, {0: low})[0].exercises[0].load) == "24kg"


def test_german_announcement_of_the_new_load():
    program = parse_program(PROGRAM.replace("program: P\n", "program: P\nlanguage: de\n"))
    today, _ = apply_progress(program, {0: PastExercise(3, True, 12, load=parse_load("24kg"))})
    assert announcement_of(today).startswith(
        "Goblet squat, heute sechsundzwanzig Komma fünf Kilo, vorher vierundzwanzig. "
        "Satz eins von drei. Acht Wiederholungen")


def announcement_of(program) -> str:
    return next(c.text for c in compile_program(program).cues if c.phrase == "announce")


def test_max_at_the_exercises_own_value_is_linear_progression():
    # 5 reps every time; 2.5 kg more after every completed session (5x5 style).
    program = parse_program(HEAD + SQUAT.replace("reps: 8", "reps: 5") + "    load: 60kg\n"
                            + "    progress: {reps: +1, max: 5, then: {load: +2.5kg}}\n")
    past: PastExercise | None = None
    walked = []
    for _ in range(4):
        ex = apply_progress(program, {0: past} if past else {})[0].exercises[0]
        walked.append((ex.reps, str(ex.load)))
        past = PastExercise(sets=ex.sets, completed=True, reps=ex.reps, load=ex.load)
    assert walked == [(5, "60kg"), (5, "62.5kg"), (5, "65kg"), (5, "67.5kg")]
