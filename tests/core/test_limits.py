"""The whole session is bounded (MAX_SESSION_MS, 6 h), not only each value: an absurd but
valid program is refused from a cheap lower bound before the timeline builds its events, and
the compiler refuses the rest from the exact duration, with the same message at the same place."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.core.errors import CoachError
from coach.core.program import MAX_SESSION_MS, load_program, parse_program, session_lower_bound_ms
from coach.core.timeline import compile_program
from tests.support.cli import coach
from tests.support.programs import FUZZ_EXAMPLES, MUTATION, VALID, mutate
from tests.support.real import PROGRAMS

SHIPPED = sorted(PROGRAMS.glob("*.yaml"))

# 30 exercises x 20 sets x 200 reps of a 36 s rep: valid value by value, 1211 hours in all.
# Before the limit `coach check --no-voice` said "ok ... 1211:49:03" after 20 s and 2.5 GB.
ABSURD = "program: Absurd\ndefaults: {sets: 20}\nexercises:\n" + "".join(
    f"  - name: Exercise {i}\n    reps: 200\n    tempo: \"9999\"\n" for i in range(1, 31))
# Per set: lead-in 5 s + 200 x 36 s + rest 60 s (announcements are estimated: they count 0),
# 600 sets, no rest after the last: 600 x 7265 s - 60 s = 4358940 s.
ABSURD_BOUND = "1210:49:00"
TOO_LONG = re.compile(r"the session would last (at least )?(\d+):(\d\d):(\d\d); the maximum is "
                      r"6:00:00 \(fewer sets, reps or shorter holds\)")


def long_holds(lead_in: str, announce: str = "") -> str:
    """20 ten-minute holds with 8 min rests: just under or just over 6 h."""
    return ("program: Long holds\ndefaults: {rest: 8m}\nexercises:\n  - name: Plank\n"
            f"    sets: 20\n    hold: 10m\n    lead_in: {lead_in}\n" + announce)


def hms(m: re.Match) -> int:
    return (int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4])) * 1000


def test_max_session_is_six_hours():
    assert MAX_SESSION_MS == 6 * 3600 * 1000


def test_absurd_program_is_refused_at_the_exercises_key():
    with pytest.raises(CoachError) as info:
        parse_program(ABSURD, "huge.yaml")
    assert [str(d) for d in info.value.diagnostics] == [
        f"huge.yaml:3:1: error: the session would last at least {ABSURD_BOUND}; the maximum "
        "is 6:00:00 (fewer sets, reps or shorter holds)"]


def test_the_error_points_at_the_key_wherever_it_is_written():
    text = ('{program: Flow, exercises: [{name: Row, sets: 20, reps: 200, tempo: "9999"},\n'
            '  {name: Row 2, sets: 20, reps: 200, tempo: "9999"}]}\n')
    with pytest.raises(CoachError) as info:
        parse_program(text, "flow.yaml")
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (1, 17) and TOO_LONG.fullmatch(d.message), d


@pytest.mark.parametrize("no_voice", [["--no-voice"], []], ids=["no-voice", "voice"])
def test_check_refuses_the_absurd_program_with_one_line(tmp_path, no_voice):
    path = tmp_path / "huge.yaml"
    path.write_text(ABSURD)
    r = coach("check", *no_voice, str(path))
    assert r.returncode == 2, r.stdout
    assert r.stderr.splitlines() == [
        f"{path}:3:1: error: the session would last at least {ABSURD_BOUND}; the maximum is "
        "6:00:00 (fewer sets, reps or shorter holds)"]
    assert r.stdout == ""


def test_a_program_of_5_59_is_accepted_and_lasts_at_most_6_hours(tmp_path):
    text = long_holds("17s", "    announce: 4s\n")
    program = parse_program(text)
    assert session_lower_bound_ms(program.exercises) == (5 * 3600 + 59 * 60) * 1000
    duration = compile_program(program).duration_ms
    assert (5 * 3600 + 59 * 60) * 1000 <= duration <= MAX_SESSION_MS
    path = tmp_path / "long.yaml"
    path.write_text(text)
    r = coach("check", "--no-voice", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith(", 20 sets, 5:59:04"), r.stdout


def test_over_six_hours_by_the_exact_length_only_is_the_same_error_from_the_compiler(tmp_path):
    # Estimated announcements (~4 s each) are not in the bound: it says 5:58:40, the timeline 6:00:04.
    text = long_holds("20s")
    program = parse_program(text, "long.yaml")
    assert session_lower_bound_ms(program.exercises) <= MAX_SESSION_MS
    with pytest.raises(CoachError) as info:
        compile_program(program)
    (d,) = info.value.diagnostics
    assert str(d) == ("long.yaml:3:1: error: the session would last 6:00:04; the maximum is "
                      "6:00:00 (fewer sets, reps or shorter holds)")
    path = tmp_path / "long.yaml"
    path.write_text(text)
    r = coach("check", "--no-voice", str(path))
    assert r.returncode == 2 and r.stderr.splitlines() == [f"{path}:3:1: {str(d).split(': ', 1)[1]}"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_lower_bound_is_never_above_the_compiled_duration_of_shipped_programs(path):
    program = load_program(path)
    bound = session_lower_bound_ms(program.exercises)
    assert 0 < bound <= compile_program(program).duration_ms


# ---- generated programs: the bound and the compiler never disagree ---------------------------

def _seconds(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda s: f"{s}s")


@st.composite
def exercise_yaml(draw) -> str:
    lines = [f"  - name: E{draw(st.integers(1, 99))}"]
    kind = draw(st.sampled_from(["tempo", "cadence", "hold", "poses"]))
    if draw(st.booleans()):
        lines.append(f"    sets: {draw(st.integers(1, 20))}")
    if kind == "tempo":
        code = draw(st.text("0123456789X", min_size=4, max_size=4).filter(
            lambda c: any(ch != "0" for ch in c)))
        lines += [f"    reps: {draw(st.integers(1, 200))}", f'    tempo: "{code}"']
    elif kind == "cadence":
        cadence = draw(st.integers(1, 20)) * 500
        lines += [f"    reps: {draw(st.integers(1, 200))}", f"    cadence: {cadence / 1000:g}s"]
    elif kind == "hold":
        lines.append(f"    hold: {draw(_seconds(1, 600))}")
    else:
        holds = draw(st.lists(st.one_of(st.none(), _seconds(1, 600)), min_size=1, max_size=4))
        poses = ", ".join(f"p{j}" if h is None else f"{{name: p{j}, hold: {h}}}"
                          for j, h in enumerate(holds))
        lines += [f"    poses: [{poses}]", f"    hold: {draw(_seconds(1, 120))}"]
        if draw(st.booleans()):
            lines.append("    eyes_closed: true")
    if kind != "poses" and draw(st.booleans()):
        lines.append("    sides: both")
    for key in ("rest", "lead_in", "switch", "announce"):
        if draw(st.booleans()):
            lines.append(f"    {key}: {draw(_seconds(0, 900))}")
    return "\n".join(lines) + "\n"


programs_yaml = st.lists(exercise_yaml(), min_size=1, max_size=5).map(
    lambda exs: "program: Generated\nexercises:\n" + "".join(exs))


def bound_and_compiler_agree(text: str) -> None:
    try:
        program = parse_program(text, "gen.yaml")
    except CoachError as e:
        # Refused before any event exists: only ever for the session length, at the key.
        (d,) = e.diagnostics
        m = TOO_LONG.fullmatch(d.message)
        assert m and m[1] and hms(m) > MAX_SESSION_MS, d
        return
    bound = session_lower_bound_ms(program.exercises)
    assert bound <= MAX_SESSION_MS
    try:
        timeline = compile_program(program)
    except CoachError as e:
        (d,) = e.diagnostics
        m = TOO_LONG.fullmatch(d.message)
        assert m and not m[1] and (d.line, d.col) == program.exercises_at, d
        assert bound <= hms(m) and hms(m) > MAX_SESSION_MS  # the exact length, over the limit
        return
    assert bound <= timeline.duration_ms <= MAX_SESSION_MS


@pytest.mark.slow  # every example is compiled: seconds even at the default 300
@settings(max_examples=min(FUZZ_EXAMPLES, 1000), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs_yaml)
def test_fuzz_lower_bound_never_above_compiled_duration(text):
    bound_and_compiler_agree(text)


@settings(max_examples=min(FUZZ_EXAMPLES, 1000), derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(MUTATION, min_size=1, max_size=6))
def test_fuzz_mutated_programs_bound_and_compiler_agree(base, mutations):
    # test_program's mutation fuzzer; its mistakes are other errors, checked there.
    try:
        program = parse_program(mutate(base, mutations), "fuzz.yaml")
    except CoachError:
        return
    bound = session_lower_bound_ms(program.exercises)
    try:
        assert bound <= compile_program(program).duration_ms
    except CoachError as e:
        assert TOO_LONG.fullmatch(e.diagnostics[0].message), e
