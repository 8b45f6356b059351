"""When the audio output dies mid-session (the sound server restarted, the headset gone): the
session holds where it was and a new stream is tried every RECONNECT_S, going on from the cue
that was cut after the resume words. Called by the session thread's tick only."""

from __future__ import annotations

import logging
from collections.abc import Callable

from coach.audio.pipeline import SpokenInsert
from coach.audio.player import Output
from coach.core.navigation import cue_start_at_or_before
from coach.daemon.running import Session

log = logging.getLogger("coach.daemon.session")  # its lines are the session's, as before the move

OutputFactory = Callable[[], Output]
RECONNECT_S = 2.0  # how often a lost audio output is tried again


def recover(s: Session, t: float, rate: int, output_factory: OutputFactory,
            resume_words: Callable[[int], SpokenInsert]) -> None:
    """The audio output died (server restarted, headset gone): hold the session where it
    was, try a new stream every RECONNECT_S, and go on from the cue that was cut."""
    assert s.output is not None
    if s.lost_at_ms is None:
        s.lost_at_ms = s.output.position * 1000 // rate
        s.lost_why = None
        s.next_retry = t + RECONNECT_S
        log.warning("audio output lost at %.1f s of %s; the session waits and retries every "
                    "%g s", s.lost_at_ms / 1000, s.name, RECONNECT_S)
        s.record.position(s.lost_at_ms)
        s.extension = None  # the new stream starts with "resuming", not the extra rest
        if s.ducker is not None:
            s.ducker.stop()
        s.output.stop()
        return
    if t < s.next_retry:
        return
    s.next_retry = t + RECONNECT_S
    target = cue_start_at_or_before(s.resolved.timeline, s.lost_at_ms)
    output = output_factory()
    words = resume_words(target)
    try:
        output.open()
        output.play(s.source, start_frame=target * rate // 1000, insert=words.samples,
                    silence=words.silence)
    except Exception as e:  # NoOutputDevice, PortAudioError: still gone
        # Once per outage (and per new cause), not at every retry: a server down for a
        # minute logged the same line 33 times.
        if str(e) != s.lost_why:
            log.warning("audio output still unavailable: %s", e)
            s.lost_why = str(e)
        output.stop()
        return
    log.info("audio output back: resuming %s at %.1f s", s.name, target / 1000)
    s.output, s.lost_at_ms = output, None
    if s.ducker is not None:
        s.ducker.said(words.duck)
        s.ducker.start(output)
