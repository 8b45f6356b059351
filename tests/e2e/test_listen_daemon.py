"""The coach hears you, end to end (issue 22): `coach daemon` with `listen: {source: mic.monitor}`
in a private PulseAudio, answers spoken into a null-sink mic with paplay, its output captured
with parec. Answered "four" after the left side and "two" after the right, a unilateral rated
set lands exactly so in `coach history --json`; and while command windows are open and their
audio decoded ("yes" with no question asked played into them), every cue the daemon plays is on its
sample: the capture equals `coach render` of the program from the first cue on."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import RATE, PulseServer, need_pulse
from tests.support.coachd import Coachd
from tests.support.programs import RATED_SPLIT
from tests.support.real import need
from tests.support.speech import add_mic, loud_onsets, read_wav, say_into_mic

pytestmark = [pytest.mark.slow, pytest.mark.realtime]  # a real daemon in real time

# Split squat set 1: announce 0-3, lead-in 3-6, left reps 6-14 (a count every second), its
# question 14, answer phase 18-26, right reps 34-42, its question 42, answer phase 46-54.
CHECKED_S = 18.0  # the cues before the first answer (a read-back is an insert: later cues wait)
LOUD = 10 ** (-45 / 20)
WINDOW = RATE // 50  # an onset is looked for from 20 ms before its cue


# Each engine (`listen: {engine: NAME}`): Moonshine runs an ONNX model on the daemon's
# listening thread beside the player's feeder, PocketSphinx its decoder.
@pytest.mark.parametrize("engine", ["pocketsphinx", "moonshine"])
def test_spoken_ratings_land_in_history_and_cues_stay_on_their_samples(
        tmp_path: Path, espeak: None, engine: str) -> None:
    need_pulse()
    if engine == "moonshine":
        need(importlib.util.find_spec("moonshine_voice") is not None,
             "moonshine-voice 0.0.73 (pip install -e .[listen])")
    with PulseServer(tmp_path / "pulse") as pulse:
        mic = add_mic(pulse, RATE)
        env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
        d = Coachd(tmp_path, env)
        config = tmp_path / "config" / "coach" / "config.yaml"
        config.parent.mkdir(parents=True)
        # No ducking: paplay's stream into the mic must not be lowered under the cues.
        config.write_text(f"listen: {{source: {mic}, engine: {engine}}}\nduck: false\n"
                          "mpris: false\n")
        program = d.programs / "split.yaml"
        program.write_text(RATED_SPLIT)
        d.ok("check", str(program))  # the clips made (and cached) before the real-time part
        rendered = tmp_path / "split.wav"
        d.ok("render", str(program), "-o", str(rendered))
        plan = json.loads(d.ok("plan", "--json", str(program)))
        d.start()
        try:
            cap = pulse.capture()
            d.ok("start", "split")
            d.wait_for(lambda s: s["state"] == "playing", what="playing")
            # Two command windows over the left side's counts, each decoding speech that asks
            # for nothing: "yes" with no question asked. (Speech that is no command, "hello
            # there" and "banana" until session 14, is now asked "say again?", an insert that
            # holds the timeline, and listened to once more, into the left's answer phase.)
            for t_s, words in ((5.0, "yes"), (9.4, "yes")):
                d.wait_for(lambda s, t=t_s: s["position"] >= t and not s["listening"],
                           timeout=30, what=f"position {t_s}")
                assert d.status()["state"] == "playing"
                assert json.loads(d.ok("listen", "--json"))["listening"] is True
                d.wait_for(lambda s: s["listening"], timeout=10, what="the command window")
                time.sleep(0.5)
                say_into_mic(pulse, tmp_path, words, RATE)
            # "four" in the left side's answer phase, "two" in the right's
            for t_s, words in ((18.3, "four"), (46.3, "two")):
                d.wait_for(lambda s, t=t_s: s["position"] >= t and s["listening"],
                           timeout=60, what=f"the answer window at {t_s}")
                time.sleep(0.4)
                say_into_mic(pulse, tmp_path, words, RATE)
                d.wait_for(lambda s: not s["listening"], timeout=15, what="the window's end")
            x = cap.stop()
            st = d.status()
            assert st["state"] == "playing" and st["set"] == 1, st  # "yes" did nothing
            d.ok("stop")
            session = json.loads(d.ok("history", "--json"))[0]
            # a misheard one fixed after the session, the daemon holding the history open
            fixed = d.ok("rerate", "split", "1", "3", "--side", "right")
            after = json.loads(d.ok("history", "--json"))[0]["sets"]
        finally:
            d.stop()
    assert fixed.startswith("Split squat set 1 (right) feel: 2 (heard "), fixed
    assert [(s["side"], s["ratings"], s["given"]) for s in after if s["ratings"]] == [
        ("left", {"feel": 4}, {"feel": "voice"}), ("right", {"feel": 3}, {"feel": "sent"})]
    got = [(s["set"], s["side"], s["ratings"]) for s in session["sets"] if s["ratings"]]
    assert got == [(1, "left", {"feel": 4}), (1, "right", {"feel": 2})], session["sets"]
    # each kept as said into the mic, with the words the engine heard
    said = [(s["given"], s["heard"]) for s in session["sets"] if s["ratings"]]
    assert [g for g, _ in said] == [{"feel": "voice"}] * 2, said
    assert all(h["feel"]["words"] and 0 <= h["feel"]["confidence"] <= 1 for _, h in said), said
    log = d.text()
    assert "Traceback" not in log
    # the two answers, and each "yes" heard as nothing to confirm (no "say again?")
    assert log.count("coach.daemon.listening: listen: heard") == 4, log
    assert log.count(": nothing to confirm") == 2 and "asked 'say again?'" not in log, log

    # Every cue before the first answer, on its sample: the capture from its first loud sample
    # on is the render from its own (both 16-bit: 1 LSB of rounding apart at most).
    r, rate = read_wav(rendered)
    assert rate == RATE
    cues = [round(e["t"] * RATE) for e in plan["events"]
            if e["type"] == "cue" and e["t"] < CHECKED_S]
    r0 = loud_onsets(r, [0], WINDOW)[0]
    x0 = int(np.flatnonzero(np.abs(x) > LOUD)[0])
    want = [o - r0 for o in loud_onsets(r, cues, WINDOW)]
    heard = [o - x0 if o >= 0 else -1 for o in loud_onsets(x, [x0 - r0 + c for c in cues], WINDOW)]
    assert len(cues) >= 8 and heard == want, (list(zip(cues, want, heard, strict=True)),
                                              [ln for ln in log.splitlines() if "underflow" in ln])
    end = x0 - r0 + round(CHECKED_S * RATE)
    assert np.abs(x[x0:end] - r[r0:r0 + end - x0]).max() <= 2 / 32768
