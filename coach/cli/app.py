"""The `coach` command line: the parser (every verb's arguments, and the module:function that
runs it) and ``main()``. A verb's module is imported only when that verb runs, so `coach status`
loads no audio, `coach plan` no daemon, and `coach --help` none of them."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import faulthandler
import importlib
import logging
import os
import select
import signal
import sys
from collections.abc import Callable, Sequence

from coach import __version__
from coach.cli.options import add_options
from coach.core.errors import CoachError
from coach.core.types import LISTEN_ENGINES, QUESTIONS, SIDES
from coach.protocol.codec import COMMANDS

# The starting programs of `coach new` (coach/data/new-KIND.yaml, read by coach.cli.authoring).
NEW_KINDS = ("tempo", "hold", "high-rep", "posing", "unilateral", "session")

Subparsers = argparse._SubParsersAction  # what add_subparsers returns


def verb(sub: Subparsers, name: str, runs: str, help: str) -> argparse.ArgumentParser:
    """The subparser of verb ``name``, run by ``runs`` ("coach.cli.MODULE:FUNCTION", imported
    when the verb runs)."""
    c = sub.add_parser(name, help=help)
    c.set_defaults(func=runs)
    return c


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coach", description="Voice-guided audio coaching for "
                                "mind-muscle training: tempo reps, holds, high reps, posing.")
    p.add_argument("--version", action="version", version=f"coach {__version__}")
    add_options(p, "verbose")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = verb(sub, "check", "coach.cli.program:cmd_check",
             help="validate program files (and that every cue fits its time)")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--no-voice", action="store_true",
                   help="only validate; do not synthesize clips to check their lengths")
    add_options(c, "config")

    c = verb(sub, "plan", "coach.cli.program:cmd_plan",
             help="print the timeline: time, phase, words")
    c.add_argument("file", metavar="FILE")
    add_options(c, "json")
    c.add_argument("--svg", metavar="OUT", help="draw the session as a strip of coloured "
                   "phases (OUT.svg, or OUT.png for a bitmap)")
    add_options(c, "feel", "after_set", "config")

    c = verb(sub, "new", "coach.cli.authoring:cmd_new",
             help="a commented starting program for a method (on stdout, or written to FILE)")
    c.add_argument("kind", choices=NEW_KINDS, metavar="KIND", help=" | ".join(NEW_KINDS))
    c.add_argument("file", nargs="?", metavar="FILE", help="write it here (a folder: KIND.yaml "
                   "in it); never overwrites")

    verb(sub, "schema", "coach.cli.authoring:cmd_schema",
         help="print the JSON Schema of the program format (for editors: see README)")

    c = verb(sub, "render", "coach.cli.sound:cmd_render",
             help="render the whole session to a WAV file")
    c.add_argument("file", metavar="FILE")
    c.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    add_options(c, "rate", "metronome", "feel", "after_set", "config")

    c = verb(sub, "run", "coach.cli.sound:cmd_run", help="play a session now, in real time")
    c.add_argument("file", metavar="FILE")
    add_options(c, "device", "rate", "metronome")
    c.add_argument("--blocksize", type=int, default=1024,
                   help="frames per audio block (default 1024; larger if it stutters)")
    add_options(c, "config")

    c = verb(sub, "demo", "coach.cli.sound:cmd_demo",
             help="play the demo program (renders a WAV with no sound device)")
    c.add_argument("file", nargs="?", metavar="FILE", help="default: programs/demo.yaml")
    add_options(c, "device")
    c.add_argument("-o", "--output", default="coach-demo.wav",
                   help="where the WAV goes when there is no sound device")
    add_options(c, "config")

    c = verb(sub, "daemon", "coach.cli.daemon:cmd_daemon",
             help="run the headless daemon (schedules, control socket)")
    add_options(c, "programs", "config", "device")
    c.add_argument("--resume", action="store_true",
                   help="restart an interrupted session at the start of its interrupted set")

    for name, cls in COMMANDS.items():
        c = verb(sub, name, "coach.cli.remote:cmd_verb", help=cls.help)
        for f in dataclasses.fields(cls):  # the request's fields marked cli: its arguments
            if "cli" in f.metadata:
                positional = f.default is dataclasses.MISSING
                c.add_argument(f.name if positional else f"--{f.name}", **f.metadata["cli"])
        add_options(c, "json")

    c = verb(sub, "history", "coach.cli.history:cmd_history",
             help="recent sessions, their sets and ratings; imbalance between sides; a picture "
             "of ratings and reps over time")
    add_options(c, "json")
    c.add_argument("-n", "--limit", type=int, default=10, help="sessions listed (default 10)")
    c.add_argument("--imbalance", action="store_true",
                   help="each unilateral exercise's mean rating per side, and a lagging side")
    c.add_argument("--sessions", type=int, metavar="N",
                   help="sessions counted: per exercise for --imbalance (default 5), all "
                   "sessions for --plot (default: every one)")
    c.add_argument("--question", choices=QUESTIONS, default="feel",
                   help="the rating --imbalance compares (default feel; with effort, the side "
                   "that needed more effort is the lagging one)")
    c.add_argument("--plot", metavar="FILE",
                   help="draw ratings and reps/hold over time, a panel per exercise "
                   "(.png or .svg)")

    c = verb(sub, "rerate", "coach.cli.rerate:cmd_rerate",
             help="change or take back a rating of a finished session (one the mic misheard, "
             "a tap too many)")
    c.add_argument("exercise", metavar="EXERCISE", help="its name as `coach history` says it "
                   "(any case; its first letters will do)")
    c.add_argument("set", type=int, metavar="SET", help="the set's number")
    c.add_argument("value", metavar="VALUE", help="1-5, or none: unrated")
    c.add_argument("--side", choices=SIDES, help="left or right (a unilateral exercise)")
    c.add_argument("--question", choices=QUESTIONS, help="default: the one the set was rated "
                   "for, else feel")
    c.add_argument("--session", type=int, metavar="N", help="the session's number (#N in "
                   "`coach history`; default: the last one that is over)")

    c = verb(sub, "web", "coach.cli.web:cmd_web",
             help="the phone page's address with its token, and a QR code of it to scan")
    c.add_argument("--no-qr", action="store_true", help="only the address")
    add_options(c, "config")

    verb(sub, "install-service", "coach.cli.service:cmd_install_service",
         help="install the systemd user unit for the daemon")

    verb(sub, "devices", "coach.cli.devices:cmd_devices", help="list audio output devices")

    c = verb(sub, "mic", "coach.cli.mic:cmd_mic",
             help="check the mic (listen:): hear one window as the daemon would, say what was "
             "heard, how soon, the voice's and the room's levels, and what to change")
    c.add_argument("--source", metavar="NAME", help="a PulseAudio/PipeWire source (default: "
                   "the config's listen: source, else the default source)")
    c.add_argument("--engine", choices=LISTEN_ENGINES,
                   help="the recogniser (default: the config's listen: engine)")
    c.add_argument("--seconds", type=float, default=6.0, metavar="S",
                   help="how long to listen (default 6, a rating window's length)")
    c.add_argument("--command", action="store_true",
                   help="listen for a spoken command instead of a rating")
    add_options(c, "config")

    c = verb(sub, "voices", "coach.cli.voices:cmd_voices",
             help="list espeak-ng voices and Piper models (and what each program FILE would use)")
    c.add_argument("files", nargs="*", metavar="FILE")
    add_options(c, "config")
    return p


def resolve(runs: str) -> Callable[[argparse.Namespace], int]:
    """The function named by "MODULE:FUNCTION", its module imported now."""
    module, _, name = runs.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="coach: %(levelname)s: %(message)s" if sys.stderr.isatty()
                        else "%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # `kill -USR1 PID` prints every thread's stack to stderr (the journal, for the daemon): how
    # a hung process on a headless Pi, or in a test, says where it is.
    with contextlib.suppress(OSError, ValueError):  # no real stderr (called in-process): none
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        status = resolve(args.func)(args)
        # Flush here, not at interpreter shutdown: a reader that went away (`| head`) then
        # shows as BrokenPipeError below instead of "Exception ignored ..." and exit 120.
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise  # a broken pipe elsewhere (a socket...) is a real error, not `| head`
        # `coach plan x | head` closes the pipe early: not an error. Python's docs on SIGPIPE:
        # point stdout at devnull so the final flush at exit has nowhere to fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except CoachError as e:
        print(e, file=sys.stderr)
        return 2
    except Exception as e:
        # Missing real parts (no TTS under COACH_REQUIRE_REAL=1, no sound device) are one line.
        # Imported here, on the way out: the audio costs ~0.1 s to import, which a verb that
        # never plays (`coach status`) must not pay.
        from coach.audio.player import NoOutputDevice
        from coach.audio.voice import VoiceUnavailable
        if isinstance(e, VoiceUnavailable):
            print(f"coach: voice unavailable: {e}", file=sys.stderr)
            return 1
        if isinstance(e, NoOutputDevice):
            print(f"coach: {e}", file=sys.stderr)
            return 1
        raise


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe (or socket) whose reading end is closed: poll says POLLERR."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll, or stdout is not a real file
        return False
