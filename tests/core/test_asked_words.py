"""What "how long", "repeat" and "stop" say: the time left in the stretch playing (a side's reps,
a hold, a rest with its answer phase and switch), in steps a clip each; the last cue that says
something; every text made with the session's clips."""

from __future__ import annotations

import pytest

from coach.core.navigation import (
    back_side,
    back_target,
    can_extend,
    extra_texts,
    last_cue,
    left_seconds,
    skip_target,
    stop_words,
    time_left_ms,
    time_left_texts,
    time_left_words,
)
from coach.core.program import parse_program
from coach.core.timeline import compile_program

# Split squat set 1: left reps 6-14, switch 14-18 / answer 18-26 / switch 26-34, right reps 34-42,
# rest 42-46 / answer 46-54 / rest 54-72; set 2 from 72.
SPLIT = """\
program: Rated split
language: {lang}
defaults: {{rest: 30s, switch: 20s, lead_in: 3s, announce: 3s}}
rate: feel
exercises:
  - name: Split squat
    sides: both
    sets: 2
    reps: 4
    cadence: 2s
  - name: Plank
    hold: 45s
"""


def timeline(lang: str = "en"):
    return compile_program(parse_program(SPLIT.format(lang=lang), "split.yaml"))


@pytest.mark.parametrize("t_ms,left", [
    (0, 6000),  # the announce and lead-in: till the reps start
    (8000, 6000),  # the left side's reps
    (16000, 18000),  # the switch, its answer phase and the rest of the switch: one stretch
    (36500, 5500),  # the right side's reps
    (60000, 12000),  # the rest after the answer phase
])
def test_time_left_is_that_of_the_stretch_playing(t_ms: int, left: int) -> None:
    assert time_left_ms(timeline(), t_ms) == left


@pytest.mark.parametrize("t_ms,can", [
    (1000, False), (4000, False), (8000, False),  # the announce, the lead-in, the left's reps
    (15000, True), (20000, True), (30000, True),  # the switch, its answer phase, the switch
    (36500, False), (50000, True), (60000, True),  # the right's reps, the answer phase, the rest
])
def test_extend_works_in_every_part_of_what_how_long_counts_as_a_rest(t_ms: int,
                                                                      can: bool) -> None:
    assert can_extend(timeline(), t_ms) is can
    tl = timeline()
    hold = next(p for p in tl.phases if p.phase == "hold")
    assert not can_extend(tl, hold.t_ms + 5000)


@pytest.mark.parametrize("rate", ["feel", "false"])
@pytest.mark.parametrize("t_ms,to_ms", [
    (1000, 14000), (8000, 14000),  # the left's announce or reps: to its end
    (15000, 26000), (20000, 26000),  # its question or answer phase: to "switch sides"
    (27000, 31000), (31500, 34000),  # "switch sides. right side": to the count-in, its work
    (36500, 42000), (60000, 72000),  # the right's reps: to the rest; the rest: to set 2
])
def test_skip_goes_to_the_next_landmark_of_a_unilateral_set(rate: str, t_ms: int,
                                                             to_ms: int) -> None:
    tl = compile_program(parse_program(SPLIT.format(lang="en").replace(
        "rate: feel", f"rate: {rate}"), "split.yaml"))
    if rate == "false" and 14000 < t_ms < 26000:
        to_ms = 31000  # no question: "switch sides. right side" is said at the switch's start
    assert skip_target(tl, t_ms) == to_ms


@pytest.mark.parametrize("t_ms,to_ms,side", [
    (8000, 0, None), (20000, 0, None), (32000, 0, None),  # left, switch, count-in: the set
    (36000, 0, None),  # within 3 s of the right's work start: the set, as a set's start is
    (37500, 34000, "right"), (41000, 34000, "right"),  # the right's reps: its work again
    (50000, 0, None), (73000, 0, None),  # the rest; set 2's first 3 s: set 1
])
def test_back_from_the_right_side_starts_its_work_again(t_ms: int, to_ms: int,
                                                        side: str | None) -> None:
    assert back_target(timeline(), t_ms) == to_ms
    assert back_side(timeline(), t_ms) == side


def test_a_hold_counts_its_own_end() -> None:
    tl = timeline()
    hold = next(p for p in tl.phases if p.phase == "hold")
    assert time_left_ms(tl, hold.t_ms + 5000) == 40000
    assert time_left_ms(tl, tl.duration_ms + 1000) is None


@pytest.mark.parametrize("ms,said", [(400, 1), (1400, 1), (8600, 9), (12000, 10), (13000, 15),
                                     (42000, 40), (58000, 60), (64000, 60), (66000, 70)])
def test_left_seconds_steps(ms: int, said: int) -> None:
    assert left_seconds(ms) == said


@pytest.mark.parametrize("lang,forty,one", [
    ("en", "40 seconds left", "1 second left"),
    ("de", "noch vierzig Sekunden", "noch eine Sekunde"),
    ("es", "quedan cuarenta segundos", "queda un segundo"),
    ("fr", "encore quarante secondes", "encore une seconde"),
])
def test_time_left_in_the_programs_language(lang: str, forty: str, one: str) -> None:
    tl = timeline(lang)
    assert time_left_words(tl, 41_000).texts == (forty,)
    assert time_left_words(tl, 700).texts == (one,)
    texts = extra_texts(tl, answers=True)
    assert forty in texts and one in texts and stop_words(tl).texts[0] in texts
    assert set(time_left_texts(tl)) <= set(texts)
    # made only for a daemon that listens (20-30 clips of memory a session otherwise)
    assert not {forty, one, stop_words(tl).texts[0]} & set(extra_texts(tl))


def test_every_time_left_said_has_a_clip_up_to_the_longest_stretch_and_an_extend() -> None:
    tl = timeline()
    texts = time_left_texts(tl)
    assert texts[0] == "1 second left" and texts[-1] == "80 seconds left"  # 45 s hold + 30 s
    for ms in range(0, 75_001, 250):
        assert time_left_words(tl, ms).texts[0] in texts


def test_repeat_says_the_last_cue_that_says_something() -> None:
    tl = timeline()
    assert last_cue(tl, 8000) == ("Split squat. Set 1 of 2. Left side. 4 reps, one rep every "
                                  "2 seconds.")  # not the count "2"
    assert last_cue(tl, 20000) == "How well did you feel it? Tap one to five."
    assert last_cue(tl, 60000) == "rest 18 seconds"
    assert last_cue(tl, 0) == last_cue(tl, 8000)
    assert stop_words(tl).texts == ("stop the session?",)
