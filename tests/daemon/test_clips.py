"""The clip preparer (coach/daemon/clips.py) with the real espeak-ng and a private cache: a
session's clips come first and in the order they are heard, warm jobs wait while a session is
active and a newer version of a program replaces a waiting one, a cancelled job posts nothing,
every session job ends with one JobDone (with the error when a clip fails). Then the daemon
making every loaded program's clips before any start."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.audio.pipeline import load
from coach.core.program import parse_program
from coach.core.timeline import Timeline, compile_program
from coach.daemon.clips import ClipJob, ClipPreparer, ClipReady, JobDone
from tests.support.coachd import ROW_DAY
from tests.support.rig import Rig


class Posted:
    """What the worker posts to the session thread, with a wait for a condition on it."""

    def __init__(self) -> None:
        self.messages: list[ClipReady | JobDone] = []
        self._cond = threading.Condition()

    def __call__(self, msg: ClipReady | JobDone) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def until(self, pred: Callable[[list[ClipReady | JobDone]], bool], what: str,
              timeout: float = 30) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: pred(self.messages), timeout):
                raise AssertionError(f"timed out waiting for {what}: {self.messages}")

    def ready(self, job: ClipJob) -> list[str]:
        return [m.text for m in self.messages if isinstance(m, ClipReady) and m.job_id == job.id]

    def done(self, job: ClipJob) -> list[JobDone]:
        return [m for m in self.messages if isinstance(m, JobDone) and m.job_id == job.id]


@pytest.fixture
def timeline() -> Timeline:
    return compile_program(parse_program(ROW_DAY.format(name="Row day")))


@pytest.fixture
def posted() -> Posted:
    return Posted()


@pytest.fixture
def preparer(tmp_path: Path, posted: Posted, espeak: None) -> Iterator[ClipPreparer]:
    p = ClipPreparer(posted, cache_dir=tmp_path / "cache")
    yield p
    p.close()


def made(preparer: ClipPreparer) -> list[tuple[str, str]]:
    """Spy on the worker: (job name, text) of every clip it makes, in order; still made for real."""
    log: list[tuple[str, str]] = []
    real = preparer._make

    def spy(job: ClipJob, text: str):  # type: ignore[no-untyped-def]
        log.append((job.name, text))
        return real(job, text)

    preparer._make = spy  # type: ignore[method-assign]
    return log


def until_idle(preparer: ClipPreparer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while preparer.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert preparer.pending() == 0, "the worker did not finish its jobs"


def test_a_sessions_clips_come_first_in_order_and_end_with_job_done(
        preparer: ClipPreparer, posted: Posted, timeline: Timeline) -> None:
    log = made(preparer)
    warm = ClipJob("legs", timeline, ["squat", "lunge"], "warm")
    session = ClipJob("row", timeline, ["three", "two", "one", "row"], "session")
    preparer.submit(warm)
    preparer.submit(session)  # submitted later, made first
    preparer.start()
    posted.until(lambda m: bool(posted.done(session)), "the session job's JobDone")
    until_idle(preparer)
    assert log == [("row", "three"), ("row", "two"), ("row", "one"), ("row", "row"),
                   ("legs", "squat"), ("legs", "lunge")]
    assert posted.ready(session) == ["three", "two", "one", "row"]
    assert posted.done(session) == [JobDone(session.id)]
    assert posted.ready(warm) == [] and posted.done(warm) == [], "a warm job posts nothing"
    clips = [m for m in posted.messages if isinstance(m, ClipReady)]
    assert all(m.samples.dtype == np.float32 and m.samples.size and not m.cached for m in clips)
    # The same texts again come from the cache (what warming ahead is for).
    again = ClipJob("row", timeline, ["three", "two"], "session")
    preparer.submit(again)
    posted.until(lambda m: bool(posted.done(again)), "the second job's JobDone")
    assert [m.cached for m in posted.messages if isinstance(m, ClipReady) and m.job_id == again.id] \
        == [True, True]


def test_warm_jobs_wait_while_a_session_is_active(
        preparer: ClipPreparer, posted: Posted, timeline: Timeline) -> None:
    log = made(preparer)
    preparer.set_busy(True)
    preparer.submit(ClipJob("legs", timeline, ["squat"], "warm"))
    preparer.start()
    session = ClipJob("row", timeline, ["row"], "session")
    preparer.submit(session)  # a busy worker still makes the session's own clips
    posted.until(lambda m: bool(posted.done(session)), "the session job's JobDone")
    time.sleep(0.2)  # long enough for a worker that ignored "busy" to have begun the warm job
    assert log == [("row", "row")] and preparer.pending() == 1
    preparer.set_busy(False)
    until_idle(preparer)
    assert log == [("row", "row"), ("legs", "squat")]


def test_a_sessions_remedies_are_made_ahead_after_its_own_clips_while_warm_jobs_wait(
        preparer: ClipPreparer, posted: Posted, timeline: Timeline) -> None:
    log = made(preparer)
    planned_on: list[str] = []

    def plan() -> list[str]:  # its texts are found by the worker, before its first clip
        planned_on.append(threading.current_thread().name)
        return ["feel was two", "slower"]

    preparer.set_busy(True)
    preparer.submit(ClipJob("legs", timeline, ["squat"], "warm"))
    ahead = ClipJob("row", timeline, [], "ahead", plan=plan)
    preparer.submit(ahead)
    session = ClipJob("row", timeline, ["three", "row"], "session")
    preparer.submit(session)  # submitted last, made first
    preparer.start()
    posted.until(lambda m: bool(posted.done(session)), "the session job's JobDone")
    deadline = time.monotonic() + 30
    while preparer.pending() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # long enough for a worker that ignored "busy" to have begun the warm job
    assert log == [("row", "three"), ("row", "row"), ("row", "feel was two"), ("row", "slower")]
    assert planned_on == ["coach-clips"] and ahead.texts == ["feel was two", "slower"]
    assert posted.ready(ahead) == [] and posted.done(ahead) == [], "made for the cache only"
    assert preparer.pending() == 1  # the warm job, waiting for the session to end
    preparer.set_busy(False)
    until_idle(preparer)
    assert log[-1] == ("legs", "squat")


def test_a_plan_that_fails_drops_its_job_with_a_warning(
        preparer: ClipPreparer, timeline: Timeline, caplog: pytest.LogCaptureFixture) -> None:
    def plan() -> list[str]:
        raise ValueError("no program")

    log = made(preparer)
    with caplog.at_level(logging.WARNING, logger="coach.daemon.clips"):
        preparer.submit(ClipJob("row", timeline, [], "ahead", plan=plan))
        preparer.start()
        until_idle(preparer)
    assert log == [] and caplog.messages == [
        "row: cannot find the clips to make ahead: no program"]


def test_a_newer_warm_job_of_the_same_program_replaces_a_waiting_one(
        preparer: ClipPreparer, timeline: Timeline) -> None:
    log = made(preparer)
    preparer.submit(ClipJob("row", timeline, ["old words"], "warm"))
    preparer.submit(ClipJob("legs", timeline, ["squat"], "warm"))
    preparer.submit(ClipJob("row", timeline, ["new words"], "warm"))
    assert preparer.pending() == 2
    preparer.start()
    until_idle(preparer)
    assert log == [("legs", "squat"), ("row", "new words")]


def test_a_cancelled_job_is_not_made_and_posts_nothing(
        preparer: ClipPreparer, posted: Posted, timeline: Timeline) -> None:
    log = made(preparer)
    cancelled = ClipJob("row", timeline, ["one", "two"], "session")
    kept = ClipJob("row", timeline, ["three"], "session")
    preparer.submit(cancelled)
    preparer.submit(kept)
    preparer.cancel(cancelled)
    assert cancelled.cancelled and preparer.pending() == 1
    preparer.start()
    posted.until(lambda m: bool(posted.done(kept)), "the kept job's JobDone")
    assert log == [("row", "three")]
    assert posted.ready(cancelled) == [] and posted.done(cancelled) == []


def test_a_failed_clip_ends_a_session_job_with_its_error_and_a_warm_job_with_a_warning(
        preparer: ClipPreparer, posted: Posted, timeline: Timeline,
        caplog: pytest.LogCaptureFixture) -> None:
    real = preparer._make

    def broken(job: ClipJob, text: str):  # type: ignore[no-untyped-def]
        if text == "broken":
            raise RuntimeError("the engine fell over")
        return real(job, text)

    preparer._make = broken  # type: ignore[method-assign]
    session = ClipJob("row", timeline, ["one", "broken", "two"], "session")
    warm = ClipJob("legs", timeline, ["broken", "squat"], "warm")
    preparer.submit(session)
    preparer.submit(warm)
    with caplog.at_level(logging.WARNING, logger="coach.daemon.clips"):
        preparer.start()
        posted.until(lambda m: bool(posted.done(session)), "the session job's JobDone")
        until_idle(preparer)
        deadline = time.monotonic() + 10  # the job leaves the list just before the warning
        while not caplog.messages and time.monotonic() < deadline:
            time.sleep(0.01)
    assert posted.ready(session) == ["one"], "nothing after the failed clip"
    assert posted.done(session) == [JobDone(session.id, "the engine fell over")]
    assert posted.done(warm) == []
    assert caplog.messages == ["legs: could not prepare the voice clips ahead: the engine fell over"]


def test_close_ends_an_idle_worker_at_once(preparer: ClipPreparer) -> None:
    preparer.start()
    worker = preparer._thread
    assert worker is not None and worker.is_alive()
    t0 = time.monotonic()
    preparer.close()
    assert not worker.is_alive() and time.monotonic() - t0 < 1.0


# --- the daemon's clips ahead ----------------------------------------------------------------


def test_clips_are_synthesized_ahead_of_any_start(tmp_path: Path, espeak: None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    cold = tmp_path / "cache"  # a clip cache of its own, empty
    rig = Rig(tmp_path, warm=True, cache_dir=cold)
    (rig.programs / "row.yaml").write_text(ROW_DAY.format(name="Row day"))
    with caplog.at_level(logging.DEBUG, logger="coach.daemon.clips"), rig:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "row: voice clips ready" not in caplog.messages:
            time.sleep(0.05)
        assert "row: voice clips ready" in caplog.messages
        assert rig.status()["state"] == "idle"
    _, tl = load(rig.programs / "row.yaml")
    texts = {c.text for c in tl.cues if c.kind == "speech"}
    assert len(list(cold.rglob("*.npy"))) >= len(texts)  # every spoken text, before a start
