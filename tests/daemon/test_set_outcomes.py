"""An honest training log (issue 18): each set, and each side of a unilateral set, is logged
as completed, partial (with the reps, seconds or poses done) or skipped, from the position it
was cut at; a session is completed only if every set was; it keeps the time actually coached
and paused; "N/M sets" counts against the program; progression counts completed sets only.

The units and outcomes as pure functions of the timeline, then the daemon in-process (the real
session thread, real SQLite, the DummyPlayer on a clock the test moves)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coach.core.outcome import outcome, unit_at, units
from coach.core.program import load_program, parse_program
from coach.core.progression import describe_progress
from coach.core.timeline import compile_program
from coach.report.views import session_json, session_lines, sets_count
from coach.store.programs import progressed
from tests.support.audio import find_clip
from tests.support.cli import coach
from tests.support.real import ROOT
from tests.support.rig import Rig, SimClock

# Squat set 1: announce 0-3, lead-in 3-6, reps end at 8, 10, 12, 14, rest 14-24; set 2: 24-27,
# 27-30, work 30-38, rest 38-48. Wall sit: announce 48-51, lead-in 51-54, hold 54-74.
OUTCOMES = """\
program: Outcomes
defaults: {rest: 10s, lead_in: 3s, announce: 3s}
exercises:
  - name: Squat
    sets: 2
    reps: 4
    cadence: 2s
    progress: {reps: +1, max: 10, when: completed}
  - name: Wall sit
    hold: 20s
"""

# Split squat set 1: announce 0-3, lead-in 3-6, left 6-14, switch 14-24, right 24-32, rest
# 32-42; set 2 from 42.
SPLIT = """\
program: Split
defaults: {rest: 10s, lead_in: 3s, announce: 3s, switch: 10s}
exercises:
  - name: Split squat
    sides: both
    sets: 2
    reps: 4
    cadence: 2s
"""

POSES = """\
program: Poses
defaults: {lead_in: 3s, announce: 3s}
exercises:
  - name: Front
    hold: 5s
    poses: [front double biceps, front lat spread, abdominals and thigh]
