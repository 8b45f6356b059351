"""The `coach` command as a user runs it: a real subprocess, real files, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli import coach
from tests.support.real import PROGRAMS

SHIPPED = sorted(PROGRAMS.glob("*.yaml"))


def test_version_and_help():
    r = coach("--version")
    assert r.returncode == 0 and r.stdout.startswith("coach ")
    r = coach("--help")
    assert r.returncode == 0
    for verb in ("check", "plan", "render", "run", "devices", "daemon", "status", "start",
                 "pause", "resume", "skip", "back", "extend", "stop", "reload", "history"):
        assert verb in r.stdout


def test_shipped_programs_pass_check_with_real_clip_lengths():
    assert len(SHIPPED) >= 6
    r = coach("check", *map(str, SHIPPED))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok: ") == len(SHIPPED)
    assert "warning" not in r.stderr, r.stderr


def test_full_session_lasts_40_to_60_minutes():
    r = coach("plan", "--json", str(PROGRAMS / "full-session.yaml"))
    doc = json.loads(r.stdout)
    assert 40 * 60 <= doc["duration"] <= 60 * 60
    kinds = {e["phase"] for e in doc["events"] if e["type"] == "phase"}
    assert {"eccentric", "hold", "rep", "pose", "switch", "rest"} <= kinds


def test_check_reports_every_error_gcc_style_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("program: X\nexercises:\n  - name: Row\n    reps: 8\n    tmepo: \"4040\"\n"
                   "  - name: Plank\n    hold: 3h\n")
    r = coach("check", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert any(line.startswith(f"{bad}:5:5: error: ") and 'did you mean "tempo"' in line
               for line in lines), r.stderr
    assert any(line.startswith(f"{bad}:7:11: error: ") and "hold" in line for line in lines)
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("content,fragment", [
    (None, "no such file"),
    (b"\x00\x01\x02binary", "binary"),
    (b"", "empty"),
    (b"[1, 2", "error"),
])
def test_file_level_mistakes_are_one_line(tmp_path, content, fragment):
    p = tmp_path / "p.yaml"
    if content is not None:
        p.write_bytes(content)
    r = coach("check", "--no-voice", str(p))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert fragment in r.stderr and r.stderr.startswith(str(p))


def test_directory_is_refused(tmp_path):
    r = coach("plan", str(tmp_path))
    assert r.returncode == 2 and "directory" in r.stderr and "Traceback" not in r.stderr


def test_plan_table_and_json_agree():
    demo = str(PROGRAMS / "demo.yaml")
    table = coach("plan", demo)
    doc = json.loads(coach("plan", "--json", demo).stdout)
    assert table.returncode == 0
    assert "lower" in table.stdout and "total 2:" in table.stdout.splitlines()[-1]
    cues = [e for e in doc["events"] if e["type"] == "cue"]
    assert len(cues) == int(table.stdout.splitlines()[-1].split(",")[1].split()[0])
    assert doc["program"] == "Coach demo"


def onsets_near(samples: np.ndarray, rate: int, planned: list[int], window_ms: int = 20) -> list[int]:
    """For each planned frame, the first sample above -45 dBFS from `window_ms` before it:
    a detector independent of the voice's trimming threshold."""
    idx = np.flatnonzero(np.abs(samples) > 10 ** (-45 / 20))
    out = []
    for p in planned:
        k = np.searchsorted(idx, p - rate * window_ms // 1000)
        out.append(int(idx[k]) if k < idx.size else -1)
    return out


def test_render_onsets_within_5ms_of_plan(tmp_path):
    demo = str(PROGRAMS / "demo.yaml")
    out = tmp_path / "demo.wav"
    r = coach("render", demo, "-o", str(out))
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and rate == 48000
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    doc = json.loads(coach("plan", "--json", demo).stdout)
    planned = [round(e["t"] * rate) for e in doc["events"] if e["type"] == "cue"]
    found = onsets_near(x, rate, planned)
    err_ms = np.abs(np.array(found) - np.array(planned)) * 1000 / rate
    assert err_ms.max() <= 5.0, [(p / rate, e) for p, e in zip(planned, err_ms) if e > 5]


def test_check_warns_when_a_real_clip_overlaps_the_next_cue(tmp_path):
    p = tmp_path / "long.yaml"
    p.write_text("program: Long words\nexercises:\n  - name: Row\n    reps: 2\n    tempo: \"2020\"\n"
                 "    words: {lower: \"lower the weight slowly and with full control\"}\n")
    r = coach("check", str(p))
    assert r.returncode == 0, r.stderr  # warnings do not change the exit status
    warn = [line for line in r.stderr.splitlines() if ": warning: " in line]
    assert warn and warn[0].startswith(f"{p}:3:")
    assert 'cue "lower the weight slowly and with full control"' in warn[0]
    assert 'overlaps the next cue "1"' in warn[0] and "lasts 2." in warn[0]
    assert "shorten the words" in warn[0]  # no rate up to 400 wpm makes 2.4 s fit in 1 s
    assert len(warn) == 2 and 'cue "last one lower the weight' in warn[1]
    assert "2 warnings" in r.stdout


def test_daemon_with_a_broken_config_exits_2_with_the_line(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("rate: fast\n")
    r = coach("daemon", "--config", str(cfg), "--programs", str(tmp_path))
    assert r.returncode == 2 and r.stderr.startswith(f"{cfg}:1:7: error: rate")
    assert "Traceback" not in r.stderr


def test_install_service_writes_a_unit_systemd_accepts(tmp_path):
    import shutil

    from tests.support.real import need
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze (Debian: systemd)")
    coach_bin = Path(sys.executable).with_name("coach")
    need(coach_bin.exists(), f"{coach_bin} (run ./setup.sh --test)")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_RUNTIME_DIR=str(runtime))
    r = subprocess.run([str(coach_bin), "install-service"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    unit = tmp_path / "cfg" / "systemd" / "user" / "coach.service"
    assert unit.is_file() and f"ExecStart={coach_bin} daemon" in unit.read_text()
    assert "loginctl enable-linger" in r.stdout and "systemctl --user" in r.stdout
    v = subprocess.run(["systemd-analyze", "--user", "verify", str(unit)], env=env,
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
