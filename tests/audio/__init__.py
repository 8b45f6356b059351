"""coach/audio (voices, the player, sinks, ducking) and the coach/files.py leaf."""
