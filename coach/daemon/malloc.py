"""glibc's malloc tuned for a daemon that runs for months: its mmap threshold pinned."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 128 * 1024  # glibc's default, pinned


def pin_mmap_threshold() -> None:
    """Keep glibc's mmap threshold at its default for good. glibc raises it each time a large
    block is freed (up to 32 MB), after which arrays up to that size come from the heap, whose
    freed middle is never returned: 400 extends over 20 rests left the daemon 15 MB larger for
    good, 0.4 MB with the threshold pinned (bench/bench_memory.py). Not glibc: nothing to do."""
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError) as e:
        log.debug("mmap threshold left alone: %s", e)
