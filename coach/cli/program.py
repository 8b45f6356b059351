"""`coach check` and `coach plan`: a program file read, validated and shown as its timeline.

What only one branch needs is imported there, so the common path does not pay for it: the
audio (numpy, the voice engines) only when `check` voices the cues, the history only for a
program with `progress:` rules, the plotting only for `plan --svg`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coach.cli.fmt import count, fmt_duration, fmt_time
from coach.cli.progress import terminal_progress
from coach.core.errors import CoachError, Diagnostic
from coach.core.navigation import extra_texts
from coach.core.program import Program, load_program
from coach.core.remedy import Change, plan_changes, remedy_problems
from coach.core.timeline import Cue, Phase, Timeline, compile_program, find_overlaps
from coach.report.views import program_notes
from coach.store.config import load_config, with_voice_defaults


def load(path: str, config: str | None = None, feel: int | None = None,
         after_set: int = 1) -> tuple[Program, Timeline]:
    """A program with config.yaml's voice defaults applied, and its timeline (with ``feel``:
    as if each exercise's set ``after_set`` were rated so, its remedy applied)."""
    program = load_with_defaults(path, config)
    problems = remedy_problems(program)
    if problems:
        raise CoachError(problems)
    return program, compile_program(program, remedies(program, feel, after_set))


def remedies(program: Program, feel: int | None, after_set: int = 1) -> tuple[Change, ...]:
    return () if feel is None else plan_changes(program, feel, after_set)


def load_with_defaults(path: str, config: str | None = None) -> Program:
    """The program file at ``path`` with config.yaml's voice defaults applied."""
    program = load_program(path)
    return with_voice_defaults(program, load_config(config).voice)


def _clip_warnings(program, timeline, clips_ms) -> list[Diagnostic]:
    out = []
    for ov in find_overlaps(timeline, clips_ms):
        ex = program.exercises[ov.cue.exercise_index]
        msg = (f'cue "{ov.cue.text}" at {fmt_time(ov.cue.t_ms)} lasts {ov.clip_ms / 1000:.2f} s and '
               f'overlaps the next cue "{ov.next.text}" at {fmt_time(ov.next.t_ms)} by '
               f"{(ov.clip_ms - (ov.next.t_ms - ov.cue.t_ms)) / 1000:.2f} s")
        if ov.count > 1:
            msg += f" ({ov.count} times)"
        if ov.fit_rate is not None:
            msg += f"; voice rate {ov.fit_rate} would fit"
        else:
            msg += "; shorten the words or lengthen the phase"
        out.append(Diagnostic(program.path, ex.line, 1, msg, "warning"))
    return out


