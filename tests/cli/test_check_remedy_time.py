"""`coach check` proves a remedy's new clips are made in time on one core (issue 20): the
program's engine at its measured cost (coach/audio/voice/cost.py), the clip cache counted.
Piper (its model loaded again for the job: ~1 s on one core here) cannot make a remedy's
words 0.5 s after a set's end with no rating asked; espeak-ng can. The daemon makes them
ahead from the session's start, after its own clips: Piper passes when that is done before
they are needed, and fails, with the numbers, when set 1 ends too soon; clips made ahead with
`coach render --feel` are free."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from coach.audio.voice import piper_problem
from tests.support.cli import coach
from tests.support.real import need

pytestmark = pytest.mark.slow

PROGRAM = """\
program: P
{voice}exercises:
  - {{name: Row, sets: 2, reps: 2, tempo: '3010', rest: 8s,
     remedy: {{eccentric: 1s, flex: 0}}}}
"""


def run(tmp_path: Path, *args: str):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    return coach(*args, env=env)


def test_espeak_makes_the_remedy_in_time(tmp_path, espeak):
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM.format(voice=""))
    r = run(tmp_path, "check", str(f))
    assert r.returncode == 0 and r.stdout.startswith(f"{f}: ok"), r.stderr


def test_piper_in_time_made_ahead_from_the_start(tmp_path):
    """Set 1 ends at 0:19: the daemon's worker has the remedy's three clips (~6 s at Piper's
    planned cost, its load included) long before, though the rest alone gives 0.5 s."""
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM.format(voice="voice: {engine: piper}\n"))
    r = run(tmp_path, "check", str(f))
    assert r.returncode == 0 and r.stdout.startswith(f"{f}: ok"), r.stderr


def test_piper_cannot_with_a_first_set_too_short_until_the_clips_are_made_ahead(tmp_path):
    """Set 1 ends at 0:02 (no announcement time, no lead-in, one rep): the worker is still
    loading Piper for feel 2's words, due 1.5 s before 0:04."""
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    f = tmp_path / "p.yaml"
    f.write_text(PROGRAM.format(voice="voice: {engine: piper}\n").replace(
        "reps: 2, tempo: '3010'", "reps: 1, tempo: '1010', announce: 0s, lead_in: 0s"))
    r = run(tmp_path, "check", str(f))
    assert r.returncode == 2
    line, = r.stderr.strip().splitlines()
    assert re.fullmatch(
        re.escape(f"{f}:5:6: error: the remedy after set 1 of Row (feel 2 at 0:02) needs ~")
        + r"\d+\.\d" + re.escape(" s of speech synthesis on one core (Piper, 1 new clip due at "
                                 "0:04) but the rest gives 0.5 s, and made ahead from the "
                                 "session's start they are ready only at ~0:")
        + r"\d\d" + re.escape("; lengthen rest or what comes before set 1's end, or make its "
                               f"clips ahead: coach render {f} --feel 2 --after-set 1 -o "
                               "FILE.wav"), line), line
    assert "ok" not in r.stdout
    for feel in ("2", "1"):
        out = run(tmp_path, "render", str(f), "--feel", feel, "-o", str(tmp_path / "r.wav"))
        assert out.returncode == 0, out.stderr
    r = run(tmp_path, "check", str(f))
    assert r.returncode == 0, r.stderr
