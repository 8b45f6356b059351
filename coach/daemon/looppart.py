"""A daemon part that serves on an asyncio loop of its own thread (MPRIS on D-Bus, the phone
page over HTTP): start, close and readiness written once. The part's requests reach the session
thread as typed commands through its handler, like every other input's."""

from __future__ import annotations

import asyncio
import logging
import threading

JOIN_S = 5.0  # close() waits this long for the thread


class LoopPart:
    """``_start_loop()`` makes the loop and its stop event on the caller's thread (so that a
    ``close()`` right after ``start()`` still reaches them) and runs ``_main()`` on a thread
    named ``thread_name``; ``_close_loop()`` sets the stop event and joins. ``ready`` is set
    once it is known whether the part is on, ``active`` says whether it is."""

    thread_name = "coach-loop"
    label = "loop"  # how the log names the part
    failed = "the part failed; it is off (the daemon plays on)"  # logged if _main() raises

    def __init__(self, log: logging.Logger) -> None:
        self.active = False
        self.ready = threading.Event()
        self._log = log
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def _main(self) -> None:
        raise NotImplementedError

    def _start_loop(self) -> None:
        self.ready.clear()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, args=(self._loop,),
                                        name=self.thread_name, daemon=True)
        self._thread.start()

    def _close_loop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop already ended
                pass
        if self._thread is not None:
            self._thread.join(JOIN_S)
            if self._thread.is_alive():
                self._log.warning("%s: thread did not stop within %.0f s", self.label, JOIN_S)
            self._thread = None

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Whether the part is on (after waiting until that is known)."""
        self.ready.wait(timeout)
        return self.active

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except Exception:
            self._log.exception("%s: %s", self.label, self.failed)
        finally:
            self.active = False
            try:
                left = asyncio.all_tasks(loop)  # requests or connections still in flight
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self.ready.set()