def cmd_check(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            program, timeline = load(path, args.config)
        except CoachError as e:
            print(e, file=sys.stderr)
            status = 2
            continue
        warnings: list[Diagnostic] = []
        if not args.no_voice:
            from coach.audio.pipeline import prepare_clips  # numpy and the voices: not for --no-voice
            from coach.audio.voice.cost import remedy_clip_problems
            # What a session may say outside its timeline (a resume, a rating's echo) too: the
            # daemon's clip worker makes those before the remedies' clips it makes ahead.
            clips = prepare_clips(timeline, progress=terminal_progress(f"voice {Path(path).name}"),
                                  extra=extra_texts(timeline, program.words)
                                  if any(ex.remedy is not None for ex in program.exercises)
                                  else ())
            rate = 48000
            clips_ms = {k: len(v) * 1000 // rate for k, v in clips.items()}
            warnings = _clip_warnings(program, timeline, clips_ms)
            # After the clips: the session's own are in the cache now, so only the remedies'
            # new clips are counted.
            late = remedy_clip_problems(program, rate)
            if late:
                for d in late:
                    print(d, file=sys.stderr)
                status = 2
                continue
        for w in warnings:
            print(w, file=sys.stderr)
        print(f"{path}: ok: {program.name!r}, {count(len(program.exercises), 'exercise')}, "
              f"{count(sum(e.sets for e in program.exercises), 'set')}, "
              f"{fmt_duration(timeline.duration_ms)}"
              + (f", {count(len(warnings), 'warning')}" if warnings else ""))
    return status


def cmd_plan(args: argparse.Namespace) -> int:
    if args.svg:
        from coach.report.plots import check_format  # the plotting: only for --svg
        check_format(args.svg, "--svg")
    program, timeline = load(args.file, args.config, args.feel, args.after_set)
    changes = remedies(program, args.feel, args.after_set)
    notes: list = []
    if any(ex.progress or (ex.remedy is not None and len(ex.sides) > 1)
           for ex in program.exercises):
        # Today's values: the program's `progress:` rules applied to its last session, and
        # a remedied unilateral exercise's lagging side first (as the daemon plays it).
        from coach.store.history import History  # the history: only for these
        from coach.store.programs import progressed, with_lagging_first
        with History(read_only=True) as history:
            program, notes = progressed(program, history, Path(args.file).resolve())
            program = with_lagging_first(program, history)
        changes = remedies(program, args.feel, args.after_set)
        timeline = compile_program(program, changes)
    if args.svg:
        from coach.report.plots import save_plan_plot
        strip = save_plan_plot(timeline, args.svg)
        print(f"{args.svg}: {program.name}, {count(len(strip.labels), 'set')}, "
              f"{fmt_duration(timeline.duration_ms)}, rest {strip.fraction({'rest'}):.0%}")
        return 0
    if args.json:
        out = timeline.to_json()
        if notes:
            out["progress"] = [n.to_json() for n in notes]
        if args.feel is not None:
            out["remedies"] = [{"exercise": program.exercises[c.exercise_index].name,
                                "exercise_index": c.exercise_index, "from_set": c.from_set,
                                "reason": c.reason, "words": c.words} for c in changes]
        json.dump(out, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    # (time, phase label, text) rows; a phase and the cue at its start share a row.
    rows: list[tuple[int, str, str]] = []
    pending_phase = None
    for e in timeline.events:
        if isinstance(e, Cue):
            label = ""
            if pending_phase is not None and pending_phase.t_ms == e.t_ms:
                label = _phase_label(pending_phase)
                pending_phase = None
            elif pending_phase is not None:
                rows.append((pending_phase.t_ms, _phase_label(pending_phase), ""))
                pending_phase = None
            rows.append((e.t_ms, label, f"({e.text})" if e.kind == "tick" else e.text))
        else:
            if pending_phase is not None:
                rows.append((pending_phase.t_ms, _phase_label(pending_phase), ""))
            pending_phase = e
    if pending_phase is not None:
        rows.append((pending_phase.t_ms, _phase_label(pending_phase), ""))
    # The phase column is as wide as its longest label ("bottom_pause r10"), so the text
    # column starts at the same offset on every row.
    width = max([len("phase")] + [len(label) for _, label, _ in rows])
    print(f"{program.name} ({program.path})")
    for line in program_notes(program):
        print(line)
    if notes:
        from coach.core.progression import describe_progress
        for line in describe_progress(notes):
            print(f"progress: {line}")
    for c in changes:
        print(f"remedy: {program.exercises[c.exercise_index].name}: from set {c.from_set} "
              f"({c.reason or 'back to the program'}): {c.words}")
    print(f"{'time':>10}  {'phase':<{width}} text")
    for t_ms, label, text in rows:
        print(f"{fmt_time(t_ms):>10}  {label:<{width}} {text}".rstrip())
    print(f"total {fmt_duration(timeline.duration_ms)} ({timeline.duration_ms / 1000:g} s), "
          f"{len(timeline.cues)} cues")
    return 0


def _phase_label(p: Phase) -> str:
    label: str = p.phase
    if p.rep is not None:
        label += f" r{p.rep}"
    return label
