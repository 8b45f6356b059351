"""The `coach` command line: check, plan, render, run, devices, voices, and the daemon verbs."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import faulthandler
import json
import logging
import os
import select
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from coach.core.errors import CoachError, Diagnostic

from . import __version__

if TYPE_CHECKING:
    from coach.daemon.protocol import Reply, Request, Status

log = logging.getLogger("coach")


def fmt_time(ms: int) -> str:
    s, ms = divmod(ms, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}" if h else f"{m}:{s:02d}.{ms:03d}"


def fmt_duration(ms: int) -> str:
    s = round(ms / 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _load(path: str, config: str | None = None):
    """A program with config.yaml's voice defaults applied, and its timeline."""
    from coach.core.timeline import compile_program
    program = _load_program(path, config)
    return program, compile_program(program)


def _load_program(path: str, config: str | None = None):
    from coach.core.program import load_program
    from coach.store.config import load_config, with_voice_defaults
    program = load_program(path)
    return with_voice_defaults(program, load_config(config).voice)


PROGRESS_DELAY_S = 1.0  # a job done sooner shows no progress at all


def terminal_progress(label: str, unit: str = "clips", stream=None,
                      clock: Callable[[], float] | None = None,
                      delay_s: float = PROGRESS_DELAY_S) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr (``stream``) when it is a terminal, shown only once
    the job has taken ``delay_s`` (from the first call); silent otherwise. ``unit`` "clips":
    "12/77 clips"; "%": a percentage (frames of a render)."""
    import time

    stream = stream if stream is not None else sys.stderr
    clock = clock or time.monotonic
    tty = bool(getattr(stream, "isatty", lambda: False)())
    start: list[float] = []
    shown = [False]

    def show(done: int, total: int) -> None:
        if not tty:
            return
        now = clock()
        if not start:
            start.append(now)
        finished = done >= total
        if not shown[0] and (finished or now - start[0] < delay_s):
            return  # quick jobs stay quiet
        shown[0] = True
        width = 30
        filled = width if total <= 0 else int(width * done / total)
        count = (f"{100 * done // max(total, 1)}%" if unit == "%" else f"{done}/{total} {unit}")
        stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {count}")
        if finished:
            stream.write("\n")
        stream.flush()

    return show


def _progress(label: str, unit: str = "clips"):
    return terminal_progress(label, unit)


def _clip_warnings(program, timeline, clips_ms) -> list[Diagnostic]:
    from coach.core.timeline import find_overlaps
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
            program, timeline = _load(path, args.config)
        except CoachError as e:
            print(e, file=sys.stderr)
            status = 2
            continue
        warnings: list[Diagnostic] = []
        if not args.no_voice:
            from coach.audio.pipeline import prepare_clips
            clips = prepare_clips(timeline, progress=_progress(f"voice {Path(path).name}"))
            rate = 48000
            clips_ms = {k: len(v) * 1000 // rate for k, v in clips.items()}
            warnings = _clip_warnings(program, timeline, clips_ms)
        for w in warnings:
            print(w, file=sys.stderr)
        print(f"{path}: ok: {program.name!r}, {len(program.exercises)} exercises, "
              f"{sum(e.sets for e in program.exercises)} sets, {fmt_duration(timeline.duration_ms)}"
              + (f", {len(warnings)} warnings" if warnings else ""))
    return status


def cmd_plan(args: argparse.Namespace) -> int:
    if args.svg:
        from coach.report.plots import check_format
        check_format(args.svg, "--svg")
    program, timeline = _load(args.file, args.config)
    notes: list = []
    if any(ex.progress for ex in program.exercises):
        # Today's values: the program's `progress:` rules applied to its last session.
        from coach.core.timeline import compile_program
        from coach.store.history import History
        from coach.store.programs import progressed
        with History() as history:
            program, notes = progressed(program, history, Path(args.file).resolve())
        timeline = compile_program(program)
    if args.svg:
        from coach.report.plots import save_plan_plot
        strip = save_plan_plot(timeline, args.svg)
        print(f"{args.svg}: {program.name}, {len(strip.labels)} sets, "
              f"{fmt_duration(timeline.duration_ms)}, rest {strip.fraction({'rest'}):.0%}")
        return 0
    if args.json:
        out = timeline.to_json()
        if notes:
            out["progress"] = [{"exercise": n.exercise, "exercise_index": n.exercise_index,
                                "target": n.target, "old": n.old, "new": n.new,
                                "reason": n.reason} for n in notes]
        json.dump(out, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from coach.core.timeline import Cue
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
    if notes:
        from coach.core.progression import describe_progress
        for line in describe_progress(notes):
            print(f"progress: {line}")
    print(f"{'time':>10}  {'phase':<{width}} text")
    for t_ms, label, text in rows:
        print(f"{fmt_time(t_ms):>10}  {label:<{width}} {text}".rstrip())
    print(f"total {fmt_duration(timeline.duration_ms)} ({timeline.duration_ms / 1000:g} s), "
          f"{len(timeline.cues)} cues")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from coach.core.schema import schema_json
    sys.stdout.write(schema_json())
    return 0


NEW_KINDS = ("tempo", "hold", "high-rep", "posing", "unilateral", "session")


def new_program_text(kind: str) -> str:
    """The commented starting program for ``kind`` (shipped as coach/data/new-KIND.yaml)."""
    from importlib.resources import files
    return files("coach").joinpath("data", f"new-{kind}.yaml").read_text("utf-8")


def cmd_new(args: argparse.Namespace) -> int:
    text = new_program_text(args.kind)
    if args.file is None:
        sys.stdout.write(text)
        return 0
    try:
        # "x": never overwrite, even if the file appears between a check and the write.
        with open(args.file, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise CoachError.at(args.file, 0, 0, "already exists; coach new never overwrites a "
                            "file (choose another name, or remove it first)") from None
    except OSError as e:
        raise CoachError.at(args.file, 0, 0, f"cannot write: {e.strerror or e}") from None
    print(f"{args.file}: a {args.kind} program; edit it, then `coach check {args.file}`",
          file=sys.stderr)
    return 0


def _phase_label(p) -> str:
    label = p.phase
    if p.rep is not None:
        label += f" r{p.rep}"
    return label


def _make_mixer(path: str, rate: int, metronome: bool, config: str | None = None):
    from coach.audio.pipeline import build_mixer, prepare_clips
    program, timeline = _load(path, config)
    clips = prepare_clips(timeline, rate=rate, progress=_progress("voice"))
    return program, timeline, build_mixer(timeline, clips, rate=rate, metronome=metronome)


def cmd_render(args: argparse.Namespace) -> int:
    from coach.audio.wavout import render_to_wav
    program, timeline, mixer = _make_mixer(args.file, args.rate, args.metronome,
                                           getattr(args, "config", None))
    out = Path(args.output)
    try:
        render_to_wav(mixer, out, progress=_progress("render", "%"))
    except OSError as e:
        raise CoachError.at(str(out), 0, 0,
                            f"cannot write the WAV file: {e.strerror or e}") from None
    print(f"{out}: {fmt_duration(timeline.duration_ms)} of {program.name!r} at {args.rate} Hz")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from coach.audio.player import NoOutputDevice, Player
    program, timeline, mixer = _make_mixer(args.file, args.rate, args.metronome,
                                           getattr(args, "config", None))
    device = _device_arg(args.device)
    player = Player(device=device, rate=args.rate, blocksize=args.blocksize)
    ducker = _ducker(mixer, getattr(args, "config", None))

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
    from coach.audio.duck import Ducker, recover_left_lowered
    from coach.audio.pipeline import duck_plan
    from coach.store.config import load_config
    level = load_config(config).duck_db
    if level is None:
        recover_left_lowered()
        return None
    return Ducker(duck_plan(mixer), level)


def demo_program() -> Path:
    """The shipped demo: programs/demo.yaml beside the package (a clone) or in the cwd."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        p = base / "programs" / "demo.yaml"
        if p.is_file():
            return p
    raise CoachError.at("programs/demo.yaml", 0, 0, "the demo program is not here; "
                        "run coach from a clone of the repository or give a FILE")


