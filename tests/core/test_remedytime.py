"""`coach check`'s timing proof for remedies (issue 20, "a clip that cannot be made in time on
one core"): which clips a remedy adds, when they are due, and whether an engine of a given
cost makes them in time from the rating on; cached clips are free. The costs are given here,
so every figure is exact (the measured ones are coach/audio/voice/cost.py's)."""

from __future__ import annotations

import pytest

from coach.core.phrases import phrase_table
from coach.core.program import parse_program
from coach.core.remedy import apply_remedy
from coach.core.remedytime import (
    CHANGE_LEAD_MS,
    READY_MARGIN_MS,
    Late,
    SynthCost,
    late_problems,
    late_remedies,
    new_clips,
    rating_points,
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


def test_a_rest_too_short_for_a_slow_engine_is_an_error_at_the_remedy_key():
    p = parse_program(TIGHT, "p.yaml")
    end = compile_program(p).sets[0].work_end_ms
    words = "Feel was 2. Next set: 4 seconds down."
    needed = 3.0 + 0.2 + 0.02 * len(words)
    assert late_remedies(p, SLOW, NONE) == [
        Late(0, 1, 2, end, pytest.approx(needed), (CHANGE_LEAD_MS - READY_MARGIN_MS) / 1000, 1,
             words, end + CHANGE_LEAD_MS)]
    assert [str(d) for d in late_problems(p, SLOW, NONE)] == [
        f"p.yaml:4:6: error: the remedy after set 1 of Row (feel 2 at 0:{end // 1000:02d}) "
        f"needs ~{needed:.1f} s of speech synthesis on one core (Piper, 1 new clip due at "
        f"0:{(end + CHANGE_LEAD_MS) // 1000:02d}) but the rest gives 0.5 s; lengthen rest, or "
        "make its clips ahead: coach render p.yaml --feel 2 --after-set 1 -o FILE.wav"]


def test_a_fast_engine_or_cached_clips_pass():
    p = parse_program(TIGHT, "p.yaml")
    assert late_remedies(p, FAST, NONE) == []
    assert late_remedies(p, SLOW, lambda text: True) == []  # every clip made ahead: free
    # the words cached, the announcements not: the slow engine's load comes before the
    # first of them, 8 s later, and is in time
    assert late_remedies(p, SLOW, lambda text: text.startswith("Feel was")) == []


def test_a_normal_rated_program_passes_with_a_slow_engine_once_its_words_are_made():
    p = parse_program(RATED, "p.yaml")
    assert late_remedies(p, FAST, NONE) == []
    # Every feel at or below low (2) after every set but the last is looked at: feel 1's
    # words are other words than feel 2's.
    late = late_remedies(p, SLOW, lambda text: text.startswith("Feel was 2"))
    assert [(x.after_set, x.feel, x.text[:11]) for x in late] == [(1, 1, "Feel was 1.")]
    assert late_remedies(p, SLOW, lambda text: text.startswith("Feel was")) == []


def test_the_latest_rating_moment_is_looked_at_too():
    # The set asks its feel: a feel given at the end of the answer window leaves the least
    # time before the next set's announcement with the new tempo.
    p = parse_program(RATED.replace("90s", "30s"), "p.yaml")
    own = compile_program(p)
    early, latest = rating_points(own, 0, 1)
    assert early == own.sets[0].work_end_ms and early < latest < own.sets[1].start_ms
    # the announcement is 41 characters: 20.5 s; 28.5 s lie between the set's end and its
    # deadline, 16.5 s between the answer window's end and it
    words_made = lambda text: text.startswith(("Feel was", "flex", "relax"))  # noqa: E731
    heavy = SynthCost("slow", 0.0, 0.0, 0.5)  # ~20 s for an announcement of ~40 characters
    late = late_remedies(p, heavy, words_made)
    assert [(x.rated_ms, x.text.split(".")[1].strip()) for x in late] == [
        (latest, "Set 2 of 3")]


def test_no_remedy_no_proof():
    p = parse_program(TIGHT.replace("remedy: {eccentric: 1s, flex: 0}", "remedy: false"),
                      "p.yaml")
    assert late_remedies(p, SLOW, NONE) == []
