"""Which answer phase a spoken answer is for (``answer_open``): from the moment its question has
been heard to the end, not from the answer phase the timeline placed at the question's
estimated length rounded up to whole seconds."""

from __future__ import annotations

from coach.core.program import parse_program
from coach.core.timeline import Cue, Timeline, answer_open, compile_program

TWO_QUESTIONS = ("program: P\ndefaults: {rest: 60s, switch: 40s}\nrate: [feel, effort]\n"
                 "exercises:\n  - name: Split squat\n    sides: both\n    reps: 2\n"
                 "    cadence: 2s\n")


def timeline() -> Timeline:
    return compile_program(parse_program(TWO_QUESTIONS))


def said_in(ms: int):
    return lambda cue: ms


def test_an_answer_phase_opens_once_its_question_is_heard_not_at_its_rounded_start() -> None:
    tl = timeline()
    q = next(c for c in tl.cues if c.question is not None)
    a = next(p for p in tl.phases if p.phase == "answer")
    assert (q.question, q.side) == (a.question, a.side) == ("feel", "left")
    heard = a.t_ms - q.t_ms - 1200  # the clip ends 1.2 s before the phase the timeline placed
    assert answer_open(tl, q.t_ms + heard - 1, said_in(heard)) is None  # still asking
    assert answer_open(tl, q.t_ms + heard, said_in(heard)) == a
    assert answer_open(tl, q.t_ms + heard + 99, said_in(heard), after_ms=100) is None
    assert answer_open(tl, q.t_ms + heard + 100, said_in(heard), after_ms=100) == a
    assert answer_open(tl, a.t_ms + 500, said_in(heard)) == a  # the phase itself
    assert answer_open(tl, a.end_ms, said_in(heard)) != a


def test_a_question_not_made_yet_opens_its_phase_at_the_phases_start() -> None:
    tl = timeline()
    a = next(p for p in tl.phases if p.phase == "answer")
    assert answer_open(tl, a.t_ms - 1, lambda cue: None) is None
    assert answer_open(tl, a.t_ms, lambda cue: None) == a


def test_each_question_opens_its_own_phase_on_each_side() -> None:
    tl = timeline()
    questions = [c for c in tl.cues if c.question is not None]
    answers = [p for p in tl.phases if p.phase == "answer"]
    assert [(c.question, c.side) for c in questions] == [
        ("feel", "left"), ("effort", "left"), ("feel", "right"), ("effort", "right")]
    for q, a in zip(questions, answers):
        assert answer_open(tl, q.t_ms + 500, said_in(500)) == a, (q, a)
        assert answer_open(tl, q.t_ms + 499, said_in(500)) is None


def test_outside_a_question_nothing_opens() -> None:
    tl = timeline()
    heard = said_in(0)  # every clip as short as can be
    for c in tl.cues:
        if c.question is None and c.kind == "speech":
            got = answer_open(tl, c.t_ms + 1, heard)
            assert got is None or got.t_ms <= c.t_ms + 1 < got.end_ms, c


def test_past_the_last_phase_nothing_opens() -> None:
    tl = timeline()
    last: Cue = tl.cues[-1]
    assert answer_open(tl, tl.duration_ms + 1000, said_in(0)) is None
    assert answer_open(tl, last.t_ms + 10, said_in(0)) is None


def test_a_voice_slower_than_the_estimate_is_not_listened_to_in_its_answer_phase() -> None:
    tl = timeline()
    q = next(c for c in tl.cues if c.question is not None)
    a = next(p for p in tl.phases if p.phase == "answer")
    long = a.t_ms - q.t_ms + 700  # still asking 0.7 s into the phase the timeline placed
    assert answer_open(tl, a.t_ms + 600, said_in(long)) is None
    assert answer_open(tl, a.t_ms + 700, said_in(long)) == a
