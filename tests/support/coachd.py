"""`coach daemon` as a real subprocess for the tests: its own XDG dirs and runtime dir (in /tmp,
reachable by another uid), driven through the real `coach` CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.cli import COACH, coach
from tests.support.real import ROOT


def problems(status: dict) -> list[str]:
    """A status's problems but a stalled output's: on a loaded test machine (CI's parallel tier)
    the tests' own sound server can take no audio for a second, and status says so truly
    ("audio output stalled 1 s: ..."); CI failed once on exactly that in a test about
    something else."""
    return [p for p in status["problems"] if not p.startswith("audio output stalled")]


# The daemon tests' program. Row set 1: announce 0-3, lead-in 3-6, work 6-18, rest 18-28; set 2
# starts at 28 s.
ROW_DAY = """\
program: {name}
defaults: {{rest: 10s, lead_in: 3s, announce: 3s}}
exercises:
  - name: Row
    focus: Elbows back.
    sets: 2
    reps: 3
    tempo: "2020"
  - name: Plank
    hold: 20s
"""


# The same day with an optional `schedule:` line (line 2); Row's tempo stays on line 8.
PROGRAM = """\
program: {name}
{schedule}defaults: {{rest: 10s, lead_in: 3s, announce: 3s}}
exercises:
  - name: Row
    focus: Elbows back.
    sets: 2
    reps: 3
    tempo: "2020"
  - name: Plank
    hold: 20s
"""


def write_program(path: Path, name: str = "Row day", schedule: str = "") -> None:
    write(path, PROGRAM.format(name=name, schedule=f'schedule: "{schedule}"\n' if schedule else ""))


def write(path: Path, text: str) -> None:
    """Write ``text`` and make sure the file's mtime moved: two writes within one kernel clock
    tick can leave the same mtime, and the daemon's library goes by mtime."""
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(text)
    if before is not None and path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


class Coachd:
    """`coach daemon` as a subprocess, driven through the `coach` CLI with the same env/uid."""

    def __init__(self, base: Path, env: dict, programs: Path | None = None,
                 prefix: list[str] | None = None, args: list[str] | None = None,
                 bus: str | None = None):
        self.base = base
        self.programs = programs or base / "programs"
        self.programs.mkdir(exist_ok=True)
        self.runtime = Path(tempfile.mkdtemp(prefix="coach-run-", dir="/tmp"))
        self.runtime.chmod(0o700)
        self.env = dict(env, XDG_RUNTIME_DIR=str(self.runtime),
                        XDG_CONFIG_HOME=str(base / "config"), XDG_DATA_HOME=str(base / "data"),
                        TZ="UTC", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        self.env.pop("COACH_PROGRAMS", None)
        # The session bus is the test's own (`bus`) or none: a test daemon never shows up as a
        # media player on the developer's desktop.
        self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        if bus is not None:
            self.env["DBUS_SESSION_BUS_ADDRESS"] = bus
        self.prefix = prefix or []  # runs the daemon and its clients (setpriv: another uid)
        self.args = args or []
        self.log = base / "daemon.log"
        self.proc: subprocess.Popen | None = None

    @property
    def db(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "coach" / "history.sqlite3"

    def start(self, *more: str) -> Coachd:
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*self.prefix, *COACH, "-v", "daemon", "--programs",
             str(self.programs), *self.args, *more], cwd=ROOT, env=self.env, stdout=self.logf,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.cli("status", "--json", check=False).returncode == 0:
                return self
            assert self.proc.poll() is None, self.text()
            time.sleep(0.2)
        raise AssertionError("daemon did not answer within 30 s:\n" + self.text())

    def cli(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
        r = coach(*args, env=self.env, prefix=self.prefix, timeout=timeout)
        if check:
            assert r.returncode == 0, f"coach {' '.join(args)}: {r.stdout}{r.stderr}\n{self.text()[-3000:]}"
        return r

    def ok(self, *args: str) -> str:
        return self.cli(*args, check=True).stdout

    def status(self) -> dict:
        return json.loads(self.ok("status", "--json"))

    def wait_for(self, pred, timeout: float = 30, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {st}\n{self.text()[-3000:]}")

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """End the daemon process (SIGKILL for a crash); the runtime dir stays for a restart."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        rc, self.proc = self.proc.returncode, None
        return rc

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)
