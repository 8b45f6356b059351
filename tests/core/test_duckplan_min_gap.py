"""Cues so close that the music would come back for less than half a second between them are
one duck: no swell at the words' cadence (and a twelfth of the volume changes)."""

from __future__ import annotations

from coach.core.duckplan import AFTER_MS, BEFORE_MS, MIN_GAP_MS, plan
from coach.core.timeline import Cue, Timeline

RATE = 48000
MS = RATE // 1000


def tl(*cues: tuple[int, str]) -> Timeline:
    events = tuple(Cue(t, text, "x", "Ex", 0, 1, None, "speech") for t, text in cues)
    return Timeline("T", 600_000, events)


def test_tempo_words_a_second_apart_are_one_duck_and_the_music_comes_back_after():
    words = [(6000 + 1000 * k, "up" if k % 2 else "down") for k in range(20)]
    clips = {"down": 530 * MS, "up": 300 * MS}  # the shortest leaves 350 ms at full volume
    p = plan(tl(*words), clips, RATE)
    assert p.starts == ((6000 - BEFORE_MS) * MS,)
    assert p.ends == ((6000 + 19 * 1000 + 300 + AFTER_MS) * MS,)  # after the last word
    assert all(p.depth(f) == 1.0 for f in range(6000 * MS, 25_300 * MS, 4800))


def test_a_gap_of_half_a_second_or_more_brings_the_music_back():
    just = MIN_GAP_MS + BEFORE_MS + AFTER_MS  # cue spacing (empty clips) for exactly that gap
    p = plan(tl((1000, "a"), (1000 + just, "b")), {"a": 0, "b": 0}, RATE)
    assert len(p) == 2 and p.starts[1] - p.ends[0] == MIN_GAP_MS * MS
    assert p.depth(p.ends[0]) == 0.0  # back at its own level for those 500 ms
    q = plan(tl((1000, "a"), (1000 + just - 1, "b")), {"a": 0, "b": 0}, RATE)
    assert len(q) == 1
