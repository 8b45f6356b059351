"""The Voice: cue texts to mixer-ready Clips in one engine (Piper, espeak-ng, else tones), through the
on-disk clip cache."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from coach.audio.voice.base import Clip, Synth, VoiceUnavailable, logger
from coach.audio.voice.dsp import finish, tick_clip
from coach.audio.voice.espeak import EspeakSynth
from coach.audio.voice.piper import PiperSynth
from coach.audio.voice.tone import ToneSynth
from coach.core.program import VoiceSettings
from coach.core.timeline import TICK_KEY, clip_key
from coach.files import atomic_write

CACHE_VERSION = 2  # bump when the clip pipeline changes, so old cache files are not reused
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

    def cached(self, text: str) -> bool:
        """Whether ``text``'s clip is ready without the engine (in memory or a usable cache
        file): what costs nothing to make (`coach check`'s remedy proof)."""
        key = self._key(text)
        return key in self._memory or self._load(key, text) is not None

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
            atomic_write(npy, buf.getvalue())
            atomic_write(meta, json.dumps(info, ensure_ascii=False).encode("utf-8"))
        except OSError as e:  # read-only, not a directory, disk full...: keep going in memory
            if not self._cache_warned:
                self._cache_warned = True
                logger.warning("voice: cannot write the clip cache in %s (%s); keeping clips in "
                               "memory only", self.cache_dir, e)


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
