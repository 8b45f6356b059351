"""Fixtures every test may use. Helpers are imported from tests.support, never from here."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

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


# A real-time test runs at this nice value where allowed (CI runs as root), and so do the
# processes it starts (coach, its sound server, parec, systemd --user): it measures coach's
# timing, not the scheduler's fairness toward whatever else runs (another test run, `-n 4`).
# At nice 0 beside three other xdist workers (load 5-7 on 2 cores), a 2-minute `coach run`
# underflowed and every later cue came 141-204 ms late; a developer's machine (no root) runs
# them at 0.
REALTIME_NICE = -10


@contextlib.contextmanager
def _niced(value: int) -> Iterator[None]:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, value)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


@pytest.fixture(autouse=True, scope="module")
def _realtime_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """A real-time module's module-scoped scenario (test_systemd's) is niced as well."""
    if request.node.get_closest_marker("realtime") is None:
        yield
        return
    with _niced(REALTIME_NICE):
        yield


@pytest.fixture(autouse=True)
def _realtime_test(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("realtime") is None:
        yield
        return
    with _niced(REALTIME_NICE):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A real-time test is a slow one too: `-m "not slow"` leaves every one of them.
    for item in items:
        if item.get_closest_marker("realtime") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # "no tests ran" must never look like success.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 5
