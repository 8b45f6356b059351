"""The listening coach in the daemon, in-process: the real session thread, history (SQLite),
clip worker (espeak-ng) and button handlers, with the DummyPlayer as the output. Taps arrive
through the real evdev handler (InputEvent objects) and gpiozero's MockFactory pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.core.records import SENT, TAPPED, RatedBy
from tests.support.rig import Rig

RATED = """\
program: Rated split squats
defaults: {{rest: 30s, switch: 16s, lead_in: 3s, announce: 3s}}
rate: feel
exercises:
  - name: Split squat
    sides: both
    sets: 2
    reps: {reps}
    tempo: "1010"
    progress: {{reps: +1, max: 10, when: completed}}
"""


@pytest.fixture
def rated(tmp_path: Path, espeak):
    with Rig(tmp_path) as r:
        (r.programs / "split.yaml").write_text(RATED.format(reps=8))
        r.call("reload")
        yield r


def test_taps_after_each_side_and_coach_rate_are_stored_per_side(rated: Rig) -> None:
    from evdev import InputEvent, ecodes
    from gpiozero.pins.mock import MockFactory

    from coach.daemon.buttons import GpioButton, MediaKeys
    keys = MediaKeys(source=lambda: iter(()))
    keys.start(rated.d.handle)
    pins = MockFactory()
    button = GpioButton(17, pin_factory=pins)
    button.start(rated.d.handle)
    try:
        rated.call("start", program="split")
        rated.wait_for(lambda s: s["state"] == "playing", "playing")
        left, right, left2, right2 = rated.answer_phases()[:4]
        assert (left.side, right.side, left.question) == ("left", "right", "feel")

        rated.play_to((left.t_ms + 500) / 1000)  # the left side's window, in the switch
        for _ in range(4):  # four presses of the headset's play/pause key
            keys.on_event(InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_PLAYPAUSE, 1))
            keys.on_event(InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_PLAYPAUSE, 0))
        assert rated.status()["state"] == "playing", "taps in a window never pause"
        rated.later(2.4)  # the window closes 2 s after the last tap (the daemon's clock)
        rated.play_s(0.2)

        rated.play_to((right.t_ms + 500) / 1000)  # the right side's window, in the rest
        pin = pins.pin(17)
        for _ in range(2):  # two presses of the GPIO button
            pin.drive_low()
            pin.drive_high()
        rated.later(2.4)
        rated.play_s(0.2)

        rated.play_to((left2.t_ms + 500) / 1000)  # set 2, left: answered from a shell instead
        r = rated.call("rate", value=3)
        assert r == {"ok": True, "exercise": "Split squat", "set": 2, "side": "left",
                     "question": "feel", "value": 3}
        assert not rated.call("rate", value=6)["ok"]
        rated.play_to((right2.t_ms + 500) / 1000)  # set 2, right: said (what the mic posts)
        assert rated.call("rate", value=5, heard="it was a five", confidence=0.8)["ok"]
        rated.call("stop")
    finally:
        keys.close()
        button.close()
        pins.close()
    assert rated.call("rate", value=3) == {"ok": False, "error": "no session is running"}
    [session] = rated.history.recent(1)
    got = sorted((x.set_no, x.side, x.question, x.value, x.by) for x in session.ratings)
    # how each was given, kept with it (schema 7): the key's and the button's taps alike
    assert got == [(1, "left", "feel", 4, TAPPED), (1, "right", "feel", 2, TAPPED),
                   (2, "left", "feel", 3, SENT),
                   (2, "right", "feel", 5, RatedBy("voice", "it was a five", 0.8))]


def test_outside_a_window_the_play_key_still_pauses(rated: Rig) -> None:
    rated.call("start", program="split")
    rated.wait_for(lambda s: s["state"] == "playing", "playing")
    rated.play_s(4.0)  # the lead-in: no question has been asked
    assert rated.call("rate", value=4)["ok"] is False
    assert rated.call("toggle")["state"] == "paused"
    assert rated.call("toggle")["state"] == "playing"


def test_a_window_without_taps_leaves_the_set_unrated(rated: Rig) -> None:
    rated.call("start", program="split")
    rated.wait_for(lambda s: s["state"] == "playing", "playing")
    left = rated.answer_phases()[0]
    rated.play_to((left.end_ms + 2000) / 1000)
    rated.call("stop")
    [session] = rated.history.recent(1)
    assert session.ratings == []


def test_a_completed_session_progresses_the_next_one_and_a_stopped_one_does_not(
        rated: Rig) -> None:
    rated.call("start", program="split")
    rated.wait_for(lambda s: s["state"] == "playing", "playing")
    s = rated.d.controller.session
    assert s is not None and s.resolved.program.exercises[0].reps == 8
    rated.play_s(s.resolved.timeline.duration_ms / 1000 + 2)
    rated.wait_for(lambda st: st["state"] == "idle", "completed")
    assert rated.history.recent(1)[0].status == "completed"

    rated.call("start", program="split")
    s = rated.d.controller.session
    assert s is not None and s.resolved.program.exercises[0].reps == 9
    announce = s.resolved.timeline.cues[0].text
    assert "9 reps today, up from 8" in announce, announce
    # The new number is in what the lifter hears: the announcement's clip at its sample.
    rated.wait_for(lambda st: st["state"] == "playing", "playing")
    rated.play_s(1.0)
    heard = rated.player.heard
    clip = s.clips[announce]
    n = min(len(clip), len(heard))
    assert n > 0 and (abs(heard[:n] - clip[:n]) < 1e-6).all(), "the announcement plays at 0"
    rated.call("stop")  # stopped: no progression from this one

    rated.call("start", program="split")
    s = rated.d.controller.session
    assert s is not None and s.resolved.program.exercises[0].reps == 9, "stays at 9"
    assert "up from" not in s.resolved.timeline.cues[0].text
    rated.call("stop")


def test_three_sessions_rated_through_the_daemon_flag_the_lagging_side(rated: Rig) -> None:
    from coach.core.imbalance import imbalance
    from coach.report.views import session_json
    for _ in range(3):
        rated.call("start", program="split", force=True)
        rated.wait_for(lambda s: s["state"] == "playing", "playing")
        left, right = rated.answer_phases()[:2]
        rated.play_to((left.t_ms + 200) / 1000)
        assert rated.call("rate", value=4)["side"] == "left"
        rated.play_to((right.t_ms + 200) / 1000)
        assert rated.call("rate", value=2)["side"] == "right"
        rated.call("stop")
    sessions = rated.history.recent(3)
    [x] = imbalance(sessions, "feel")
    assert (x.exercise, x.sessions, x.left, x.right, x.lagging) == (
        "Split squat", 3, 4.0, 2.0, "right")
    sets = session_json(sessions[0])["sets"]
    first = [e for e in sets if e["set"] == 1]
    assert [(e["side"], e["ratings"]) for e in first] == [("left", {"feel": 4}),
                                                          ("right", {"feel": 2})]


def test_prompt_cues_land_on_their_planned_samples(espeak) -> None:
    from coach.audio.pipeline import build_mixer, load, prepare_clips
    from tests.support.real import PROGRAMS
    _, timeline = load(PROGRAMS / "unilateral-rated.yaml")
    clips = prepare_clips(timeline)
    mixer = build_mixer(timeline, clips)
    prompts = [c for c in timeline.cues if c.question is not None]
    assert prompts, "the program asks"
    for c in prompts:
        clip = clips[c.text]
        start = mixer.frame_of(c.t_ms)
        out = mixer.render(start - 480, len(clip) + 480)
        assert not out[:480].any(), f"silence before the prompt at {c.t_ms} ms"
        assert (abs(out[480:] - clip) < 1e-6).all(), f"the prompt at {c.t_ms} ms, sample exact"
