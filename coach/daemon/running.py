"""What one running session holds: its program, clips, mixer, output, history rows, rating
window and ducker, and where it stands (playing, paused while preparing, output lost). Only the
session thread reads or writes it, through the SessionController (session.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from coach.audio.player import Output
from coach.core.mixer import Mixer
from coach.core.timeline import Cue, Phase
from coach.daemon.clips import ClipJob
from coach.daemon.ducking import Ducking
from coach.daemon.rating import RatingWindow, answering
from coach.daemon.record import SessionRecord
from coach.daemon.remedy import Change, Switchable
from coach.daemon.status import Extension
from coach.store.programs import Resolved


@dataclass
class Session:
    resolved: Resolved
    start_ms: int  # where playback begins in the timeline
    job: ClipJob
    mixer: Mixer
    record: SessionRecord  # its rows in the history, the set (side) the position is in
    source: Switchable  # what the output plays: the mixer, swapped by a remedy
    clips: dict[str, np.ndarray] = field(default_factory=dict)
    per_char_s: float | None = None  # the worker's measured cost, None until a clip was made
    output: Output | None = None  # opened at start; playing once the clips allow
    playing: bool = False  # play() was called
    pause_asked: bool = False  # paused while preparing: plays paused
    insert_on_play: Literal["resume", None] = None
    lost_at_ms: int | None = None  # the audio output died here; the session waits to resume
    lost_why: str | None = None  # why the last retry failed (logged once per outage and cause)
    next_retry: float = 0.0
    clips_done: bool = False
    ahead: ClipJob | None = None  # its remedies' clips, made after its own (None: no remedy)
    rating: RatingWindow = field(default_factory=RatingWindow)
    first: frozenset[str] = frozenset()  # words said before the timeline (resume): waited for
    ducker: Ducking | None = None  # lowers other streams under cues while playing
    changes: tuple[Change, ...] = ()  # remedies so far (coach.core.remedy), in order
    extension: Extension | None = None  # the rest extended last (status says so)
    # monotonic s: words said into a pause (asked.py) play until about then (music held down)
    said_in_pause_until: float = 0.0
    extended: tuple[int, int] = (-1, 0)  # the rest (its set's index) extended last, and by how much (ms)

    @property
    def name(self) -> str:
        return self.resolved.program.name

    def heard_ms(self, cue: Cue) -> int | None:
        """How long ``cue``'s clip lasts (ms), None while it is not made."""
        clip = self.clips.get(cue.text)
        return None if clip is None else len(clip) * 1000 // self.mixer.rate

    def answering(self, pos_ms: int) -> Phase | None:
        """The answer phase a tap or a rating given at ``pos_ms`` answers (rating.answering)."""
        return answering(self.resolved.timeline, pos_ms, self.heard_ms)
