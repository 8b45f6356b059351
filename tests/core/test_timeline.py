"""The timeline compiler: what is said when, exactly, from a Program (no YAML, no audio)."""

from __future__ import annotations

import bisect
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.phrases import phrase_table
from coach.core.program import Exercise, Pose, Program, Tempo, VoiceSettings
from coach.core.timeline import Cue, announce_text, compile_program, estimate_speech_ms

TEMPO_PHASES = ("eccentric", "bottom_pause", "concentric", "top_pause")


def tempo(code: str) -> Tempo:
    ms = tuple(1000 if c == "X" else int(c) * 1000 for c in code)
    return Tempo(code, ms, tuple(c == "X" for c in code))  # type: ignore[arg-type]


def prog(*exercises: Exercise, **kw) -> Program:
    return Program("Test", tuple(exercises), **kw)


def cues(tl, **match):
    return [c for c in tl.cues if all(getattr(c, k) == v for k, v in match.items())]


def phases(tl, name=None):
    return [p for p in tl.phases if name is None or p.phase == name]


def test_tempo_set_structure_and_words():
    ex = Exercise("Lat pulldown", "tempo", sets=1, reps=3, tempo=tempo("4040"), lead_in_ms=5000,
                  announce_ms=8000, focus="Feel the lats")
    tl = compile_program(prog(ex))
    assert [(p.phase, p.t_ms, p.duration_ms) for p in tl.phases][:4] == [
        ("announce", 0, 8000), ("lead_in", 8000, 5000), ("eccentric", 13000, 4000),
        ("concentric", 17000, 4000)]
    said = [(c.t_ms, c.text) for c in tl.cues]
    # get-ready 3-2-1 on the last three seconds of the lead-in; "lower" replaces "go"
    assert (10000, "3") in said and (11000, "2") in said and (12000, "1") in said
    assert (13000, "lower") in said
    # seconds left inside a 4 s phase
    assert [(t, x) for t, x in said if 13000 < t < 17000] == [(14000, "3"), (15000, "2"), (16000, "1")]
    assert (17000, "squeeze") in said
    # rep 2 carries its number, the last rep "last one"
    assert (21000, "2 lower") in said
    assert (29000, "last one lower") in said
    assert "Feel the lats" in said[0][1] and said[0][0] == 0


def test_explosive_and_pauses():
    ex = Exercise("Squat", "tempo", reps=2, tempo=tempo("31X2"), announce_ms=3000, lead_in_ms=3000)
    tl = compile_program(prog(ex))
    work = [p for p in tl.phases if p.phase in TEMPO_PHASES]
    assert [(p.phase, p.duration_ms) for p in work[:4]] == [
        ("eccentric", 3000), ("bottom_pause", 1000), ("concentric", 1000), ("top_pause", 2000)]
    by_t = {c.t_ms: c for c in tl.cues}
    assert by_t[work[1].t_ms].text == "hold" and by_t[work[1].t_ms].phrase == "bottom_hold"
    assert by_t[work[2].t_ms].text == "explode" and by_t[work[2].t_ms].phrase == "explode"
    assert by_t[work[3].t_ms].phrase == "top_hold"
    assert by_t[work[3].t_ms + 1000].text == "1"  # 2 s top pause: "hold", then "1"


@settings(max_examples=60, derandomize=True, deadline=None)
@given(code=st.text(alphabet="0123456789X", min_size=4, max_size=4).filter(
    lambda c: any(ch != "0" for ch in c)), reps=st.integers(1, 200))
