"""Ducking: other playback streams (the lifter's music) are lowered while the coach speaks.

A ``Ducker`` follows an Output's ``position`` from its own thread and sets the volume of every
other sink-input on the sound server (PulseAudio, or PipeWire's pulse server) through
``pulsectl``, following a pure ``DuckPlan`` (coach/core/duckplan.py): down by ``level_db`` with
a short fade before each cue, back up after it. The thread sleeps until the plan's next step is
due or the server reports a stream change (no polling; none at all with no other stream), and
sends a fade down early by its own measured lateness. The session thread only calls
``start``/``stop``/``said``.

Nothing is lost: before a stream is lowered its original volume is saved to
``$XDG_STATE_HOME/coach/ducked.json`` (atomic write; checked before any of it is applied);
a clean stop restores it and removes the file; a start after a crash (or kill -9) restores
what the file lists and is still there. A stream whose volume is not the one we set was
changed by the user: its volume becomes the original (never restored over). A server that
goes away is reconnected to; a failure restarts the thread's work (three and it is off); what
is off or degraded is the Ducker's ``problem``. See "Ducking" in docs/DESIGN.md.

server: talking to the sound server (the Server protocol, its stream events, PulseConnection,
coach's stream label, volumes); saved: the saved-volumes file, its checks and the recovery
after a crash; follow: one connection's work (the streams, the steps, when each is due);
ducker: the Ducker and its supervised thread.
"""

from coach.audio.duck.ducker import DEFAULT_LEVEL_DB, Ducker, raise_priority
from coach.audio.duck.follow import Positioned
from coach.audio.duck.saved import (
    MAX_STATE_BYTES,
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
    NORMAL_VOLUME,
    Change,
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
    "DEFAULT_LEVEL_DB", "MAX_STATE_BYTES", "NORMAL_VOLUME", "Change", "Ducked", "Ducker",
    "Positioned", "PulseConnection", "Server", "ServerGone", "Stream", "db_factor",
    "forget_lowered", "is_ours", "label_stream", "raise_priority", "read_state", "recover",
    "recover_in_background", "recover_left_lowered", "same_volume", "scaled", "state_file",
    "write_state",
]
