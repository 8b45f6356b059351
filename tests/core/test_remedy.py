"""Remedies (issue 20): `remedy:` validation and schema, the pure remedy math of
coach.core.remedy, and the timeline recompiled with a change (the same up to its words)."""

from __future__ import annotations

import pytest
import yaml

from coach.core.errors import CoachError
from coach.core.phrases import PACKS, phrase_table
from coach.core.program import Remedy, parse_program, parse_tempo
from coach.core.remedy import apply_remedy, playing, remedied, slower
from coach.core.timeline import Cue, compile_program
from tests.support.programs import VALIDATOR

HEAD = "program: P\nexercises:\n"  # exercises start on line 3
ROW = ("  - name: Row\n    reps: 3\n    tempo: '3010'\n    sets: 3\n    rate: feel\n"
       "    rest: 60s\n")  # lines 3-8


def diags(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CoachError) as info:
        parse_program(text, "p.yaml")
    assert str(info.value).startswith("p.yaml:")
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


# ---- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, remedy", [
    ("true", Remedy()),
    ("false", None),
    ("{low: 1, high: 5}", Remedy(low=1, high=5)),
    ("{eccentric: +2s}", Remedy(eccentric_ms=2000, peak_ms=0, hold_ms=0, flex_ms=0,
                                weaker_first=False)),
    ("{peak: 1, hold: 5s, flex: 15s}", Remedy(eccentric_ms=0, peak_ms=1000, hold_ms=5000,
                                              flex_ms=15_000, weaker_first=False)),
    ("{weaker_first: yes, low: 3}", Remedy(low=3, eccentric_ms=0, peak_ms=0, hold_ms=0,
                                           flex_ms=0, weaker_first=True)),
])
def test_remedy_values(value, remedy):
    ex = parse_program(HEAD + ROW + f"    remedy: {value}\n").exercises[0]
    assert ex.remedy == remedy


def test_the_exercise_wins_over_the_top_level():
    p = parse_program("program: P\nremedy: true\nexercises:\n" + ROW
                      + "  - {name: B, hold: 30s, remedy: false}\n"
                      + "  - {name: C, hold: 30s}\n")
    assert [e.remedy for e in p.exercises] == [Remedy(), None, Remedy()]
    assert p.exercises[0].remedy_at == (2, 1)


@pytest.mark.parametrize("value, line, col, message", [
    ("maybe", 9, 13, 'remedy must be true, false or a mapping {low, high, eccentric, peak, '
                     'hold, flex, weaker_first}, got "maybe"'),
    ("{eccentrc: 1s}", 9, 14, 'unknown key "eccentrc" in remedy (did you mean "eccentric"?)'),
    ("{low: 6}", 9, 19, "remedy.low must be between 1 and 5, got 6"),
    ("{low: 4, high: 3}", 9, 19, "remedy.low (4) must be below remedy.high (3)"),
    ("{eccentric: 1.5s}", 9, 25, 'remedy.eccentric must be whole seconds (a tempo\'s digits '
                                 'are), got "1.5s"'),
    ("{flex: 2m}", 9, 20, 'remedy.flex must be between 0s and 1m, got "2m"'),
    ("{weaker_first: sometimes}", 9, 28, "remedy.weaker_first must be true or false "
                                         '(yes/no, on/off), got "sometimes"'),
])
def test_remedy_mistakes_are_one_line_each(value, line, col, message):
    assert diags(HEAD + ROW + f"    remedy: {value}\n") == [(line, col, message)]


@pytest.mark.parametrize("remedy, ok", [
    (True, True), (False, True), ("yes", True), ({"low": 1, "eccentric": "+2s"}, True),
    ({"flex": 10, "weaker_first": False}, True), ({"lo": 1}, False), ({"low": 7}, False),
    ("maybe", False), ({"hold": "+5s"}, True)])
def test_schema_agrees(remedy, ok):
    data = {"program": "P", "remedy": remedy,
            "exercises": [{"name": "A", "reps": 8, "tempo": "3010"}]}
    assert VALIDATOR.is_valid(data) == ok
    try:
        parse_program(yaml.safe_dump(data))
        loads = True
    except CoachError:
        loads = False
    assert loads == ok


