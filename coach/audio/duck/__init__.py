"""Ducking: other playback streams (the lifter's music) are lowered while the coach speaks.

A ``Ducker`` follows an Output's ``position`` from its own thread (every ~15 ms) and sets the
volume of every other sink-input on the sound server (PulseAudio, or PipeWire's pulse server)
through ``pulsectl``, following a pure ``DuckPlan`` (coach/core/duckplan.py): down by
``level_db`` with a short fade before each cue, back up after it. The thread only reads the
output's position and state and talks to the sound server; the session thread only calls
``start``/``stop``.

Nothing is lost: before a stream is lowered its original volume is saved to
``$XDG_STATE_HOME/coach/ducked.json`` (atomic write); un-ducking and a clean stop restore it
and remove the file; a start after a crash (or kill -9) restores what the file lists and is
still there. A stream whose volume is not the one we set was changed by the user: its volume
becomes the original (never restored over). See "Ducking" in docs/DESIGN.md.

server: talking to the sound server (the Server protocol, PulseConnection, coach's stream
label, volumes); saved: the saved-volumes file and the recovery after a crash; ducker: the
Ducker's thread.
"""

from coach.audio.duck.ducker import DEFAULT_LEVEL_DB, Ducker, Positioned
from coach.audio.duck.saved import (
    Ducked,
    forget_lowered,
    read_state,
    recover,
    recover_in_background,
    recover_left_lowered,
    state_file,
    write_state,
)
from coach.audio.duck.server import (
    PulseConnection,
    Server,
    ServerGone,
    Stream,
    db_factor,
    is_ours,
    label_stream,
    same_volume,
    scaled,
)

__all__ = [
    "DEFAULT_LEVEL_DB", "Ducked", "Ducker", "Positioned", "PulseConnection", "Server", "ServerGone",
    "Stream", "db_factor", "forget_lowered", "is_ours", "label_stream", "read_state", "recover",
    "recover_in_background", "recover_left_lowered", "same_volume", "scaled", "state_file",
    "write_state",
]
