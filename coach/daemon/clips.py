"""Clip preparation: one worker thread makes every clip the daemon will need.

A starting session's clips come first, in the order they are heard; then, while it plays, the
clips its remedies could need (an ``ahead`` job: a low feel's words, in the cache before a feel
can bring them); every loaded program's clips are made ahead at idle (so a scheduled or button
start plays at once), never while a session is active. The worker posts each finished clip of
a session's job to the session thread and shares no other state with it:
``submit``/``cancel``/``set_busy`` only touch the job list under a lock held for a few
instructions, and no synthesis ever happens under it. The worker waits on a condition, without
polling: an idle daemon spends no CPU here (the old warm loop spun a whole core once a program
was added mid-session: 10.0 CPU-seconds in 10 s). A speech engine is loaded only while there
are clips to make: the worker releases it before it waits (a Piper model held 180 MB in an
idle daemon for good), so a batch of clips loads it once.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from coach.core.timeline import Timeline

log = logging.getLogger(__name__)


def release_engines() -> None:
    """Unload the speech engines that hold much (Piper's model, in its own process): the next
    clip loads it again. espeak-ng stays (~10 MB, and pyttsx3 cannot be torn down cleanly)."""
    from coach.audio.voice import release_piper
    if release_piper():
        log.debug("clip worker idle: speech engine released")

Priority = Literal["session", "ahead", "warm"]  # picked in this order
# Synthesis runs at the lowest priority, below the feeder and the audio callback: on a Pi,
# Piper on every core would otherwise compete with the thread that keeps the stream fed.
# Threads a model load starts (onnxruntime's pool) inherit this niceness from the worker.
WORKER_NICE = 19
VOICES_KEPT = 2  # loaded voices kept for reuse (a Piper model takes ~0.6 s to load)


@dataclass
class ClipJob:
    """The clips of one timeline, to make in ``texts`` order. Made and read by the session
    thread; the worker reads ``texts`` and writes nothing here but ``_next`` and, for a job
    with a ``plan`` (its texts found by the worker, not the session thread: a remedy's
    cases are a few compiles each), ``texts`` and ``plan`` once, before its first clip."""

    name: str
    timeline: Timeline
    texts: list[str]
    priority: Priority
    plan: Callable[[], list[str]] | None = None
    id: int = field(default_factory=itertools.count(1).__next__)
    _next: int = 0  # the worker's place in ``texts``
    cancelled: bool = False


@dataclass(frozen=True)
class ClipReady:
    """Posted by the worker: one clip of a job, and what it cost (0 when it came from the cache)."""

    job_id: int
    text: str
    samples: np.ndarray
    seconds: float
    cached: bool


@dataclass(frozen=True)
class JobDone:
    """Posted by the worker when a job's last clip is made, or when it failed."""

    job_id: int
    error: str | None = None


Post = Callable[[ClipReady | JobDone], None]


class ClipPreparer:
    """The worker. ``post`` delivers its messages to the session thread (a queue put)."""

    def __init__(self, post: Post, rate: int = 48000, cache_dir: Path | None = None) -> None:
        self.post = post
        self.rate = rate
        self.cache_dir = cache_dir
        self._cond = threading.Condition()
        self._jobs: list[ClipJob] = []
        self._busy = False  # a session is active: warm jobs wait
        self._closing = False
        self._thread: threading.Thread | None = None
        self._voices: OrderedDict[tuple, object] = OrderedDict()

    # --- called from the session thread: never waits on synthesis ---------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="coach-clips", daemon=True)
        self._thread.start()

    def submit(self, job: ClipJob) -> None:
        with self._cond:
            if job.priority == "warm":
                # A newer version of the same program replaces a waiting one.
                self._jobs = [j for j in self._jobs
                              if not (j.priority == "warm" and j.name == job.name)]
            self._jobs.append(job)
            self._cond.notify()

    def cancel(self, *jobs: ClipJob | None) -> None:
        with self._cond:
            for job in jobs:
                if job is not None:
                    job.cancelled = True
                    if job in self._jobs:
                        self._jobs.remove(job)

    def set_busy(self, busy: bool) -> None:
        """While a session is active, only its own clips are made."""
        with self._cond:
            self._busy = busy
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._jobs)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the worker ----------------------------------------------------------------------

    def _pick(self) -> ClipJob | None:
        """Under the lock: the session's job first, then its remedies' made ahead; a warm job
        only when no session is active."""
        for priority in ("session", "ahead"):
            for j in self._jobs:
                if j.priority == priority:
                    return j
        if not self._busy:
            return self._jobs[0] if self._jobs else None
        return None

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
        except OSError as e:  # not permitted in some containers: synthesis still works
            log.debug("clip worker keeps its priority: %s", e)
        while True:
            with self._cond:
                idle = self._pick() is None and not self._closing
            if idle:
                release_engines()  # outside the lock: ending a child process takes a moment
            with self._cond:
                job = self._pick()
                while job is None and not self._closing:
                    self._cond.wait()
                    job = self._pick()
                if self._closing:
                    return
                assert job is not None
                plan, job.plan = job.plan, None
                done = plan is None and job._next >= len(job.texts)
                if done:
                    self._jobs.remove(job)
                elif plan is None:
                    text = job.texts[job._next]
            if plan is not None:
                self._plan(job, plan)
                continue
            if done:
                if job.priority == "session":
                    self.post(JobDone(job.id))
                elif job.priority == "ahead":
                    log.info("%s: %d clips its remedies could need are made ahead", job.name,
                             len(job.texts))
                else:
                    log.debug("%s: voice clips ready", job.name)
                continue
            try:
                samples, seconds, cached = self._make(job, text)
            except Exception as e:  # a start says it where someone sees it; a warm job logs
                with self._cond:
                    if job in self._jobs:
                        self._jobs.remove(job)
                if job.priority == "session" and not job.cancelled:
                    self.post(JobDone(job.id, str(e) or type(e).__name__))
                else:
                    log.warning("%s: could not prepare the voice clips ahead: %s", job.name, e)
                continue
            with self._cond:
                job._next += 1
                cancelled = job.cancelled
            if job.priority == "session" and not cancelled:
                self.post(ClipReady(job.id, text, samples, seconds, cached))

    def _plan(self, job: ClipJob, plan: Callable[[], list[str]]) -> None:
        """A job's texts, found outside the lock (a failure drops the job, said once)."""
        try:
            texts = plan()
        except Exception as e:
            log.warning("%s: cannot find the clips to make ahead: %s", job.name, e)
            with self._cond:
                if job in self._jobs:
                    self._jobs.remove(job)
            return
        with self._cond:
            job.texts = texts

    def _voice(self, timeline: Timeline) -> object:
        from coach.audio.voice import Voice
        key = (timeline.voice, timeline.language)
        voice = self._voices.get(key)
        if voice is None:
            voice = Voice(timeline.voice, timeline.language, self.rate, self.cache_dir)
            self._voices[key] = voice
            while len(self._voices) > VOICES_KEPT:
                self._voices.popitem(last=False)
        self._voices.move_to_end(key)
        return voice

    def _make(self, job: ClipJob, text: str) -> tuple[np.ndarray, float, bool]:
        voice = self._voice(job.timeline)
        before = voice.stats["synthesized"]  # type: ignore[attr-defined]
        t0 = time.monotonic()
        clip = voice.prepare([text])[text]  # type: ignore[attr-defined]
        seconds = time.monotonic() - t0
        cached = voice.stats["synthesized"] == before  # type: ignore[attr-defined]
        if not cached:
            log.debug("synthesized %r in %.3f s", text[:40], seconds)
        # The voice keeps a copy per text; a long-running daemon must not keep every program's.
        voice._memory.clear()  # type: ignore[attr-defined]
        return clip.samples, seconds, cached
