"""`coach devices`: the audio outputs here (for `--device`). Apart from the verbs that play, so
listing them loads only the player, not the voices or the mixer."""

from __future__ import annotations

import argparse
import sys

from coach.audio.player import list_devices


def cmd_devices(args: argparse.Namespace) -> int:
    devices = list_devices()
    if not devices:
        print("no output devices (coach render FILE -o out.wav still works)", file=sys.stderr)
        return 1
    for d in devices:
        mark = "*" if d.get("is_default") else " "
        print(f"{mark} {d['index']:>3}  {d['name']}  ({d['channels']} ch, "
              f"{d['default_samplerate']:g} Hz)")
    return 0
