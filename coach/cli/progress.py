"""The terminal's progress bar for long jobs (synthesizing clips, rendering a WAV)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

PROGRESS_DELAY_S = 1.0  # a job done sooner shows no progress at all


def terminal_progress(label: str, unit: str = "clips", stream=None,
                      clock: Callable[[], float] | None = None,
                      delay_s: float = PROGRESS_DELAY_S) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr (``stream``) when it is a terminal, shown only once
    the job has taken ``delay_s`` (from the first call); silent otherwise. ``unit`` "clips":
    "12/77 clips"; "%": a percentage (frames of a render)."""
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