def test_tempo_arithmetic_exact_over_many_reps(code, reps):
    t = tempo(code)
    ex = Exercise("E", "tempo", reps=reps, tempo=t, announce_ms=4000, lead_in_ms=5000)
    tl = compile_program(prog(ex))
    work = [p for p in tl.phases if p.phase in TEMPO_PHASES]
    per_rep = sum(t.phases_ms)
    expected = []
    for r in range(reps):
        start = 9000 + r * per_rep
        for i, d in enumerate(t.phases_ms):
            if d:
                expected.append((TEMPO_PHASES[i], r + 1, start, d))
            start += d
    assert [(p.phase, p.rep, p.t_ms, p.duration_ms) for p in work] == expected
    cue_times = {c.t_ms for c in tl.cues}
    assert all(p.t_ms in cue_times for p in work), "every tempo phase has a cue at its start"
    # whole-second countdowns only inside phases of >= 2 s
    all_cues = tl.cues
    times = [c.t_ms for c in all_cues]
    for p in work:
        inside = all_cues[bisect.bisect_right(times, p.t_ms):bisect.bisect_left(times, p.end_ms)]
        n = p.duration_ms // 1000
        assert [c.text for c in inside] == ([str(k) for k in range(n - 1, 0, -1)] if n >= 2 else [])


def test_no_drift_over_two_hours():
    # 40 sets of a 10-rep 4-1-4-1 tempo with 90 s rests: over two hours, all integer ms
    ex = Exercise("E", "tempo", sets=20, reps=10, tempo=tempo("4141"), rest_ms=90_000,
                  announce_ms=7000)
    tl = compile_program(prog(ex, ex))
    assert tl.duration_ms > 2 * 3600 * 1000
    assert all(isinstance(e.t_ms, int) for e in tl.events)
    last_set = tl.sets[-1]
    set_len = 7000 + 5000 + 10 * 10_000
    assert last_set.start_ms == 39 * (set_len + 90_000)
    ecc = [p for p in tl.phases if p.phase == "eccentric" and p.exercise_index == 1 and p.set == 20]
    assert ecc[-1].t_ms == last_set.start_ms + 12_000 + 9 * 10_000


def test_events_sorted_phase_before_cue():
    ex = Exercise("E", "tempo", sets=2, reps=2, tempo=tempo("2020"))
    tl = compile_program(prog(ex))
    keys = [(e.t_ms, isinstance(e, Cue)) for e in tl.events]
    assert keys == sorted(keys)


def test_hold_countdown():
    ex = Exercise("Wall sit", "hold", hold_ms=45_000, announce_ms=4000, lead_in_ms=5000)
    tl = compile_program(prog(ex))
    h = phases(tl, "hold")[0]
    said = {c.t_ms - h.t_ms: c.text for c in tl.cues if h.t_ms <= c.t_ms <= h.end_ms}
    assert said == {0: "hold", 22_000: "halfway", 35_000: "10 seconds", 42_000: "3",
                    43_000: "2", 44_000: "1", 45_000: "release"}


def test_short_hold_keeps_room_for_hold_word():
    ex = Exercise("Plank", "hold", hold_ms=3000, announce_ms=2000, lead_in_ms=0)
    tl = compile_program(prog(ex))
    h = phases(tl, "hold")[0]
    said = [(c.t_ms - h.t_ms, c.text) for c in tl.cues if h.t_ms <= c.t_ms <= h.end_ms]
    assert said == [(0, "hold"), (1000, "2"), (2000, "1"), (3000, "release")]


def test_cadence_thinning_counts():
    ex = Exercise("Push-ups", "cadence", reps=50, cadence_ms=1500, announce_ms=5000)
    tl = compile_program(prog(ex))
    reps = phases(tl, "rep")
    assert len(reps) == 50 and reps[1].t_ms - reps[0].t_ms == 1500
    by_rep = {}
    for p in reps:
        c = next(c for c in tl.cues if c.t_ms == p.t_ms)
        by_rep[p.rep] = c
    spoken = [r for r, c in by_rep.items() if c.kind == "speech"]
    assert spoken == list(range(1, 11)) + [15, 20, 25, 30, 35, 40, 45, 46, 47, 48, 49, 50]
    assert by_rep[46].text == "last 5"
    assert by_rep[12].kind == "tick" and by_rep[12].phrase == "tick"
    assert reps[-1].end_ms == reps[0].t_ms + 50 * 1500


