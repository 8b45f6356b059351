"""Program loader and validator: good programs, a table of mistakes with exact positions,
file-level errors, and a property test that nothing but CoachError ever escapes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.core.errors import CoachError
from coach.core.phrases import PLACEHOLDERS
from coach.core.program import (
    MAX_PROGRAM_BYTES,
    Exercise,
    Program,
    load_program,
    parse_program,
    parse_schedule,
    parse_tempo,
    read_program_text,
)
from coach.core.yamlnodes import format_duration, parse_bool, parse_duration_ms, parse_int
from tests.support.programs import (
    BAD,
    CHARS,
    DESIGN_EXAMPLE,
    FUZZ_EXAMPLES,
    GOOD,
    HEAD,
    MUTATION,
    VALID,
    E,
    mutate,
)
from tests.support.real import PROGRAMS, ROOT, need


def one(body: str) -> Exercise:
    """The single exercise of HEAD + ``body``."""
    program = parse_program(HEAD + body)
    assert len(program.exercises) == 1
    return program.exercises[0]


def diags(text: str, path: str = "t.yaml") -> list[tuple[int, int, str]]:
    with pytest.raises(CoachError) as info:
        parse_program(text, path)
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


# ---- good programs -----------------------------------------------------------------------


def test_design_example_loads_with_every_value():
    p = parse_program(DESIGN_EXAMPLE, "design.yaml")
    assert p.name == "Mind-muscle upper A"
    assert p.path == "design.yaml"
    assert [(s.text, s.days, s.hour, s.minute) for s in p.schedules] == [
        ("mon,wed,fri 07:00", (0, 2, 4), 7, 0)]
    assert p.language == "en"
    assert (p.voice.engine, p.voice.rate, p.voice.volume) == ("espeak", 170, 0.9)
    assert p.voice.voice is None and p.voice.model is None
    assert dict(p.words) == {"lower": "stretch"}
    lat, wall, burn, posing, bss = p.exercises

    assert (lat.name, lat.kind, lat.sets, lat.reps, lat.line) == ("Lat pulldown", "tempo", 3, 8, 8)
    assert lat.focus == "Drive the elbows down; feel the lats stretch, then squeeze."
    assert lat.tempo.code == "4040"
    assert lat.tempo.phases_ms == (4000, 0, 4000, 0)
    assert lat.tempo.explosive == (False,) * 4
    assert (lat.rest_ms, lat.lead_in_ms, lat.switch_ms, lat.announce_ms) == (
        120_000, 5_000, 5_000, None)

    assert (wall.kind, wall.sets, wall.hold_ms, wall.rest_ms, wall.reps) == (
        "hold", 2, 45_000, 90_000, None)
    assert (burn.kind, burn.sets, burn.reps, burn.cadence_ms) == ("cadence", 1, 50, 1500)

    assert posing.kind == "poses" and posing.eyes_closed is True
    assert [(q.name, q.hold_ms) for q in posing.poses] == [
        ("front double biceps", 10_000), ("side chest", 10_000), ("back lat spread", 15_000)]
    assert posing.hold_ms == 10_000

    assert bss.sides == ("left", "right")
    assert (bss.kind, bss.sets, bss.reps, bss.switch_ms) == ("tempo", 2, 10, 5_000)
    assert bss.tempo.code == "31X0"
    assert bss.tempo.phases_ms == (3000, 1000, 1000, 0)
    assert bss.tempo.explosive == (False, False, True, False)
    assert dict(bss.words) == {"lower": "sink"}
    assert all(e.sides == (None,) for e in (lat, wall, burn, posing))


@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_programs_load(path):
    program = load_program(path)
    assert program.exercises and program.path == str(path)


@pytest.mark.parametrize("written, code, phases, explosive", [
    ("4040", "4040", (4000, 0, 4000, 0), (False,) * 4),
    ('"4-0-4-0"', "4040", (4000, 0, 4000, 0), (False,) * 4),
    ("4-0-4-0", "4040", (4000, 0, 4000, 0), (False,) * 4),
    ("31X0", "31X0", (3000, 1000, 1000, 0), (False, False, True, False)),
    ("31x0", "31X0", (3000, 1000, 1000, 0), (False, False, True, False)),
    ("x-x-x-x", "XXXX", (1000,) * 4, (True,) * 4),
    ("0404", "0404", (0, 4000, 0, 4000), (False,) * 4),  # YAML 1.1 octal 260, read as written
    ("0001", "0001", (0, 0, 0, 1000), (False,) * 4),
    ("9999", "9999", (9000,) * 4, (False,) * 4),
])
def test_tempo_forms(written, code, phases, explosive):
    ex = one(f"  - name: A\n    reps: 8\n    tempo: {written}\n")
    assert (ex.kind, ex.tempo.code, ex.tempo.phases_ms, ex.tempo.explosive) == (
        "tempo", code, phases, explosive)


@pytest.mark.parametrize("written, ms", [
    ("45s", 45_000), ("2m", 120_000), ("1m30s", 90_000), ("1.5s", 1_500), ("90", 90_000),
    ("1:30", 90_000), ('"1:30"', 90_000), ("0:45", 45_000), ("0:01:30", 90_000),
    ("12.5", 12_500), ("500ms", 500), ("0.0005s", 1), ("1.2344s", 1_234), ("1m70s", 130_000),
    ("2min", 120_000), ("30 sec", 30_000), ("1M", 60_000), ("0", 0), ("0s", 0), ("15m", 900_000),
    ("0.25h", 900_000), (".5m", 30_000), ("1:30.5", 90_500),
])
def test_duration_forms_as_rest(written, ms):
    assert one(f"  - name: A\n    hold: 10s\n    rest: {written}\n").rest_ms == ms


def test_unquoted_sexagesimal_and_octal_read_as_written():
    ex = one("  - name: A\n    reps: 8\n    tempo: 0404\n    rest: 1:30\n    lead_in: 0:10\n")
    assert ex.tempo.code == "0404"  # never 260
    assert ex.rest_ms == 90_000  # from the text "1:30", never via YAML 1.1's int 90
    assert ex.lead_in_ms == 10_000


@pytest.mark.parametrize("text, days, hour, minute", [
    ("mon,wed,fri 07:00", (0, 2, 4), 7, 0),
    ("mon, wed, fri 07:00", (0, 2, 4), 7, 0),
    ("daily 06:30", (0, 1, 2, 3, 4, 5, 6), 6, 30),
    ("weekdays 18:05", (0, 1, 2, 3, 4), 18, 5),
    ("weekends 9:00", (5, 6), 9, 0),
    ("mon-fri 00:00", (0, 1, 2, 3, 4), 0, 0),
    ("fri-mon 23:59", (0, 4, 5, 6), 23, 59),  # wraps round the week end
    ("tue-thu,sun 12:00", (1, 2, 3, 6), 12, 0),
    ("Monday,SAT 07:15", (0, 5), 7, 15),
    ("tues,thurs 07:15", (1, 3), 7, 15),
    ("sun,mon,sun 07:00", (0, 6), 7, 0),
])
def test_schedules(text, days, hour, minute):
    unquoted = parse_program(f"schedule: {text}\n{HEAD}  - name: A\n    hold: 10s\n")
    (s,) = unquoted.schedules
    assert (s.text, s.days, s.hour, s.minute) == (text, days, hour, minute)
    assert parse_schedule(text) == s


def test_schedule_list():
    p = parse_program('schedule: ["mon 07:00", daily 18:30]\n' + HEAD + "  - name: A\n    hold: 1s\n")
    assert [(s.days, s.hour, s.minute) for s in p.schedules] == [
        ((0,), 7, 0), (tuple(range(7)), 18, 30)]


def test_defaults_apply_and_exercises_override_them():
    p = parse_program(
        "program: P\n"
        "defaults: {rest: 45s, lead_in: 3s, switch: 8s, announce: 4s, sets: 4}\n"
        "exercises:\n"
        "  - name: A\n    hold: 10s\n"
        "  - name: B\n    hold: 10s\n    sets: 2\n    rest: 0\n    lead_in: 1:00\n"
        "    switch: 2s\n    announce: 0s\n")
    a, b = p.exercises
    assert (a.sets, a.rest_ms, a.lead_in_ms, a.switch_ms, a.announce_ms) == (
        4, 45_000, 3_000, 8_000, 4_000)
    assert (b.sets, b.rest_ms, b.lead_in_ms, b.switch_ms, b.announce_ms) == (
        2, 0, 60_000, 2_000, 0)


def test_builtin_defaults():
    ex = one("  - name: A\n    hold: 10s\n")
    assert (ex.sets, ex.rest_ms, ex.lead_in_ms, ex.switch_ms, ex.announce_ms) == (
        1, 60_000, 5_000, 5_000, None)
    assert (ex.eyes_closed, ex.focus, dict(ex.words), ex.line) == (False, None, {}, 3)


def test_voice_settings_and_language():
    p = parse_program("voice:\n  engine: piper\n  model: en_US-joe-medium\n  voice: joe\n"
                      "  rate: 80\n  volume: 0\nlanguage: en\n" + HEAD + "  - name: A\n    hold: 1s\n")
    assert (p.voice.engine, p.voice.model, p.voice.voice, p.voice.rate, p.voice.volume) == (
        "piper", "en_US-joe-medium", "joe", 80, 0.0)
    assert p.language == "en"


@pytest.mark.parametrize("written, value", [
    ("true", True), ("false", False), ("yes", True), ("no", False), ("on", True),
    ("off", False), ("Yes", True), ("OFF", False), ('"true"', True)])
def test_eyes_closed_yaml11_booleans(written, value):
    ex = one(f"  - name: A\n    hold: 10s\n    eyes_closed: {written}\n")
    assert ex.eyes_closed is value and ex.kind == "hold"  # allowed on holds too


def test_poses_forms():
    ex = one("  - name: A\n    poses:\n      - {name: front, hold: 1m}\n"
             "      - {name: side, hold: 5s}\n      - name: back\n        hold: 1:00\n")
    # with no exercise hold, every pose needs its own: here they all have one
    assert ex.kind == "poses" and ex.hold_ms is None
    assert [(q.name, q.hold_ms) for q in ex.poses] == [
        ("front", 60_000), ("side", 5_000), ("back", 60_000)]
    ex2 = one("  - name: A\n    hold: 7s\n    poses: [{name: a, hold: 2s}, b]\n")
    assert [(q.name, q.hold_ms) for q in ex2.poses] == [("a", 2_000), ("b", 7_000)]
    assert [(q.name, q.hold_ms) for q in one(
        "  - name: A\n    poses: [{name: a, hold: 2s}]\n").poses] == [("a", 2_000)]


def test_pose_without_hold_needs_exercise_hold():
    # A pose with a hold of its own must not excuse the next one (a bug once).
    assert diags(HEAD + "  - name: A\n    poses:\n      - {name: side, hold: 5s}\n      - front\n") \
        == [(6, 9, 'pose 2 "front" needs a hold: give the pose {name: ..., hold: 10s} '
                   "or give the exercise a hold")]


def test_words_templates_keep_their_fields():
    p = parse_program('words:\n  set_of: "round {n} of {total}"\n  rest: "breathe {seconds}"\n'
                      '  go: "{{now}}"\n' + HEAD + "  - name: A\n    hold: 1s\n"
                      '    words: {next: "then {exercise}", release: stop}\n')
    assert dict(p.words) == {"set_of": "round {n} of {total}", "rest": "breathe {seconds}",
                             "go": "{{now}}"}
    assert dict(p.exercises[0].words) == {"next": "then {exercise}", "release": "stop"}
    assert "{{now}}".format() == "{now}"


def test_every_placeholder_id_accepts_its_own_fields():
    lines = "".join(f'  {pid}: "x ' + " ".join("{" + f + "}" for f in fields) + '"\n'
                    for pid, fields in PLACEHOLDERS.items())
    p = parse_program("words:\n" + lines + HEAD + "  - name: A\n    hold: 1s\n")
    assert set(p.words) == set(PLACEHOLDERS)


def test_merge_keys_and_anchors():
    p = parse_program(HEAD + "  - &base {name: A, sets: 3, reps: 8, tempo: 3010}\n"
                             "  - <<: *base\n    name: B\n    sets: 2\n")
    a, b = p.exercises
    assert (b.name, b.sets, b.reps, b.tempo.code, b.line) == ("B", 2, 8, "3010", 4)
    assert (a.name, a.sets) == ("A", 3)


def test_explicit_standard_tags_are_fine_and_read_as_written():
    ex = one("  - name: !!str A\n    reps: !!int 8\n    tempo: !!str 0404\n")
    assert (ex.name, ex.reps, ex.tempo.code) == ("A", 8, "0404")


# ---- the pure text parsers ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "abc", "5x", "-5s", "1:70", "s", "1e3", "0x10", "1_000",
                                 "5s 5m", "1.2.3s", "nan", "inf", "1:2", "9" * 40])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration_ms(bad)


def test_format_duration_and_small_parsers():
    assert [format_duration(ms) for ms in (0, 500, 1000, 90_000, 600_000, 900_000, 1234)] == [
        "0s", "0.5s", "1s", "90s", "10m", "15m", "1.234s"]
    assert parse_int(" +8 ") == 8
    for bad in ("8.0", "true", "0x8", "", "1e2"):
        with pytest.raises(ValueError):
            parse_int(bad)
    assert parse_bool("On") is True and parse_bool("no") is False
    with pytest.raises(ValueError):
        parse_bool("y")


def test_parse_tempo_and_schedule_messages():
    with pytest.raises(ValueError, match=r'^tempo needs 4 symbols of 0-9 or X, got "40401"$'):
        parse_tempo("40401")
    with pytest.raises(ValueError, match='unknown day "wen".*did you mean "wed"'):
        parse_schedule("wen 07:00")


# ---- mistakes: exact position and message ------------------------------------------------

@pytest.mark.parametrize("text, line, col, fragment", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_program(text, line, col, fragment):
    with pytest.raises(CoachError) as info:
        parse_program(text, "bad.yaml")
    found = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    assert any((d_line, d_col) == (line, col) and fragment in msg
               for d_line, d_col, msg in found), found
    for d in info.value.diagnostics:
        assert d.path == "bad.yaml" and d.severity == "error"
    assert f"bad.yaml:{line}:{col}: error: " in str(info.value)


def test_bad_table_is_large_and_each_error_is_alone():
    assert len(BAD) >= 30
    # Each case holds one mistake: exactly one diagnostic, so no cascades of follow-up noise
    # (the exceptions are cases whose text has two independent mistakes by construction).
    extra = {"python tag", "exercises missing", "program missing", "undefined alias",
             "recursive alias", "too deep", "non-scalar key", "binary tag", "control char",
             "syntax", "unclosed quote"}
    for name, text, *_ in BAD:
        if name in extra:
            continue
        with pytest.raises(CoachError) as info:
            parse_program(text)
        assert len(info.value.diagnostics) == 1, (name, str(info.value))


def test_every_mistake_at_once_in_file_order():
    text = (
        "program: P\n"                                   # 1
        "language: xx\n"                                 # 2
        "voice: {engine: espek, rate: 10}\n"             # 3
        "exercises:\n"                                   # 4
        "  - name: A\n"                                  # 5
        "    tmepo: 4040\n"                              # 6
        "    sets: 0\n"                                  # 7
        "  - name: B\n"                                  # 8
        "    hold: 3h\n"                                 # 9
        "    sides: one\n"                               # 10
        "  - name: C\n"                                  # 11
        "    reps: 8\n"                                  # 12
        "    tempo: 40401\n"                             # 13
        "    words: {set_of: 'set {n}'}\n"               # 14
        "  - poses: [a]\n"                               # 15
    )
    found = [(line, col) for line, col, _ in diags(text)]
    assert found == [(2, 11), (3, 17), (3, 30), (6, 5), (7, 11), (9, 11), (10, 12), (13, 12),
                     (14, 21), (15, 5), (15, 13)]


def test_diagnostics_print_gcc_style():
    with pytest.raises(CoachError) as info:
        parse_program(E + "    hold: 3h\n", "prog.yaml")
    assert str(info.value) == 'prog.yaml:4:11: error: hold must be between 1s and 10m, got "3h"'


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (d,) = diags("\n".join(lines) + "\n" + E + "    hold: 1s\n")
    assert "aliases expand to more than" in d[2]
    assert d[0] in range(1, 10)


def test_error_inside_merged_mapping_reported_once():
    text = HEAD + "  - &b {name: A, hold: 3h}\n  - <<: *b\n    name: B\n  - <<: *b\n    name: C\n"
    assert diags(text) == [(3, 24, 'hold must be between 1s and 10m, got "3h"')]


# ---- files -------------------------------------------------------------------------------




def file_error(path) -> tuple[int, int, str]:
    with pytest.raises(CoachError) as info:
        load_program(path)
    (d,) = info.value.diagnostics
    assert d.path == os.fspath(path)
    assert str(info.value).count("\n") == 0  # one line
    return d.line, d.col, d.message


def test_load_program_reads_a_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(GOOD)
    assert load_program(f).path == str(f)
    assert load_program(str(f)).exercises[0].hold_ms == 10_000
    f.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())  # a BOM, as some editors write
    assert load_program(f).name == "P"


def test_load_program_positions_refer_to_the_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(E + "    hold: 3h\n")
    with pytest.raises(CoachError) as info:
        load_program(f)
    assert str(info.value).startswith(f"{f}:4:11: error: hold must be between")


def test_missing_file(tmp_path):
    assert file_error(tmp_path / "nope.yaml") == (0, 0, "no such file")
    (tmp_path / "file").write_text("x")
    assert file_error(tmp_path / "file" / "p.yaml")[2].startswith("no such file")


def test_directory(tmp_path):
    assert file_error(tmp_path) == (0, 0, "is a directory, not a file")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert file_error(fifo) == (0, 0, "is not a regular file")


def test_too_large(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_bytes(GOOD.encode() + b"#" * (MAX_PROGRAM_BYTES + 1 - len(GOOD)))
    assert file_error(f) == (0, 0, f"is too large ({MAX_PROGRAM_BYTES + 1} bytes; at most 1 MiB)")
    # A sparse 64 GiB file is refused from its size, before any of it is read.
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as fh:
        fh.truncate(64 << 30)
    assert file_error(huge)[2] == f"is too large ({64 << 30} bytes; at most 1 MiB)"


def test_exactly_one_mib_is_fine(tmp_path):
    f = tmp_path / "full.yaml"
    padding = MAX_PROGRAM_BYTES - len(GOOD) - 1
    f.write_bytes(GOOD.encode() + b"#" * padding + b"\n")
    assert f.stat().st_size == MAX_PROGRAM_BYTES
    assert load_program(f).name == "P"


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"  \n\n\t\n", "is empty"),
    (b"program: P\x00\n", "is a binary file, not YAML text (it contains NUL bytes)"),
    (b"\xff\xfep\x00r\x00", "is a binary file"),  # UTF-16
    (b"program: caf\xe9\n", "is not UTF-8 text (byte 0xe9 at offset 12); save it as UTF-8"),
    (b"\x89PNG\r\n\x1a\n", "is not UTF-8 text (byte 0x89 at offset 0)"),
])
def test_file_contents_refused(tmp_path, data, message):
    f = tmp_path / "p.yaml"
    f.write_bytes(data)
    line, col, msg = file_error(f)
    assert (line, col) == (0, 0) and msg.startswith(message)


def test_read_program_text_is_the_shared_reader(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("a: 1\n")
    assert read_program_text(f) == "a: 1\n"


_PROBE = """\
import sys
from coach.core.errors import CoachError
from coach.core.program import load_program
try:
    print("loaded", load_program(sys.argv[1]).name)
