"""The verbs that make sound: `coach render` (a WAV file), `coach run` (now, in real time) and
`coach demo` (either, as the machine allows)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from coach.audio.duck import Ducker, recover_left_lowered
from coach.audio.pipeline import build_mixer, duck_plan, prepare_clips
from coach.audio.player import NoOutputDevice, Player, list_devices
from coach.audio.wavout import render_to_wav
from coach.cli.fmt import fmt_duration, fmt_time
from coach.cli.options import check_rate, device_arg
from coach.cli.program import load
from coach.cli.progress import terminal_progress
from coach.core.errors import CoachError
from coach.store.config import load_config

log = logging.getLogger("coach")


def _make_mixer(path: str, rate: int, metronome: bool, config: str | None = None,
                feel: int | None = None, after_set: int = 1):
    program, timeline = load(path, config, feel, after_set)
    clips = prepare_clips(timeline, rate=rate, progress=terminal_progress("voice"))
    return program, timeline, build_mixer(timeline, clips, rate=rate, metronome=metronome)


def cmd_render(args: argparse.Namespace) -> int:
    check_rate("render", args.rate)
    program, timeline, mixer = _make_mixer(args.file, args.rate, args.metronome,
                                           getattr(args, "config", None), args.feel,
                                           args.after_set)
    out = Path(args.output)
    try:
        render_to_wav(mixer, out, progress=terminal_progress("render", "%"))
    except OSError as e:
        raise CoachError.at(str(out), 0, 0,
                            f"cannot write the WAV file: {e.strerror or e}") from None
    print(f"{out}: {fmt_duration(timeline.duration_ms)} of {program.name!r} at {args.rate} Hz")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    check_rate("run", args.rate)
    config = getattr(args, "config", None)
    program, timeline = load(args.file, config)
    player = Player(device=device_arg(args.device), rate=args.rate, blocksize=args.blocksize)
    try:
        # The device before the voice and before "playing ...": without one, that line came
        # first and the error after it (and a cold cache was synthesized for nothing).
        player.open()
        clips = prepare_clips(timeline, rate=args.rate, progress=terminal_progress("voice"))
    except NoOutputDevice as e:
        player.stop()
        print(f"coach: {e}", file=sys.stderr)
        return 1
    except BaseException:
        player.stop()
        raise
    mixer = build_mixer(timeline, clips, rate=args.rate, metronome=args.metronome)
    ducker = _ducker(mixer, config)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill PID` stops as Ctrl-C does: lowered music given back

    signal.signal(signal.SIGTERM, on_term)
    try:
        print(f"playing {program.name!r} ({fmt_duration(timeline.duration_ms)}); Ctrl-C stops",
              file=sys.stderr)
        player.play(mixer)
        if ducker is not None:
            # After the stream is open: connecting while PortAudio initialises hung pulsectl's
            # connect now and then (found); the preroll covers the ~0.4 s it takes.
            ducker.start(player)
        while not player.wait(0.5):
            if player.lost.is_set():
                # `coach daemon` waits for the output to come back; a one-off run says so.
                pos = player.position * 1000 // mixer.rate
                print(f"coach: audio output lost at {fmt_time(pos)}; `coach daemon` waits for "
                      "it to come back and resumes", file=sys.stderr)
                return 1
    except NoOutputDevice as e:
        print(f"coach: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    finally:
        if ducker is not None:
            ducker.stop(timeout=5.0)  # every lowered stream back before we exit
        player.stop()
    if player.underflows:
        log.warning("%d output underflows: try a larger --blocksize or a quieter machine",
                    player.underflows)
    return 0


def _ducker(mixer, config: str | None):
    """The ducker of `coach run` (config `duck:`), or None when ducking is off; off, it still
    gives back volumes a crashed coach left lowered."""
    level = load_config(config).duck_db
    if level is None:
        recover_left_lowered()
        return None
    return Ducker(duck_plan(mixer), level)


def demo_program() -> Path:
    """The shipped demo: programs/demo.yaml beside the package (a clone) or in the cwd."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        p = base / "programs" / "demo.yaml"
        if p.is_file():
            return p
    raise CoachError.at("programs/demo.yaml", 0, 0, "the demo program is not here; "
                        "run coach from a clone of the repository or give a FILE")


def cmd_demo(args: argparse.Namespace) -> int:
    """Play the demo; where there is no output device, render it to a WAV and say where."""
    path = str(args.file or demo_program())
    try:
        has_output = bool(list_devices())
    except NoOutputDevice:
        has_output = False
    if has_output:
        args.file, args.rate, args.metronome, args.blocksize = path, 48000, False, 1024
        status = cmd_run(args)
        if status != 1:
            return status
    out = Path(args.output).resolve()
    print(f"coach: no sound device here; rendering the demo to {out} instead", file=sys.stderr)
    ns = argparse.Namespace(file=path, output=str(out), rate=48000, metronome=False,
                            config=args.config, feel=None, after_set=1)
    return cmd_render(ns)