def test_poses_sequence():
    ex = Exercise("Posing", "poses", poses=(Pose("front double biceps", 10_000),
                                            Pose("back lat spread", 15_000)),
                  eyes_closed=True, announce_ms=3000, lead_in_ms=3000)
    tl = compile_program(prog(ex))
    ps = phases(tl, "pose")
    assert [(p.pose, p.duration_ms) for p in ps] == [("front double biceps", 10_000),
                                                    ("back lat spread", 15_000)]
    said = [(c.t_ms, c.text) for c in tl.cues]
    assert (ps[0].t_ms, "front double biceps. eyes closed") in said
    assert (ps[1].t_ms, "back lat spread") in said
    assert (ps[1].end_ms - 1000, "1") in said
    assert (ps[1].end_ms, "relax") in said
    assert "Eyes closed" in said[0][1]


def test_unilateral_left_then_right_with_switch():
    ex = Exercise("Split squat", "tempo", sets=2, reps=2, tempo=tempo("2010"), sides=("left", "right"),
                  switch_ms=5000, rest_ms=30_000, announce_ms=4000)
    tl = compile_program(prog(ex))
    work = [p for p in tl.phases if p.phase in TEMPO_PHASES and p.set == 1]
    assert [p.side for p in work] == ["left"] * 4 + ["right"] * 4
    sw = phases(tl, "switch")
    assert len(sw) == 2 and sw[0].side == "right" and sw[0].t_ms == work[3].end_ms
    assert sw[0].end_ms == work[4].t_ms
    switch_cue = cues(tl, t_ms=sw[0].t_ms)[0]
    assert switch_cue.text == "switch sides. right side"
    assert "Left side" in cues(tl, t_ms=0)[0].text
    assert [s.set for s in tl.sets] == [1, 2]


def test_rest_cues_and_next_exercise():
    a = Exercise("Row", "tempo", sets=1, reps=1, tempo=tempo("2020"), rest_ms=90_000)
    b = Exercise("Curl", "hold", hold_ms=20_000)
    tl = compile_program(prog(a, b))
    r = phases(tl, "rest")[0]
    said = {c.t_ms - r.t_ms: c.text for c in tl.cues if r.t_ms <= c.t_ms < r.end_ms}
    assert said == {0: "rest 90 seconds", 70_000: "next: Curl", 80_000: "10 seconds"}
    assert tl.sets[1].start_ms == r.end_ms


def test_rest_after_release_waits_for_the_end_word():
    a = Exercise("Hold", "hold", hold_ms=10_000, rest_ms=60_000)
    b = Exercise("Hold 2", "hold", hold_ms=10_000)
    tl = compile_program(prog(a, b))
    r = phases(tl, "rest")[0]
    assert cues(tl, t_ms=r.t_ms)[0].text == "release"
    assert cues(tl, t_ms=r.t_ms + 1000)[0].text == "rest 60 seconds"


def test_word_overrides_exercise_beats_program():
    ex = Exercise("Split squat", "tempo", reps=1, tempo=tempo("2020"), words={"lower": "sink"})
    ex2 = Exercise("Row", "tempo", reps=1, tempo=tempo("2020"))
    tl = compile_program(prog(ex, ex2, words={"lower": "stretch", "squeeze": "pull"}))
    assert [c.text for c in tl.cues if c.phrase == "lower"] == ["sink", "stretch"]
    assert {c.text for c in tl.cues if c.phrase == "squeeze"} == {"pull"}


def test_last_set_ends_with_done_and_no_rest():
    ex = Exercise("E", "tempo", sets=2, reps=1, tempo=tempo("2020"), rest_ms=60_000)
    tl = compile_program(prog(ex))
    assert len(phases(tl, "rest")) == 1
    assert tl.cues[-1].phrase == "done"
    assert tl.duration_ms > tl.cues[-1].t_ms and tl.duration_ms % 1000 == 0


def test_zero_length_phases_left_out():
    ex = Exercise("E", "tempo", reps=2, tempo=tempo("2020"), lead_in_ms=0, rest_ms=0, sets=2,
                  announce_ms=0)
    tl = compile_program(prog(ex))
    assert all(p.duration_ms > 0 for p in tl.phases)
    assert not phases(tl, "lead_in") and not phases(tl, "rest") and not phases(tl, "announce")


