"""`coach check`'s timing proof for remedies (issue 20, "a clip that cannot be made in time on
one core"): which clips a remedy adds, when they are due, which the daemon makes ahead and in
what order, and whether an engine of a given cost has them in time (made ahead after the
session's own clips, or from the rating on); cached clips are free. The costs are given here,
so every figure is exact (the measured ones are coach/audio/voice/cost.py's)."""

from __future__ import annotations

import pytest

from coach.core.phrases import phrase_table
from coach.core.program import parse_program
from coach.core.remedy import Felt, apply_remedy, next_change
from coach.core.remedytime import (
    CHANGE_LEAD_MS,
    READY_MARGIN_MS,
    Late,
    SynthCost,
    Worker,
    ahead_texts,
    late,
    late_problems,
    late_remedies,
    new_clips,
    rating_points,
    remedy_cases,
    session_texts,
)
from coach.core.timeline import compile_program

# Times are read from the compiled plan, not assumed.
TIGHT = ("program: P\nexercises:\n"
         "  - {name: Row, sets: 3, reps: 2, tempo: '3010', rest: 8s,\n"
         "     remedy: {eccentric: 1s, flex: 0}}\n")
RATED = ("program: P\nrate: feel\nremedy: true\nexercises:\n"
         "  - {name: Row, sets: 3, reps: 8, tempo: '3010', rest: 90s}\n")
NONE = lambda text: False  # noqa: E731  (nothing cached)
SLOW = SynthCost("Piper", 3.0, 0.2, 0.02)
FAST = SynthCost("espeak-ng", 0.05, 0.06, 0.0002)


def test_the_clips_a_remedy_adds_in_the_order_heard():
    p = parse_program(TIGHT, "p.yaml")
    own = compile_program(p)
    end = own.sets[0].work_end_ms
    assert rating_points(own, 0, 1) == [end]  # no feel asked: the set's end only
    c = apply_remedy(p, 0, p.exercises[0], 2, 1, None, phrase_table("en"),
                     at_ms=end + CHANGE_LEAD_MS)
    assert c is not None
    clips = new_clips(own, compile_program(p, [c]), end)
    assert [t for t, _ in clips] == ["Feel was 2. Next set: 4 seconds down.",
                                     "Row. Set 2 of 3. 2 reps, tempo 4 0 1 0.",
                                     "Row. Set 3 of 3. 2 reps, tempo 4 0 1 0."]
    assert clips[0][1] == end + CHANGE_LEAD_MS  # said as soon as the daemon would
    assert clips[1][1] == own.sets[1].start_ms


def own_cached(p):
    """The session's own clips cached, as `coach check` leaves them (it voices them first)."""
    own = set(session_texts(p, compile_program(p)))
    return lambda text: text in own


WORDS2 = "Feel was 2. Next set: 4 seconds down."
WORDS1 = "Feel was 1. Next set: 4 seconds down."
ANN2, ANN3 = (f"Row. Set {n} of 3. 2 reps, tempo 4 0 1 0." for n in (2, 3))


def test_the_clips_made_ahead_in_the_order_they_could_be_needed():
    p = parse_program(TIGHT, "p.yaml")
    # the earliest moment first (set 1's end), the clip heard first (the words, feel 2's
    # before feel 1's), then the announcements with the new tempo
    assert ahead_texts(remedy_cases(p)) == [WORDS2, WORDS1, ANN2, ANN3]
    # unilateral: each side's feel, the side rated first first; a feel on the right side
    # puts it first, with other words, another announcement and another switch
    uni = parse_program(
        "program: P\nrate: feel\nremedy: {eccentric: 1s, flex: 0, weaker_first: true}\n"
        "exercises:\n  - {name: Split squat, sets: 2, reps: 2, tempo: '2010', sides: both,\n"
        "     rest: 60s, switch: 20s}\n", "u.yaml")
    left_end, right_end = rating_points(compile_program(uni), 0, 1, "left")[0], \
        rating_points(compile_program(uni), 0, 1, "right")[0]
    assert left_end < right_end
    assert ahead_texts(remedy_cases(uni)) == [
        "Feel was 2. Next set: 3 seconds down.", "Feel was 1. Next set: 3 seconds down.",
        "Split squat. Set 2 of 2. Left side. 2 reps, tempo 3 0 1 0.",
        "Feel was 2. Next set: right side first and 3 seconds down.",
        "Feel was 1. Next set: right side first and 3 seconds down.",
        "Split squat. Set 2 of 2. Right side. 2 reps, tempo 3 0 1 0.",
        "switch sides. left side"]


