"""The pipeline, assembled in one place: program → timeline → clips → mixer.

`coach render`, `coach run`, `coach check` and the daemon all build their sound through these
functions, so a rendered WAV is exactly what the headphones hear.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.core import duckplan
from coach.core.mixer import Mixer
from coach.core.navigation import Spoken
from coach.core.program import Program, load_program
from coach.core.timeline import TICK_KEY, Cue, Timeline, clip_key, compile_program

Progress = Callable[[int, int], None]

# A pending clip (one still being made when the session starts) may be at most this long:
# the mixer looks this far back for clips still sounding. The longest real cue, a set
# announcement with a long focus cue, is ~10 s at 170 wpm.
PENDING_MAX_S = 60


def load(path: str | os.PathLike[str]) -> tuple[Program, Timeline]:
    """A program file, validated, and its timeline (CoachError on a mistake)."""
    program = load_program(path)
    return program, compile_program(program)


def speech_texts(timeline: Timeline) -> list[str]:
    """Each distinct spoken text of the timeline, in the order it is first heard."""
    return [k for k in dict.fromkeys(clip_key(c) for c in timeline.cues) if k != TICK_KEY]


def first_use_ms(timeline: Timeline, from_ms: int = 0) -> dict[str, int]:
    """Each clip key's first cue time (ms) at or after ``from_ms``: the moment it must be
    ready by when playback starts there (a key heard only before it is absent)."""
    out: dict[str, int] = {}
    for c in timeline.cues:
        if c.t_ms >= from_ms:
            out.setdefault(clip_key(c), c.t_ms)
    return out


def prepare_clips(timeline: Timeline, rate: int = 48000, cache_dir: Path | None = None,
                  progress: Progress | None = None, require_real: bool | None = None,
                  extra: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Every clip the timeline needs (and the ``extra`` texts), from the cache or the voice."""
    from coach.audio.voice import prepare_timeline
    clips = prepare_timeline(timeline, rate=rate, cache_dir=cache_dir, progress=progress,
                             require_real=require_real)
    more = [t for t in dict.fromkeys(extra) if t not in clips]
    if more:
        from coach.audio.voice import Voice
        voice = Voice(timeline.voice, timeline.language, rate, cache_dir, require_real)
        clips.update({k: c.samples for k, c in voice.prepare(more).items()})
    return clips


def build_mixer(timeline: Timeline, clips: Mapping[str, np.ndarray], rate: int = 48000,
                metronome: bool = False, pending: bool = False) -> Mixer:
    """The mixer of a timeline. ``pending``: clips not in ``clips`` yet are filled in later
    (``Mixer.fill``) while the session already plays."""
    from coach.audio.voice import tick_clip
    tick = tick_clip(rate, timeline.voice.volume)
    all_clips = dict(clips)
    if any(c.kind == "tick" for c in timeline.cues):
        all_clips.setdefault(TICK_KEY, tick)
    return Mixer(timeline, all_clips, rate=rate, metronome=metronome, tick=tick,
                 pending_max_frames=PENDING_MAX_S * rate if pending else None)


def duck_plan(mixer: Mixer) -> duckplan.DuckPlan:
    """When other streams are lowered under this mixer's cues (clips as the mixer has them now)."""
    return duckplan.plan(mixer.timeline, mixer.clip_frames(), mixer.rate)


@dataclass(frozen=True)
class SpokenInsert:
    """Words to play outside the timeline, the silence after them (frames, never materialised:
    the output counts them), and when other streams are lowered under them (in frames of the
    insert itself)."""

    samples: np.ndarray
    duck: duckplan.DuckPlan
    silence: int = 0


def spoken_insert(spoken: Spoken, clips: Mapping[str, np.ndarray], timeline: Timeline,
                  rate: int = 48000, beat_after_last_ms: int = 0, min_ms: int = 0) -> SpokenInsert:
    """Words said outside the timeline ("resuming… 3, 2, 1", "30 more seconds"), from ready
    clips, through the same mixer; a part whose clip is missing is left out (never waited for).
    The samples last until the last clip ends and at least ``beat_after_last_ms`` after the last
    onset (the "1" of a countdown is a beat long); the silence after them brings the insert to
    at least ``min_ms`` (an extend's 30 s: as samples it was 5.8 MB a time, and 400 extends
    took the daemon from 96 to 400 MB). With them, when other streams are lowered under them
    (the insert's own words, as cues)."""
    ready = [(text, a, ms) for text, a, ms in spoken.parts if text in clips]
    min_frames = min_ms * rate // 1000
    if not ready:
        return SpokenInsert(np.zeros(0, np.float32), duckplan.DuckPlan(rate, (), (), 0, 0),
                            min_frames)
    lengths = {t: len(clips[t]) * 1000 // rate for t, _, _ in ready}
    placed = Spoken(tuple(ready)).layout(lengths)
    end = max(max(t + lengths[text] for t, text in placed), placed[-1][0] + beat_after_last_ms)
    cues = tuple(Cue(t, text, "insert", "", 0, 1, None) for t, text in placed)
    tl = Timeline("insert", end, cues, timeline.voice, timeline.language)
    mixer = Mixer(tl, {t: clips[t] for t, _, _ in ready}, rate=rate)
    samples = mixer.render(0, mixer.total_frames)
    return SpokenInsert(samples, duck_plan(mixer), max(0, min_frames - len(samples)))
