"""An honest training log end to end (issue 18, "How it is checked"): a real `coach daemon`
process on a PulseAudio null sink, driven through the real `coach` CLI, its real history.

- A program with a progress rule skipped through: its sets `skipped` in `history --json`, the
  session not completed, `coach plan` unchanged; played through: progressed.
- A unilateral rated program: `coach rate 4` right after the left side ends (before its
  question) lands on the left, `coach rate 2` right after the right side ends lands on the
  right, and `history --json` holds exactly left 4, right 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.audio import PulseServer, need_pulse
from tests.support.coachd import Coachd

pytestmark = pytest.mark.slow

SQUATS = """\
program: Quick squats
defaults: {rest: 3s, lead_in: 2s}
exercises:
  - name: Squat
    sets: 2
    reps: 2
    cadence: 1.5s
    progress: {reps: +1, max: 10, when: completed}
"""

SPLIT = """\
program: Rated split
defaults: {switch: 14s, lead_in: 2s}
rate: feel
exercises:
  - name: Split squat
    sides: both
    reps: 2
    cadence: 1.5s
"""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    need_pulse()
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture
def daemon(tmp_path: Path, pulse: PulseServer, espeak):
    # PulseAudio is found by its address: the daemon's own runtime dir holds its socket.
    env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    d = Coachd(tmp_path, env)
    (d.programs / "squats.yaml").write_text(SQUATS)
    (d.programs / "split.yaml").write_text(SPLIT)
    d.start()
    yield d
    d.cleanup()


def last_session(d: Coachd) -> dict:
    return json.loads(d.ok("history", "--json"))[0]


def plan(d: Coachd, name: str) -> str:
    out = d.ok("plan", str(d.programs / name))
    return next(ln for ln in out.splitlines() if ln.startswith("progress: "))


def test_skipped_through_nothing_is_completed_or_progressed_played_through_it_is(
        daemon: Coachd) -> None:
    assert plan(daemon, "squats.yaml") == "progress: Squat: reps 2 stays (no previous session)"
    daemon.ok("start", "squats")
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    for _ in range(12):  # skip until the end is reached; then it plays out
        st = daemon.status()
        if st["state"] == "idle" or st["position"] >= st["duration"] - 0.01:
            break
        daemon.cli("skip")  # the last one may find the session already played out
    daemon.wait_for(lambda s: s["state"] == "idle", timeout=10, what="the end, skipped to")
    s = last_session(daemon)
    assert (s["status"], s["sets_completed"], s["sets_planned"]) == ("partial", 0, 2)
    assert [(e["set"], e["status"], e["done"], e["planned"]) for e in s["sets"]] == [
        (1, "skipped", 0, 2), (2, "skipped", 0, 2)]
    assert plan(daemon, "squats.yaml") == ("progress: Squat: reps 2 stays (0 of 2 sets "
                                           "completed; skipped and partial sets do not count)")
    table = daemon.ok("history").splitlines()[0]
    assert "  partial  0/2 sets  " in table, table

    daemon.ok("start", "squats")
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    t0 = time.monotonic()
    daemon.wait_for(lambda s: s["state"] == "idle", timeout=90, what="played out")
    played = time.monotonic() - t0
    s = last_session(daemon)
    assert (s["status"], s["sets_completed"], s["sets_planned"]) == ("completed", 2, 2)
    assert [(e["status"], e["done"], e["planned"], e["unit"]) for e in s["sets"]] == [
        ("completed", 2, 2, "reps")] * 2
    # The time actually coached: the session's length, as long as it played.
    assert s["paused_s"] == 0 and abs(s["coached_s"] - played) < 1.5, (s, played)
    assert plan(daemon, "squats.yaml") == "progress: Squat: reps 2 → 3 (all sets completed)"


def wait_past(d: Coachd, t_s: float) -> dict:
    return d.wait_for(lambda s: s["state"] == "playing" and s["position"] >= t_s, timeout=90,
                      what=f"position {t_s}")


def test_an_answer_right_after_each_side_lands_on_that_side(daemon: Coachd) -> None:
    events = json.loads(daemon.ok("plan", str(daemon.programs / "split.yaml"), "--json"))
    phases = [e for e in events["events"] if e["type"] == "phase"]
    work = [p for p in phases if p["phase"] == "rep"]
    left_end = max(p["t"] + p["duration"] for p in work if p["side"] == "left")
    right_end = max(p["t"] + p["duration"] for p in work if p["side"] == "right")
    asked = [p["t"] for p in phases if p["phase"] == "answer"]
    assert asked[0] >= left_end + 3 and asked[1] >= right_end + 3, "the questions take time"

    daemon.ok("start", "split")
    wait_past(daemon, left_end)
    out = daemon.ok("rate", "4")  # the left side just ended; its question is being asked
    assert out.strip() == "rated Split squat, set 1 left side: feel 4", out
    assert daemon.ok("rate", "5").strip() == "rated Split squat, set 1 left side: feel 5 (was 4)"
    reply = json.loads(daemon.ok("rate", "4", "--json"))
    assert reply == {"ok": True, "exercise": "Split squat", "set": 1, "side": "left",
                     "question": "feel", "value": 4, "was": 5}
    st = wait_past(daemon, right_end)
    assert st["position"] < asked[1], "still before the right side's question"
    out = daemon.ok("rate", "2")
    assert out.strip() == "rated Split squat, set 1 right side: feel 2", out
    daemon.ok("stop")
    s = last_session(daemon)
    assert [(e["set"], e["side"], e["status"], e["ratings"]) for e in s["sets"]] == [
        (1, "left", "completed", {"feel": 4}), (1, "right", "completed", {"feel": 2})]
