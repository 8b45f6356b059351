"""What the lifter asks aloud in a command window (or a remote on the socket): "repeat" (the last
cue again), "how long" (the time left, spoken), "stop" (asked back: "stop the session?"),
"extend" (the rest 30 s longer) and "back" (to a side's count-in said again); the last two also
a key's, the page's and Home Assistant's.
Each is said at once as an insert from the session's clips, the timeline holding meanwhile (as
a rating's read-back): a planned cue never moves off its sample. In a paused session the words
are said into the pause, which goes on after them. Called on the session thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from coach.audio.pipeline import spoken_insert
from coach.core.navigation import (
    EXTEND_MS,
    EXTEND_WHERE,
    MAX_EXTEND_MS,
    Spoken,
    back_side,
    can_extend,
    extend_words,
    extended_rest,
    last_cue,
    not_now_words,
    one_to_five_words,
    say_again_words,
    side_again_words,
    stop_words,
    time_left_ms,
    time_left_words,
)
from coach.core.timeline import locate
from coach.daemon.running import Session
from coach.daemon.session import SessionController
from coach.daemon.status import Extension
from coach.protocol.messages import (
    AskStop,
    Back,
    Extend,
    Failed,
    HowLong,
    NotNow,
    OneToFive,
    Repeat,
    Request,
    SayAgain,
    Status,
)

log = logging.getLogger(__name__)

NOT_PLAYING = "said only while the session plays or is paused"
# Words said into a pause keep the music down this long after their last sample is handed over:
# the output's latency (0.2 s through PulseAudio, docs/DESIGN.md "Ducking") and a tick.
SAID_TAIL_S = 0.4


def _need(c: SessionController) -> Session:
    if c.session is None:
        raise LookupError("no session is running")  # the daemon's answer to it
    return c.session


def repeat(c: SessionController) -> Status | Failed:
    """The last cue that says something (not a count), again."""
    s = _need(c)
    text = last_cue(s.resolved.timeline, c.position_ms())
    if text is None:
        return Failed("nothing said yet to repeat")
    return _say(c, Spoken(((text, "end", 0),)))


def time_left(c: SessionController) -> Status | Failed:
    """"40 seconds left": the set's (side's) work, the hold or the rest playing, an extended
    rest's extra time included."""
    s = _need(c)
    pos = c.position_ms()
    left = time_left_ms(s.resolved.timeline, pos)
    if left is None:
        return Failed("no set, hold or rest is playing")
    extra = c.status().extended or 0.0
    return _say(c, time_left_words(s.resolved.timeline, left + round(extra * 1000),
                                   s.resolved.program.words))


def ask_stop(c: SessionController) -> Status | Failed:
    """"Stop the session?": the mic then waits for "yes" (coach/daemon/listening.py)."""
    s = _need(c)
    return _say(c, stop_words(s.resolved.timeline, s.resolved.program.words))


def extend(c: SessionController) -> Status | Failed:
    """"30 more seconds": the rest playing (its answer phase, a side switch) held 30 s longer,
    at most MAX_EXTEND_MS in all."""
    s = _need(c)
    if s.lost_at_ms is not None:
        return c.status()
    pos = c.position_ms()
    if not s.playing or not can_extend(s.resolved.timeline, pos):
        return Failed(EXTEND_WHERE)
    assert s.output is not None
    rest = extended_rest(s.resolved.timeline, pos)
    done = s.extended[1] if s.extended[0] == rest else 0
    if done + EXTEND_MS > MAX_EXTEND_MS:
        return Failed(f"this rest is already {done // 60_000} min longer: a rest is "
                      f"extended by at most {MAX_EXTEND_MS // 60_000} min")
    s.extended = (rest, done + EXTEND_MS)
    words = extend_words(s.resolved.timeline, s.resolved.program.words)
    insert = spoken_insert(words, s.clips, s.resolved.timeline, c.rate, min_ms=EXTEND_MS)
    # Before the pause: a paused Player reports the frame it handed out last, ahead of
    # the one heard, and the heard one again until the resume reaches the callback.
    pos, before = c.position_ms(), s.output.insert_position
    if s.output.state != "paused":
        s.output.pause()
    c.say(s, insert)
    idx, _ = locate(s.resolved.timeline, pos)
    if idx is not None:
        s.extension = Extension(idx, pos, len(insert.samples) + insert.silence, c.rate, before)
    return c.status()


