"""The clip worker's order (coach/daemon/prepare.py): a rating's read-back words ("four", "left
side", "not saved") are made before the first clip heard after the first rating question, not
last; a program that asks no rating keeps them at the end."""

from __future__ import annotations

from coach.audio.pipeline import first_use_ms
from coach.core.navigation import echo_texts
from coach.core.program import parse_program
from coach.core.timeline import Timeline, compile_program
from coach.daemon.prepare import clip_order
from tests.support.programs import RATED_SPLIT


def _timeline(text: str) -> Timeline:
    return compile_program(parse_program(text, "split.yaml"))


def test_the_read_back_words_are_made_before_what_follows_the_first_question() -> None:
    tl = _timeline(RATED_SPLIT)
    _, order = clip_order(tl, 0, {}, resumed=False, answers=True)
    uses = first_use_ms(tl, 0)
    answer_ms = next(p.t_ms for p in tl.phases if p.phase == "answer")
    echo = [t for t in echo_texts(tl) if t not in uses]  # "1".."4" are counts too
    assert {"5", "left side", "right side", "not saved"} <= set(echo)
    at = {t: order.index(t) for t in order}
    last_echo = max(at[t] for t in echo)
    # everything heard up to the question comes first, then the read-back's words, then the rest
    assert all(at[t] < min(at[e] for e in echo) for t in uses if uses[t] <= answer_ms)
    assert all(at[t] > last_echo for t in uses if uses[t] > answer_ms)


def test_a_session_resumed_after_its_questions_gets_them_at_the_next_one() -> None:
    tl = _timeline(RATED_SPLIT)
    answers = [p.t_ms for p in tl.phases if p.phase == "answer"]
    at_ms = answers[0] + 1  # resumed inside set 1's first question: the next is the right's
    _, order = clip_order(tl, at_ms, {}, resumed=False)
    uses = first_use_ms(tl, at_ms)
    echo = [order.index(t) for t in echo_texts(tl) if t not in uses]
    assert all(order.index(t) < min(echo) for t in uses if uses[t] <= answers[1])
    assert all(order.index(t) > max(echo) for t in uses if uses[t] > answers[1])


def test_a_program_that_asks_no_rating_keeps_them_last() -> None:
    tl = _timeline(RATED_SPLIT.replace("rate: feel\n", ""))
    _, order = clip_order(tl, 0, {}, resumed=False)
    uses = first_use_ms(tl, 0)
    assert "5" not in uses
    assert all(order.index(t) < order.index("5") for t in uses)