# ---- the pure math -------------------------------------------------------------------------

@pytest.mark.parametrize("code, ecc, peak, out", [
    ("3010", 1000, 2000, "4012"), ("X010", 2000, 1000, "X011"), ("8019", 3000, 3000, "9019"),
    ("301X", 1000, 2000, "401X"), ("2020", 0, 0, "2020")])
def test_slower_tempo_keeps_x_explosive(code, ecc, peak, out):
    assert slower(parse_tempo(code), ecc, peak).code == out


def test_remedy_changes_and_returns():
    p = parse_program(HEAD + ROW + "    remedy: true\n")
    own = p.exercises[0]
    w = phrase_table("en")
    c = apply_remedy(p, 0, own, 2, 1, None, w, at_ms=30_000)
    assert c is not None and c.from_set == 2 and c.reason == "feel 2 on set 1"
    assert c.exercise.tempo is not None and c.exercise.tempo.code == "4012"
    assert c.words == "Feel was 2. Next set: 4 seconds down and squeeze at the top for 2 seconds."
    assert c.flex_ms == 10_000 and c.at_ms == 30_000
    assert apply_remedy(p, 0, own, 3, 1, None, w) is None  # above low
    assert apply_remedy(p, 0, own, 1, 3, None, w) is None  # the last set: nothing follows
    assert apply_remedy(p, 0, c.exercise, 1, 2, None, w) is None  # already remedied
    assert apply_remedy(p, 0, c.exercise, 3, 2, None, w) is None  # below high
    back = apply_remedy(p, 0, c.exercise, 5, 2, None, w)
    assert back is not None and back.exercise == own and back.reason is None
    assert back.words == "Feel was 5. Next set: back to the program."
    assert playing(p, (c, back), 0, 1) == (own, None)
    assert playing(p, (c, back), 0, 2) == (c.exercise, "feel 2 on set 1")
    assert playing(p, (c, back), 0, 3) == (own, None)
    assert apply_remedy(parse_program(HEAD + ROW), 0, own, 1, 1, None, w) is None  # no remedy


def test_weaker_side_first_and_closing_hold():
    p = parse_program(HEAD + ROW + "    sides: both\n    switch: 30s\n"
                      "    remedy: {hold: 5s, weaker_first: true}\n")
    own = p.exercises[0]
    assert own.remedy is not None
    new = remedied(own, own.remedy, "right")
    assert new.sides == ("right", "left") and new.closing_hold_ms == 5000
    assert remedied(own, own.remedy, "left").sides == ("left", "right")
    c = apply_remedy(p, 0, own, 2, 1, "right", phrase_table("en"))
    assert c is not None and c.reason == "feel 2 on set 1 right"
    assert c.words == ("Feel was 2. Next set: right side first and hold the squeeze 5 "
                       "seconds at the end.")


@pytest.mark.parametrize("lang", sorted(PACKS))
def test_change_words_in_every_pack(lang):
    p = parse_program(f"program: P\nlanguage: {lang}\nexercises:\n" + ROW + "    remedy: true\n")
    c = apply_remedy(p, 0, p.exercises[0], 2, 1, None, phrase_table(lang))
    assert c is not None and "{" not in c.words and len(c.words) > 20


# ---- the recompiled timeline ---------------------------------------------------------------

def test_recompiled_timeline_is_the_same_up_to_the_change():
    p = parse_program(HEAD + ROW + "    remedy: true\n")
    c = apply_remedy(p, 0, p.exercises[0], 2, 1, None, phrase_table("en"), at_ms=30_000)
    assert c is not None
    old, new = compile_program(p), compile_program(p, [c])
    said = next(e for e in new.cues if e.phrase == "remedy")
    assert said.t_ms >= 30_000 and said.text == c.words
    assert [e for e in old.events if e.t_ms < said.t_ms] == \
        [e for e in new.events if e.t_ms < said.t_ms]
    flex = next(e for e in new.cues if e.phrase == "flex")
    assert flex.text == "flex it for 10 seconds, eyes closed"
    relax = next(e for e in new.cues if e.phrase == "relax")
    assert relax.t_ms - flex.t_ms >= 10_000 and relax.t_ms < new.sets[1].start_ms
    # set 2 announces and plays the slower tempo; its set span starts where it did
    assert new.sets[1].start_ms == old.sets[1].start_ms
    ann = next(e for e in new.cues if isinstance(e, Cue) and e.phrase == "announce" and e.set == 2)
    assert "tempo 4 0 1 2" in ann.text
    ecc = [e for e in new.phases if e.set == 2 and e.phase == "eccentric"]
    top = [e for e in new.phases if e.set == 2 and e.phase == "top_pause"]
    assert {e.duration_ms for e in ecc} == {4000} and {e.duration_ms for e in top} == {2000}
    assert new.duration_ms == old.duration_ms + 3 * 3000 * 2  # 2 sets of 3 reps, 3 s longer each


