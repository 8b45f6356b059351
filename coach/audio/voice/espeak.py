"""espeak-ng through pyttsx3: the process's one engine, its voices, and EspeakSynth."""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import shutil
import sys
import tempfile
import threading
import wave

import numpy as np

from coach.audio.voice.base import VoiceUnavailable, logger
from coach.core.errors import CoachError, Diagnostic

ESPEAK_RATE = 22050  # what pyttsx3's espeak driver writes: mono 16-bit at 22050 Hz


class _Espeak:
    """The process's one pyttsx3 engine (pyttsx3/espeak-ng are neither re-entrant nor
    thread-safe): every synthesis goes through ``render`` under ``_LOCK``."""

    _engines: dict[str, object] = {}  # driver name -> pyttsx3 Engine (strong refs: pyttsx3 keeps weak ones)
    _warm: set[str] = set()  # drivers whose engine has spoken once
    _LOCK = threading.Lock()

    @classmethod
    def engine(cls, driver: str) -> object:
        with cls._LOCK:
            eng = cls._engines.get(driver)
            if eng is None:
                try:
                    import pyttsx3

                    with _quiet_stdout():
                        eng = pyttsx3.init(driver)
                except Exception as e:  # ImportError, OSError (no libespeak-ng), RuntimeError...
                    raise VoiceUnavailable(f"pyttsx3 driver {driver!r} unavailable: {e}") from e
                cls._engines[driver] = eng
            return eng

    @classmethod
    def _warm_engine(cls, driver: str) -> object:
        """The engine, ready to synthesize. A fresh pyttsx3 engine is "busy" until its first
        runAndWait(), so properties set before it would be applied inside the loop, racing the
        synthesis. One throw-away utterance leaves it idle, applying properties at once. Done on
        the first synthesis, not at creation: listing voices for a fully cached program then
        synthesizes nothing at all."""
        eng = cls.engine(driver)
        with cls._LOCK:
            if driver not in cls._warm:
                cls._render_locked(eng, "ready", None, None)
                cls._warm.add(driver)
            return eng

    @classmethod
    def voices(cls, driver: str) -> list[object]:
        eng = cls.engine(driver)
        with cls._LOCK:
            try:
                return list(eng.getProperty("voices"))  # type: ignore[attr-defined]
            except Exception as e:
                raise VoiceUnavailable(f"cannot list espeak-ng voices: {e}") from e

    @classmethod
    def render(cls, driver: str, text: str, voice: str, rate_wpm: int) -> tuple[np.ndarray, int]:
        """Synthesize ``text``: int16 WAV samples as float32, and their rate. pyttsx3's espeak
        driver runs espeak-ng asynchronously and sometimes delivers an empty utterance (it
        cancels a synthesis it thinks still plays); an empty result is retried."""
        for attempt in range(1, _RETRIES + 1):
            samples, rate = cls._render_once(driver, text, voice, rate_wpm)
            if samples.size and np.any(samples):
                return samples, rate
            logger.debug("espeak-ng gave no audio for %r (attempt %d)", text, attempt)
        raise VoiceUnavailable(f"espeak-ng gave no audio for {text!r} in {_RETRIES} attempts")

    @classmethod
    def _render_once(cls, driver: str, text: str, voice: str, rate_wpm: int) -> tuple[np.ndarray, int]:
        eng = cls._warm_engine(driver)
        with cls._LOCK:
            data, rate = cls._render_locked(eng, text, voice, rate_wpm)
        if rate != ESPEAK_RATE:
            logger.debug("espeak-ng wrote %d Hz (expected %d)", rate, ESPEAK_RATE)
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, rate

    @staticmethod
    def _render_locked(eng, text: str, voice: str | None, rate_wpm: int | None) -> tuple[bytes, int]:
        """One utterance to one WAV file and back (the caller holds _LOCK)."""
        errors: list[BaseException] = []
        done = threading.Event()
        tmpdir = tempfile.mkdtemp(prefix="coach-tts-")
        path = os.path.join(tmpdir, "clip.wav")
        tokens = [eng.connect("error", lambda name=None, exception=None: errors.append(exception)),
                  eng.connect("finished-utterance", lambda **kw: done.set())]
        try:
            # The engine is shared by every Voice, so set the properties each time. Volume
            # stays 1.0: we normalise. espeak-ng applies them asynchronously: without waiting
            # for it, about a third of the utterances came out at the previous rate.
            if voice is not None:
                eng.setProperty("voice", voice)
            if rate_wpm is not None:
                eng.setProperty("rate", int(rate_wpm))
            eng.setProperty("volume", 1.0)
            _espeak_idle()
            # ONE file per runAndWait(): pyttsx3 2.99 writes only the last of several queued.
            eng.save_to_file(text, path)
            # pyttsx3 prints "Audio saved to ..." on stdout, from espeak-ng's thread, after
            # runAndWait() has returned: stay quiet until the utterance has finished.
            with _quiet_stdout():
                eng.runAndWait()
                finished = done.wait(_TIMEOUT_S)
                _espeak_idle()
            if errors:
                raise VoiceUnavailable(f"espeak-ng failed on {text!r}: {errors[0]}")
            if not finished:
                raise VoiceUnavailable(f"espeak-ng did not finish {text!r} in {_TIMEOUT_S} s")
            with wave.open(path, "rb") as w:
                if w.getnchannels() != 1 or w.getsampwidth() != 2:
                    raise VoiceUnavailable(f"unexpected WAV from espeak-ng: {w.getparams()}")
                return w.readframes(w.getnframes()), w.getframerate()
        except VoiceUnavailable:
            raise
        except Exception as e:  # missing file, wave.Error, driver exceptions
            raise VoiceUnavailable(f"espeak-ng failed on {text!r}: {e}") from e
        finally:
            for token in tokens:
                with contextlib.suppress(Exception):
                    eng.disconnect(token)
            shutil.rmtree(tmpdir, ignore_errors=True)


