"""A quiet, honest setup and an aligned plan table."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
import venv

import pytest

from tests.support.cli import COACH, coach
from tests.support.real import ROOT

LONG_LABELS = """\
program: Long labels
exercises:
  - name: Slow row
    reps: 12
    tempo: "2222"
    rest: 0
"""


def test_plan_columns_stay_aligned_for_long_phase_labels(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(LONG_LABELS)
    r = coach("plan", str(path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header, rows = lines[1], lines[2:-1]
    offset = header.index("text")
    assert any("bottom_pause r10" in row for row in rows)
    labelled = 0
    for row in rows:
        if len(row) > offset:  # a row with text (a phase without a cue has none)
            assert row[offset - 1] == " " and row[offset] != " ", row
            assert row[:offset].rstrip() == row[:offset - 1].rstrip(), row
            labelled += 1
    assert labelled > 12 * 4
    # the text column starts where the header says, on rows with and without a phase label
    starts = {len(row) - len(row[offset:]) for row in rows if len(row) > offset}
    assert starts == {offset}


def test_plan_into_a_closed_pipe_is_not_an_error():
    p = subprocess.Popen([*COACH, "plan",
                          str(ROOT / "programs" / "full-session.yaml")], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()  # like `coach plan ... | head -1`
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and "Traceback" not in err, err


def test_license_is_an_spdx_string():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert meta["project"]["license"] == "MIT"
    # the SPDX string form needs setuptools 77 (older ones reject it)
    assert "setuptools>=77" in meta["build-system"]["requires"]


@pytest.mark.slow
def test_editable_install_prints_no_deprecation_warnings(tmp_path):
    """What ./setup.sh does, into a fresh venv: upgrade pip, `pip install -e .` (no deps, so
    it builds only coach itself); pip shows the build backend's warnings."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True,
                   capture_output=True, timeout=600)
    # setup.sh's filter for setuptools' "Editable installation" notice, read from setup.sh.
    quiet = re.search(r'^QUIET_NOTICE="(.*)"$', (ROOT / "setup.sh").read_text(), re.M)
    assert quiet is not None
    env = dict(os.environ, PYTHONWARNINGS=quiet.group(1))
    r = subprocess.run([py, "-m", "pip", "install", "--no-deps", "-e", str(ROOT)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "Successfully installed coach" in out
    assert "deprecat" not in out.lower(), out
    assert "!!" not in out and "BuildBackendWarning" not in out, out  # no notice box at all
