"""coach: a voice-guided audio coaching daemon for mind-muscle training."""

__version__ = "0.1.0"
