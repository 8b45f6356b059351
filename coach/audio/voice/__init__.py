"""Speech clips for cues: synthesized before a session (espeak-ng via pyttsx3, or a Piper neural
voice), trimmed, loudness-normalised, resampled once to the output rate and cached on disk.

base: the shared types; espeak, piper, tone: the engines (the Synth protocol); dsp: the signal
processing; cache: the Voice, which turns texts into Clips through the on-disk clip cache."""

from coach.audio.voice.base import Clip, Synth, VoiceUnavailable
from coach.audio.voice.cache import CACHE_VERSION, Voice, cache_key, prepare_timeline, spoken_text
from coach.audio.voice.dsp import active_rms, finish, tick_clip, trim
from coach.audio.voice.espeak import EspeakSynth, espeak_voices, resolve_espeak_voice
from coach.audio.voice.piper import (
    PIPER_COMMAND,
    PIPER_DEFAULT_MODEL,
    PIPER_INSTALL,
    PiperModel,
    PiperSynth,
    piper_models,
    piper_problem,
    piper_voices_dir,
    release_piper,
    resolve_piper_model,
)
from coach.audio.voice.tone import ToneSynth

__all__ = [
    "CACHE_VERSION", "PIPER_COMMAND", "PIPER_DEFAULT_MODEL", "PIPER_INSTALL", "Clip",
    "EspeakSynth", "PiperModel",
    "PiperSynth", "Synth", "ToneSynth", "Voice", "VoiceUnavailable", "active_rms", "cache_key",
    "espeak_voices", "finish", "piper_models", "piper_problem", "piper_voices_dir",
    "prepare_timeline", "release_piper", "resolve_espeak_voice", "resolve_piper_model",
    "spoken_text", "tick_clip", "trim",
]
