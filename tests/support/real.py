"""Where the checkout is, and the real parts a test needs: a missing one skips the test on a
developer's machine and fails it under COACH_REQUIRE_REAL=1 (CI), never silently."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "programs"
REQUIRE_REAL = os.environ.get("COACH_REQUIRE_REAL") == "1"


def need(ok: bool, what: str) -> None:
    """Skip when a real part is missing on a developer's machine; fail under COACH_REQUIRE_REAL=1."""
    if ok:
        return
    import pytest  # here: the player driver (python -m tests.support.audio) starts without it
    if REQUIRE_REAL:
        pytest.fail(f"real part missing under COACH_REQUIRE_REAL=1: {what}", pytrace=False)
    pytest.skip(f"real part missing: {what}")
