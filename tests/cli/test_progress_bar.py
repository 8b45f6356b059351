"""Progress on long work: `coach check`, `render` and `run` show clips done of clips needed on
a terminal once synthesis has taken over a second; nothing when stderr is not a terminal or the
work is quick. Terminals are real pseudo-terminals (os.openpty)."""

from __future__ import annotations

import os
import select
import subprocess
import time

import pytest

from coach.cli.progress import terminal_progress
from tests.support.cli import COACH, coach
from tests.support.real import PROGRAMS, ROOT


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _pty_stream():
    master, slave = os.openpty()
    stream = os.fdopen(slave, "w", buffering=1)
    assert stream.isatty()
    return master, stream


def _drain(master: int) -> str:
    out = b""
    while select.select([master], [], [], 0.05)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode()


def test_progress_appears_only_after_a_second_on_a_terminal():
    master, stream = _pty_stream()
    clock = Clock()
    show = terminal_progress("voice", stream=stream, clock=clock)
    show(0, 10)
    clock.t += 0.5
    show(3, 10)
    assert _drain(master) == ""  # under a second: quiet
    clock.t += 0.6
    show(5, 10)
    show(10, 10)
    out = _drain(master)
    assert "voice [###############...............] 5/10 clips" in out
    assert out.endswith("[##############################] 10/10 clips\r\n")  # pty: \n -> \r\n
    stream.close()
    os.close(master)


def test_quick_work_shows_nothing_even_on_a_terminal():
    master, stream = _pty_stream()
    clock = Clock()
    show = terminal_progress("voice", stream=stream, clock=clock)
    for i in range(11):
        show(i, 10)
        clock.t += 0.05
    assert _drain(master) == ""
    stream.close()
    os.close(master)


def test_render_progress_is_a_percentage():
    master, stream = _pty_stream()
    clock = Clock()
    show = terminal_progress("render", "%", stream=stream, clock=clock)
    show(0, 4800)
    clock.t += 2
    show(1200, 4800)
    assert _drain(master).endswith("] 25%")
    stream.close()
    os.close(master)


def _run_on_pty(args: list[str], env: dict) -> tuple[int, str, float]:
    """Run coach with stderr on a pseudo-terminal; its exit status, stderr text, seconds."""
    master, slave = os.openpty()
    t0 = time.monotonic()
    p = subprocess.Popen([*COACH, *args], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        r = select.select([master], [], [], 0.2)[0]
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk and p.poll() is not None:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(), out.decode(errors="replace"), time.monotonic() - t0


@pytest.mark.slow  # a cold synthesis of ~130 texts, twice
def test_coach_check_shows_progress_on_a_terminal_when_synthesis_is_slow(tmp_path, espeak):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    prog = str(PROGRAMS / "high-rep-finisher.yaml")  # ~130 distinct texts: seconds, cold
    status, err, seconds = _run_on_pty(["check", prog], env)
    assert status == 0, err
    assert seconds > 1.0  # a cold cache takes seconds here (BENCHMARKS: ~27 ms a text)
    assert "voice high-rep-finisher.yaml [" in err and " clips" in err, err
    last = err.rsplit("\r", 2)[-2] if err.endswith("\r\n") else err
    assert "[##############################]" in last
    # warm: the same check synthesizes nothing and says nothing
    status, err, _ = _run_on_pty(["check", prog], env)
    assert status == 0 and "clips" not in err, err


@pytest.mark.slow  # a cold synthesis of ~130 texts
def test_coach_check_is_quiet_when_stderr_is_not_a_terminal(tmp_path, espeak):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = coach("check", str(PROGRAMS / "high-rep-finisher.yaml"), env=env, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
