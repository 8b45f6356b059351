"""The duck plan: pure intervals from a timeline's speech cues and their clips' lengths."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coach.core.duckplan import AFTER_MS, BEFORE_MS, plan
from coach.core.program import parse_program
from coach.core.timeline import Cue, Timeline, compile_program

RATE = 48000
MS = RATE // 1000


def tl(*cues: tuple[int, str, str]) -> Timeline:
    events = tuple(Cue(t, text, "x", "Ex", 0, 1, None, kind) for t, text, kind in cues)  # type: ignore[arg-type]
    return Timeline("T", 60_000, events)


def test_one_cue_ducks_from_150ms_before_to_200ms_after_its_clip():
    p = plan(tl((1000, "go", "speech")), {"go": 500 * MS}, RATE)
    assert p.starts == ((1000 - BEFORE_MS) * MS,)
    assert p.ends == ((1000 + 500 + AFTER_MS) * MS,)
    assert p.gain_db(p.starts[0] - 1, -12) == 0.0
    assert p.gain_db(1000 * MS, -12) == -12.0  # fully down at the first sample
    assert p.gain_db(1500 * MS - 1, -12) == -12.0  # and to the clip's last
    assert -12 < p.gain_db(1600 * MS, -12) < 0  # fading up
    assert p.gain_db(p.ends[0], -12) == 0.0
    # The fades are monotonic: down over the first 150 ms, up over the last 200 ms.
    down = [p.depth(f) for f in range(p.starts[0], 1000 * MS + 1, 480)]
    up = [p.depth(f) for f in range(1500 * MS, p.ends[0] + 1, 480)]
    assert down == sorted(down) and up == sorted(up, reverse=True)


def test_ticks_never_duck_and_unknown_clips_count_as_empty():
    p = plan(tl((1000, "tick", "tick"), (5000, "rest", "speech")), {}, RATE)
    assert p.starts == ((5000 - BEFORE_MS) * MS,)
    assert p.ends == ((5000 + AFTER_MS) * MS,)


def test_overlapping_and_adjacent_intervals_merge_but_a_gap_does_not():
    clips = {"a": 600 * MS, "b": 100 * MS, "c": 100 * MS}
    # a: [850, 1800); b at 1950 starts at 1800 exactly (adjacent); c far away.
    # (min_gap_ms=0: the merging itself; gaps under half a second: tests/test_duckplan_min_gap.py)
    p = plan(tl((1000, "a", "speech"), (1950, "b", "speech"), (4000, "c", "speech")), clips, RATE,
             min_gap_ms=0)
    assert p.starts == (850 * MS, 3850 * MS)
    assert p.ends == (2250 * MS, 4300 * MS)
    # One frame more gap: two intervals.
    q = plan(tl((1000, "a", "speech"), (1951, "b", "speech")), {"a": 600 * MS - 1, "b": 0}, RATE,
             min_gap_ms=0)
    assert len(q) == 2
    # Fully down all through the merged interval between its fades.
    assert all(p.depth(f) == 1.0 for f in range(1000 * MS, 2050 * MS, 100))


def test_a_cue_at_zero_is_fully_down_at_frame_zero():
    # Its fade lies before the timeline: the position holds at 0 through the preroll, so the
    # music is down by the time the cue is heard.
    p = plan(tl((0, "go", "speech")), {"go": 100}, RATE)
    assert p.starts == (-BEFORE_MS * MS,) and p.depth(0) == 1.0


def test_a_compiled_program_ducks_every_speech_cue_and_only_in_intervals():
    program = parse_program("program: P\nexercises:\n  - name: Row\n    reps: 30\n"
                            "    cadence: 1.5s\n  - name: Wall sit\n    hold: 20s\n")
    timeline = compile_program(program)
    clips = {c.text: 400 * MS for c in timeline.cues}
    p = plan(timeline, clips, RATE)
    speech = [c for c in timeline.cues if c.kind == "speech"]
    ticks = [c for c in timeline.cues if c.kind == "tick"]
    assert speech and ticks
    for c in speech:
        assert p.depth(c.t_ms * MS) == 1.0, c
        assert p.depth(c.t_ms * MS + 400 * MS - 1) == 1.0, c
    for c in ticks:  # a tick away from any speech is not ducked
        near = any(abs(c.t_ms - s.t_ms) < 800 for s in speech)
        if not near:
            assert p.depth(c.t_ms * MS) == 0.0, c


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30_000), st.integers(0, 3000)), min_size=1, max_size=30))
def test_intervals_are_sorted_disjoint_and_cover_exactly_the_cues(cues):
    timeline = tl(*((t, f"c{i}", "speech") for i, (t, _) in enumerate(sorted(cues))))
    clips = {f"c{i}": n * MS for i, (_, n) in enumerate(sorted(cues))}
    p = plan(timeline, clips, RATE)
    for a, b, c in zip(p.starts, p.ends, p.starts[1:]):
        assert a < b < c  # disjoint and never adjacent
    for t, n in sorted(cues):
        lo, hi = (t - BEFORE_MS) * MS, (t + AFTER_MS) * MS + n * MS
        assert p.interval_at(lo) is not None and p.interval_at(hi - 1) is not None
        assert p.interval_at(lo) == p.interval_at(hi - 1)
    # Every interval's ends are some cue's ends.
    lows = {(t - BEFORE_MS) * MS for t, _ in cues}
    highs = {(t + AFTER_MS) * MS + n * MS for t, n in cues}
    assert set(p.starts) <= lows and set(p.ends) <= highs


RATED_UNILATERAL = ("program: P\ndefaults: {rest: 20s, switch: 20s}\nrate: feel\nexercises:\n"
                    "  - name: Split squat\n    sides: both\n    reps: 2\n    cadence: 2s\n")


def test_with_the_mic_listening_the_music_stays_down_from_each_question_through_its_window():
    timeline = compile_program(parse_program(RATED_UNILATERAL))
    questions = [c for c in timeline.cues if c.question is not None]
    answers = [p for p in timeline.phases if p.phase == "answer"]
    assert [q.side for q in questions] == ["left", "right"] == [a.side for a in answers]
    clips = {c.text: 500 * MS for c in timeline.cues}  # shorter than the question's estimate
    listen = 6600  # the mic listens this long after the question's last sample
    p = plan(timeline, clips, RATE, listen_ms=listen)
    for q, a in zip(questions, answers):
        assert a.t_ms - (q.t_ms + 500) >= 1000  # a second between its words and its phase
        end = q.t_ms + 500 + listen
        # Fully down from the question's first sample to the window's end, no swell between.
        assert all(p.depth(f * MS) == 1.0 for f in range(q.t_ms, end, 50)), a
        assert 0 < p.depth((end + AFTER_MS // 2) * MS) < 1  # then fading up
        assert p.depth((end + AFTER_MS) * MS) == 0.0  # and back
    # Not listening: the music comes back between the question and its answer phase.
    off = plan(timeline, clips, RATE)
    assert all(off.depth((a.t_ms - 200) * MS) == 0.0 for a in answers)


def test_the_music_is_held_down_no_longer_than_the_answer_phase():
    timeline = compile_program(parse_program(
        "program: P\ndefaults: {rest: 40s}\nrate: feel\nexercises:\n"
        "  - name: Row\n    sets: 2\n    reps: 2\n    cadence: 2s\n"))
    a = next(p for p in timeline.phases if p.phase == "answer")
    # "rest 28 seconds" follows at the phase's end (its clip given as empty: it ducks only for
    # its fades); a minute of listening is cut there.
    p = plan(timeline, {}, RATE, listen_ms=60_000)
    assert p.depth((a.end_ms - 1) * MS) == 1.0
    assert p.depth((a.end_ms + AFTER_MS) * MS) == 0.0
