"""Real-time output: a Player streams any Source (the mixer) through PortAudio via sounddevice.

output: the ``Output`` protocol the session controller drives (Player is the real one,
coach.audio.dummy.DummyPlayer the in-process one for tests), Source, PlayerState,
NoOutputDevice; portaudio: the Player, its control methods and feeder thread; callback: the
audio callback and what travels to it; frames: source frames into stream frames; devices:
PortAudio's output devices (`coach devices`).
"""

from coach.audio.player.devices import RENDER_HINT, list_devices
from coach.audio.player.output import NoOutputDevice, Output, PlayerState, Source
from coach.audio.player.portaudio import Player

__all__ = ["RENDER_HINT", "NoOutputDevice", "Output", "Player", "PlayerState", "Source", "list_devices"]
