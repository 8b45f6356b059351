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


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    """Whether `item` uses a fixture made once per module (a daemon, a sound server, a whole
    scenario): every test of that module must then run on the same xdist worker."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(d.scope in ("module", "package", "session") and d.baseid
               and name != "_realtime_module"  # every module's: it groups none
               for name, defs in info.name2fixturedefs.items() for d in defs)


def _tier(item: pytest.Item) -> int:
    return 0 if item.get_closest_marker("realtime") else 1 if item.get_closest_marker("slow") \
        else 2


# A real-time test runs at this nice value where allowed (CI runs as root), and so do the
# processes it starts (coach, its sound server, parec, systemd --user): it measures coach's
# timing, not the scheduler's fairness toward the suite's three other workers. At nice 0 beside
# them (load 5-7 on 2 cores), a 2-minute `coach run` underflowed and every later cue came
# 141-204 ms late in 2 of 3 runs; a developer's machine (no root) runs them at 0.
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
    # The suite runs on xdist workers (`-n 4 --dist loadgroup`, pyproject): a module whose
    # tests share a module-scoped fixture goes to one worker as a whole (else each worker
    # would build the scenario again: test_systemd's takes ~45 s).
    grouped: dict[str, int] = {}
    for item in items:
        if _shares_a_module_fixture(item):
            name = item.nodeid.split("::")[0]
            if not item.get_closest_marker("xdist_group"):
                item.add_marker(pytest.mark.xdist_group(name))
            grouped[name] = min(grouped.get(name, 2), _tier(item))
    # The longest first (real-time playback, then other slow tests, then the fast tier), so
    # that no 2-minute test starts last and keeps the run waiting on one worker; a module that
    # runs as a whole keeps its place by its slowest test. A stable sort: within a tier the
    # collection order holds.
    items.sort(key=lambda it: grouped.get(it.nodeid.split("::")[0], _tier(it)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # "no tests ran" must never look like success.
    if session.testscollected == 0 and exitstatus == 0:
        session.exitstatus = 5
