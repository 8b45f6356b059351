"""The coach listens back: the `rate` key (validation, schema) and the rating prompts and
answer windows the timeline lays out after each set."""

from __future__ import annotations

import pytest
import yaml

from coach.core.errors import CoachError
from coach.core.program import load_program, parse_program
from tests.support.programs import VALIDATOR
from tests.support.real import PROGRAMS

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


# ---- the timeline asks ---------------------------------------------------------------------

from coach.core.navigation import skip_target  # noqa: E402
from coach.core.phrases import PACKS, PHRASE_IDS  # noqa: E402
from coach.core.program import Exercise, Program, parse_tempo  # noqa: E402
from coach.core.timeline import (  # noqa: E402
    ANSWER_WINDOW_MS,
    Cue,
    Phase,
    Timeline,
    compile_program,
    estimate_speech_ms,
    locate,
)

FEEL = "How well did you feel it? Tap one to five."
EFFORT = "How hard was that? Tap one to five."


def test_prompts_in_every_pack():
    for lang, pack in PACKS.items():
        for pid in ("rate_feel", "rate_effort", "progressed", "sets"):
            assert pid in PHRASE_IDS and pack[pid].strip(), (lang, pid)
    assert PACKS["en"]["rate_feel"] == FEEL and PACKS["en"]["rate_effort"] == EFFORT


