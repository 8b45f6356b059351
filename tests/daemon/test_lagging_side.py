"""A unilateral exercise whose side lagged (issue 20; the imbalance rule: at least 1 point
worse in 3 of its last sessions) starts with that side when its remedy puts the weaker side
first, and its first set says why. In-process: the real session thread and SQLite history."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from coach.core.timeline import Timeline
from tests.support.rig import Rig

SPLIT = """\
program: Split day
defaults: {rest: 30s, switch: 20s, lead_in: 3s, announce: 3s}
rate: feel
remedy: {weaker_first: true}
exercises:
  - name: Split squat
    sides: both
    sets: 2
    reps: 4
    cadence: 2s
"""


def past_sessions(rig: Rig, left: int, right: int, n: int = 3) -> None:
    h = rig.history
    for k in range(n):
        at = datetime(2026, 12, 1, 7, 0) + timedelta(days=k)
        sid = h.start_session("Split day", str(rig.programs / "split.yaml"), at)
        for side, value in (("left", left), ("right", right)):
            h.rate(sid, None, "Split squat", 0, 1, side, "feel", value, at)
        h.end_session(sid, "completed", at + timedelta(minutes=5), 0, 0)


def started(rig: Rig, text: str) -> Timeline:
    (rig.programs / "split.yaml").write_text(text)
    rig.call("reload")
    assert rig.call("start", program="split")["ok"]
    s = rig.d.controller.session
    assert s is not None
    return s.resolved.timeline


def first_work_side(tl: Timeline, set_no: int) -> str | None:
    return next(p.side for p in tl.phases if p.set == set_no and p.phase == "rep")


@pytest.mark.parametrize("left, right, first, said", [
    (5, 2, "right", "Right side first today: it has lagged 3 sessions"),
    (2, 4, "left", "Left side first today: it has lagged 3 sessions"),
    (4, 4, "left", None)])
def test_the_lagging_side_goes_first_and_is_said(tmp_path: Path, left, right, first, said):
    with Rig(tmp_path) as rig:
        past_sessions(rig, left, right)
        tl = started(rig, SPLIT)
        assert first_work_side(tl, 1) == first and first_work_side(tl, 2) == first
        announce = [c.text for c in tl.cues if c.phrase == "announce"]
        if said is None:
            assert not any("first today" in a for a in announce)
        else:
            assert said in announce[0] and "first today" not in announce[1]


def test_two_lagging_sessions_are_not_enough_and_no_remedy_keeps_the_order(tmp_path: Path):
    with Rig(tmp_path) as rig:
        past_sessions(rig, 5, 2, n=2)
        assert first_work_side(started(rig, SPLIT), 1) == "left"
    (tmp_path / "b").mkdir()
    with Rig(tmp_path / "b") as rig:
        past_sessions(rig, 5, 2)
        tl = started(rig, SPLIT.replace("remedy: {weaker_first: true}\n", ""))
        assert first_work_side(tl, 1) == "left"
