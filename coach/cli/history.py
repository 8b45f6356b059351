"""`coach history`: recent sessions with their sets and ratings, the imbalance between sides,
and a picture of ratings and reps over time (the plotting imported only for --plot)."""

from __future__ import annotations

import argparse
import json
import sys

from coach.cli.fmt import fmt_duration
from coach.core.errors import CoachError, Diagnostic
from coach.core.imbalance import DEFAULT_IMBALANCE_SESSIONS, imbalance
from coach.core.program import Program
from coach.report import views
from coach.store.history import History
from coach.store.programs import read_quietly


def _positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise CoachError(Diagnostic("coach", 0, 0, f"{option} must be at least 1 (got {value})"))


def cmd_history(args: argparse.Namespace) -> int:
    _positive(args.limit, "--limit")
    _positive(args.sessions, "--sessions")
    if args.plot:
        # The plotting (and the timeline it also draws) only for --plot: tens of ms to import.
        from coach.report.plots import check_format
        check_format(args.plot, "--plot")  # before any work: a wrong name is one line at once
    h = History(read_only=True)  # a read-only data dir is read as it is
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
        rows = imbalance(sessions, args.question, args.sessions or DEFAULT_IMBALANCE_SESSIONS)
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
    programs: dict[str, Program | None] = {}  # each program file read once, for its notes
    for s in sessions:
        when = s.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        done, planned = views.sets_count(s)
        # The time actually coached; before schema 5 only the wall clock's span is known.
        if s.coached_ms is not None:
            length = fmt_duration(s.coached_ms)
        elif s.ended_at is not None:
            length = "~" + fmt_duration(int((s.ended_at - s.started_at).total_seconds() * 1000))
        else:
            length = fmt_duration(s.position_ms)
        paused = f" (paused {fmt_duration(s.paused_ms)})" if s.paused_ms else ""
        # "#12": the number `coach rerate --session` takes
        print(f"{when}  {s.program}  {s.status}  {done}/{planned} sets  {length}{paused}  "
              f"#{s.id}")
        if s.program_path not in programs:
            programs[s.program_path] = read_quietly(s.program_path)
        for line in views.session_lines(s, programs[s.program_path]):
            print(f"    {line}")
    return 0
