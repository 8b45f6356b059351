"""Fixtures every test may use. Helpers are imported from tests.support, never from here."""

from __future__ import annotations

import pytest

from tests.support.real import need


@pytest.fixture
def espeak() -> None:
    """espeak-ng through pyttsx3, the default voice: required under COACH_REQUIRE_REAL=1."""
    from coach.audio.voice import VoiceUnavailable, espeak_voices
    try:
        ok = bool(espeak_voices())
    except VoiceUnavailable:
        ok = False
    need(ok, "espeak-ng through pyttsx3")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A real-time test is a slow one too: `-m "not slow"` leaves every one of them.
    for item in items:
        if item.get_closest_marker("realtime") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # "no tests ran" must never look like success.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 5
