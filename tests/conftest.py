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
    """Slow tests first, the longest of them (``slow(seconds=N)``) first of all: on two
    workers (`-n 2 --dist loadgroup`, as CI runs) the five-minute real-time test then starts
    at once while the other worker takes everything else, instead of starting last, alone."""
    def cost(item: pytest.Item) -> float:
        mark = item.get_closest_marker("slow")
        return 0 if mark is None else mark.kwargs.get("seconds", 1)

    items.sort(key=cost, reverse=True)  # stable: the same order as written within a cost


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # "no tests ran" must never look like success.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 5