def cmd_demo(args: argparse.Namespace) -> int:
    """Play the demo; where there is no output device, render it to a WAV and say where."""
    from coach.audio.player import NoOutputDevice, list_devices
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
                            config=args.config)
    return cmd_render(ns)


def _device_arg(value: str | None):
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def cmd_devices(args: argparse.Namespace) -> int:
    from coach.audio.player import list_devices
    devices = list_devices()
    if not devices:
        print("no output devices (coach render FILE -o out.wav still works)", file=sys.stderr)
        return 1
    for d in devices:
        mark = "*" if d.get("is_default") else " "
        print(f"{mark} {d['index']:>3}  {d['name']}  ({d['channels']} ch, "
              f"{d['default_samplerate']:g} Hz)")
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    """What can speak here: espeak-ng voices by language, installed Piper models, and for each
    program file given, the engine and voice/model it would use (after any fallback)."""
    from coach.audio.voice import (
        PIPER_INSTALL,
        Voice,
        VoiceUnavailable,
        espeak_voices,
        piper_models,
        piper_problem,
        piper_voices_dir,
    )
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
    for path in args.files:
        try:
            program = _load_program(path, args.config)
            # require_real=False: report what would speak, even where CI would refuse a fallback.
            v = Voice(program.voice, program.language, require_real=False)
        except (CoachError, VoiceUnavailable) as e:
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


