"""`coach plan --feel N [--after-set K]` (issue 20): the plan with each exercise's remedy
applied after set K, as text and JSON; the program's own plan unchanged without it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import coach

PROGRAM = """\
program: Remedy demo
remedy: true
exercises:
  - name: Row
    sets: 3
    reps: 2
    tempo: "3010"
    rest: 60s
    rate: feel
  - name: Plank
    hold: 20s
    remedy: false
"""


def _plan(tmp_path: Path, *args: str) -> dict:
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM)
    r = coach("plan", str(f), "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _announce(plan: dict, set_no: int) -> str:
    return next(e["text"] for e in plan["events"] if e["type"] == "cue"
                and e["phrase"] == "announce" and e["exercise"] == "Row" and e["set"] == set_no)


def test_plan_feel_applies_the_remedy_after_the_set(tmp_path):
    own = _plan(tmp_path)
    low = _plan(tmp_path, "--feel", "2")
    assert "remedies" not in own
    assert low["remedies"] == [{"exercise": "Row", "exercise_index": 0, "from_set": 2,
                                "reason": "feel 2 on set 1",
                                "words": "Feel was 2. Next set: 4 seconds down and squeeze at "
                                         "the top for 2 seconds."}]
    assert "tempo 3 0 1 0" in _announce(low, 1)
    assert "tempo 4 0 1 2" in _announce(low, 2) and "tempo 4 0 1 2" in _announce(low, 3)
    flex = [e for e in low["events"] if e["type"] == "cue" and e["phrase"] == "flex"]
    assert len(flex) == 1 and flex[0]["set"] == 1  # in set 1's rest
    assert low["duration"] == own["duration"] + 2 * 2 * 3  # 2 sets of 2 reps, 3 s longer each
    # the same up to the change's words
    said = next(e["t"] for e in low["events"] if e.get("phrase") == "remedy")
    assert [e for e in own["events"] if e["t"] < said] == \
        [e for e in low["events"] if e["t"] < said]


def test_after_set_and_a_feel_that_changes_nothing(tmp_path):
    later = _plan(tmp_path, "--feel", "1", "--after-set", "2")
    assert [r["from_set"] for r in later["remedies"]] == [3]
    assert "tempo 3 0 1 0" in _announce(later, 2) and "tempo 4 0 1 2" in _announce(later, 3)
    assert _plan(tmp_path, "--feel", "4")["remedies"] == []
    assert _plan(tmp_path, "--feel", "4")["events"] == _plan(tmp_path)["events"]


def test_plan_text_says_the_remedy(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM)
    out = coach("plan", str(f), "--feel", "2").stdout
    assert ("remedy: Row: from set 2 (feel 2 on set 1): Feel was 2. Next set: 4 seconds "
            "down and squeeze at the top for 2 seconds.") in out
    assert "flex it for 10 seconds, eyes closed" in out
    bad = coach("plan", str(f), "--feel", "7")
    assert bad.returncode == 2 and "--feel" in bad.stderr


def test_check_refuses_a_remedy_that_cannot_fit_its_rest(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM.replace("rest: 60s", "rest: 25s"))
    r = coach("check", "--no-voice", str(f))
    assert r.returncode == 2
    assert r.stderr.strip() == (f"{f}:2:1: error: Row: a rest of 25 s cannot hold the remedy's "
                                "flex cue of 10 s after its ratings; lengthen rest or give the "
                                "remedy a shorter flex (flex: 0 for none)")
    f.write_text(PROGRAM.replace("remedy: true", "remedy: {flex: 0}").replace("60s", "25s"))
    assert coach("check", "--no-voice", str(f)).returncode == 0


def test_render_takes_the_same_options(tmp_path, espeak):
    import wave
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM)
    low = _plan(tmp_path, "--feel", "2")
    out = tmp_path / "low.wav"
    r = coach("render", str(f), "--feel", "2", "-o", str(out), "--rate", "16000")
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        assert w.getnframes() == round(low["duration"] * 16000)


def test_plan_starts_a_lagging_side_first_as_the_daemon_does(tmp_path):
    import os
    from datetime import datetime, timedelta

    from coach.store.history import History
    f = tmp_path / "split.yaml"
    f.write_text("program: Split day\nrate: feel\nremedy: true\ndefaults: {rest: 60s}\n"
                 "exercises:\n  - {name: Split squat, sides: both, switch: 20s, sets: 2, "
                 "reps: 4, cadence: 2s}\n")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    with History(tmp_path / "data" / "coach" / "history.sqlite3") as h:
        for k in range(3):
            at = datetime(2026, 12, 1, 7) + timedelta(days=k)
            sid = h.start_session("Split day", str(f), at)
            h.rate(sid, None, "Split squat", 0, 1, "left", "feel", 5, at)
            h.rate(sid, None, "Split squat", 0, 1, "right", "feel", 2, at)
            h.end_session(sid, "completed", at, 0, 0)
    r = coach("plan", str(f), "--json", env=env)
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)["events"]
    first = next(e for e in events if e["type"] == "phase" and e["phase"] == "rep")
    assert first["side"] == "right"
    said = next(e["text"] for e in events if e["type"] == "cue")
    assert "Right side first today: it has lagged 3 sessions" in said