def speech_s(text: str) -> int:
    """The prompt's estimated length at 170 wpm, rounded up to whole seconds, in ms."""
    return -(-estimate_speech_ms(text, 170) // 1000) * 1000


def row(**kw) -> Exercise:
    base = dict(name="Row", kind="tempo", reps=1, tempo=parse_tempo("2020"), announce_ms=3000,
                lead_in_ms=2000, rest_ms=60_000)
    return Exercise(**{**base, **kw})


def compiled(*exercises: Exercise) -> Timeline:
    return compile_program(Program("P", exercises, path="p.yaml"))


def cues_of(tl: Timeline, phrase: str) -> list[Cue]:
    return [c for c in tl.cues if c.phrase == phrase]


def answers(tl: Timeline) -> list[Phase]:
    return [p for p in tl.phases if p.phase == "answer"]


def assert_phases_tile(tl: Timeline) -> None:
    ph = tl.phases
    for a, b in zip(ph, ph[1:]):
        assert a.end_ms <= b.t_ms, (a, b)


def test_a_normal_set_asks_at_the_start_of_its_rest():
    tl = compiled(row(sets=2, rate=("feel", "effort")), row(name="Curl"))
    work_end = 3000 + 2000 + 4000  # announce, lead-in, one 2020 rep
    s1, s2 = speech_s(FEEL), speech_s(EFFORT)
    assert s1 == 4000  # 10 words at 170 wpm and a pause at the "?"
    feel, effort = cues_of(tl, "rate_feel"), cues_of(tl, "rate_effort")
    assert feel[0].t_ms == work_end and feel[0].question == "feel" and feel[0].text == FEEL
    assert (feel[0].exercise, feel[0].set, feel[0].side) == ("Row", 1, None)
    a = answers(tl)
    assert [(p.t_ms, p.duration_ms, p.question, p.set) for p in a[:2]] == [
        (work_end + s1, ANSWER_WINDOW_MS, "feel", 1),
        (work_end + s1 + ANSWER_WINDOW_MS + s2, ANSWER_WINDOW_MS, "effort", 1)]
    assert effort[0].t_ms == work_end + s1 + ANSWER_WINDOW_MS
    windows_end = a[1].end_ms
    # "rest N seconds" after the last window, with the whole seconds that remain
    rest = cues_of(tl, "rest")[0]
    assert rest.t_ms == windows_end
    assert rest.text == f"rest {(work_end + 60_000 - windows_end) // 1000} seconds"
    # the rest keeps its length: set 2 starts 60 s after the work
    assert tl.sets[1].start_ms == work_end + 60_000
    # the rest around the windows is still "rest"; phases never overlap
    rests = [p for p in tl.phases if p.phase == "rest" and p.set == 1 and p.exercise == "Row"]
    assert sum(p.duration_ms for p in rests) + 2 * ANSWER_WINDOW_MS == 60_000
    assert_phases_tile(tl)
    # the rating windows belong to their set; skip from work goes to the first prompt
    assert locate(tl, a[0].t_ms + 100) == (0, a[0])
    assert skip_target(tl, work_end - 500) == work_end
    # every set of Row asks; Curl (no rate) does not
    assert [(c.exercise, c.set) for c in feel] == [("Row", 1), ("Row", 2)]
    json_answer = a[0].to_json()
    assert json_answer["phase"] == "answer" and json_answer["question"] == "feel"
    assert feel[0].to_json()["question"] == "feel" and rest.to_json()["question"] is None


def test_no_rest_cue_falls_inside_a_window():
    for rest_ms in (26_000, 30_000, 31_000, 34_000, 40_000, 45_000, 60_000, 90_000):
        tl = compiled(row(rate=("feel", "effort"), rest_ms=rest_ms + 12_000), row(name="Curl"))
        tl2 = compiled(row(rate=("feel",), rest_ms=rest_ms), row(name="Curl"))
        for t in (tl, tl2):
            windows = [(p.t_ms, p.end_ms) for p in answers(t)]
            others = [c for c in t.cues if c.exercise == "Row" and c.phrase in
                      ("rest", "next", "seconds_left")]
            for c in others:
                assert not any(a <= c.t_ms < b for a, b in windows), (rest_ms, c)
                assert c.t_ms >= windows[-1][1]
            assert cues_of(t, "rest"), rest_ms


def test_next_and_ten_seconds_only_when_after_the_windows():
    # 30 s rest, feel only: windows end at 12 s; "rest 18 seconds" at 12 s (2 s long),
    # "next" would be at 10 s: dropped; "10 seconds" at 20 s: kept.
    tl = compiled(row(rate=("feel",), rest_ms=30_000), row(name="Curl"))
    work_end = 9000
    assert [(c.phrase, c.t_ms - work_end, c.text) for c in tl.cues
            if c.exercise == "Row" and c.t_ms >= work_end] == [
        ("rate_feel", 0, FEEL), ("rest", 12_000, "rest 18 seconds"),
        ("seconds_left", 20_000, "10 seconds")]
    # 60 s rest: everything after the windows stays where it was
    tl = compiled(row(rate=("feel",), rest_ms=60_000), row(name="Curl"))
    assert [(c.phrase, c.t_ms - work_end) for c in tl.cues
            if c.exercise == "Row" and c.t_ms >= work_end] == [
        ("rate_feel", 0), ("rest", 12_000), ("next", 40_000), ("seconds_left", 50_000)]


def test_after_an_end_word_the_prompt_waits_one_second():
    hold = Exercise("Wall sit", "hold", hold_ms=5000, announce_ms=3000, lead_in_ms=2000,
                    rest_ms=30_000, rate=("feel",))
    tl = compiled(hold, row(name="Curl"))
    release = cues_of(tl, "release")[0]
    assert cues_of(tl, "rate_feel")[0].t_ms == release.t_ms + 1000


def test_a_unilateral_set_asks_the_left_at_the_switch_and_the_right_at_the_rest():
    ex = row(name="Split squat", sides=("left", "right"), switch_ms=20_000, rate=("feel",))
    tl = compiled(ex, row(name="Curl"))
    left_end = 3000 + 2000 + 4000
    feel = cues_of(tl, "rate_feel")
    a = answers(tl)
    assert [(c.t_ms, c.side) for c in feel] == [(left_end, "left"),
                                                (left_end + 20_000 + 4000, "right")]
    assert [(p.t_ms, p.side, p.question) for p in a] == [
        (left_end + 4000, "left", "feel"), (left_end + 24_000 + 4000, "right", "feel")]
    # "switch sides. right side" after the left's window, the switch keeps its 20 s
    switch = cues_of(tl, "switch_sides")[0]
    assert switch.t_ms == a[0].end_ms and switch.side == "right"
    assert [p.phase for p in tl.phases if left_end <= p.t_ms < left_end + 20_000] == [
        "switch", "answer", "switch"]
    assert sum(p.duration_ms for p in tl.phases
               if p.phase in ("switch", "answer") and p.t_ms < left_end + 20_000) == 20_000
    assert next(p for p in tl.phases if p.phase == "eccentric" and p.side == "right"
                ).t_ms == left_end + 20_000
    assert_phases_tile(tl)


def test_the_last_set_asks_before_session_complete():
    tl = compiled(row(rate=("feel", "effort")))
    work_end = 9000
    windows_end = work_end + 2 * ANSWER_WINDOW_MS + speech_s(FEEL) + speech_s(EFFORT)
    assert cues_of(tl, "rate_feel")[0].t_ms == work_end
    assert answers(tl)[-1].end_ms == windows_end
    done = cues_of(tl, "done")[0]
    assert done.t_ms == windows_end
    assert tl.duration_ms > windows_end and tl.sets[-1].end_ms == tl.duration_ms
    assert not [p for p in tl.phases if p.phase == "rest"]
    # the unrated program ends right after the work
    assert cues_of(compiled(row()), "done")[0].t_ms == work_end


def rate_error(text: str) -> str:
    with pytest.raises(CoachError) as info:
        compile_program(parse_program(text, "r.yaml"))
    return str(info.value)


def test_a_rest_too_short_for_the_questions_is_an_error_at_the_rate_key():
    text = HEAD + ("  - name: Lat pulldown\n    reps: 8\n    tempo: '2020'\n    sets: 2\n"
                   "    rest: 10s\n    rate: feel\n")
    assert rate_error(text) == ("r.yaml:8:5: error: Lat pulldown: a rest of 10 s is too short "
                                "to ask feel (needs 13 s); lengthen rest or set rate: false")
    # just enough: the prompt (4 s), the window (8 s) and 1 s
    compile_program(parse_program(text.replace("rest: 10s", "rest: 13s")))
    both = text.replace("rate: feel", "rate: [feel, effort]").replace("rest: 10s", "rest: 24s")
    assert "a rest of 24 s is too short to ask feel and effort (needs 25 s)" in rate_error(both)


def test_the_error_points_at_the_top_level_rate_when_it_came_from_there():
    text = ("program: P\nrate: effort\nexercises:\n  - {name: A, hold: 5s, sets: 2, rest: 12s}\n"
            "  - {name: B, hold: 5s}\n")
    assert rate_error(text) == ("r.yaml:2:1: error: A: a rest of 12 s is too short to ask "
                                "effort (needs 14 s); lengthen rest or set rate: false")


def test_a_switch_too_short_for_the_first_side_is_an_error():
    text = HEAD + ("  - name: Split squat\n    sides: both\n    reps: 8\n    tempo: '2020'\n"
                   "    rate: feel\n")
    assert rate_error(text) == ("r.yaml:7:5: error: Split squat: a switch of 5 s is too short "
                                "to ask feel (needs 14 s); lengthen switch or set rate: false")


def test_zero_rest_with_rating_is_an_error_and_unrated_sets_need_no_room():
    text = HEAD + "  - {name: A, hold: 5s, sets: 2, rest: 0, rate: feel}\n"
    assert "a rest of 0 s is too short to ask feel (needs 14 s)" in rate_error(text)
    compile_program(parse_program(HEAD + "  - {name: A, hold: 5s, sets: 2, rest: 0}\n"))
    # the last set of the program has no rest to hold them: never an error
    compile_program(parse_program(HEAD + "  - {name: A, hold: 5s, rest: 0, rate: feel}\n"))


@pytest.mark.parametrize("path", UNRATED, ids=lambda p: p.name)
def test_unrated_programs_compile_as_before(path):
    tl = compile_program(load_program(path))
    assert not answers(tl) and not [c for c in tl.cues if c.phrase.startswith("rate_")]
    assert all(c.question is None for c in tl.cues)
    # one rest phase per rested set, of the exercise's full rest, its words at its start
    program = load_program(path)
    for span, ex_rest in [(s, program.exercises[s.exercise_index].rest_ms) for s in tl.sets]:
        rests = [p for p in tl.phases if p.phase == "rest" and span.work_end_ms <= p.t_ms
                 < span.end_ms]
        assert len(rests) <= 1
        if rests:
            assert rests[0].duration_ms == ex_rest and rests[0].t_ms == span.work_end_ms


def test_the_switch_count_waits_for_the_switch_words():
    ex = row(name="Split squat", sides=("left", "right"), switch_ms=18_000, rate=("feel",))
    tl = compiled(ex, row(name="Curl"))
    switch = cues_of(tl, "switch_sides")[0]
    after = [c for c in tl.cues if switch.t_ms < c.t_ms]
    said = -(-estimate_speech_ms(switch.text, 170) // 1000) * 1000
    assert after[0].t_ms >= switch.t_ms + said and after[0].phrase == "numbers"


def test_the_shipped_rated_example():
    path = PROGRAMS / RATED_EXAMPLE
    program = load_program(path)
    assert all(ex.rate == ("feel",) and ex.progress for ex in program.exercises)
    tl = compile_program(program)
    rated = [(p.exercise_index, p.set, p.side) for p in answers(tl)]
    assert rated == [(0, 1, "left"), (0, 1, "right"), (0, 2, "left"), (0, 2, "right"),
                     (1, 1, "left"), (1, 1, "right")]
    assert cues_of(tl, "done")[0].t_ms >= answers(tl)[-1].end_ms


def test_a_last_exercise_that_may_gain_a_set_needs_room_in_its_rest():
    text = HEAD + "  - {name: A, hold: 5s, rest: 5s, rate: feel, progress: {sets: +1, max: 3}}\n"
    assert "A: a rest of 5 s is too short to ask feel (needs 14 s)" in rate_error(text)
