"""Shared test helpers: real parts are required under COACH_REQUIRE_REAL=1 (CI), never skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
REQUIRE_REAL = os.environ.get("COACH_REQUIRE_REAL") == "1"


def need(ok: bool, what: str) -> None:
    """Skip when a real part is missing on a developer's machine; fail under COACH_REQUIRE_REAL=1."""
    if ok:
        return
    if REQUIRE_REAL:
        pytest.fail(f"real part missing under COACH_REQUIRE_REAL=1: {what}", pytrace=False)
    pytest.skip(f"real part missing: {what}")


@pytest.fixture
def espeak() -> None:
    """espeak-ng through pyttsx3, the default voice: required under COACH_REQUIRE_REAL=1."""
    from coach.audio.voice import VoiceUnavailable, espeak_voices
    try:
        ok = bool(espeak_voices())
    except VoiceUnavailable:
        ok = False
    need(ok, "espeak-ng through pyttsx3")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # "no tests ran" must never look like success.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 5
