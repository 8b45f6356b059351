"""Minimal sd_notify(3) client (no dependency): tell systemd we're ready, alive (watchdog),
stopping, or what we're doing. Every call is a no-op outside systemd (NOTIFY_SOCKET unset)."""

from __future__ import annotations

import logging
import os
import socket

logger = logging.getLogger(__name__)


def _address() -> str | None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return None
    if addr.startswith("@"):  # abstract namespace socket
        return "\0" + addr[1:]
    if addr.startswith("/"):
        return addr
    logger.warning("NOTIFY_SOCKET=%r is not a Unix socket address; ignoring it", addr)
    return None


def notify(state: str) -> bool:
    """Send ``state`` (e.g. "READY=1", newline-separated assignments) to systemd.

    Returns True if it was sent, False when not under systemd or on error (logged: a failed
    notification must never take the daemon down; systemd's watchdog will notice instead)."""
    addr = _address()
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), addr)
        return True
    except OSError as exc:
        logger.warning("sd_notify %r to %r failed: %s", state, os.environ.get("NOTIFY_SOCKET"), exc)
        return False


def watchdog_interval() -> float | None:
    """Seconds within which systemd expects WATCHDOG=1 (WatchdogSec=), or None when there is no
    watchdog for this process. Ping at half this interval, as sd_watchdog_enabled(3) advises."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():  # meant for another process (e.g. our parent)
                return None
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


def ready() -> bool:
    return notify("READY=1")


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """Free-form status shown by `systemctl --user status coach` (one line)."""
    return notify("STATUS=" + " ".join(text.splitlines()))
