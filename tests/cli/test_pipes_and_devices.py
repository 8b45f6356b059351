"""`coach` writing to real things: a real PortAudio device list (`coach devices`) and a real pipe
whose reader goes away (`coach plan FILE | head`). Each runs the CLI in a subprocess."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys

import pytest

from tests.support.audio import AlsaFileEnv, need_portaudio
from tests.support.cli import COACH, coach
from tests.support.real import PROGRAMS, ROOT

# -- coach devices ----------------------------------------------------------------------------

def test_devices_lists_a_real_portaudio_device_with_channels_and_rate(tmp_path):
    """ALSA (through PortAudio) sees the test HOME's .asoundrc PCMs: real devices, no card."""
    need_portaudio()
    env = AlsaFileEnv(tmp_path).env
    # What PortAudio reports in the same environment, straight from the player module.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import json; from coach.audio.player import list_devices; "
         "print(json.dumps(list_devices()))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    devices = json.loads(probe.stdout)
    assert devices, "the .asoundrc environment should show at least one output device"

    r = coach("devices", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(devices), r.stdout
    for d, line in zip(devices, lines):
        m = re.fullmatch(r"([* ]) +(\d+)  (.*)  \((\d+) ch, (\d+) Hz\)", line)
        assert m, line
        assert (m[1] == "*") == d["is_default"], line
        assert int(m[2]) == d["index"] and m[3] == d["name"], line
        assert int(m[4]) == d["channels"] and int(m[5]) == round(d["default_samplerate"]), line
    assert any(line.startswith("*") for line in lines), "the default device is marked"


# -- a closed stdout ----------------------------------------------------------------------------

def _small_pipe() -> tuple[int, int]:
    """A pipe of one page, so coach blocks on it long before it has written everything."""
    r, w = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    return r, w


def _env(buffered: bool) -> dict[str, str]:
    env = dict(os.environ)
    if buffered:
        env.pop("PYTHONUNBUFFERED", None)  # a pipe is block-buffered then, as for most users
    else:
        env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["plan"], ["plan", "--json"]])
def test_plan_into_a_pipe_closed_after_one_line_ends_quietly(args, buffered):
    program = str(PROGRAMS / "full-session.yaml")
    full = subprocess.run([*COACH, *args, program], cwd=ROOT, capture_output=True, timeout=60)
    assert full.returncode == 0 and len(full.stdout) > 4 * 4096  # more than the pipe holds
    r, w = _small_pipe()
    proc = subprocess.Popen([*COACH, *args, program], cwd=ROOT, stdout=w,
                            stderr=subprocess.PIPE, env=_env(buffered))
    os.close(w)
    with os.fdopen(r, "rb") as reader:
        # `head -n 1` for the table, `head -c 100` for the one-line JSON; then the reader is gone
        first = reader.readline() if "--json" not in args else reader.read(100)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert first and full.stdout.startswith(first)
    assert err.decode() == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert proc.returncode == 0


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_plan_into_a_pipe_with_no_reader_at_all_ends_quietly(buffered):
    """Buffered, the whole table fits Python's stdout buffer: the broken pipe shows only when
    it is flushed, which must happen inside main(), not at interpreter shutdown."""
    program = str(PROGRAMS / "demo.yaml")
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([*COACH, "plan", program], cwd=ROOT, stdout=w,
                              stderr=subprocess.PIPE, timeout=60, env=_env(buffered))
    finally:
        os.close(w)
    assert proc.stderr.decode() == ""
    assert proc.returncode == 0
