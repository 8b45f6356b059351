"""The one way the tests run the `coach` command: this checkout's coach.cli in a fresh
interpreter, as a user runs it (exit status, stdout and stderr as text)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.real import ROOT

# `coach` as a command line, for a test that needs a Popen (a pipe, a pty, a signal).
COACH = [sys.executable, "-m", "coach.cli"]


def coach(*args: str, env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
          prefix: Sequence[str] = (), command: Sequence[str] = COACH,
          timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``coach ARGS`` and wait for it. ``prefix`` runs it under another program (setpriv,
    prlimit); ``command`` replaces ``python -m coach.cli`` (the venv's installed `coach`);
    ``check`` raises CalledProcessError on a non-zero exit, as subprocess.run does."""
    return subprocess.run([*prefix, *command, *args], capture_output=True, text=True,
                          env=None if env is None else dict(env), cwd=cwd or ROOT, timeout=timeout,
                          check=check)
