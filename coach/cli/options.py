"""The options several verbs share, each written once (flags, help), and what reads their values."""

from __future__ import annotations

import argparse
from typing import Any

from coach.core.errors import CoachError

# --rate: what a sound card or a WAV player takes (telephone 8 kHz to studio 192 kHz). Outside
# it a render made a 125-frame file at 1 Hz, or a resampler traceback at 0.
RATE_MIN, RATE_MAX = 8000, 192_000

# name -> (flags, argparse settings); `add_options(parser, "config", "json")` adds them.
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "verbose": (("-v", "--verbose"), {"action": "store_true", "help": "debug logging"}),
    "config": (("--config",), {"metavar": "FILE", "help": "settings (voice defaults, ...) from "
                               "this config.yaml (default: $XDG_CONFIG_HOME/coach/config.yaml)"}),
    "programs": (("--programs",), {"metavar": "DIR",
                                   "help": "programs directory (or $COACH_PROGRAMS)"}),
    "json": (("--json",), {"action": "store_true", "help": "machine-readable (see DESIGN.md)"}),
    "device": (("--device",), {"metavar": "NAME|INDEX",
                               "help": "output device (see coach devices)"}),
    "rate": (("--rate",), {"type": int, "default": 48000,
                           "help": f"output sample rate, {RATE_MIN}-{RATE_MAX} Hz (default 48000)"}),
    "feel": (("--feel",), {"type": int, "choices": range(1, 6), "metavar": "N",
                           "help": "as if each exercise's set were rated feel N: its remedy "
                                   "(a program's remedy: key) applied to the sets after it"}),
    "after_set": (("--after-set",), {"type": int, "default": 1, "metavar": "K",
                                     "help": "the set --feel rates (default 1)"}),
    "metronome": (("--metronome",), {"action": "store_true",
                                     "help": "tick on each tempo second"}),
}


def add_options(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add the shared options ``names`` (keys of OPTIONS) to ``parser``, in that order."""
    for name in names:
        flags, settings = OPTIONS[name]
        parser.add_argument(*flags, **settings)


def device_arg(value: str | None) -> int | str | None:
    """--device's value: an index when it is all digits, else a name (None: the default)."""
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def check_rate(verb: str, rate: int) -> int:
    """--rate's value, or a one-line CoachError (exit 2) naming the verb and the range."""
    if not RATE_MIN <= rate <= RATE_MAX:
        raise CoachError.at(f"coach {verb}", 0, 0, f"--rate must be a sample rate between "
                            f"{RATE_MIN} and {RATE_MAX} Hz, got {rate}")
    return rate