def not_now(c: SessionController) -> Status | Failed:
    """"not now": what a spoken command the session refused hears (the listening thread posts
    it on the refusal; a remote may too)."""
    s = _need(c)
    return _say(c, not_now_words(s.resolved.timeline, s.resolved.program.words))


def back(c: SessionController) -> Status | Failed:
    """To the set's start (SessionController.back); from a unilateral set's right side at work,
    to that side's work start, "right side. 3, 2, 1" said first (navigation.back_side)."""
    s = _need(c)
    tl, pos = s.resolved.timeline, c.position_ms()
    side = back_side(tl, pos)
    if side is None or s.output is None or s.output.state != "playing" or not s.playing:
        return c.back()
    s.output.pause()  # paused, sought (a paused output stays paused), resumed after the words
    c.back()
    c.say(s, spoken_insert(side_again_words(tl, side, s.resolved.program.words), s.clips, tl,
                           c.rate, beat_after_last_ms=1000))
    return c.status()  # playing (the back's own reply was taken while paused)


def say_again(c: SessionController) -> Status | Failed:
    """"say again?": a command window heard speech but no command (the listening thread)."""
    s = _need(c)
    return _say(c, say_again_words(s.resolved.timeline, s.resolved.program.words))


def one_to_five(c: SessionController) -> Status | Failed:
    """"one to five?": a rating window heard a number off the scale (the listening thread)."""
    s = _need(c)
    return _say(c, one_to_five_words(s.resolved.timeline, s.resolved.program.words))


def _say(c: SessionController, words: Spoken) -> Status | Failed:
    """Say ``words`` now (the timeline holds while they play); a rest being extended keeps
    what is left of its extra time after them."""
    s = _need(c)
    if not s.playing or s.output is None or s.lost_at_ms is not None or \
            s.output.state not in ("playing", "paused"):
        return Failed(f"{NOT_PLAYING} (it is {c.state()})")
    if s.output.state == "paused":
        return _say_into_pause(c, s, words)
    if not c.say_now(s, words):
        return _no_clip(words)
    log.info("said: %s", " ".join(words.texts))
    return c.status()


def _say_into_pause(c: SessionController, s: Session, words: Spoken) -> Status | Failed:
    """Paused (the lifter said "pause", then "stop"): the words play and the session stays
    paused where it was; the music is held down under them (``saying_into_pause``)."""
    assert s.output is not None
    insert = spoken_insert(words, s.clips, s.resolved.timeline, c.rate)
    if not insert.samples.size:
        return _no_clip(words)
    s.output.say(insert.samples)
    c.said(insert)
    s.said_in_pause_until = c.monotonic() + insert.samples.size / c.rate + SAID_TAIL_S
    log.info("said into the pause: %s", " ".join(words.texts))
    return c.status()


def saying_into_pause(c: SessionController) -> bool:
    """Words said into a pause are playing: the music stays down under them as under a command
    window's mic (the ducker is stopped while paused)."""
    s = c.session
    return s is not None and s.output is not None and s.output.state == "paused" and \
        c.monotonic() < s.said_in_pause_until


def _no_clip(words: Spoken) -> Failed:
    return Failed(f"not said: no clip of {' '.join(words.texts)!r} (made with a session when "
                  "the daemon listens: config `listen:`)")


# What each asked-for request says (Daemon.handle's dispatch).
ANSWERS: dict[type[Request], Callable[[SessionController], Status | Failed]] = {
    Back: back, Extend: extend, Repeat: repeat, HowLong: time_left, AskStop: ask_stop, NotNow: not_now,
    SayAgain: say_again, OneToFive: one_to_five}
