"""Ducking as the session thread sees it: what it calls of a ducker, and the duck plan from
the clips made so far (the ducker itself, with its own thread, is coach.audio.duck)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from coach.core import duckplan
from coach.core.mixer import Mixer
from coach.core.timeline import Timeline, estimate_speech_ms


class Ducking(Protocol):
    """What the session thread calls of a ducker (coach.audio.duck.Ducker): ``start`` and
    ``stop`` return at once (its own thread talks to the sound server); ``plan`` is replaced
    in one assignment when clips arrive; ``said`` hands it an insert's words; ``hold`` keeps
    the music down whatever the plan (a command window's mic is open); ``problem`` is its line
    for `status` when it is off or degraded (None when all is well)."""

    plan: duckplan.DuckPlan

    @property
    def problem(self) -> str | None: ...

    def start(self, output: Any) -> None: ...

    def said(self, plan: duckplan.DuckPlan | None) -> None: ...

    def hold(self, on: bool) -> None: ...

    def stop(self, timeout: float = 1.0) -> None: ...


DuckerFactory = Callable[[duckplan.DuckPlan], Ducking]


def duck_plan(tl: Timeline, mixer: Mixer, rate: int, listen_ms: int = 0) -> duckplan.DuckPlan:
    """The duck plan from the clips made so far; a clip still missing counts as long as
    its words are estimated to take. ``listen_ms``: how long after each rating question's last
    word the mic listens (0: it does not), the music kept down meanwhile."""
    frames = mixer.clip_frames()
    for text in mixer.missing:
        frames[text] = estimate_speech_ms(text, tl.voice.rate) * rate // 1000
    return duckplan.plan(tl, frames, rate, listen_ms=listen_ms)