def test_announce_estimated_from_words_and_rate():
    ex = Exercise("Lat pulldown", "tempo", sets=3, reps=8, tempo=tempo("4040"),
                  focus="Drive the elbows down; feel the lats stretch, then squeeze.")
    slow = compile_program(prog(ex, voice=VoiceSettings(rate=100)))
    fast = compile_program(prog(ex, voice=VoiceSettings(rate=300)))
    a_slow, a_fast = phases(slow, "announce")[0], phases(fast, "announce")[0]
    assert a_slow.duration_ms % 1000 == 0 and a_fast.duration_ms % 1000 == 0
    assert a_slow.duration_ms > a_fast.duration_ms
    text = announce_text(ex, 1, None, phrase_table("en"))
    assert a_fast.duration_ms >= estimate_speech_ms(text, 300)
    assert text.startswith("Lat pulldown. Set 1 of 3. 8 reps, tempo 4 0 4 0. Focus: Drive")


def test_plan_json_contract():
    ex = Exercise("Split squat", "tempo", sets=1, reps=2, tempo=tempo("31X0"), sides=("left", "right"))
    pose = Exercise("Posing", "poses", poses=(Pose("side chest", 5000),))
    tl = compile_program(prog(ex, pose))
    doc = json.loads(json.dumps(tl.to_json()))
    assert set(doc) == {"program", "duration", "events"} and doc["program"] == "Test"
    ts = [e["t"] for e in doc["events"]]
    assert ts == sorted(ts)
    for e in doc["events"]:
        if e["type"] == "cue":
            assert {"t", "text", "phrase", "exercise", "exercise_index", "set", "side"} <= set(e)
        else:
            assert e["type"] == "phase"
            assert {"t", "duration", "phase", "exercise", "exercise_index", "set", "rep", "side",
                    "pose"} <= set(e)
            assert e["phase"] in {"announce", "lead_in", "eccentric", "bottom_pause", "concentric",
                                  "top_pause", "hold", "rep", "pose", "rest", "switch"}
            assert e["duration"] > 0
        assert e["side"] in ("left", "right", None)
        assert e["t"] == round(e["t"], 3)
    assert any(e.get("pose") == "side chest" for e in doc["events"])
    assert doc["duration"] == tl.duration_ms / 1000


def test_find_overlaps_reports_once_with_count_and_fitting_rate():
    from coach.core.timeline import find_overlaps
    ex = Exercise("E", "tempo", reps=4, tempo=tempo("2020"), announce_ms=3000)
    tl = compile_program(prog(ex, voice=VoiceSettings(rate=170)))
    lengths = {c.text: 300 for c in tl.cues}
    assert find_overlaps(tl, lengths) == []
    lengths["squeeze"] = 1250  # "squeeze" at the phase start, "1" one second later
    found = find_overlaps(tl, lengths)
    assert len(found) == 1
    o = found[0]
    assert o.cue.text == "squeeze" and o.next.text == "1" and o.count == 4
    assert o.fit_rate == 220  # 170 * 1.25 = 212.5 -> rounded up to 10 wpm


def test_locate_finds_set_and_phase():
    from coach.core.timeline import locate
    ex = Exercise("Row", "tempo", sets=2, reps=2, tempo=tempo("2020"), announce_ms=3000,
                  lead_in_ms=3000, rest_ms=10_000)
    tl = compile_program(prog(ex))
    assert locate(tl, 0)[0] == 0 and locate(tl, 0)[1].phase == "announce"
    assert locate(tl, 6000)[1].phase == "eccentric" and locate(tl, 6000)[1].rep == 1
    assert locate(tl, 7999)[1].phase == "eccentric" and locate(tl, 8000)[1].phase == "concentric"
    r = phases(tl, "rest")[0]
    assert locate(tl, r.t_ms + 5) == (0, r)
    assert locate(tl, r.end_ms)[0] == 1
    assert locate(tl, tl.duration_ms + 10_000)[0] == 1
    assert locate(tl, tl.duration_ms + 10_000)[1] is None
    for p in tl.phases:  # every phase is found at its start and just before its end
        assert locate(tl, p.t_ms)[1] == p and locate(tl, p.end_ms - 1)[1] == p