_RETRIES = 5
_TIMEOUT_S = 30.0


def _espeak_idle() -> None:
    """Wait until espeak-ng's own thread has done everything queued: property changes are
    queued there too, and pyttsx3 cancels an utterance if it finds espeak-ng still "playing"."""
    try:
        from pyttsx3.drivers import _espeak

        _espeak.Synchronize()
    except Exception as e:  # an internal module of pyttsx3: if it moves, the retry still covers
        logger.debug("espeak-ng Synchronize unavailable: %s", e)


class EspeakSynth:
    """espeak-ng through pyttsx3 (``driver`` is the pyttsx3 driver name; another name is how
    tests take the "espeak-ng missing" path)."""

    engine = "espeak"

    def __init__(self, voice: str | None, language: str, rate_wpm: int, driver: str = "espeak"):
        self.driver = driver
        self.rate_wpm = rate_wpm
        self.model = resolve_espeak_voice(voice, language, driver)
        self.native_rate = ESPEAK_RATE

    def synth(self, text: str) -> np.ndarray:
        samples, rate = _Espeak.render(self.driver, text, self.model, self.rate_wpm)
        self.native_rate = rate
        return samples


def espeak_voices(driver: str = "espeak") -> list[tuple[str, str, str]]:
    """(id, name, language) of every espeak-ng voice, e.g. ("gmw/en-us", "English (America)", "en-us")."""
    out = []
    for v in _Espeak.voices(driver):
        langs = getattr(v, "languages", None) or [""]
        out.append((str(getattr(v, "id", "")), str(getattr(v, "name", "")), str(langs[0])))
    return out


def resolve_espeak_voice(voice: str | None, language: str, driver: str = "espeak") -> str:
    """The espeak-ng voice id for ``voice`` (an id, a name or a bare id like "en-us", optionally
    with an espeak "+variant"), or the default voice of ``language``. An unknown ``voice`` is
    the user's mistake (CoachError); a language espeak-ng cannot speak is VoiceUnavailable."""
    voices = espeak_voices(driver)
    if voice:
        base, plus, variant = voice.partition("+")
        want = base.strip().lower()
        for vid, name, _ in voices:
            if want in (vid.lower(), name.lower(), vid.lower().rsplit("/", 1)[-1]):
                return vid + plus + variant
        names = [vid.rsplit("/", 1)[-1] for vid, _, _ in voices]
        near = difflib.get_close_matches(want, names, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise CoachError(Diagnostic("voice", 0, 0, f"unknown espeak-ng voice {voice!r}{hint}; "
                                    "`coach voices` lists them"))
    lang = language.lower()
    for test in (lambda vid, lg: vid.rsplit("/", 1)[-1] == lang,
                 lambda vid, lg: lg == lang,
                 lambda vid, lg: lg.startswith(lang + "-")):
        for vid, _, lg in voices:
            if test(vid.lower(), lg.lower()):
                return vid
    raise VoiceUnavailable(f"espeak-ng has no voice for language {language!r}")


@contextlib.contextmanager
def _quiet_stdout():
    """Keep stdout clean (``coach plan --json`` users parse it): pyttsx3 prints from Python and
    espeak-ng may write from C, so silence both sys.stdout and fd 1. Process-wide while it
    lasts; synthesis only runs before a session."""
    with contextlib.redirect_stdout(io.StringIO()):
        saved = None
        try:
            if sys.__stdout__ is not None:
                sys.__stdout__.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
        except (OSError, ValueError):  # no fd 1 (a daemon without stdout): nothing to protect
            saved = None
        try:
            yield
        finally:
            if saved is not None:
                with contextlib.suppress(OSError, ValueError):
                    if sys.__stdout__ is not None:
                        sys.__stdout__.flush()
                os.dup2(saved, 1)
                os.close(saved)
