"""One mic window: audio chunks in, answers out as soon as their speech has ended.

The endpointer is the voice-activity gate (vad.py) run on the chunks as they come: once a
stretch of speech is followed by END_SILENCE_S with none, that stretch (and a little around
it) goes to the recogniser, and the window goes on listening. So "um... four" is two stretches,
the first heard as no answer. An answer may be corrected by another in the same window; after
an answer the coach reads it back, so speech starting in the next MUTE_S is not listened to
(the mic would hear the read-back).

The stretch is decoded EARLY_S after it, while the endpointer still waits: what that decode
gives is the answer if END_SILENCE_S passes with the stretch as it was, and is dropped if speech
comes back into it (a pause inside "it was... a four"). So the decoding is done in the wait,
not after it, and the wait still bridges a pause as long as BRIDGE_S."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import RATE, Heard, Listening, Recognizer

END_SILENCE_S = 0.35
# The stretch is decoded this long after it ends (with its audio up to there), before its end is
# sure: one 0.1-s chunk before END_SILENCE_S. bench_listen.py's check set, Moonshine: 496 of 540
# answers and 38 of 360 off-grammar windows at 0.25 s, 495 and 38 at 0.35 (as before), 492 and
# 37 at 0.2 (4 more "five"s of one voice lost: their weak end cut); PocketSphinx as at 0.35
# (BENCHMARKS.md, "Decoding in the wait"). What is gained is the decoding, 0.07-0.12 s at 10 dB
# music on x86 (more on a Pi's core), done before the wait is over.
EARLY_S = 0.25
assert EARLY_S < END_SILENCE_S
MUTE_S = 2.0  # "Four, logged" lasts about 1 s in espeak-ng's voice
LEAD_S = 0.5  # audio before the stretch given to the recogniser (its gate's and decoder's lead)
KEEP_S = 4.0  # audio kept (an answer is at most vad.MAX_SPEECH_S long)


def answers(chunks: Iterable[np.ndarray], recognizer: Recognizer, what: Listening,
            window_s: float, closed: Callable[[], bool] = lambda: False,
            own_words_to: Callable[[], float] = lambda: 0.0,
            no_answer: Callable[[], None] = lambda: None,
            off_scale: Callable[[Heard], None] = lambda heard: None) -> Iterator[Heard]:
    """Each answer heard in ``window_s`` seconds of ``chunks`` (16 kHz mono), ``end_s`` counted
    from the window's start. Speech starting before ``own_words_to()`` (s of the window) is the
    coach's own words (said while the window is open: a tap's read-back, "how long"), never
    decoded. ``no_answer`` is called for each stretch decoded as no answer, ``off_scale`` for
    each heard as a number off the scale (a rating window's)."""
    gate = vad.Gate()
    buf = np.zeros(0, np.float32)
    base = 0  # the window's sample at buf[0]
    heard_to = 0.0  # s: stretches starting before this were heard (or muted)
    last_end = 0.0  # s: the end of the last stretch heard (the next one's lead stops there)
    early: tuple[vad.Speech, int, Heard | None] | None = None  # a stretch decoded EARLY_S after
    for chunk in chunks:
        buf = np.concatenate([buf, chunk])
        gate.feed(chunk)
        for s in gate.stretches():
            silence = gate.seconds - s.end_s
            if s.start_s < heard_to or s.start_s < own_words_to():
                continue
            if not vad.plausible(s):  # too long to be an answer: never decoded
                if silence >= END_SILENCE_S:
                    heard_to = s.end_s
                continue
            if silence < EARLY_S:
                continue
            a = max(base, int(max(s.start_s - LEAD_S, last_end) * RATE))
            if early is None or early[:2] != (s, a):
                b = min(base + buf.size, int((s.end_s + EARLY_S) * RATE))
                early = (s, a, recognizer.hear(buf[a - base:b - base], what))
            if silence < END_SILENCE_S:
                continue  # speech may still come back into it
            heard_to = last_end = s.end_s
            if early[2] is None:
                no_answer()
                continue
            heard = replace(early[2], end_s=a / RATE + early[2].end_s)  # the window's time
            if heard.off_scale:
                off_scale(heard)
            else:
                yield heard
                heard_to = s.end_s + MUTE_S
        if buf.size > KEEP_S * RATE:
            cut = buf.size - int(KEEP_S * RATE)
            base += cut
            buf = buf[cut:]
        if base + buf.size >= window_s * RATE or closed():
            return
