"""Answers that land where the lifter means (issue 18): a set (or side) can be rated from the
moment its work ends, before its question is spoken, until the next set or side starts; an
answer always goes to the one that ended last and the reply names it; answering again replaces
the rating and says what it was; another side's rating is never touched.

The daemon in-process: the real session thread, real SQLite, the clip worker (espeak-ng), the
DummyPlayer on a clock the test moves."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from coach.core.navigation import EXTEND_WHERE, rating_words
from coach.core.timeline import Phase, question_of
from coach.protocol.messages import Rate, Rated
from coach.report.views import session_json
from tests.support.audio import find_clip
from tests.support.programs import RATED_SPLIT
from tests.support.rig import Rig

# Split squat set 1: announce 0-3, lead-in 3-6, left 6-14, switch 14-34 (the left's question
# 14-18, its answer phase 18-26), right 34-42, rest 42-72 (the right's question 42-46, its
# answer phase 46-54); set 2 from 72.
# Row set 1: work 6-10, then the feel question and its answer phase, then effort's.
ROWS = """\
program: Rows
defaults: {rest: 40s, lead_in: 3s, announce: 3s}
rate: [feel, effort]
exercises:
  - name: Row
    sets: 2
    reps: 2
    cadence: 2s
"""

RULE = "a set (or side) can be rated from the moment its work ends until the next one starts"


@pytest.fixture
def rig(tmp_path: Path, espeak):
    with Rig(tmp_path) as r:
        (r.programs / "split.yaml").write_text(RATED_SPLIT)
        (r.programs / "rows.yaml").write_text(ROWS)
        r.call("reload")
        yield r


def test_an_answer_right_after_each_side_lands_on_that_side(rig: Rig) -> None:
    rig.start("split")
    left, right = rig.answer_phases()[:2]
    assert (left.t_ms, right.t_ms) == (18_000, 46_000)
    rig.play_to(14.3)  # the left side just ended: its question is being asked
    assert rig.call("rate", value=4) == {"ok": True, "exercise": "Split squat", "set": 1,
                                         "side": "left", "question": "feel", "value": 4}
    rig.play_to(42.3)  # the right side just ended, before its question
    assert rig.call("rate", value=2) == {"ok": True, "exercise": "Split squat", "set": 1,
                                         "side": "right", "question": "feel", "value": 2}
    rig.call("stop")
    assert rig.stored_ratings() == [(1, "left", "feel", 4), (1, "right", "feel", 2)]
    [session] = rig.history.recent(1)
    assert [(e["set"], e["side"], e["ratings"]) for e in session_json(session)["sets"]] == [
        (1, "left", {"feel": 4}), (1, "right", {"feel": 2})]


def test_answering_again_replaces_and_says_was_and_never_touches_the_other_side(
        rig: Rig) -> None:
    rig.start("split")
    rig.play_to(20.0)  # the left's answer phase
    assert "was" not in rig.call("rate", value=4)
    r = rig.call("rate", value=5)
    assert (r["side"], r["value"], r["was"]) == ("left", 5, 4)
    rig.play_to(43.0)
    r = rig.call("rate", value=2)
    assert (r["side"], r["value"], "was" in r) == ("right", 2, False)
    r = rig.call("rate", value=1)
    assert (r["side"], r["value"], r["was"]) == ("right", 1, 2)
    rig.call("stop")
    assert rig.stored_ratings() == [(1, "left", "feel", 5), (1, "right", "feel", 1)]


def test_the_window_closes_when_the_next_side_or_set_starts_and_the_refusal_says_why(
        rig: Rig) -> None:
    rig.start("split")
    rig.play_to(4.0)  # the lead-in: nothing has ended yet
    r = rig.call("rate", value=3)
    assert r == {"ok": False, "error": "nothing to rate yet: Split squat set 1 left side has "
                                       f"not ended ({RULE})"}
    rig.play_to(14.2)
    assert rig.call("rate", value=4)["side"] == "left"
    rig.play_to(34.5)  # the right side started: the left can no longer be rated
    r = rig.call("rate", value=1)
    assert r == {"ok": False, "error": "nothing to rate yet: Split squat set 1 right side has "
                                       f"not ended ({RULE})"}
    rig.play_to(71.5)  # the end of the rest: still the right side's
    assert rig.call("rate", value=3)["side"] == "right"
    rig.play_to(72.5)  # set 2 started
    assert not rig.call("rate", value=2)["ok"]
    rig.call("stop")
    assert rig.stored_ratings() == [(1, "left", "feel", 4), (1, "right", "feel", 3)]


def test_without_a_question_an_answer_goes_to_the_question_being_answered(rig: Rig) -> None:
    rig.start("rows")
    feel, effort = rig.answer_phases()[:2]
    assert (feel.question, effort.question) == ("feel", "effort")
    rig.play_to(10.5)  # the work just ended: the first question asked
    assert rig.call("rate", value=4)["question"] == "feel"
    rig.play_to(effort.t_ms / 1000 + 1)  # "How hard was that?" is being answered
    assert rig.call("rate", value=2)["question"] == "effort"
    r = rig.call("rate", value=5, question="feel")
    assert (r["question"], r["was"]) == ("feel", 4)
    rig.call("stop")
    assert rig.stored_ratings() == [(1, None, "effort", 2), (1, None, "feel", 5)]


def test_taps_go_to_the_side_that_ended_and_the_echo_names_it(rig: Rig) -> None:
    rig.start("split")
    rig.play_to(19.0)  # the left's answer phase
    rig.clips_made()  # the echo's words are made last, and left out until they are
    for _ in range(3):
        assert rig.call("toggle")["state"] == "playing", "a tap, not a pause"
    time.sleep(2.3)  # 2 s after the last tap the window closes
    rig.play_s(0.1)
    assert rig.stored_ratings() == [(1, "left", "feel", 3)]
    n = len(rig.player.heard)
    rig.play_s(5.0)
    s = rig.d.controller.session
    assert s is not None
    words = rating_words(s.resolved.timeline, 3, 0, "left", s.resolved.program.words)
    assert words.texts == ("Split squat, set 1 of 2", "left side", "3")
    heard = rig.player.heard[n - 4800:]
    at = [find_clip(heard, s.clips[t]) for t in words.texts]
    assert None not in at and at == sorted(at), f"the echo names the set and side: {at}"
    rig.call("stop")


def said_by_s(rig: Rig, answer: Phase) -> float:
    """When ``answer``'s question has been said: its cue plus its clip's real length, s."""
    s = rig.session
    q = question_of(s.resolved.timeline, answer)
    assert q is not None
    length = s.heard_ms(q)
    assert length is not None, "the question's clip is made"
    return round((q.t_ms + length) / 1000, 2)


def test_taps_as_soon_as_the_question_has_been_said_rate_and_never_pause(rig: Rig) -> None:
    # Found playing the lifter (session 14): the answer phase starts at the question's estimated
    # length rounded up to whole seconds (18 s here), and taps counted only from there. Tapped
    # at once after "...Tap one to five." (its last sample at 16.8 s), the first tap paused the
    # session, the second resumed it, the third paused it again, and the set stayed unrated.
    rig.start("split")
    rig.clips_made()
    left = rig.answer_phases()[0]
    said = said_by_s(rig, left)
    assert said + 0.3 < left.t_ms / 1000, "the question ends before its answer phase"
    rig.play_to(round(said - 0.3, 2))  # still asking: the key pauses, as anywhere outside a window
    assert rig.call("toggle")["state"] == "paused"
    assert rig.call("toggle")["state"] == "playing"
    rig.play_to(round(said + 0.3, 2))
    for _ in range(3):
        assert rig.call("toggle")["state"] == "playing", "a tap, not a pause"
    time.sleep(2.3)  # 2 s after the last tap the window closes
    rig.play_s(0.1)
    assert rig.stored_ratings() == [(1, "left", "feel", 3)]
    rig.call("stop")


def test_a_rating_as_soon_as_the_second_question_has_been_said_answers_it(rig: Rig) -> None:
    # Between "How hard was that?" and its answer phase, a rating without a question went to
    # the first one the exercise asks ("feel", answered already): it replaced that answer.
    rig.start("rows")
    rig.clips_made()
    feel, effort = rig.answer_phases()[:2]
    rig.play_to(feel.t_ms / 1000 + 1)
    assert rig.call("rate", value=4)["question"] == "feel"
    said = said_by_s(rig, effort)
    assert said + 0.3 < effort.t_ms / 1000
    rig.play_to(round(said + 0.3, 2))
    r = rig.call("rate", value=2)
    assert (r["question"], r.get("was")) == ("effort", None)
    rig.call("stop")
    assert rig.stored_ratings() == [(1, None, "effort", 2), (1, None, "feel", 4)]


def test_extend_after_a_side_and_in_the_switch_and_a_rating_keeps_the_extra_rest(
        rig: Rig) -> None:
    # Found playing the lifter (session 14): "extend" in the answer phase after a set, or in
    # the switch between sides, was refused ("extend works during a rest"); and a rating's
    # read-back, an insert, replaced the extension's and dropped the rest of it.
    rig.start("split")
    rig.clips_made()
    rig.play_to(19.0)  # the left's answer phase, in the switch
    st = rig.call("extend")
    assert st["ok"] and st["position"] == 19.0, st
    assert st["extended"] == pytest.approx(30.0, abs=0.05)
    rig.play_s(5.0)
    for _ in range(2):
        assert rig.call("toggle")["state"] == "playing", "a tap, not a pause"
    time.sleep(2.3)  # 2 s after the last tap the window closes
    rig.play_s(0.1)
    assert rig.stored_ratings() == [(1, "left", "feel", 2)]
    st = rig.play_s(3.0)  # the read-back plays, then what was left of the extra rest
    assert st["position"] == 19.0
    assert st.get("extended") == pytest.approx(30.0 - 5.1 - 3.0, abs=0.3), st
    st = rig.play_to(30.0)  # the switch after the answer phase
    assert st["phase"] == "switch" and st["side"] == "right"
    st = rig.call("extend")
    assert st["ok"] and st["extended"] == pytest.approx(30.0, abs=0.05), st
    st = rig.play_to(36.0)  # the right's reps: no extend there
    assert rig.call("extend") == {"ok": False, "error": EXTEND_WHERE}
    rig.call("stop")


def test_an_answer_heard_by_the_mic_is_read_back_number_first(rig: Rig) -> None:
    # The mic's answer (coach/daemon/listening.py posts it so): "4. left side", the number the
    # first sound, no set named before it (it came 1.9-3.6 s into the read-back).
    rig.start("split")
    rig.play_to(19.0)  # the left's answer phase
    rig.clips_made()  # the echo's words are made last, and left out until they are (CI, once)
    n = len(rig.player.heard)
    assert isinstance(rig.d.handle(Rate(4, "feel", heard="four")), Rated)
    rig.play_s(4.0)
    assert rig.stored_ratings() == [(1, "left", "feel", 4)]
    s = rig.d.controller.session
    assert s is not None
    words = rating_words(s.resolved.timeline, 4, 0, "left", s.resolved.program.words,
                         echo="heard")
    assert words.texts == ("4", "left side")
    heard = rig.player.heard[n:]
    at = [find_clip(heard, s.clips[t]) for t in words.texts]
    assert None not in at and at == sorted(at), at
    assert find_clip(heard, s.clips["Split squat, set 1 of 2"]) is None
    first = int(np.flatnonzero(np.abs(heard) > 1e-4)[0])
    assert at[0] <= first + 0.05 * rig.player.rate, (at, first)  # the number is the first sound
    rig.call("stop")


def test_taps_still_being_counted_when_the_next_side_starts_are_kept(rig: Rig) -> None:
    rig.start("split")
    rig.play_to(25.5)  # the end of the left's answer phase
    for _ in range(2):
        rig.call("toggle")
    rig.play_to(35.0)  # the right side starts before the 2 s are over
    rig.call("stop")
    assert rig.stored_ratings() == [(1, "left", "feel", 2)]


def test_a_rating_the_history_did_not_take_is_not_ok(rig: Rig) -> None:
    rig.start("split")
    rig.play_to(20.0)  # the left's answer phase
    rig.history.close()  # the database went away under the session
    r = rig.call("rate", value=4)
    assert r["ok"] is False and r["error"].startswith("not saved: "), r


def test_the_rated_reply_carries_was_only_when_it_replaced_one() -> None:
    first = Rated("Split squat", 1, "left", "feel", 4)
    again = Rated("Split squat", 1, "left", "feel", 5, was=4)
    assert first.to_json() == {"ok": True, "exercise": "Split squat", "set": 1, "side": "left",
                               "question": "feel", "value": 4}
    assert again.to_json()["was"] == 4
    assert Rated.from_json(again.to_json()) == again and Rated.from_json(first.to_json()) == first