def test_made_ahead_a_slow_engine_passes_where_the_rest_alone_could_not():
    p = parse_program(TIGHT, "p.yaml")
    cached = own_cached(p)
    end = compile_program(p).sets[0].work_end_ms
    first = next(remedy_cases(p))
    assert (first.set_no, first.feel, first.rated_ms) == (1, 2, end)
    # at the rating alone, the 0.5 s the rest gives cannot hold the slow engine's load
    assert late(first.clips, end, SLOW, cached) is not None
    # made ahead after the session's own clips (all cached), they are done long before
    worker = Worker.start(SLOW, session_texts(p, compile_program(p)),
                          ahead_texts(remedy_cases(p)), cached)
    assert [t for t, _ in worker.ends] == [WORDS2, WORDS1, ANN2, ANN3]
    assert worker.done_s == pytest.approx(3.0 + sum(SLOW.clip_s(t) for t in
                                                    (WORDS2, WORDS1, ANN2, ANN3)))
    assert worker.done_s < end / 1000
    assert late_remedies(p, SLOW, cached) == []


HUGE = SynthCost("Piper", 30.0, 0.2, 0.02)  # a model that takes 30 s to load


def test_a_first_set_too_short_even_made_ahead_is_an_error_with_the_numbers():
    p = parse_program(TIGHT, "p.yaml")
    own = compile_program(p)
    end, set2 = own.sets[0].work_end_ms, own.sets[1].start_ms
    assert (end, set2) == (19_000, 27_000)
    # At set 1's end the worker is still loading the engine for feel 2's words (made at
    # 30 s + the words): the remedy waits for them, and they are due 1.5 s before 0:21.
    words_made = 30.0 + HUGE.clip_s(WORDS2)
    needed = words_made - 19.0
    due = end + CHANGE_LEAD_MS
    available = (due - READY_MARGIN_MS - end) / 1000
    ahead = words_made + sum(HUGE.clip_s(t) for t in (WORDS1, ANN2, ANN3))
    assert late_remedies(p, HUGE, own_cached(p)) == [
        Late(0, 1, 2, end, pytest.approx(needed), available, 1, WORDS2, due,
             round(ahead * 1000))]
    assert [str(d) for d in late_problems(p, HUGE, own_cached(p))] == [
        f"p.yaml:4:6: error: the remedy after set 1 of Row (feel 2 at 0:19) needs "
        f"~{needed:.1f} s of speech synthesis on one core (Piper, 1 new clip due at 0:21) but "
        f"the rest gives 0.5 s, and made ahead from the session's start they are ready only at "
        f"~0:{int(ahead):02d}; lengthen rest or what comes before set 1's end, or make its "
        "clips ahead: coach render p.yaml --feel 2 --after-set 1 -o FILE.wav"]
    # The words in the cache (made ahead by `coach render --feel 2`), the worker is still
    # loading the engine for feel 1's at 0:19; set 2's announcement waits for them.
    words2 = lambda text: own_cached(p)(text) or text == WORDS2  # noqa: E731
    (x,) = late_remedies(p, HUGE, words2)
    assert (x.feel, x.text, x.due_ms) == (2, ANN2, set2)
    assert x.needed_s == pytest.approx(30.0 + HUGE.clip_s(WORDS1) - 19.0 + HUGE.clip_s(ANN2))


def test_a_fast_engine_or_cached_clips_pass():
    p = parse_program(TIGHT, "p.yaml")
    assert late_remedies(p, FAST, NONE) == []
    assert late_remedies(p, HUGE, lambda text: True) == []  # every clip made ahead: free
    # the words cached, nothing else: the session's own clips and the announcements made
    # ahead are done before set 1 ends
    slow_load = SynthCost("Piper", 5.0, 0.2, 0.02)
    assert late_remedies(p, slow_load, lambda text: text.startswith("Feel was")) == []


def test_every_low_feel_after_every_set_but_the_last_and_both_moments():
    # The set asks its feel: from its end to the end of its answer window (the latest the
    # lifter is asked: the least time before the next set's announcement)
    p = parse_program(RATED.replace("90s", "30s"), "p.yaml")
    own = compile_program(p)
    early, latest = rating_points(own, 0, 1)
    assert early == own.sets[0].work_end_ms and early < latest < own.sets[1].start_ms
    cases = [(c.set_no, c.feel, c.rated_ms) for c in remedy_cases(p)]
    assert cases[:4] == [(1, 2, early), (1, 2, latest), (1, 1, early), (1, 1, latest)]
    assert {(s, f) for s, f, _ in cases} == {(1, 2), (1, 1), (2, 2), (2, 1)}
    assert late_remedies(p, SLOW, NONE) == []  # a normal rest, its clips made ahead


def test_a_resumed_session_makes_ahead_what_can_still_come():
    p = parse_program(TIGHT, "p.yaml")
    own = compile_program(p)
    # resumed at set 2: set 1's feel is past
    assert {c.set_no for c in remedy_cases(p, from_ms=own.sets[1].start_ms)} == {2}
    # remedied already: a low feel changes nothing more
    first = next(remedy_cases(p))
    change = next_change(p, (), Felt(0, 1, None, 2, first.rated_ms + CHANGE_LEAD_MS))
    assert change is not None and list(remedy_cases(p, (change,))) == []


def test_no_remedy_no_proof():
    p = parse_program(TIGHT.replace("remedy: {eccentric: 1s, flex: 0}", "remedy: false"),
                      "p.yaml")
    assert late_remedies(p, SLOW, NONE) == []
