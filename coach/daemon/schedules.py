"""The schedules: when each program's `schedule:` slots fall due, on a clock passed in.

APScheduler's CronTrigger computes the fire times; no scheduler thread runs. The session thread
asks ``due()`` on every tick (10 times a second), so a wall-clock step (NTP on a Pi without a
real-time clock) is seen at the next tick instead of after a sleep until a stale time. A slot
is identified by its scheduled time and never starts twice, even when the clock steps back
over it; a slot missed by less than the misfire grace (the Pi booted late) still starts; of
several missed slots only the latest does (coalesced).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from coach.core.program import Schedule

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]  # an aware "now"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EPS = timedelta(microseconds=1)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Slot:
    """One due start: the program's stem and the slot's scheduled time."""

    stem: str
    at: datetime

    @property
    def key(self) -> str:
        return self.at.isoformat()


@dataclass
class _Entry:
    stem: str
    schedule: Schedule
    trigger: Any  # apscheduler CronTrigger
    next_at: datetime | None


class Schedules:
    def __init__(self, clock: Clock = system_clock, tz: str | tzinfo | None = None,
                 misfire_grace_s: float = 600) -> None:
        self.clock = clock
        self.tz = _zone(tz)
        self.grace = timedelta(seconds=misfire_grace_s)
        self._entries: list[_Entry] = []
        self._fired: set[tuple[str, str]] = set()

    def set_program(self, stem: str, schedules: tuple[Schedule, ...]) -> None:
        """(Re)place a program's slots; an empty tuple removes them."""
        from apscheduler.triggers.cron import CronTrigger
        self._entries = [e for e in self._entries if e.stem != stem]
        # From now less the grace: a slot a moment ago (the Pi booted late) is still due.
        since = self.clock() - self.grace
        for s in schedules:
            trigger = CronTrigger(day_of_week=",".join(DAYS[d] for d in s.days), hour=s.hour,
                                  minute=s.minute, timezone=self.tz)
            entry = _Entry(stem, s, trigger, trigger.get_next_fire_time(None, since))
            self._entries.append(entry)
            log.info("%s: scheduled %s (next %s)", stem, s.text,
                     entry.next_at.isoformat(timespec="minutes") if entry.next_at else "never")

    def due(self) -> list[Slot]:
        """Slots that fell due since the last call (each once), within the misfire grace."""
        now = self.clock()
        out: list[Slot] = []
        for e in self._entries:
            latest: datetime | None = None
            while e.next_at is not None and e.next_at <= now:
                latest = e.next_at
                e.next_at = e.trigger.get_next_fire_time(latest, latest + _EPS)
            if latest is None:
                continue
            if now - latest > self.grace:
                log.warning("schedule: %s at %s missed by more than the grace; not started",
                            e.stem, latest.isoformat(timespec="minutes"))
                continue
            slot = Slot(e.stem, latest)
            if (slot.stem, slot.key) in self._fired:
                log.warning("schedule: %s at %s already started once; not again", slot.stem,
                            slot.key)
                continue
            self._fired.add((slot.stem, slot.key))
            out.append(slot)
        return out

    def next(self) -> Slot | None:
        pending = [Slot(e.stem, e.next_at) for e in self._entries if e.next_at is not None]
        return min(pending, key=lambda s: s.at) if pending else None


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if tz:
        from zoneinfo import ZoneInfo
        return ZoneInfo(tz)
    try:
        import tzlocal
        return tzlocal.get_localzone()
    except Exception:  # no zone configured on the machine: UTC, said once
        log.warning("no system time zone found; schedules use UTC (set timezone: in config)")
        return UTC
