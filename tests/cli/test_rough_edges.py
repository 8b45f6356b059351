"""The command line's rough edges a newcomer hit (issue 18, point 5), each as the newcomer met
it: `coach` run as a user runs it, its exit status and every line it prints."""

from __future__ import annotations

import os
import re
import wave
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.audio import AlsaFileEnv, need_portaudio
from tests.support.cli import coach
from tests.support.real import PROGRAMS, ROOT

DEMO = str(PROGRAMS / "demo.yaml")

SHORT = """\
program: Short
exercises:
  - name: Squat
    hold: 2s
"""


def short(tmp_path: Path) -> str:
    p = tmp_path / "short.yaml"
    p.write_text(SHORT)
    return str(p)


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and "Exception ignored" not in text, text


# --- render and run ------------------------------------------------------------------------

@pytest.mark.parametrize("rate", ["0", "-5", "1", "7999", "192001"])
def test_render_refuses_a_rate_no_sound_card_takes(tmp_path, rate):
    out = tmp_path / "x.wav"
    r = coach("render", short(tmp_path), "-o", str(out), "--rate", rate, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        f"coach render: error: --rate must be a sample rate between 8000 and 192000 Hz, got {rate}"]
    assert not out.exists()


def test_run_refuses_a_bad_rate_before_looking_for_a_device(tmp_path):
    r = coach("run", short(tmp_path), "--rate", "0", timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "coach run: error: --rate must be a sample rate between 8000 and 192000 Hz, got 0"]


@pytest.mark.parametrize("rate", [8000, 192000])
def test_render_takes_the_ends_of_the_range(tmp_path, espeak, rate):
    out = tmp_path / "x.wav"
    r = coach("render", short(tmp_path), "-o", str(out), "--rate", str(rate), timeout=300)
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        assert w.getframerate() == rate and w.getnframes() > rate


def test_render_to_a_missing_folder_is_one_line(tmp_path, espeak):
    # Found: the right error, then "Exception ignored in: <function Wave_write.__del__ ...>"
    # and its traceback (the WAV was opened by name before the folder was known to be there).
    r = coach("render", short(tmp_path), "-o", "/nonexist/x.wav", timeout=300)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "/nonexist/x.wav: error: cannot write the WAV file: No such file or directory"], r.stderr


