"""The in-process daemon for the tests of coach/daemon: ``rig`` is a Rig with the Row day
program loaded (tests/support/rig.py); ``served`` is the daemon behind its real control socket
with `coach` verbs run in-process (tests/support/served.py), not started yet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rig import PROGRAM, Rig
from tests.support.served import Served


@pytest.fixture
def rig(tmp_path: Path, espeak: None) -> Iterator[Rig]:
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        r.call("reload")
        yield r


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
           espeak: None) -> Iterator[Served]:
    d = Served(tmp_path, monkeypatch, caplog)
    yield d
    d.close()