# --- the daemon and its verbs ---------------------------------------------------------------

def cmd_daemon(args: argparse.Namespace) -> int:
    from coach.daemon.app import run_daemon
    from coach.store.config import load_config, programs_dir
    from coach.store.programs import ensure_programs_dir
    config = load_config(args.config)
    pdir = programs_dir(config, args.programs)
    if ensure_programs_dir(pdir):
        log.info("created the programs directory %s (copy programs from programs/)", pdir)
    from coach.daemon.buttons import GpioButton, MediaKeys
    from coach.daemon.mpris import Mpris
    buttons: list[MediaKeys | GpioButton | Mpris] = []
    if config.mpris:
        buttons.append(Mpris())  # headset buttons through BlueZ, playerctl, desktop widgets
    if config.media_keys:
        buttons.append(MediaKeys(None if config.media_keys is True else config.media_keys))
    if config.gpio_pin is not None:
        buttons.append(GpioButton(config.gpio_pin, hold_ms=config.gpio_hold_ms))
    return run_daemon(pdir, resume=args.resume, device=_device_arg(args.device) or config.device,
                      tz=config.timezone, misfire_grace_s=config.misfire_grace_s,
                      rate=config.rate, blocksize=config.blocksize,
                      preroll_ms=config.preroll_ms, buttons=buttons,
                      voice_defaults=config.voice, duck_db=config.duck_db)


def _request(req: Request, timeout: float = 10.0) -> Reply:
    from coach.daemon.commands import parse_reply, request_json
    from coach.daemon.control import request
    try:
        return parse_reply(req, request(request_json(req), timeout=timeout))
    except ConnectionError as e:
        raise SystemExit(f"coach: {e}") from None


def _print_status(st: Status) -> None:
    if st.state == "idle":
        line = "idle"
        if st.next:
            line += f"; next scheduled: {st.next}"
        print(line)
        if st.interrupted:
            i = st.interrupted
            print(f"interrupted session: {i.program} (set {i.set}); {i.hint}")
        if st.error_last_start:
            print(f"last start failed: {st.error_last_start}")
        return
    where = f"{st.exercise}, set {st.set} of {st.sets}"
    if st.side:
        where += f", {st.side} side"
    phase: str = st.phase or ""
    if st.rep:
        phase += f", rep {st.rep}"
    pos = int(st.position or 0) * 1000
    stalled = f" — {st.reason}" if st.reason and st.reason.startswith("output stalled") else ""
    print(f"{st.state}{stalled}: {st.program} at {fmt_duration(pos)}"
          f" of {fmt_duration(int((st.duration or 0) * 1000))}")
    print(f"  {where}{': ' + phase if phase else ''}")
    if st.state == "preparing":
        print(f"  voice: {st.prepared} of {st.needed} clips ready; "
              "it plays as soon as the voice stays ahead")
    if st.next:
        print(f"  next: {st.next}")


