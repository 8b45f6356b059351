"""The mic windows (config `listen:`): the session thread opens one after a rating question has
been spoken (``follow``), and a command window on `coach listen` or a held key (push-to-talk);
the listening thread captures, hears and posts each answer to the session thread as a typed
request (``Rate``, ``Pause``, ``HowLong``...), as the keys post theirs. A spoken "stop" is asked
back (``AskStop``) and posts ``Stop`` only on a "yes" heard within CONFIRM_S. The listening
thread never touches session state: it sees only the windows it is handed and the replies."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from coach.audio.listen.recognizer import RATE, Heard, Recognizer
from coach.core.timeline import Phase
from coach.core.types import Question, Side
from coach.daemon.rating import QUESTION_TAIL_MS
from coach.protocol.messages import (
    AskStop,
    Back,
    Extend,
    Failed,
    HowLong,
    NotNow,
    OneToFive,
    Pause,
    Rate,
    Repeat,
    Reply,
    Request,
    Resume,
    SayAgain,
    Skip,
    Stop,
)

log = logging.getLogger(__name__)

LISTEN_S = 6.0  # the mic stays open this long after the question (the answer phase is 8 s)
JOIN_S = 3.0
# An answer window opens on the session thread's next tick (0.1 s) after its question was heard,
# and hears from parec's first chunk (0.11-0.12 s after it starts, from a source that delivers
# audio; a null sink nothing plays into delivers it in blocks of up to 2 s): the music is kept
# down this much longer.
OPENS_LATE_S = 0.5

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


# What a spoken command posts ("stop" asks first; "yes" alone confirms nothing).
COMMAND_REQUESTS: dict[str, Callable[[], Request]] = {
    "pause": Pause, "resume": Resume, "skip": Skip, "back": Back, "extend": Extend,
    "repeat": Repeat, "how long": HowLong}
COMMAND_S = 4.0
# After "stop the session?" (1.0-1.4 s in espeak-ng's and Piper's voices), not listened to: the
# mic would hear the question; then "yes" is waited for this long. A word from the grammar's
# fillers ("what time is it" was heard as "stop" in 2 of 4 espeak-ng voices) costs a question,
# never the session.
CONFIRM_MUTE_S = 1.5
CONFIRM_S = 4.0
# A command window that heard speech but no command asks "say again?" (0.6-0.9 s in espeak-ng's
# voices; not listened to, as "stop the session?") and listens once more for COMMAND_S.
SAY_AGAIN_MUTE_S = 1.2
# "one to five?" (0.8-1.2 s in espeak-ng's voices) is asked only with this much of a rating
# window left: its words, their tail (OWN_WORDS_TAIL_S), and time for a number.
ONE_TO_FIVE_LEFT_S = 2.5
# The coach's own words said while a window is open are not listened to until this long after
# their last sample is handed to the output: its latency (0.2 s through PulseAudio, DESIGN.md
# "Ducking") and a tick.
OWN_WORDS_TAIL_S = 0.4
# While the source is missing, the listening thread looks for it this often (one `pactl list
# short sources`, ~10 ms), so that status's problem goes when the headset is back, not at the
# next window that happens to open.
RECHECK_S = 15.0


def window_of(phase: Phase | None) -> Window | None:
    if phase is None or phase.phase != "answer" or phase.question is None:
        return None
    return Window(phase.exercise_index, phase.set, phase.side, phase.question)


def listen_ms(listener: Listener | None) -> int:
    """How long the music is kept down after each rating question's last sample (ms; 0: the
    daemon does not listen): while its mic window is open (duckplan.plan's ``listen_ms``)."""
    if listener is None:
        return 0
    return QUESTION_TAIL_MS + round((listener.seconds + OPENS_LATE_S) * 1000)


def _sphinx() -> Recognizer:
    from coach.audio.listen.engines import recognizer  # an engine's module only with listen:
    return recognizer("pocketsphinx")


class Listener:
    """``start``/``close`` like the keys; ``follow`` and ``listening`` for the session thread."""

    def __init__(self, source: str, recognizer: Callable[[], Recognizer] = _sphinx,
                 env: dict[str, str] | None = None, seconds: float = LISTEN_S) -> None:
        self.source = source
        self.env = env
        self.seconds = seconds
        self._recognizer = recognizer
        self._loaded: Recognizer | None = None
        self._windows: queue.SimpleQueue[Window | CommandWindow | None] = queue.SimpleQueue()
        # A rating window ends with its answer phase, or when a command window is asked for
        # (the lifter chose to say a command: a command window is never queued behind one).
        self._stop_rating = threading.Event()
        self._closing = threading.Event()
        self._open = threading.Event()
        # the open window whose audio has begun to come (parec takes tenths of a second)
        self._hearing: Window | CommandWindow | None = None
        self._last: Window | None = None  # the session thread's: the last window handed over
        self._handler: Handler | None = None
        self._thread: threading.Thread | None = None
        self._problem: str | None = None  # the last capture problem logged (logged once)
        self._quiet_told = False  # a quiet mic is told once a daemon run: the log, not a flood
        # windows whose audio has begun to come (the listening thread's count; read by tests,
        # which must not speak before a window hears: parec takes tenths of a second to start)
        self.captured = 0
        # Command windows asked for (the session thread's count) and ended (the listening
        # thread's): the music is kept down from the ask to the end, parec's start included.
        self._commands_asked = 0
        self._commands_ended = 0
        # Until when (time.monotonic) the coach's own words are heard: set by the session thread
        # as it says them (``coach_says``), read by the listening thread (a float: one store).
        self._own_words_until = 0.0

    @property
    def listening(self) -> bool:
        return self._open.is_set()

    @property
    def hearing(self) -> Window | CommandWindow | None:
        """The open window whose audio has begun to come (parec takes tenths of a second)."""
        return self._hearing

    @property
    def command_pending(self) -> bool:
        """A command window is asked for or open (its "stop?" and "yes" too)."""
        return self._commands_ended < self._commands_asked

    # --- the session thread -----------------------------------------------------------------

    def follow(self, phase: Phase | None, playing: bool) -> None:
        """Each tick: the phase playing (``playing``: the output plays the timeline, not a
        pause). An answer phase opens one window; the window closes when its phase ends."""
        w = window_of(phase)
        if w is None:
            if self._last is not None:
                self._stop_rating.set()
                self._last = None
            return
        if w != self._last and playing:
            self._last = w
            self._stop_rating.clear()
            # Words said before played out before this phase could (the timeline holds while
            # an insert plays); a fake output that plays faster than the clock gets here first.
            self._own_words_until = 0.0
            self._windows.put(w)

    def coach_says(self, seconds: float) -> None:
        """The coach says words lasting ``seconds`` from now (an insert: a tap's read-back,
        "30 more seconds", "how long"): an open window does not listen to speech that starts
        before they have been heard, so that it never rates the coach's own words. The mic
        decoded them before: with coach's output in the room the mic hears, Moonshine wrote down
        "Twenty-five seconds left." and "How well did you feel it?" (`coach how-long` and
        `coach repeat` in an answer window; both taken for no answer, by the margin of their
        other words; a lifter's play-through, session 14)."""
        self._own_words_until = max(self._own_words_until,
                                    time.monotonic() + seconds + OWN_WORDS_TAIL_S)

    @property
    def own_words_until(self) -> float:
        return self._own_words_until

    def command_window(self) -> None:
        """`coach listen` or a held key: a window for one spoken command, now (a rating window
        open now ends: taps and `coach rate` still rate that set)."""
        self._stop_rating.set()
        self._commands_asked += 1
        self._windows.put(CommandWindow())

    # --- lifecycle ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load the recogniser (PocketSphinx's model and grammars: 0.6 CPU-s on x86), the gate
        (Silero VAD) and the capture's modules now: the daemon does it before its socket
        answers, so that no session plays meanwhile. Loading holds the GIL; done at a session's
        first window it starved the player (3 underflows, every later cue 250-700 ms late), and
        done by the listening thread as the daemon started, it overlapped a session started at
        once (the same, in 3 of 7 runs of tests/e2e/test_listen_daemon.py)."""
        if self._loaded is None:
            self._loaded = self._recognizer()
            import coach.audio.listen.capture  # noqa: F401  (soxr)
            from coach.audio.listen import vad
            vad.Gate()  # Silero's module and model: the first window's gate then loads from cache

    def start(self, handler: Handler) -> None:
        self._handler = handler
        self._thread = threading.Thread(target=self._run, name="coach-listen", daemon=True)
        self._thread.start()
        log.info("listen: spoken ratings from %s after each rating question", self.source)

    def close(self) -> None:
        self._closing.set()
        self._windows.put(None)
        if self._thread is not None:
            self._thread.join(JOIN_S)

    # --- the listening thread -------------------------------------------------------------

    def problem(self) -> str | None:
        """The mic's problem (status's `problems`): its source missing, or no sound server;
        None when the last look at it found it."""
        return self._problem

    def _look(self) -> None:
        """Whether the source is there (at the start, and every RECHECK_S while it is not)."""
        from coach.audio.listen.capture import NoSource, source_format
        try:
            source_format(self.source, self.env)
        except NoSource as e:
            self._say_problem(f"listen: {e}; ratings by taps and `coach rate` still work")
            return
        if self._problem is not None:
            log.info("listen: source %s is there again", self.source)
            self._problem = None

    def _run(self) -> None:
        self.load()  # done already by the daemon (run_daemon); here for a Listener started alone
        recognizer = self._loaded
        assert recognizer is not None
        self._look()
        while not self._closing.is_set():
            try:
                w = self._windows.get(timeout=RECHECK_S if self._problem else None)
            except queue.Empty:
                self._look()
                continue
            if w is None or self._closing.is_set():
                break
            if isinstance(w, Window) and self._stop_rating.is_set():
                continue  # its phase ended (or a command was asked for) before it could open
            try:
                self._listen(w, recognizer)
            except Exception as e:  # a bug costs one window, never the thread
                log.exception("listen: window failed: %s", e)
            finally:
                if isinstance(w, CommandWindow):
                    self._commands_ended += 1

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
        command = isinstance(w, CommandWindow)
        kept: list[np.ndarray] = []  # a rating window's audio, measured if its speech went unheard

        def timed() -> Iterator[np.ndarray]:
            for chunk in cap.chunks():
                if not first:
                    first.append(time.monotonic() - chunk.size / RATE)
                    self.captured += 1
                    self._hearing = w
                if not command:
                    kept.append(chunk)
                yield chunk

        def closed() -> bool:
            return self._closing.is_set() or (not command and self._stop_rating.is_set())

        def own_words_to() -> float:
            return self._own_words_until - first[0] if first else 0.0

        unheard = [0]  # stretches of speech decoded as no answer

        def no_answer() -> None:
            unheard[0] += 1

        asked: list[str] = []  # "one to five?", once a window

        def off_scale(heard: Heard) -> None:
            # "six", "zero": an answer off the scale, so said back as a question, not met with
            # silence (the lifter waited for a read-back); the window goes on listening
            if asked:
                log.info("listen: heard %r: off the scale; asked already", heard.text)
                return
            if not first or self.seconds - (time.monotonic() - first[0]) < ONE_TO_FIVE_LEFT_S:
                log.info("listen: heard %r: off the scale; no time left to ask", heard.text)
                return
            assert self._handler is not None
            reply = self._handler(OneToFive())
            asked.append(heard.text)
            log.info("listen: heard %r %.2f s after its end: off the scale; %s", heard.text,
                     time.monotonic() - first[0] - heard.end_s,
                     reply.error if isinstance(reply, Failed) else "asked 'one to five?'")

        try:
            for heard in answers(timed(), recognizer, "command" if command else "rating",
                                 COMMAND_S if command else self.seconds, closed, own_words_to,
                                 no_answer, off_scale):
                assert self._handler is not None
                ended = first[0] + heard.end_s
                if isinstance(w, CommandWindow):
                    done = self._command(heard)
                else:
                    assert heard.rating is not None
                    reply = self._handler(Rate(heard.rating, w.question, heard.text,
                                                    round(heard.confidence, 3)))
                    done = (reply.error if isinstance(reply, Failed)
                            else f"rated {heard.rating}")
                log.info("listen: heard %r (confidence %.2f) %.2f s after its end: %s",
                         heard.text, heard.confidence, time.monotonic() - ended, done)
                if command:
                    if heard.command == "stop":
                        self._confirm_stop(timed(), recognizer)
                    break
            else:
                if command and unheard[0] and not self._closing.is_set():
                    self._say_again(timed(), recognizer)
                elif not command and unheard[0] and not self._quiet_told:
                    self._tell_if_quiet(kept)
            self._problem = None
        except NoSource as e:
            self._say_problem(f"listen: {e}; ratings by taps and `coach rate` still work")
        finally:
            cap.close()
            self._hearing = None
            self._open.clear()

    def _tell_if_quiet(self, kept: list[np.ndarray]) -> None:
        """A rating window heard speech and no answer in it: if all of it was quiet, say once
        in the log that the mic may be why (a mic turned low loses answers: `coach mic`)."""
        from coach.audio.listen.check import QUIET_VOICE_DBFS, quiet_voice
        level = quiet_voice(np.concatenate(kept)) if kept else None
        if level is not None:
            self._quiet_told = True
            log.warning("listen: speech reached the mic at %.0f dBFS and was no answer; under "
                        "%.0f dBFS answers are often lost: `coach mic` checks the mic and says "
                        "how to turn it up", level, QUIET_VOICE_DBFS)

    def _command(self, heard: Heard) -> str:
        """Post what a spoken command asks; what came of it, for the log."""
        assert self._handler is not None
        if heard.command == "stop":
            reply = self._handler(AskStop())
            return (f"asked (not said: {reply.error})" if isinstance(reply, Failed)
                    else "asked") + f"; waiting {CONFIRM_S:g} s for yes"
        make = COMMAND_REQUESTS.get(heard.command or "")
        if make is None:
            return "nothing to confirm"  # a "yes" with no question asked
        reply = self._handler(make())
        if not isinstance(reply, Failed):
            return "done"
        # Said, so that a lifter who asked hands-free hears that coach heard and said no (the
        # log's line says why); silence left them asking again or wondering (session 14).
        said = self._handler(NotNow())
        return reply.error + ("" if isinstance(said, Failed) else "; said 'not now'")

    def _say_again(self, chunks: Iterator[np.ndarray], recognizer: Recognizer) -> None:
        """A command window heard speech and no command in it: "say again?", then one more
        listen (PocketSphinx hears 0.85 of commands in a quiet room: espeak-ng's "skip" was
        "good", a filler, and the lifter heard nothing and could not tell why; session 14)."""
        from coach.audio.listen.window import answers
        assert self._handler is not None

        def closed() -> bool:  # a window waiting (an answer phase began, a key held) goes first
            return self._closing.is_set() or not self._windows.empty()

        if closed() or isinstance(self._handler(SayAgain()), Failed):
            return
        log.info("listen: heard no command: asked 'say again?'")
        for heard in answers(_after(chunks, SAY_AGAIN_MUTE_S), recognizer, "command",
                             COMMAND_S, closed):
            log.info("listen: heard %r (confidence %.2f) after 'say again?': %s", heard.text,
                     heard.confidence, self._command(heard))
            if heard.command == "stop":
                self._confirm_stop(chunks, recognizer)
            return

    def _confirm_stop(self, chunks: Iterator[np.ndarray], recognizer: Recognizer) -> None:
        """The rest of a "stop" window: ``Stop`` on a "yes"; anything else or nothing cancels."""
        from coach.audio.listen.window import answers
        assert self._handler is not None
        for heard in answers(_after(chunks, CONFIRM_MUTE_S), recognizer, "command", CONFIRM_S,
                             self._closing.is_set):
            if heard.command == "yes":
                reply = self._handler(Stop())
                log.info("listen: heard 'yes': %s", reply.error if isinstance(reply, Failed)
                         else "stopped")
            else:
                log.info("listen: heard %r, not yes: the session goes on", heard.text)
            return
        log.info("listen: no yes within %g s: the session goes on", CONFIRM_S)

    def _say_problem(self, line: str) -> None:
        if line != self._problem:
            log.warning("%s", line)
            self._problem = line


def _after(chunks: Iterator[np.ndarray], seconds: float) -> Iterator[np.ndarray]:
    """``chunks`` less their first ``seconds`` (the coach's question, not listened to)."""
    muted = int(seconds * RATE)
    for chunk in chunks:
        if muted >= chunk.size:
            muted -= chunk.size
            continue
        yield chunk[muted:]
        muted = 0