except CoachError as e:
    (d,) = e.diagnostics
    print("error", d.line, d.col, d.message)
"""


def test_unreadable_file(tmp_path):
    """Root reads anything, so the reader runs as nobody (uid 65534), as DESIGN.md says."""
    d = Path(tempfile.mkdtemp(prefix="coach-perm-"))
    try:
        d.chmod(0o755)
        f = d / "p.yaml"
        f.write_text(GOOD)
        if os.geteuid() == 0:
            need(shutil.which("setpriv") is not None, "setpriv (util-linux) to drop root")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   sys.executable, "-c", _PROBE, str(f)]
        else:
            cmd = [sys.executable, "-c", _PROBE, str(f)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}

        def probe() -> str:
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/",
                                 timeout=60)
            assert out.returncode == 0, out.stderr
            return out.stdout.strip()

        f.chmod(0o644)
        assert probe() == "loaded P"  # the same process can read it when it may
        f.chmod(0o000)
        assert probe() == "error 0 0 permission denied: cannot read this file"
    finally:
        shutil.rmtree(d)


# ---- property: nothing but a Program or a CoachError -------------------------------------

def check_outcome(text: str) -> None:
    try:
        program = parse_program(text, "fuzz.yaml")
    except CoachError as e:
        assert e.diagnostics
        n_lines = len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1  # YAML's breaks
        for d in e.diagnostics:
            assert d.path == "fuzz.yaml" and d.message
            assert len(d.message.splitlines()) == 1, d  # one line, even with odd breaks
            assert 0 <= d.line <= n_lines and d.col >= 0, d
        str(e)
        return
    assert isinstance(program, Program) and program.name and program.exercises
    for ex in program.exercises:
        assert 1 <= ex.sets <= 20 and ex.name
        assert (ex.reps is not None) == (ex.kind in ("tempo", "cadence"))
        assert (ex.tempo is not None) == (ex.kind == "tempo")
        assert (ex.cadence_ms is not None) == (ex.kind == "cadence")
        assert bool(ex.poses) == (ex.kind == "poses")
        if ex.kind == "hold":
            assert 1000 <= ex.hold_ms <= 600_000
        for t in (ex.rest_ms, ex.lead_in_ms, ex.switch_ms):
            assert 0 <= t <= 900_000


_FUZZ = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.text(CHARS, max_size=400))
def test_fuzz_random_text(text):
    check_outcome(text)


@_FUZZ
@given(st.sampled_from(VALID), st.lists(MUTATION, min_size=1, max_size=6))
def test_fuzz_mutated_programs(base, mutations):
    check_outcome(mutate(base, mutations))


def test_mutations_do_change_programs():
    # The fuzzer's mutations reach the validator (not only the YAML parser).
    swapped = mutate(GOOD, [("swap", 0, 2)])  # program: 10s / hold: P
    assert swapped != GOOD
    with pytest.raises(CoachError):
        parse_program(swapped)
