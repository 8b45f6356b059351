"""The daemon's verbs from the command line (`coach status`, `coach start`, `coach rate`...): each
a typed request of the control protocol sent over the daemon's socket, its reply printed."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import assert_never

from coach.cli.fmt import count, fmt_duration, fmt_next_start
from coach.daemon.control import DaemonNotRunning, request
from coach.protocol.codec import COMMANDS, parse_reply, request_json
from coach.protocol.messages import (
    Failed,
    Pong,
    ProgramList,
    Rated,
    Reloaded,
    Reply,
    Request,
    Start,
    Status,
    Stopped,
)

log = logging.getLogger("coach")

NOT_RUNNING = ("coach: the daemon is not running (start it with `coach daemon` or the systemd "
               "service)")


def _request(req: Request, timeout: float = 10.0) -> Reply:
    try:
        return parse_reply(req, request(request_json(req), timeout=timeout))
    except DaemonNotRunning as e:
        log.debug("%s", e)  # where it looked: `coach -v status`
        raise SystemExit(NOT_RUNNING) from None
    except ConnectionError as e:
        raise SystemExit(f"coach: {e}") from None


def _print_status(st: Status) -> None:
    _print_state(st)
    for problem in st.problems:
        print(f"problem: {problem}")


def _print_state(st: Status) -> None:
    if st.state == "idle":
        line = "idle"
        if st.next:
            line += f"; next scheduled: {fmt_next_start(st.next)}"
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
    if st.extended:
        # The position holds while `coach extend`'s extra rest plays: say why, and for how long.
        print(f"  rest extended: {fmt_duration(round(st.extended * 1000))} more before it "
              f"goes on from {fmt_duration(pos)}")
    if st.state == "preparing":
        print(f"  voice: {st.prepared} of {st.needed} clips ready; "
              "it plays as soon as the voice stays ahead")
    if st.next:
        print(f"  next: {st.next}")


def _verb_request(args: argparse.Namespace) -> Request:
    """The typed request of a daemon verb's command line (its fields marked ``cli``)."""
    cls = COMMANDS[args.command]
    req = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                 if "cli" in f.metadata})
    if isinstance(req, Start) and req.program.endswith((".yaml", ".yml")) and \
            Path(req.program).exists():
        req = dataclasses.replace(req, program=str(Path(req.program).resolve()))
    return req


def cmd_verb(args: argparse.Namespace) -> int:
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
            print(f"{count(len(reply.programs), 'program')}; changed: "
                  f"{', '.join(reply.changed) or 'none'}")
            for err in reply.errors.values():
                print(err, file=sys.stderr)
        case Rated():
            side = f" {reply.side} side" if reply.side else ""
            was = f" (was {reply.was})" if reply.was is not None else ""
            print(f"rated {reply.exercise}, set {reply.set}{side}: {reply.question} "
                  f"{reply.value}{was}")
        case Pong():
            print(f"coach daemon running (pid {reply.pid})")
        case ProgramList():
            if not reply.programs:
                where = reply.dir or "the daemon's programs directory"
                print(f"no programs in {where}; copy one there (e.g. from programs/ in the "
                      "coach clone) and the daemon loads it")
            for stem, p in reply.programs.items():
                print(f"{stem}: {p.name or '(does not load)'}  {p.path}")
                if p.error:
                    print(p.error, file=sys.stderr)
        case Status():
            _print_status(reply)
        case Stopped():
            print("idle")
            if reply.not_saved:
                print(f"coach: the session's end is not saved: {reply.not_saved}",
                      file=sys.stderr)
        case _:
            assert_never(reply)
    return 0