# ---- coach check: a remedy that cannot fit its rest ------------------------------------------

def test_a_flex_cue_longer_than_its_rest_is_an_error():
    from coach.core.remedy import remedy_problems
    text = ("program: P\nrate: feel\nremedy: true\nexercises:\n"
            "  - {name: Row, sets: 3, reps: 2, tempo: '3010', rest: 25s}\n"
            "  - {name: Curl, sets: 2, reps: 2, tempo: '3010', rest: 40s, remedy: {flex: 30s}}\n"
            "  - {name: Fine, sets: 2, reps: 2, tempo: '3010', rest: 60s}\n"
            "  - {name: Once, reps: 2, tempo: '3010', rest: 5s}\n")
    p = parse_program(text, "p.yaml")
    assert [str(d) for d in remedy_problems(p)] == [
        "p.yaml:3:1: error: Row: a rest of 25 s cannot hold the remedy's flex cue of 10 s after "
        "its ratings; lengthen rest or give the remedy a shorter flex (flex: 0 for none)",
        "p.yaml:6:62: error: Curl: a rest of 40 s cannot hold the remedy's flex cue of 30 s "
        "after its ratings; lengthen rest or give the remedy a shorter flex (flex: 0 for none)"]
    tight = parse_program("program: P\nexercises:\n  - {name: Row, sets: 2, reps: 2, "
                          "tempo: '3010', rest: 3s, remedy: {eccentric: 1s}}\n", "p.yaml")
    assert [d.message for d in remedy_problems(tight)] == [
        "Row: a rest of 3 s cannot hold the remedy's words; lengthen rest or give the remedy a "
        "shorter flex (flex: 0 for none)"]


def test_a_closing_hold_keeps_a_set_counted_in_reps():
    from coach.core.outcome import outcome, units
    p = parse_program(HEAD + ROW + "    remedy: {hold: 5s}\n")
    c = apply_remedy(p, 0, p.exercises[0], 1, 1, None, phrase_table("en"))
    assert c is not None
    tl = compile_program(p, [c])
    u = units(tl)[1]
    assert (u.measure, len(u.marks)) == ("reps", 3)
    hold = next(ph for ph in tl.phases if ph.set == 2 and ph.phase == "hold")
    assert u.work_end_ms == hold.end_ms  # completed only once the closing hold was held
    assert outcome(u, u.start_ms, hold.t_ms).status == "partial"
    assert outcome(u, u.start_ms, hold.end_ms).status == "completed"


# ---- a resumed session: the changes derived again from what brought them --------------------

def test_replay_derives_the_same_changes_from_the_feels():
    from coach.core.remedy import Felt, next_change, replay
    p = parse_program(HEAD + ROW + "    remedy: true\n")
    words = phrase_table("en")
    low = apply_remedy(p, 0, p.exercises[0], 2, 1, None, words, at_ms=30_000)
    assert low is not None and low.felt == Felt(0, 1, None, 2, 30_000)
    back = next_change(p, (low,), Felt(0, 2, None, 5, 120_000))
    assert back is not None and back.reason is None
    assert replay(p, (low.felt, back.felt)) == (low, back)
    assert compile_program(p, replay(p, (low.felt,))) == compile_program(p, [low])
    assert playing(p, (low, back), 0, 3) == (p.exercises[0], None)
    # a feel that changes nothing, or one for an exercise or set the program no longer has
    assert replay(p, (Felt(0, 1, None, 3, 0), Felt(4, 1, None, 1, 0),
                      Felt(0, 3, None, 1, 0))) == ()