def _verb_request(args: argparse.Namespace) -> Request:
    """The typed request of a daemon verb's command line (its fields marked ``cli``)."""
    from coach.daemon.commands import COMMANDS
    from coach.daemon.protocol import Start
    cls = COMMANDS[args.command]
    req = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                 if "cli" in f.metadata})
    if isinstance(req, Start) and req.program.endswith((".yaml", ".yml")) and \
            Path(req.program).exists():
        req = dataclasses.replace(req, program=str(Path(req.program).resolve()))
    return req


def cmd_verb(args: argparse.Namespace) -> int:
    from coach.daemon.protocol import Failed, Pong, ProgramList, Rated, Reloaded, Status, Stopped
    # Every verb answers at once: a start whose clips are missing says "preparing".
    timeout = 10.0
    reply = _request(_verb_request(args), timeout)
    if isinstance(reply, Failed):
        print(f"coach: {reply.error}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        json.dump(reply.to_json(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    match reply:
        case Reloaded():
            print(f"{len(reply.programs)} programs; changed: "
                  f"{', '.join(reply.changed) or 'none'}")
            for err in reply.errors.values():
                print(err, file=sys.stderr)
        case Rated():
            side = f" {reply.side} side" if reply.side else ""
            print(f"rated {reply.exercise}, set {reply.set}{side}: {reply.question} "
                  f"{reply.value}")
        case Pong():
            print(f"coach daemon running (pid {reply.pid})")
        case ProgramList():
            for stem, p in reply.programs.items():
                print(f"{stem}: {p.name or '(does not load)'}  {p.path}")
                if p.error:
                    print(p.error, file=sys.stderr)
        case Status():
            _print_status(reply)
        case Stopped():
            print("idle")
        case _:
            assert_never(reply)
    return 0


def _positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise CoachError(Diagnostic("coach", 0, 0, f"{option} must be at least 1 (got {value})"))


def cmd_history(args: argparse.Namespace) -> int:
    from coach.report import views
    from coach.store.history import History
    _positive(args.limit, "--limit")
    _positive(args.sessions, "--sessions")
    if args.plot:
        from coach.report.plots import check_format
        check_format(args.plot, "--plot")  # before any work: a wrong name is one line at once
    h = History()
    try:
        if args.imbalance:
            sessions = h.recent(None)
        elif args.plot:
            sessions = h.recent(args.sessions)  # None: every session
        else:
            sessions = h.recent(args.limit)
    finally:
        h.close()
    if args.plot:
        from coach.report.plots import save_history_plot
        n = save_history_plot(views.plot_data(sessions), args.plot)
        print(f"{args.plot}: {n} exercise panel{'s' if n != 1 else ''} from "
              f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}")
        return 0
    if args.imbalance:
        rows = views.imbalance(sessions, args.question,
                               args.sessions or views.DEFAULT_IMBALANCE_SESSIONS)
        if args.json:
            json.dump([x.to_json() for x in rows], sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        elif not rows:
            print(f"no unilateral exercise has left/right {args.question} ratings yet")
        else:
            for x in rows:
                print(views.imbalance_line(x))
        return 0
    if args.json:
        json.dump([views.session_json(s) for s in sessions], sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not sessions:
        print("no sessions yet")
    for s in sessions:
        when = s.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        done = sum(1 for x in s.sets if x.status == "completed")
        print(f"{when}  {s.program}  {s.status}  {done}/{len(s.sets)} sets  "
              f"{fmt_duration(s.position_ms)}")
        for line in views.session_lines(s):
            print(f"    {line}")
    return 0


def cmd_install_service(args: argparse.Namespace) -> int:
    from coach.daemon.service import default_coach_bin, install_service
    installed = install_service(default_coach_bin())
    print(installed.text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coach", description="Voice-guided audio coaching for "
                                "mind-muscle training: tempo reps, holds, high reps, posing.")
    p.add_argument("--version", action="version", version=f"coach {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="validate program files (and that every cue fits its time)")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--no-voice", action="store_true",
                   help="only validate; do not synthesize clips to check their lengths")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_check)

    c = sub.add_parser("plan", help="print the timeline: time, phase, words")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--json", action="store_true", help="machine-readable (see DESIGN.md)")
    c.add_argument("--svg", metavar="OUT", help="draw the session as a strip of coloured "
                   "phases (OUT.svg, or OUT.png for a bitmap)")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_plan)

    c = sub.add_parser("new", help="a commented starting program for a method (on stdout, "
                       "or written to FILE)")
    c.add_argument("kind", choices=NEW_KINDS, metavar="KIND", help=" | ".join(NEW_KINDS))
    c.add_argument("file", nargs="?", metavar="FILE", help="write it here (never overwrites)")
    c.set_defaults(func=cmd_new)

    c = sub.add_parser("schema", help="print the JSON Schema of the program format (for "
                       "editors: see README)")
    c.set_defaults(func=cmd_schema)

    c = sub.add_parser("render", help="render the whole session to a WAV file")
    c.add_argument("file", metavar="FILE")
    c.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    c.add_argument("--rate", type=int, default=48000, help="output sample rate (default 48000)")
    c.add_argument("--metronome", action="store_true", help="tick on each tempo second")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_render)

    c = sub.add_parser("run", help="play a session now, in real time")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--device", metavar="NAME|INDEX", help="output device (see coach devices)")
    c.add_argument("--rate", type=int, default=48000, help="output sample rate (default 48000)")
    c.add_argument("--metronome", action="store_true", help="tick on each tempo second")
    c.add_argument("--blocksize", type=int, default=1024,
                   help="frames per audio block (default 1024; larger if it stutters)")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_run)

    c = sub.add_parser("demo", help="play the demo program (renders a WAV with no sound device)")
    c.add_argument("file", nargs="?", metavar="FILE", help="default: programs/demo.yaml")
    c.add_argument("--device", metavar="NAME|INDEX")
    c.add_argument("-o", "--output", default="coach-demo.wav",
                   help="where the WAV goes when there is no sound device")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_demo)

    c = sub.add_parser("daemon", help="run the headless daemon (schedules, control socket)")
    c.add_argument("--programs", metavar="DIR", help="programs directory (or $COACH_PROGRAMS)")
    c.add_argument("--config", metavar="FILE", help="default: $XDG_CONFIG_HOME/coach/config.yaml")
    c.add_argument("--device", metavar="NAME|INDEX", help="output device")
    c.add_argument("--resume", action="store_true",
                   help="restart an interrupted session at the start of its interrupted set")
    c.set_defaults(func=cmd_daemon)

    from coach.core.types import QUESTIONS
    from coach.daemon.commands import COMMANDS
    for verb, cls in COMMANDS.items():
        c = sub.add_parser(verb, help=cls.help)
        for f in dataclasses.fields(cls):  # the request's fields marked cli: its arguments
            if "cli" in f.metadata:
                positional = f.default is dataclasses.MISSING
                c.add_argument(f.name if positional else f"--{f.name}", **f.metadata["cli"])
        c.add_argument("--json", action="store_true")
        c.set_defaults(func=cmd_verb)

    c = sub.add_parser("history", help="recent sessions, their sets and ratings; imbalance "
                       "between sides; a picture of ratings and reps over time")
    c.add_argument("--json", action="store_true", help="machine-readable (see DESIGN.md)")
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
    c.set_defaults(func=cmd_history)

    c = sub.add_parser("install-service", help="install the systemd user unit for the daemon")
    c.set_defaults(func=cmd_install_service)

    c = sub.add_parser("devices", help="list audio output devices")
    c.set_defaults(func=cmd_devices)

    c = sub.add_parser("voices", help="list espeak-ng voices and Piper models (and what each "
                       "program FILE would use)")
    c.add_argument("files", nargs="*", metavar="FILE")
    c.add_argument("--config", metavar="FILE", help="voice defaults from this config.yaml "
                   "(default: $XDG_CONFIG_HOME/coach/config.yaml)")
    c.set_defaults(func=cmd_voices)
    return p


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
        status = args.func(args)
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


if __name__ == "__main__":
    sys.exit(main())
