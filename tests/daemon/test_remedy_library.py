"""The daemon's program library refuses a program whose remedy cannot fit its rest, as `coach
check` does (issue 20), and says why in `programs`."""

from __future__ import annotations

from pathlib import Path

from tests.support.rig import Rig

SHORT = """\
program: Short rests
rate: feel
remedy: true
exercises:
  - {name: Row, sets: 3, reps: 2, tempo: "3010", rest: 25s}
"""


def test_a_remedy_that_cannot_fit_is_a_program_error(tmp_path: Path) -> None:
    with Rig(tmp_path) as rig:
        (rig.programs / "short.yaml").write_text(SHORT)
        (rig.programs / "fits.yaml").write_text(SHORT.replace("25s", "60s"))
        rig.call("reload")
        progs = rig.call("programs")["programs"]
        assert progs["fits"]["error"] is None
        assert "Row: a rest of 25 s cannot hold the remedy's flex cue of 10 s" in \
            progs["short"]["error"]
        assert not rig.call("start", program="short")["ok"]
