"""A remedy during a session (issue 20), in-process: the real session thread, clip worker
(espeak-ng) and SQLite, the DummyPlayer on a clock the test moves. A feel of 2 after set 1
recompiles the rest of the plan: set 2 plays the slower tempo, and every sample heard is the
recompiled plan's (the cues before the change on their old samples, those after it on their new
ones); a feel of 5 after set 2 gives set 3 the program's tempo back; a feel of 4 changes
nothing."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from coach.audio.pipeline import build_mixer
from coach.core.timeline import Timeline
from coach.report.views import session_json, session_lines
from tests.support.programs import REMEDIED_ROW
from tests.support.rig import Rig


# Row: set 1 announce 0-3, lead-in 3-6, work 6-14 (2 reps of 3010), rest 14-74 (feel asked
# 14-18, answered 18-26); set 2 from 74.
@pytest.fixture
def rig(tmp_path: Path, espeak):
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(REMEDIED_ROW)
        r.call("reload")
        assert r.call("start", program="row")["ok"]
        r.wait_for(lambda s: s["state"] == "playing", "playing")
        r.clips_made()  # the test's clock runs faster than the voice
        yield r


def heard_is_the_plan(rig: Rig, tl: Timeline) -> int:
    """Every frame heard so far is the plan's (rendered afresh from the session's clips)."""
    s = rig.session
    heard = rig.player.heard
    pos = rig.player.position
    source = heard[len(heard) - pos:]  # no preroll, pause or insert: frame k is source frame k
    want = build_mixer(tl, s.clips, rate=s.mixer.rate).render(0, pos)
    differ = np.flatnonzero(source != want)
    assert differ.size == 0, f"first differing frame {differ[:1]} of {pos}"
    return pos


def set_phases(tl: Timeline, set_no: int, phase: str) -> set[int]:
    return {p.duration_ms for p in tl.phases if p.set == set_no and p.phase == phase}


def announce(tl: Timeline, set_no: int) -> str:
    return next(c.text for c in tl.cues if c.phrase == "announce" and c.set == set_no)


def test_feel_2_slows_set_2_and_5_brings_the_program_back(rig):
    program_tl = rig.session.resolved.timeline
    rig.play_to(20, step=5.0)
    r = rig.call("rate", value=2)
    assert r["ok"] and r["set"] == 1
    tl = rig.session.resolved.timeline
    assert tl is not program_tl
    assert set_phases(tl, 2, "eccentric") == {4000} and set_phases(tl, 2, "top_pause") == {2000}
    assert "tempo 4 0 1 2" in announce(tl, 2) and "tempo 3 0 1 0" in announce(tl, 1)
    said = next(c for c in tl.cues if c.phrase == "remedy")
    assert said.text == ("Feel was 2. Next set: 4 seconds down and squeeze at the top for "
                         "2 seconds.")
    assert 22_000 <= said.t_ms < 74_000
    flex = next(c for c in tl.cues if c.phrase == "flex")
    assert said.t_ms < flex.t_ms < 74_000
    assert tl.sets[1].start_ms == program_tl.sets[1].start_ms  # the rest keeps its length
    rig.clips_made()
    # set 2 played through, on the new plan's samples
    rig.play_to(tl.sets[1].work_end_ms / 1000 + 2, step=5.0)
    assert heard_is_the_plan(rig, tl) > tl.sets[1].work_end_ms * 48
    assert rig.status()["set"] == 2

    r = rig.call("rate", value=5)
    assert r["ok"] and r["set"] == 2
    back = rig.session.resolved.timeline
    assert set_phases(back, 3, "eccentric") == {3000} and set_phases(back, 3, "top_pause") == set()
    assert set_phases(back, 2, "eccentric") == {4000}
    assert "tempo 3 0 1 0" in announce(back, 3)
    assert any(c.text == "Feel was 5. Next set: back to the program." for c in back.cues)
    rig.clips_made()
    rig.play_to(back.sets[2].work_end_ms / 1000, step=5.0)
    heard_is_the_plan(rig, back)

    # recorded: what each set played, and why a remedy changed it
    assert rig.call("stop")["ok"]
    (rec,) = rig.history.recent(1)
    sets = session_json(rec)["sets"]
    assert [(e["set"], e["tempo"], e["hold"], e["adapted"]) for e in sets] == [
        (1, "3010", None, None), (2, "4012", None, "feel 2 on set 1"), (3, "3010", None, None)]
    assert "Row set 2 of 3, tempo 4012 (feel 2 on set 1): completed  feel 5" in \
        session_lines(rec)
    # progression reads the program's own values
    assert [(u.reps, u.sets) for u in rec.used] == [(2, 3)]


def test_feel_4_changes_nothing(rig):
    program_tl = rig.session.resolved.timeline
    rig.play_to(20, step=5.0)
    assert rig.call("rate", value=4)["ok"]
    time.sleep(0.2)
    assert rig.session.resolved.timeline is program_tl and rig.session.changes == ()
    rig.play_to(program_tl.sets[1].work_end_ms / 1000, step=5.0)
    heard_is_the_plan(rig, program_tl)


def test_effort_never_remedies(tmp_path: Path, espeak):
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(REMEDIED_ROW.replace("rate: feel", "rate: [feel, effort]")
                                             .replace("rest: 60s", "rest: 90s"))
        r.call("reload")
        assert r.call("start", program="row")["ok"]
        r.wait_for(lambda s: s["state"] == "playing", "playing")
        r.clips_made()
        program_tl = r.session.resolved.timeline
        r.play_to(20, step=5.0)
        assert r.call("rate", value=1, question="effort")["ok"]
        time.sleep(0.2)
        assert r.session.resolved.timeline is program_tl


def test_two_taps_remedy_after_the_echo_and_set_2_plays_the_new_plan(rig):
    rig.play_to(19.0, step=5.0)  # set 1's answer phase
    for _ in range(2):
        assert rig.call("toggle")["state"] == "playing", "a tap, not a pause"
    time.sleep(2.3)  # 2 s after the last tap the window closes: stored, echoed, remedied
    rig.play_s(0.1)
    tl = rig.session.resolved.timeline
    assert "tempo 4 0 1 2" in announce(tl, 2)
    rig.clips_made()
    rig.play_s(4.0)  # the echo ("Row, set 1 of 3. 2") is over; the timeline goes on
    n0, p0 = len(rig.player.heard), rig.player.position
    rig.play_to(tl.sets[1].work_end_ms / 1000 + 1, step=5.0)
    s = rig.session
    pos = rig.player.position
    want = build_mixer(tl, s.clips, rate=s.mixer.rate).render(p0, pos - p0)
    assert np.array_equal(rig.player.heard[n0:], want)
    assert rig.status()["set"] == 2
