"""Times and counts as the command line prints them: a position to the millisecond, a duration
to the second, a scheduled start as a day and a clock time, "1 set" and "2 sets"."""

from __future__ import annotations

from datetime import UTC, datetime


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


def count(n: int, noun: str) -> str:
    """"1 set", "3 sets": ``n`` and ``noun`` (singular; plural with an s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def fmt_when(at: datetime, now: datetime) -> str:
    """A start time as a lifter reads it, in ``at``'s own time zone (the schedule's): "today
    07:00", "tomorrow 07:00", "Mon 07:00" within the week, "Mon 14 Dec 07:00" after that."""
    now = now.astimezone(at.tzinfo)
    days = (at.date() - now.date()).days
    clock = f"{at:%H:%M}"
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if 1 < days < 7:
        return f"{at:%a} {clock}"
    return f"{at:%a} {at.day} {at:%b} {clock}"


def fmt_next_start(text: str, now: datetime | None = None) -> str:
    """The daemon's next start, "STEM at ISO-TIME" (status's ``next`` when idle), with the time
    as fmt_when says it; anything else as it came."""
    stem, sep, iso = text.rpartition(" at ")
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return text
    if not sep or at.tzinfo is None:
        return text
    return f"{stem} {fmt_when(at, now or datetime.now(UTC))}"
