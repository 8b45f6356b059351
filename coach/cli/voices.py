"""`coach voices`: what can speak here (espeak-ng voices, Piper models), and what each program
file given would use."""

from __future__ import annotations

import argparse
import sys

from coach.audio.voice import (
    PIPER_INSTALL,
    Voice,
    VoiceUnavailable,
    espeak_voices,
    piper_models,
    piper_problem,
    piper_voices_dir,
)
from coach.cli.program import load_with_defaults
from coach.core.errors import CoachError


def cmd_voices(args: argparse.Namespace) -> int:
    """What can speak here: espeak-ng voices by language, installed Piper models, and for each
    program file given, the engine and voice/model it would use (after any fallback). A file
    that does not load is an error, said first and alone (not after a page of voices)."""
    programs = []
    failed = False
    for path in args.files:
        try:
            programs.append((path, load_with_defaults(path, args.config)))
        except CoachError as e:
            print(e, file=sys.stderr)
            failed = True
    if failed:
        return 2
    try:
        espeak = espeak_voices()
        print(f"espeak-ng voices ({len(espeak)}; voice: {{engine: espeak, voice: ID}}):")
    except VoiceUnavailable as e:
        espeak = []
        print(f"espeak-ng: unavailable ({e})")
    groups: dict[str, list[tuple[str, str]]] = {}
    for vid, name, lang in espeak:
        groups.setdefault(lang.split("-")[0] or "?", []).append((vid, name))
    for lang in sorted(groups):
        for i, (vid, name) in enumerate(sorted(groups[lang])):
            print(f"  {lang if i == 0 else '':<6} {vid:<24} {name}")
    print(f"Piper models (voice: {{engine: piper, model: NAME or PATH}}; "
          f"more go in {piper_voices_dir()}):")
    problem = piper_problem()
    if problem:
        print(f"  Piper itself: {problem}")
    models = piper_models()
    for m in models:
        note = f"  [unusable: {m.problem}]" if m.problem else ""
        print(f"  {m.name:<24} {m.language or '?':<6} {m.path}{note}")
    if not models:
        print(f"  none ({PIPER_INSTALL} installs en_US-joe-medium)")
    status = 0
    if args.files:
        print("Programs:")
    for path, program in programs:
        try:
            # require_real=False: report what would speak, even where CI would refuse a fallback.
            v = Voice(program.voice, program.language, require_real=False)
        except VoiceUnavailable as e:
            print(e, file=sys.stderr)
            status = 2
            continue
        s = program.voice
        what = f"{v.engine} {v.model}" + (f" ({v.model_path})" if v.model_path else "")
        line = f"  {path}: {what}, {s.rate} wpm, volume {s.volume:g}"
        if v.fallback_reason:
            line += f"; instead of {s.engine}: {v.fallback_reason}"
        print(line)
    return status
