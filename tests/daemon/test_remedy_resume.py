"""A session resumed after a crash keeps its remedies (issue 20), in-process: the real session
thread, clip worker (espeak-ng), SQLite and remedies file, the DummyPlayer on a clock the test
moves; ``Rig.crash`` is the process dying (nothing stopped, nothing recorded as ended). A feel
of 2 after set 1 slowed sets 2 and 3; the daemon dies in set 1's rest (after the words) or in
set 2; the restarted daemon resumes on the remedied plan, and its history says what each set
played and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.core.timeline import Timeline
from coach.report.views import session_json
from tests.support.programs import REMEDIED_ROW
from tests.support.rig import Rig

# Row: set 1 announce 0-3, lead-in 3-6, work 6-14 (2 reps of 3010), rest 14-74 (feel asked
# 14-18, answered 18-26); set 2 from 74.


def eccentric(tl: Timeline, set_no: int) -> set[int]:
    return {p.duration_ms for p in tl.phases if p.set == set_no and p.phase == "eccentric"}


def remedied_then_crashed(tmp_path: Path, crash_at_s: float | None) -> Timeline:
    """Start, feel 2 after set 1, play to ``crash_at_s`` (None: into set 2's work), die."""
    with Rig(tmp_path, "first") as a:
        (a.programs / "row.yaml").write_text(REMEDIED_ROW)
        a.call("reload")
        assert a.call("start", program="row")["ok"]
        a.wait_for(lambda s: s["state"] == "playing", "playing")
        a.clips_made()
        a.play_to(20, step=5.0)
        assert a.call("rate", value=2)["ok"]
        tl = a.session.resolved.timeline
        assert eccentric(tl, 2) == {4000}
        a.clips_made()
        a.play_to(crash_at_s if crash_at_s is not None else tl.sets[1].start_ms / 1000 + 8, step=5.0)
        kept = json.loads((tmp_path / "remedies.json").read_text())
        assert kept["session_id"] == a.session.record.session_id
        (felt,) = kept["felt"]
        at = felt.pop("at_ms")
        assert felt == {"exercise_index": 0, "set": 1, "side": None, "feel": 2}
        # the position heard at the rating and the daemon's lead; the words come after the
        # answer window, no earlier
        assert 22_000 <= at <= next(c.t_ms for c in tl.cues if c.phrase == "remedy")
        a.crash()
    return tl


def resumed(tmp_path: Path, tl: Timeline, set_no: int, at_ms: int):
    """The restarted daemon resumes at ``set_no`` (its start, ``at_ms``) on the remedied plan
    and plays to the end; the sessions as `history --json` gives them, newest first."""
    with Rig(tmp_path, "second") as b:
        i = b.d.interrupted
        assert i is not None and (i.set_no, i.start_ms) == (set_no, at_ms)
        st = b.call("resume")  # what the restarted daemon does by itself (run_daemon)
        assert st["ok"] and st["set"] == set_no and st["position"] == at_ms / 1000
        s = b.session
        assert s.resolved.timeline == tl, "the plan the interrupted session played"
        assert [c.reason for c in s.changes] == ["feel 2 on set 1"]
        b.wait_for(lambda s: s["state"] == "playing", "resumed")
        b.clips_made()
        b.play_to(tl.duration_ms / 1000 + 1, step=5.0)  # played out: the session ends
        b.wait_for(lambda s: s["state"] == "idle", "the session's end")
        assert not (tmp_path / "remedies.json").exists(), "ended: nothing left to resume"
        return [session_json(r) for r in b.history.recent(2)]


def played(session: dict) -> list[tuple]:
    return [(e["set"], e["tempo"], e["adapted"], e["status"]) for e in session["sets"]]


def test_a_crash_in_set_2_resumes_it_on_the_remedied_plan(tmp_path: Path, espeak) -> None:
    tl = remedied_then_crashed(tmp_path, None)
    new, old = resumed(tmp_path, tl, 2, tl.sets[1].start_ms)
    assert played(old) == [(1, "3010", None, "completed"),
                           (2, "4012", "feel 2 on set 1", "interrupted")]
    assert new["resumed_from"] == old["id"]
    assert played(new) == [(2, "4012", "feel 2 on set 1", "completed"),
                           (3, "4012", "feel 2 on set 1", "completed")]


def test_a_crash_in_the_rest_after_the_words_keeps_them(tmp_path: Path, espeak) -> None:
    # Set 1's row runs to set 2's start, so the resume replays set 1 (the program's tempo),
    # says the remedy in its rest again, and plays sets 2 and 3 slower.
    tl = remedied_then_crashed(tmp_path, 50.0)
    new, old = resumed(tmp_path, tl, 1, 0)
    assert played(old) == [(1, "3010", None, "interrupted")]
    assert played(new) == [(1, "3010", None, "completed"),
                           (2, "4012", "feel 2 on set 1", "completed"),
                           (3, "4012", "feel 2 on set 1", "completed")]


def test_a_damaged_remedies_file_resumes_the_program_and_says_so(tmp_path: Path, espeak,
                                                                  caplog) -> None:
    remedied_then_crashed(tmp_path, None)
    (tmp_path / "remedies.json").write_text("{")
    with Rig(tmp_path, "second") as b:
        assert b.call("resume")["ok"]
        assert b.session.changes == ()
        assert eccentric(b.session.resolved.timeline, 2) == {3000}
        assert "cannot read the interrupted session's remedies" in caplog.text
        b.call("stop")


@pytest.mark.parametrize("how", ["stop", "played out"])
def test_an_ended_session_leaves_no_remedies(tmp_path: Path, espeak, how: str) -> None:
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(REMEDIED_ROW)
        r.call("reload")
        assert r.call("start", program="row")["ok"]
        r.wait_for(lambda s: s["state"] == "playing", "playing")
        r.play_to(20, step=5.0)
        assert r.call("rate", value=1)["ok"]
        assert (tmp_path / "remedies.json").exists()
        if how == "stop":
            r.call("stop")
        else:
            r.play_to(r.session.resolved.timeline.duration_ms / 1000 + 1, step=5.0)
            r.wait_for(lambda s: s["state"] == "idle", "the end")
        assert not (tmp_path / "remedies.json").exists()
