"""The baseline coach most people would write: sleep until each cue's time, then pyttsx3
``say()`` + ``runAndWait()`` (which synthesizes, writes a temp WAV and runs ``aplay`` on it).

    .venv/bin/python bench/naive_coach.py FILE

Plays through ALSA's default PCM (route it to PulseAudio with an ``.asoundrc`` in HOME, as
tests.support.audio.PulseServer does). Ticks (uncounted high reps) are coach's own tick clip played
with ``aplay``, the same way pyttsx3 plays speech. Cues are never dropped: when one is late the
next waits for it, exactly as ``say()`` queues.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

logger = logging.getLogger(__name__)
ESPEAK_RATE = 22050  # pyttsx3's espeak driver writes 22050 Hz mono 16-bit WAVs


def load_cues(path: str):
    """(cues sorted by time, voice settings) of a program file, compiled by coach itself."""
    from coach.core.program import load_program
    from coach.core.timeline import compile_program
    program = load_program(path)
    timeline = compile_program(program)
    return list(timeline.cues), timeline.voice


def write_tick_wav(path: Path, rate: int = ESPEAK_RATE) -> None:
    """coach's tick clip as a 16-bit WAV, for aplay."""
    from coach.audio.voice import tick_clip
    pcm = (np.clip(tick_clip(rate), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def synth_clips(texts: list[str], voice) -> dict[str, np.ndarray]:
    """What say() plays for each text (int16 samples at ESPEAK_RATE), via save_to_file: the same
    synthesis buffer say() writes to its temp WAV. One file per runAndWait() (pyttsx3 2.99 keeps
    only the last of several queued files)."""
    engine = _engine(voice)
    out = {}
    with tempfile.TemporaryDirectory(prefix="naive-synth-") as tmp:
        for i, text in enumerate(dict.fromkeys(texts)):
            f = Path(tmp) / f"{i}.wav"
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to"
                engine.save_to_file(text, str(f))
                engine.runAndWait()
            with wave.open(str(f), "rb") as w:
                out[text] = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return out


def clip_extents(path: str, threshold_dbfs: float) -> list[dict]:
    """Per cue: where its sound (samples >= threshold) starts and ends in what the baseline plays."""
    cues, voice = load_cues(path)
    clips = synth_clips([c.text for c in cues if c.kind != "tick"], voice)
    from coach.audio.voice import tick_clip
    tick = tick_clip(ESPEAK_RATE)
    thr = 10 ** (threshold_dbfs / 20)
    out = []
    for c in cues:
        x = tick if c.kind == "tick" else clips[c.text].astype(np.float32) / 32768.0
        hot = np.flatnonzero(np.abs(x) >= thr)
        out.append({"t_ms": c.t_ms, "text": c.text, "kind": c.kind, "rate": ESPEAK_RATE,
                    "frames": int(len(x)), "first": int(hot[0]) if hot.size else None,
                    "last": int(hot[-1]) if hot.size else None})
    return out


def _engine(voice):
    import pyttsx3
    engine = pyttsx3.init()
    if voice.voice:
        engine.setProperty("voice", voice.voice)
    engine.setProperty("rate", voice.rate)
    engine.setProperty("volume", voice.volume)
    return engine


def play(path: str) -> dict:
    """Play the program the naive way; how late each say() started (seconds), by wall clock."""
    cues, voice = load_cues(path)
    engine = _engine(voice)
    late = []
    with tempfile.TemporaryDirectory(prefix="naive-coach-") as tmp:
        tick = Path(tmp) / "tick.wav"
        write_tick_wav(tick)
        start = time.monotonic()
        for cue in cues:
            elapsed = time.monotonic() - start
            t = cue.t_ms / 1000
            if t > elapsed:
                time.sleep(t - elapsed)
            late.append(max(0.0, elapsed - t))
            if cue.kind == "tick":
                os.system(f"aplay -q {tick}")
            else:
                engine.say(cue.text)
                engine.runAndWait()
    return {"cues": len(cues), "late_calls": sum(1 for x in late if x > 0.05),
            "max_late_s": max(late) if late else 0.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", metavar="FILE")
    ap.add_argument("--clips", action="store_true", help="do not play: print, as JSON, each "
                    "cue's text, kind and what say() would play (first/last sample at or above "
                    "--threshold dBFS, length; at 22050 Hz)")
    ap.add_argument("--threshold", type=float, default=-45.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.clips:
        print(json.dumps(clip_extents(args.file, args.threshold)))
        return 0
    r = play(args.file)
    # Wall-clock figures are only the baseline's own view; the bench measures the audio.
    logger.info("%d cues; %d say() calls started more than 50 ms late (worst %.2f s)",
                r["cues"], r["late_calls"], r["max_late_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
