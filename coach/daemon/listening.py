"""The mic windows (config `listen:`): the session thread opens one after a rating question has
been spoken (``follow``); the listening thread captures, hears and posts each answer to the
session thread as a typed ``Rate`` request, as the keys post theirs. The listening thread never
touches session state: it sees only the windows it is handed and the replies it gets."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from coach.audio.listen.recognizer import RATE, Recognizer
from coach.core.timeline import Phase
from coach.core.types import Question, Side
from coach.protocol.messages import (
    Back,
    Extend,
    Failed,
    Pause,
    Rate,
    Reply,
    Request,
    Resume,
    Skip,
)

log = logging.getLogger(__name__)

LISTEN_S = 6.0  # the mic stays open this long after the question (the answer phase is 8 s)
JOIN_S = 3.0

Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Window:
    """One answer phase's mic window: which question of which set (and side) it answers."""

    exercise_index: int
    set: int
    side: Side | None
    question: Question


@dataclass(frozen=True)
class CommandWindow:
    """A window for one spoken command (`coach listen`), closed by the first one heard."""


# What a spoken command posts; the others ("repeat", "how long", "stop" and its "yes") are not
# built yet and are logged as such.
COMMAND_REQUESTS: dict[str, Callable[[], Request]] = {
    "pause": Pause, "resume": Resume, "skip": Skip, "back": Back, "extend": Extend}
COMMAND_S = 4.0


def window_of(phase: Phase | None) -> Window | None:
    if phase is None or phase.phase != "answer" or phase.question is None:
        return None
    return Window(phase.exercise_index, phase.set, phase.side, phase.question)


def _sphinx() -> Recognizer:
    from coach.audio.listen.sphinx import SphinxRecognizer  # pocketsphinx only with listen:
    return SphinxRecognizer()


class Listener:
    """``start``/``close`` like the keys; ``follow`` and ``listening`` for the session thread."""

    def __init__(self, source: str, recognizer: Callable[[], Recognizer] = _sphinx,
                 env: dict[str, str] | None = None, seconds: float = LISTEN_S) -> None:
        self.source = source
        self.env = env
        self.seconds = seconds
        self._recognizer = recognizer
        self._windows: queue.SimpleQueue[Window | CommandWindow | None] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._open = threading.Event()
        self._last: Window | None = None  # the session thread's: the last window handed over
        self._handler: Handler | None = None
        self._thread: threading.Thread | None = None
        self._problem: str | None = None  # the last capture problem logged (logged once)

    @property
    def listening(self) -> bool:
        return self._open.is_set()

    # --- the session thread -----------------------------------------------------------------

    def follow(self, phase: Phase | None, playing: bool) -> None:
        """Each tick: the phase playing (``playing``: the output plays the timeline, not a
        pause). An answer phase opens one window; the window closes when its phase ends."""
        w = window_of(phase)
        if w is None:
            if self._last is not None:
                self._cancel.set()
                self._last = None
            return
        if w != self._last and playing:
            self._last = w
            self._cancel.clear()
            self._windows.put(w)

    def command_window(self) -> None:
        """`coach listen`: a window for one spoken command, now."""
        self._cancel.clear()
        self._windows.put(CommandWindow())

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, handler: Handler) -> None:
        self._handler = handler
        self._thread = threading.Thread(target=self._run, name="coach-listen", daemon=True)
        self._thread.start()
        log.info("listen: spoken ratings from %s after each rating question", self.source)

    def close(self) -> None:
        self._cancel.set()
        self._windows.put(None)
        if self._thread is not None:
            self._thread.join(JOIN_S)

    # --- the listening thread -------------------------------------------------------------

    def _run(self) -> None:
        recognizer: Recognizer | None = None
        while (w := self._windows.get()) is not None:
            if self._cancel.is_set():
                continue  # its phase ended before the window could open
            if recognizer is None:
                recognizer = self._recognizer()
            try:
                self._listen(w, recognizer)
            except Exception as e:  # a bug costs one window, never the thread
                log.exception("listen: window failed: %s", e)

    def _listen(self, w: Window | CommandWindow, recognizer: Recognizer) -> None:
        from coach.audio.listen.capture import Capture, NoSource
        from coach.audio.listen.window import answers
        try:
            cap = Capture(self.source, self.env)
        except NoSource as e:
            self._say_problem(f"listen: {e}; ratings by taps and `coach rate` still work")
            return
        self._open.set()
        first: list[float] = []  # when the first audio came (parec takes tenths of a second)

        def timed() -> Iterator[np.ndarray]:
            for chunk in cap.chunks():
                if not first:
                    first.append(time.monotonic() - chunk.size / RATE)
                yield chunk

        try:
            command = isinstance(w, CommandWindow)
            for heard in answers(timed(), recognizer, "command" if command else "rating",
                                 COMMAND_S if command else self.seconds, self._cancel.is_set):
                assert self._handler is not None
                ended = first[0] + heard.end_s
                if isinstance(w, CommandWindow):
                    make = COMMAND_REQUESTS.get(heard.command or "")
                    reply = self._handler(make()) if make is not None else None
                    done = ("not built yet" if reply is None else reply.error
                            if isinstance(reply, Failed) else "done")
                else:
                    assert heard.rating is not None
                    reply = self._handler(Rate(heard.rating, w.question, spoken=True))
                    done = (reply.error if isinstance(reply, Failed)
                            else f"rated {heard.rating}")
                log.info("listen: heard %r (confidence %.2f) %.2f s after its end: %s",
                         heard.text, heard.confidence, time.monotonic() - ended, done)
                if command:
                    break
            self._problem = None
        except NoSource as e:
            self._say_problem(f"listen: {e}; ratings by taps and `coach rate` still work")
        finally:
            cap.close()
            self._open.clear()

    def _say_problem(self, line: str) -> None:
        if line != self._problem:
            log.warning("%s", line)
            self._problem = line