"""


def timeline(text: str):
    return compile_program(parse_program(text, "p.yaml"))


# --- the units and their outcomes, pure ------------------------------------------------------

def test_units_tile_the_session_and_a_side_owns_the_switch_after_it() -> None:
    tl = timeline(SPLIT)
    us = units(tl)
    assert [(u.set, u.side, u.start_ms, u.work_start_ms, u.work_end_ms, u.end_ms)
            for u in us] == [
        (1, "left", 0, 6000, 14000, 24000), (1, "right", 24000, 24000, 32000, 42000),
        (2, "left", 42000, 48000, 56000, 66000), (2, "right", 66000, 66000, 74000,
                                                  tl.duration_ms)]
    assert all(a.end_ms == b.start_ms for a, b in zip(us, us[1:]))
    assert [(u.measure, u.planned, u.marks) for u in us[:1]] == [
        ("reps", 4, (8000, 10000, 12000, 14000))]
    assert (unit_at(us, 0), unit_at(us, 23_999), unit_at(us, 24_000), unit_at(us, 10**9)) == (
        0, 0, 1, 3)
    # A crash in either side resumes at the set's announcement.
    assert [u.set_start_ms for u in us] == [0, 0, 42000, 42000]


def test_an_outcome_from_where_the_work_was_cut() -> None:
    squat, _, wall = units(timeline(OUTCOMES))
    for cut, want in [(2000, ("skipped", 0)), (6000, ("skipped", 0)),  # announce, lead-in
                      (7000, ("partial", 0)),  # in rep 1: started, no rep done
                      (11_500, ("partial", 2)), (13_999, ("partial", 3)),
                      (14_000, ("completed", 4)), (20_000, ("completed", 4))]:
        o = outcome(squat, squat.start_ms, cut)
        assert (o.status, o.done, o.planned, o.measure) == (*want, 4, "reps"), cut
    assert (wall.measure, wall.planned, wall.work_start_ms) == ("s", 20, 54000)
    o = outcome(wall, wall.start_ms, 54_000 + 12_345)
    assert (o.status, o.done, o.planned, o.measure) == ("partial", 12.3, 20, "s")
    # Jumped into its rest (a skip from the announcement): none of the work was played.
    assert outcome(squat, squat.work_end_ms, squat.end_ms).status == "skipped"
    [poses] = units(timeline(POSES))
    o = outcome(poses, 0, poses.work_start_ms + 11_000)
    assert (o.status, o.done, o.planned, o.measure) == ("partial", 2, 3, "poses")


def test_every_shipped_program_has_a_unit_per_set_and_side() -> None:
    for path in sorted((ROOT / "programs").glob("*.yaml")):
        program = load_program(path)
        tl = compile_program(program)
        us = units(tl)
        want = sum(ex.sets * len(ex.sides) for ex in program.exercises)
        assert len(us) == want, path.name
        assert us[0].start_ms == 0 and us[-1].end_ms == tl.duration_ms, path.name
        assert all(u.start_ms <= u.work_start_ms < u.work_end_ms <= u.end_ms for u in us)


# --- the daemon logs them ---------------------------------------------------------------------

@pytest.fixture
def rig(tmp_path: Path, espeak):
    db = tmp_path / "data" / "coach" / "history.sqlite3"
    with Rig(tmp_path, history_path=db, monotonic=SimClock()) as r:
        (r.programs / "outcomes.yaml").write_text(OUTCOMES)
        (r.programs / "split.yaml").write_text(SPLIT)
        r.call("reload")
        yield r


def play_out(rig: Rig) -> None:
    s = rig.d.controller.session
    assert s is not None
    rig.play_s(s.resolved.timeline.duration_ms / 1000 + 2)
    rig.wait_for(lambda st: st["state"] == "idle", "played out")


def skip_to_the_end(rig: Rig) -> int:
    skips = 0
    while rig.status()["state"] != "idle":
        assert rig.call("skip")["ok"]
        skips += 1
        rig.play_s(0.05)  # a block played, a tick: a session skipped to its end closes
        assert skips < 20
    return skips


def plan_lines(rig: Rig) -> list[str]:
    path = rig.programs / "outcomes.yaml"
    _, notes = progressed(load_program(path), rig.history, path.resolve())
    return describe_progress(notes)


def outcomes(rig: Rig) -> list[tuple]:
    [session] = rig.history.recent(1)
    return [(x.exercise, x.set_no, x.side, x.status, x.done, x.planned, x.unit)
            for x in session.sets]


def test_a_session_skipped_through_logs_every_set_skipped_and_progresses_nothing(
        rig: Rig) -> None:
    rig.start("outcomes")
    rig.play_s(0.4)  # in the first announcement
    skip_to_the_end(rig)
    assert outcomes(rig) == [("Squat", 1, None, "skipped", 0, 4, "reps"),
                             ("Squat", 2, None, "skipped", 0, 4, "reps"),
                             ("Wall sit", 1, None, "skipped", 0, 20, "s")]
    [session] = rig.history.recent(1)
    assert session.status == "partial", "played to its end, but not a set completed"
    assert sets_count(session) == (0, 3)
    j = session_json(session)
    assert (j["status"], j["sets_completed"], j["sets_planned"]) == ("partial", 0, 3)
    assert [e["status"] for e in j["sets"]] == ["skipped"] * 3
    assert plan_lines(rig) == ["Squat: reps 4 stays (0 of 2 sets completed; skipped and "
                               "partial sets do not count)"]

    rig.start("outcomes")  # played through: now it progresses
    s = rig.d.controller.session
    assert s is not None and s.resolved.program.exercises[0].reps == 4
    play_out(rig)
    assert [o[3] for o in outcomes(rig)] == ["completed"] * 3
    [session] = rig.history.recent(1)
    assert session.status == "completed" and sets_count(session) == (3, 3)
    assert [(o[4], o[5]) for o in outcomes(rig)] == [(4, 4), (4, 4), (20, 20)]
    assert plan_lines(rig) == ["Squat: reps 4 → 5 (all sets completed)"]


def test_one_set_skipped_keeps_the_session_and_its_exercise_from_completing(rig: Rig) -> None:
    rig.start("outcomes")
    rig.play_s(25.0)  # Squat set 1 done, into set 2's announcement
    rig.call("skip")  # set 2 skipped from its announcement
    rig.play_s(100.0)
    rig.wait_for(lambda st: st["state"] == "idle", "played out")
    assert [o[:4] for o in outcomes(rig)] == [("Squat", 1, None, "completed"),
                                             ("Squat", 2, None, "skipped"),
                                             ("Wall sit", 1, None, "completed")]
    [session] = rig.history.recent(1)
    assert session.status == "partial" and sets_count(session) == (2, 3)
    assert plan_lines(rig) == ["Squat: reps 4 stays (1 of 2 sets completed; skipped and "
                               "partial sets do not count)"]


def test_a_set_cut_in_its_work_is_partial_with_what_was_done(rig: Rig) -> None:
    rig.start("outcomes")
    rig.play_s(11.5)  # Squat set 1, two reps done (they end at 8 and 10 s)
    st = rig.call("skip")
    assert st["phase"] == "rest" and st["position"] == 14.0
    rig.play_s(10.5)  # set 2 begins at 24 s
    rig.call("skip")  # from its announcement: skipped
    rig.call("skip")  # its rest -> Wall sit
    rig.play_s(6.0 + 12.35)  # 12.35 s into the 20 s hold
    rig.call("skip")
    rig.call("stop")
    assert outcomes(rig) == [("Squat", 1, None, "partial", 2, 4, "reps"),
                             ("Squat", 2, None, "skipped", 0, 4, "reps"),
                             ("Wall sit", 1, None, "partial", 12.3, 20, "s")]
    [session] = rig.history.recent(1)
    assert session.status == "stopped"
    assert session_lines(session) == ["Squat set 1 of 2: partial 2/4 reps",
                                      "Squat set 2 of 2: skipped",
                                      "Wall sit set 1 of 1: partial 12.3/20 s"]
    entry = session_json(session)["sets"][0]
    assert (entry["status"], entry["done"], entry["planned"], entry["unit"]) == (
        "partial", 2, 4, "reps")


def test_each_side_of_a_unilateral_set_has_its_own_outcome(rig: Rig) -> None:
    rig.start("split")
    rig.play_s(29.1)  # left done (6-14), right: 2 reps done (they end at 26 and 28 s)
    rig.call("skip")  # right -> the set's rest
    rig.play_s(10.5)  # set 2 (42 s): its announcement
    rig.call("stop")
    assert outcomes(rig) == [("Split squat", 1, "left", "completed", 4, 4, "reps"),
                             ("Split squat", 1, "right", "partial", 2, 4, "reps"),
                             ("Split squat", 2, "left", "skipped", 0, 4, "reps")]
    [session] = rig.history.recent(1)
    assert sets_count(session) == (0, 2), "a set counts when both sides were completed"
    sides = [(e["set"], e["side"], e["status"]) for e in session_json(session)["sets"]]
    assert sides == [(1, "left", "completed"), (1, "right", "partial"), (2, "left", "skipped")]


def test_a_skip_from_the_left_side_skips_it_and_the_right_side_still_plays(rig: Rig) -> None:
    # Until session 14 a skip from the left side (or the switch) went to the set's rest: the
    # right side was skipped with it, and its rating and the imbalance lost.
    rig.start("split")
    rig.play_s(4.0)  # the lead-in
    rig.call("skip")  # to the left side's end, the switch: the left was not worked
    play_out(rig)
    got = [o[1:4] for o in outcomes(rig)]
    assert got == [(1, "left", "skipped"), (1, "right", "completed"), (2, "left", "completed"),
                   (2, "right", "completed")]
    assert rig.history.recent(1)[0].status == "partial"


def test_skips_through_a_switch_land_on_the_right_side_and_then_the_rest(rig: Rig) -> None:
    rig.start("split")
    s = rig.session
    tl = s.resolved.timeline
    switch = next(p for p in tl.phases if p.phase == "switch")
    right = next(p for p in tl.phases if p.side == "right" and p.phase == "rep")
    rig.play_to(switch.t_ms / 1000 + 0.5)  # "switch sides. right side" is said
    st = rig.call("skip")
    count_in = min(c.t_ms for c in tl.cues if switch.t_ms < c.t_ms < right.t_ms)
    assert st["position"] == count_in / 1000 and st["side"] == "right", "the right's 3, 2, 1"
    assert rig.call("skip")["position"] == right.t_ms / 1000, "its work"
    st = rig.call("skip")  # the right side's work: to the set's rest
    assert st["phase"] == "rest" and st["position"] == tl.sets[0].work_end_ms / 1000
    rig.call("stop")
    got = [o[1:4] for o in outcomes(rig)]
    assert got[:2] == [(1, "left", "completed"), (1, "right", "skipped")]


def test_back_from_the_right_side_does_that_side_again_not_the_left(rig: Rig) -> None:
    # Until session 14 "back" in the right side's work went to the set's start: the left side
    # again too (a lifter who lost count on the right side redid both). Now to the right's work
    # start, "right side. 3, 2, 1" said first while the timeline holds; within 3 s of that
    # start, as before.
    rig.start("split")
    rig.clips_made()
    s = rig.session
    tl = s.resolved.timeline
    right = next(p for p in tl.phases if p.side == "right" and p.phase == "rep")
    rig.play_to(right.t_ms / 1000 + 3.5)
    n = len(rig.player.heard)
    st = rig.call("back")
    assert (st["state"], st["position"], st["side"]) == ("playing", right.t_ms / 1000, "right"), st
    st = rig.play_s(2.0)
    assert st["position"] == right.t_ms / 1000, "the words play while the timeline holds"
    rig.play_s(2.5)
    heard = rig.player.heard[n:]
    at = [find_clip(heard, s.clips[t]) for t in ("right side", "3", "2", "1")]
    assert None not in at and at == sorted(at), at
    assert at[3] - at[1] == pytest.approx(2 * rig.player.rate, abs=0.05 * rig.player.rate), \
        "3, 2, 1 a second apart"
    play_out(rig)
    got = [o[1:4] for o in outcomes(rig)]
    assert got == [(1, "left", "completed"), (1, "right", "partial"), (1, "right", "completed"),
                   (2, "left", "completed"), (2, "right", "completed")], got


def test_the_session_keeps_the_time_coached_and_paused(rig: Rig) -> None:
    rig.start("outcomes")
    rig.play_s(10.0)
    rig.call("pause")
    rig.play_s(30.0)  # paused: the clock moves, the session does not
    rig.call("resume")  # "resuming. Squat, set 1 of 2. 3, 2, 1": coached
    rig.play_s(5.0)
    rig.call("stop")
    [session] = rig.history.recent(1)
    # The session thread's own time passes too (real seconds on top of the simulated ones).
    assert 15.0 <= session.coached_ms / 1000 < 19.0, session.coached_ms
    assert 30.0 <= session.paused_ms / 1000 < 32.0, session.paused_ms
    # Where it stopped (it used to be 0): the resume words held the timeline at 10 s.
    assert session.position_ms >= 10_000
    j = session_json(session)
    assert j["coached_s"] == round(session.coached_ms / 1000, 1)
    assert j["paused_s"] == round(session.paused_ms / 1000, 1)


def test_a_session_stopped_while_preparing_coached_nothing_of_its_sets(rig: Rig) -> None:
    rig.call("start", program="outcomes")
    rig.call("stop")
    [session] = rig.history.recent(1)
    assert (session.status, session.sets, session.coached_ms) == ("stopped", [], 0)
    assert sets_count(session) == (0, 3)


def test_coach_history_shows_the_count_against_the_program_and_the_time_coached(
        rig: Rig) -> None:
    rig.call("start", program="outcomes")
    rig.call("stop")  # while preparing
    rig.start("outcomes")
    rig.play_s(0.4)
    skip_to_the_end(rig)
    rig.start("outcomes")
    rig.play_s(30.0)
    rig.call("pause")
    rig.play_s(65.0)
    rig.call("stop")
    env = dict(os.environ, XDG_DATA_HOME=str(rig.history.path.parent.parent), TZ="UTC")
    out = coach("history", env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    heads = [ln.split("  ", 1)[1] for ln in out.stdout.splitlines() if not ln.startswith(" ")]
    # The simulated seconds, and the few real ones the session thread spends on top.
    assert heads[0].startswith("Outcomes  stopped  1/3 sets  0:3"), heads
    assert "(paused 1:0" in heads[0], heads
    assert heads[1].startswith("Outcomes  partial  0/3 sets  0:0"), heads
    assert heads[2].startswith("Outcomes  stopped  0/3 sets  0:00  #"), heads


def test_a_crash_in_the_right_side_resumes_the_whole_set(tmp_path: Path, espeak) -> None:
    db = tmp_path / "history.sqlite3"
    with Rig(tmp_path, "first", history_path=db) as a:
        (a.programs / "split.yaml").write_text(SPLIT)
        a.call("reload")
        a.start("split")
        a.play_s(27.0)  # left completed; the right side is being worked
        a.crash()
    with Rig(tmp_path, "second", history_path=db) as b:
        i = b.d.interrupted
        assert i is not None and (i.set_no, i.start_ms, i.sets_completed) == (1, 0, 0)
        assert i.set is not None and i.set.side == "right"
        [session] = b.history.recent(1)
        assert [(x.side, x.status) for x in session.sets] == [("left", "completed"),
                                                              ("right", "running")]
        st = b.call("resume")
        assert st["ok"] and (st["set"], st["position"]) == (1, 0.0), "the set from its start"
        b.call("stop")
