""""repeat", "how long" and "stop the session?" said by the daemon (the socket's verbs, which a
spoken command posts): each an insert from the session's clips, heard sample for sample in the
output while the timeline holds; an extended rest keeps its extra time; paused, they are said
into the pause, which goes on. The in-process daemon: real session thread, clip worker
(espeak-ng), DummyPlayer."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from coach.audio.listen.recognizer import Heard
from coach.core.navigation import EXTEND_WHERE, last_cue
from coach.daemon.listening import OWN_WORDS_TAIL_S, Listener
from coach.protocol.messages import Extend, NotNow, Pause, Reply, Request
from tests.support.audio import find_clip
from tests.support.programs import RATED_SPLIT
from tests.support.rig import Rig


# Split squat set 1: left reps 6-14, switch and answer 14-34, right reps 34-42, rest 42-72.
@pytest.fixture
def rig(tmp_path: Path, espeak: None):
    # a daemon that listens (its Listener not started: the socket's verbs are what is tested)
    with Rig(tmp_path, listener=Listener("mic.monitor")) as r:
        (r.programs / "split.yaml").write_text(RATED_SPLIT)
        r.call("reload")
        assert r.call("start", program="split")["ok"]
        r.wait_for(lambda s: s["state"] == "playing", "playing")
        # every clip made (the answers are made last, after the timeline's)
        r.wait_for(lambda s: r.d.controller.session is not None
                   and r.d.controller.session.clips_done, "the clips", timeout=60)
        yield r


def said(rig: Rig, verb: str, text: str) -> dict:
    """``verb`` on the socket: it says ``text`` at once while the timeline holds."""
    s = rig.d.controller.session
    assert s is not None
    n = len(rig.player.heard)
    at = rig.status()["position"]
    reply = rig.call(verb)
    assert reply["ok"], reply
    clip = s.clips[text]
    rig.play_s(len(clip) / 48000 / 2)
    assert rig.status()["position"] == at, "the timeline holds while the answer plays"
    rig.play_s(len(clip) / 48000 / 2 + 0.1)
    assert find_clip(rig.player.heard[n:], clip) is not None, f"{text!r} was not heard"
    return reply


def test_how_long_says_the_time_left_of_the_side_and_of_the_rest(rig: Rig) -> None:
    rig.play_to(8.0)  # the left side's reps end at 14
    said(rig, "how-long", "6 seconds left")
    rig.play_to(60.0)  # the rest ends at 72
    said(rig, "how-long", "10 seconds left")
    rig.call("stop")


def test_repeat_says_the_last_cue_that_says_something(rig: Rig) -> None:
    rig.play_to(9.0)
    s = rig.d.controller.session
    assert s is not None
    text = last_cue(s.resolved.timeline, 9000)
    assert text is not None and text.startswith("Split squat. Set 1 of 2.")
    said(rig, "repeat", text)
    rig.play_to(56.0)
    said(rig, "repeat", "rest 18 seconds")
    rig.call("stop")


def test_how_long_in_an_extended_rest_counts_the_extension_and_keeps_it(rig: Rig) -> None:
    rig.play_to(60.0)
    assert rig.call("extend")["extended"] == 30.0
    rig.play_s(1.0)  # 1 s of the 30 s extra heard: 12 + 29 left
    said(rig, "how-long", "40 seconds left")
    left = rig.status()["extended"]
    assert 27.0 <= left <= 29.0, left  # the extra rest goes on after the answer
    rig.play_s(left + 0.2)
    assert rig.status()["position"] > 60.0
    rig.call("stop")


def test_a_refused_spoken_command_is_answered_not_now(rig: Rig) -> None:
    # Found playing the lifter (session 14): "extend" said in a set was refused in the log
    # only; the lifter heard nothing and could not tell it from not being heard.
    posted: list[Request] = []

    def handler(req: Request) -> Reply:
        posted.append(req)
        return rig.d.handle(req)

    listener = Listener("mic.monitor")
    listener._handler = handler  # what start() sets; the listening thread calls _command so
    rig.play_to(8.0)  # the left side's reps: no extend there
    done = listener._command(Heard("extend", None, "extend", 0.9, 0.5))
    assert posted == [Extend(), NotNow()]
    assert done == f"{EXTEND_WHERE}; said 'not now'"
    said(rig, "not-now", "not now")  # said at once, as the socket's verb does
    said(rig, "say-again", "say again?")  # (a command window that heard no command asks it)
    said(rig, "one-to-five", "one to five?")  # (a rating window that heard "six" asks it)
    posted.clear()
    assert listener._command(Heard("pause", None, "pause", 0.9, 0.5)) == "done"
    assert posted == [Pause()], "a command carried out is not answered"
    rig.call("stop")


def test_the_mic_is_told_of_every_word_the_coach_says(rig: Rig) -> None:
    # so that an open window never listens to them (Listener.coach_says): an extend, "how
    # long", a paused session's "stop the session?", a tap's read-back
    listener = rig.d.listener
    assert listener is not None and rig.d.controller.on_said == listener.coach_says
    told: list[float] = []

    def on_said(seconds: float) -> None:
        told.append(seconds)
        listener.coach_says(seconds)

    rig.d.controller.on_said = on_said
    s = rig.session
    rig.play_to(19.0)  # the left's answer phase: its mic window would be open
    for verb, text in (("extend", "30 more seconds"), ("how-long", "45 seconds left"),
                       ("pause", None), ("ask-stop", "stop the session?"), ("resume", None)):
        t0, n = time.monotonic(), len(told)
        assert rig.call(verb)["ok"]
        if text is not None:
            words_s = len(s.clips[text]) / 48000
            assert told[n:] == [pytest.approx(words_s, abs=0.01)], verb
            assert listener.own_words_until >= t0 + words_s + OWN_WORDS_TAIL_S - 0.05, verb
    assert len(told) == 4, "the resume's words too"
    n = len(told)
    for _ in range(2):
        rig.call("toggle")  # two taps in the extended answer phase
    time.sleep(2.3)
    rig.play_s(0.1)
    assert len(told) == n + 1, "the taps' read-back"
    rig.call("stop")


def test_stop_is_asked_playing_and_paused_and_a_paused_session_stays_paused(rig: Rig) -> None:
    rig.play_to(8.0)  # the left side's reps end at 14 s
    said(rig, "ask-stop", "stop the session?")
    assert rig.status()["state"] == "playing", "asking stops nothing"
    rig.call("pause")
    at = rig.status()["position"]
    for verb, text in (("how-long", "6 seconds left"), ("ask-stop", "stop the session?")):
        assert said(rig, verb, text)["state"] == "paused"  # said into the pause
    rig.play_s(1.0)
    assert rig.status()["state"] == "paused" and rig.status()["position"] == at
    n = len(rig.player.heard)
    rig.play_s(0.5)
    assert not np.abs(rig.player.heard[n:]).any(), "the pause is silent again after the words"
    time.sleep(0.1)
    rig.call("stop")


def test_a_daemon_that_does_not_listen_makes_no_answers_clips(tmp_path: Path,
                                                                espeak: None) -> None:
    with Rig(tmp_path) as rig:
        (rig.programs / "split.yaml").write_text(RATED_SPLIT)
        rig.call("reload")
        rig.call("start", program="split")
        rig.wait_for(lambda s: rig.d.controller.session is not None
                     and rig.d.controller.session.clips_done, "the clips", timeout=60)
        rig.play_to(8.0)
        assert rig.call("how-long") == {
            "ok": False, "error": "not said: no clip of '6 seconds left' (made with a session "
                                  "when the daemon listens: config `listen:`)"}
        s = rig.d.controller.session
        assert s is not None and last_cue(s.resolved.timeline, 8000) in s.clips
        assert rig.call("repeat")["ok"]  # a cue's clip: always there
        rig.call("stop")
