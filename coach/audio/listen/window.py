"""One mic window: audio chunks in, answers out as soon as their speech has ended.

The endpointer is the energy gate (vad.py) on the audio since the last answer: once a stretch
of speech is followed by END_SILENCE_S of no speech, that audio goes to the recogniser. An
answer may be corrected by another in the same window; after an answer the coach reads it
back, so the next MUTE_S of audio are not listened to (the mic would hear the read-back)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import RATE, Heard, Listening, Recognizer

END_SILENCE_S = 0.35
MUTE_S = 2.0  # "Four, logged" lasts about 1 s in espeak-ng's voice
KEEP_S = 4.0  # audio kept while no answer is found (the gate needs the floor around speech)


def answers(chunks: Iterable[np.ndarray], recognizer: Recognizer, what: Listening,
            window_s: float, closed: Callable[[], bool] = lambda: False) -> Iterator[Heard]:
    """Each answer heard in ``window_s`` seconds of ``chunks`` (16 kHz mono), ``end_s`` counted
    from the window's start."""
    buf = np.zeros(0, np.float32)
    start = 0  # samples of the window before buf
    skip = 0  # samples still to drop (after an answer)
    seen = 0
    for chunk in chunks:
        seen += chunk.size
        if skip:
            drop = min(skip, chunk.size)
            skip -= drop
            start += drop
            chunk = chunk[drop:]
        buf = np.concatenate([buf, chunk])
        found = vad.speech(buf, RATE)
        if found is not None and buf.size / RATE - found.end_s >= END_SILENCE_S:
            heard = recognizer.hear(buf, what)
            if heard is not None:
                yield Heard(heard.text, heard.rating, heard.command, heard.confidence,
                            start / RATE + heard.end_s)
                used = int(found.end_s * RATE)
                start += buf.size
                skip = max(0, int(MUTE_S * RATE) - (buf.size - used))
                buf = np.zeros(0, np.float32)
            else:
                # No answer: that stretch is not decoded again. Kept, every later chunk decoded
                # it once more (one "ah" 50 times in a 4 s command window, the GIL held 25-45 ms
                # a time beside the player's feeder); what follows it is heard on its own.
                used = int(found.end_s * RATE)
                start += used
                buf = buf[used:]
        elif found is None and buf.size > KEEP_S * RATE:
            cut = buf.size - int(KEEP_S / 2 * RATE)
            start += cut
            buf = buf[cut:]
        if seen >= window_s * RATE or closed():
            return
