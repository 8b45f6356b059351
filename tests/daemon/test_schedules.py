"""The schedules on a clock the test moves: a slot starts once, within the misfire grace, the
latest of several missed ones only, and never twice when the clock steps back over it; and the
daemon (in-process, on that clock) starting a scheduled session by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from coach.core.program import parse_schedule
from coach.daemon.schedules import Schedules
from tests.support.coachd import write_program
from tests.support.rig import Rig

UTC = UTC


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def step(self, **kw: float) -> None:
        self.at += timedelta(**kw)


def make(at: datetime, *texts: str, grace_s: float = 600) -> tuple[Schedules, FakeClock]:
    clock = FakeClock(at)
    s = Schedules(clock, "UTC", grace_s)
    s.set_program("row", tuple(parse_schedule(t) for t in texts))
    return s, clock


MON_0659 = datetime(2026, 11, 23, 6, 59, 30, tzinfo=UTC)  # a Monday


def test_a_slot_starts_once_at_its_time() -> None:
    s, clock = make(MON_0659, "mon 07:00")
    assert s.due() == []
    nxt = s.next()
    assert nxt is not None and nxt.at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    clock.step(seconds=30)
    [slot] = s.due()
    assert (slot.stem, slot.at.hour, slot.at.minute) == ("row", 7, 0)
    clock.step(seconds=1)
    assert s.due() == []
    assert s.next().at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # next Monday


def test_stepping_back_over_a_fired_slot_never_starts_it_again() -> None:
    s, clock = make(MON_0659, "mon 07:00")
    clock.step(seconds=31)
    assert len(s.due()) == 1
    clock.step(minutes=-5)  # NTP steps the clock back to 06:55:01
    assert s.due() == []
    clock.step(minutes=6)
    assert s.due() == []
    # A reload re-reads the program: the slot already started is still not started again.
    s.set_program("row", (parse_schedule("mon 07:00"),))
    assert s.due() == []


def test_a_forward_step_past_a_slot_starts_it_within_the_grace() -> None:
    s, clock = make(MON_0659, "mon 07:00")
    clock.step(minutes=4)  # the clock jumps from 06:59:30 to 07:03:30
    [slot] = s.due()
    assert slot.at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_a_slot_missed_by_more_than_the_grace_is_not_started() -> None:
    s, clock = make(MON_0659, "mon 07:00", grace_s=60)
    clock.step(minutes=10)
    assert s.due() == []


def test_a_pi_booting_late_starts_the_slot_it_just_missed() -> None:
    # The daemon starts at 07:05; the 07:00 slot is within the 10 minute grace.
    s, _ = make(datetime(2026, 11, 23, 7, 5, tzinfo=UTC), "mon 07:00")
    [slot] = s.due()
    assert slot.at.minute == 0


def test_missed_slots_are_coalesced_into_the_latest() -> None:
    s, clock = make(MON_0659, "daily 07:00", "daily 07:02", grace_s=3600)
    clock.step(minutes=5)
    slots = s.due()
    assert [x.at.minute for x in slots] == [0, 2]  # one per schedule line, each its latest
    clock.at = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)  # two days later, within the grace
    assert [x.at.day for x in s.due()] == [25, 25]


def test_time_zone_is_the_configured_one() -> None:
    clock = FakeClock(datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    s = Schedules(clock, "Europe/Berlin", 600)
    s.set_program("row", (parse_schedule("mon 07:00"),))
    assert s.next().at.astimezone(UTC).hour == 6  # 07:00 in Berlin is 06:00 UTC in November


# --- the daemon starts a scheduled session by itself -----------------------------------------


def test_schedule_starts_a_session_by_itself(tmp_path: Path, espeak: None) -> None:
    # The daemon in-process on a wall clock the test moves (the real clock of a real process,
    # stepped by libfaketime, is tests/e2e/test_daemon.py's clock-step test).
    clock = FakeClock(MON_0659)
    at = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    rig = Rig(tmp_path, clock=clock, tz="UTC")
    write_program(rig.programs / "morning.yaml", name="Morning", schedule=f"daily {at:%H:%M}")
    with rig:
        st = rig.status()
        assert st["state"] == "idle" and st["next"] == f"morning at {at.isoformat(timespec='minutes')}"
        clock.step(seconds=29)
        assert rig.later(0)["state"] == "idle", "not before its slot"
        clock.step(seconds=1)
        st = rig.wait_for(lambda s: s["state"] == "playing", "scheduled start")
        assert st["program"] == "Morning"
        assert clock() >= at