def test_render_says_what_it_wrote_once(tmp_path, espeak):
    out = tmp_path / "x.wav"
    r = coach("render", short(tmp_path), "-o", str(out), timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{out}: 0:14 of 'Short' at 48000 Hz"]
    assert "wrote" not in r.stderr, r.stderr  # no INFO line repeating it


def test_demo_without_a_device_says_so_and_what_it_wrote_once(tmp_path, espeak):
    need_portaudio()
    env = AlsaFileEnv(tmp_path, broken=True).env  # devices listed, none opens
    out = tmp_path / "demo.wav"
    r = coach("demo", "-o", str(out), env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert out.is_file()
    assert r.stdout.splitlines() == [f"{out}: 2:05 of 'Coach demo' at 48000 Hz"]
    assert "playing" not in r.stderr and "wrote" not in r.stderr, r.stderr
    assert f"coach: no sound device here; rendering the demo to {out} instead" in r.stderr
    no_traceback(r.stderr)


def test_run_without_a_device_says_so_before_anything_plays(tmp_path, espeak):
    # Found: "playing 'Coach demo' (2:05); Ctrl-C stops", then the device error.
    need_portaudio()
    env = AlsaFileEnv(tmp_path, broken=True).env
    r = coach("run", short(tmp_path), env=env, timeout=300)
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("coach")]
    assert len(lines) == 1 and lines[0].startswith("coach: ") and "`coach render`" in lines[0], \
        r.stderr
    assert "playing" not in r.stderr and "Ctrl-C" not in r.stderr, r.stderr
    no_traceback(r.stderr)


def test_install_service_prints_its_steps_and_no_log_line(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    r = coach("install-service", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "cfg" / "systemd" / "user" / "coach.service"
    assert r.stdout.splitlines()[0] == f"Installed {unit}"
    assert r.stderr == ""


# --- the daemon's verbs without a daemon ----------------------------------------------------

def test_no_daemon_is_one_line_with_how_to_start_one(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    for verb in ("status", "programs", "skip"):
        r = coach(verb, env=env, timeout=60)
        assert r.returncode == 1
        assert r.stderr.splitlines() == [
            "coach: the daemon is not running (start it with `coach daemon` or the systemd "
            "service)"], r.stderr


def test_next_start_reads_as_a_day_and_a_time():
    from coach.cli.fmt import fmt_next_start, fmt_when
    now = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # a Monday evening
    assert fmt_when(datetime(2026, 12, 7, 22, 0, tzinfo=UTC), now) == "today 22:00"
    assert fmt_when(datetime(2026, 12, 8, 7, 0, tzinfo=UTC), now) == "tomorrow 07:00"
    assert fmt_when(datetime(2026, 12, 10, 7, 0, tzinfo=UTC), now) == "Thu 07:00"
    assert fmt_when(datetime(2026, 12, 14, 7, 0, tzinfo=UTC), now) == "Mon 14 Dec 07:00"
    # In the schedule's own zone: at 23:30 UTC it is already the next day in Berlin.
    berlin = timezone(timedelta(hours=1))
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    assert fmt_when(datetime(2026, 12, 8, 7, 0, tzinfo=berlin), late) == "today 07:00"
    at = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    assert fmt_next_start(f"tempo-upper at {at.isoformat(timespec='minutes')}", now) == \
        "tempo-upper tomorrow 07:00"
    assert fmt_next_start("no time here", now) == "no time here"


# --- program files --------------------------------------------------------------------------

def test_check_counts_in_words_that_agree(tmp_path):
    r = coach("check", "--no-voice", short(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{tmp_path / 'short.yaml'}: ok: 'Short', 1 exercise, "
                                     "1 set, 0:14"]
    r = coach("check", "--no-voice", str(PROGRAMS / "tempo-upper.yaml"), timeout=60)
    assert re.search(r": ok: 'Tempo upper', \d+ exercises, \d+ sets, ", r.stdout), r.stdout


def test_a_clip_a_millisecond_long_is_no_overlap(tmp_path, espeak):
    # Found: tempo "0404" warned 'cue "last one hold" ... overlaps the next cue "3" ... by
    # 0.00 s; voice rate 180 would fit' (a 1.002 s clip 1 s before the next count).
    p = tmp_path / "t.yaml"
    p.write_text('program: T\nexercises:\n  - name: Squat\n    tempo: "0404"\n    reps: 3\n')
    r = coach("check", str(p), timeout=300)
    assert r.returncode == 0, r.stderr
    assert "0.00 s" not in r.stderr and "overlaps" not in r.stderr, r.stderr
    assert r.stdout.splitlines() == [f"{p}: ok: 'T', 1 exercise, 1 set, 0:36"]


def test_voices_of_a_missing_file_is_the_error_alone(tmp_path):
    # Found: 131 voices listed, then the error at the end.
    r = coach("voices", str(tmp_path / "nonexist.yaml"), timeout=120)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [f"{tmp_path / 'nonexist.yaml'}: error: no such file"]


def test_new_into_a_folder_writes_the_file_inside_it(tmp_path):
    r = coach("new", "tempo", str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    made = tmp_path / "tempo.yaml"
    assert made.is_file() and "program:" in made.read_text()
    assert r.stderr.splitlines() == [
        f"{made}: a tempo program; edit it, then `coach check {made}`"]
    # Never overwrites, also inside a folder.
    r = coach("new", "tempo", str(tmp_path), timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"{made}: error: already exists;"), r.stderr
    assert coach("check", "--no-voice", str(made), timeout=60).returncode == 0


# --- what the repository says ---------------------------------------------------------------

def test_piper_is_installed_one_way_everywhere():
    from coach.audio.voice import PIPER_COMMAND, PIPER_INSTALL
    assert PIPER_COMMAND == ".venv/bin/pip install -e '.[piper]'"
    said = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "raspberry-pi.md"):
        said += re.findall(r"[\w./]*pip install [^`\n]*piper[^`\n]*", doc.read_text())
    assert said and set(said) == {PIPER_COMMAND}, said
    assert PIPER_INSTALL == f"`{PIPER_COMMAND}` in the coach clone"  # what the warnings say


def test_the_shipped_unit_runs_the_coach_a_clone_has():
    # Found: ExecStart=%h/.local/bin/coach, which nothing creates (setup.sh makes .venv/bin/coach
    # in the clone; docs/raspberry-pi.md clones into ~/coach).
    unit = (ROOT / "systemd" / "coach.service").read_text()
    [exec_start] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    assert exec_start == "ExecStart=%h/coach/.venv/bin/coach daemon"
    assert "git clone <this repository> ~/coach" in (ROOT / "docs" / "raspberry-pi.md").read_text()
    assert '"$py" -m venv .venv' in (ROOT / "setup.sh").read_text()


def test_a_copied_example_never_starts_by_itself():
    # Found: cp programs/tempo-upper.yaml into the programs dir, and at 7:00 a session started.
    from coach.core.program import load_program
    for path in sorted(PROGRAMS.glob("*.yaml")):
        assert load_program(str(path)).schedules == (), path.name
    commented = [p.name for p in PROGRAMS.glob("*.yaml") if "# schedule:" in p.read_text()]
    assert {"tempo-upper.yaml", "full-session.yaml"} <= set(commented)
