"""`coach mic`: check a headset's mic before a session. It opens the source `listen:` names (or
``--source``), hears one window as the daemon would, and says what it heard, how soon, and what
to change: the mic's level, the room against the voice, a call-profile rate, a muted source."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from collections.abc import Iterator

import numpy as np

from coach.audio.listen.capture import Capture, NoSource, source_format
from coach.audio.listen.check import (
    CLIP,
    LOW_SNR_DB,
    MUSIC_SNR_DB,
    QUIET_VOICE_DBFS,
    QUIET_WINDOW_DBFS,
    Decided,
    MicCheck,
    check,
)
from coach.audio.listen.recognizer import Listening
from coach.core.errors import CoachError
from coach.core.types import ListenEngine
from coach.store.config import load_config

RATINGS_SAY = 'say a rating, "one" to "five"'
COMMANDS_SAY = 'say a command ("pause", "how long", "skip"...)'
MIN_SECONDS, MAX_SECONDS = 2.0, 60.0


def cmd_mic(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    source = args.source or config.listen_source or "default"
    engine: ListenEngine = args.engine or config.listen_engine
    if not MIN_SECONDS <= args.seconds <= MAX_SECONDS:
        raise CoachError.at("coach mic", 0, 0, f"--seconds must be {MIN_SECONDS:g}-"
                            f"{MAX_SECONDS:g}, got {args.seconds:g}")
    try:  # the source first: a missing one is said before the models load
        fmt = source_format(source)
    except NoSource as e:
        print(f"coach: mic: {e}{_sources_here()}", file=sys.stderr)
        return 2
    try:
        from coach.audio.listen import vad
        from coach.audio.listen.engines import recognizer
        rec = recognizer(engine)
        vad.Gate()  # Silero's model: loaded before the window, as the daemon does
    except ImportError as e:
        print(f"coach: mic: {e.name or e}: not installed (the listen extra: "
              ".venv/bin/pip install -e '.[listen]')", file=sys.stderr)
        return 2
    what: Listening = "command" if args.command else "rating"
    print(f"mic: {fmt.name} ({fmt.rate} Hz, {fmt.channels} ch; heard at 16000 Hz), "
          f"engine {engine}")
    try:
        capture = Capture(fmt.name)
    except NoSource as e:
        print(f"coach: mic: {e}", file=sys.stderr)
        return 2

    def prompted() -> Iterator[np.ndarray]:
        """The capture's chunks, the prompt said as the first comes (parec takes tenths of a
        second to start: speech before that is not heard)."""
        chunks = capture.chunks()
        first = next(chunks, None)
        if first is None:
            return
        print(f"{COMMANDS_SAY if args.command else RATINGS_SAY}, now ({args.seconds:g} s)...",
              flush=True)
        yield first
        yield from chunks

    try:
        result = check(prompted(), rec, what, args.seconds,
                       lambda d: print(decided_line(d), flush=True))
    except NoSource as e:
        print(f"coach: mic: {e}", file=sys.stderr)
        return 2
    finally:
        capture.close()
    for line in report(result, fmt.rate, engine):
        print(line)
    return 0 if any(not d.heard.off_scale for d in result.decided) else 1


def report(result: MicCheck, rate: int, engine: ListenEngine) -> list[str]:
    """What the check found, a line each: what was heard, the levels, then what to change."""
    out = []
    if result.no_answer:
        out.append(f"heard speech that is no answer {_times(result.no_answer)}")
    room = _dbfs(result.room_dbfs)
    for s in result.stretches:
        snr = ("" if s.snr_db is None or not math.isfinite(result.room_dbfs) else
               f", {s.snr_db:.0f} dB over the room")
        out.append(f"speech at {s.start_s:.1f}-{s.end_s:.1f} s: {s.dbfs:.0f} dBFS{snr}, "
                   f"peak {_dbfs(20 * math.log10(s.peak)) if s.peak > 0 else '-inf dBFS'}")
    out.append(f"the room: {room}")
    advice = []
    if result.silent:
        advice.append("the source gave only digital silence: is it muted? (`pactl "
                      "set-source-mute NAME 0`), or a monitor of a sink that plays nothing")
    elif not result.stretches and result.loudest_dbfs < QUIET_WINDOW_DBFS:
        advice.append(f"nothing louder than {_dbfs(result.loudest_dbfs)} heard: if you spoke, "
                      "the mic is too quiet (`pactl set-source-volume NAME 150%`), or it is "
                      "not the mic you spoke into (`pactl list short sources`)")
    elif not result.stretches:
        advice.append(f"no speech heard (sounds up to {_dbfs(result.loudest_dbfs)}, none like "
                      "a voice): is it the right mic? (`pactl list short sources`; `parec "
                      "--device=NAME --channels=1 | pacat` plays what it hears)")
    voice = result.stretches
    if voice and max(s.dbfs for s in voice) < QUIET_VOICE_DBFS:
        advice.append(f"your voice is quiet (under {QUIET_VOICE_DBFS:.0f} dBFS): turn the mic "
                      "up (`pactl set-source-volume NAME 150%`) or bring it closer")
    if any(s.peak >= CLIP for s in voice):
        advice.append("your voice clips: turn the mic down (`pactl set-source-volume NAME "
                      "80%`)")
    snrs = [s.snr_db for s in voice if s.snr_db is not None]
    if snrs and max(snrs) < LOW_SNR_DB:
        advice.append(f"the room is loud against your voice (under {LOW_SNR_DB:.0f} dB): "
                      "fewer answers are heard there; a mic nearer the mouth helps")
    if snrs and max(snrs) < MUSIC_SNR_DB and engine == "pocketsphinx":
        advice.append(f"the room is {max(snrs):.0f} dB under your voice: if that is music, "
                      "`listen: {engine: moonshine}` hears more answers over it")
    if rate < 16000:
        advice.append(f"{rate} Hz: a call-quality mic (a Bluetooth headset's call profile); "
                      + ("`listen: {engine: moonshine}` hears more answers at this rate"
                         if engine == "pocketsphinx" else "fewer answers are heard at it"))
    return out + [f"to change: {a}" for a in advice]


def decided_line(d: Decided) -> str:
    h = d.heard
    meant = (f"rating {h.rating}" if h.rating is not None else
             f"command {h.command!r}" if h.command is not None else
             "a number off the scale (coach would ask \"one to five?\")")
    return (f"heard {h.text!r}: {meant} (confidence {h.confidence:.2f}), "
            f"{d.after_s:.2f} s after you stopped")


def _dbfs(db: float) -> str:
    return f"{db:.0f} dBFS" if math.isfinite(db) else "digital silence"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _sources_here() -> str:
    """The sources there are, for the line that says the named one is not."""
    try:
        r = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                           text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    names = [cols[1] for line in r.stdout.splitlines() if len(cols := line.split("\t")) > 1]
    return f"; here: {', '.join(names)}" if r.returncode == 0 and names else ""
