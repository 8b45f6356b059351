"""The in-process daemon for the tests of coach/daemon: ``rig`` is a Rig with the Row day
program loaded (tests/support/rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rig import PROGRAM, Rig


@pytest.fixture
def rig(tmp_path: Path, espeak: None) -> Iterator[Rig]:
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        r.call("reload")
        yield r
