"""The ducker under faults (issue "faults", points 2, 3, 4 and 9), against a real private
PulseAudio with real pacat music streams: a sound server killed and restarted mid-session, a
state dir that is read-only or full (a real tmpfs, mounted here: the tests run as root), a
saved-volumes file that is deeply nested, a directory, 30 MB, or holds volumes out of range; a
thread that fails; and what an idle ducker costs (nothing) and a busy one (little)."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach.audio.duck import Ducker, db_factor, read_state, recover_left_lowered
from coach.core.duckplan import DuckPlan
from tests.support.audio import PulseServer, need_pulse
from tests.support.coachd import problems
from tests.support.duck import Clock, Music, percent, sink_inputs, use_server
from tests.support.real import need

pytestmark = pytest.mark.slow  # a real PulseAudio server started for each test

RATE = 48000
LOW = round(100 * db_factor(-12))  # the music's percent at the full depth (63)


def music_percent(server: PulseServer) -> list[int]:
    return [percent(s["volume"]) for s in sink_inputs(server) if s.get("media.role") == "music"]


def wait_until(pred, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    assert pred(), what


def every_second(seconds: int = 600, on: float = 0.6) -> DuckPlan:
    """A plan ducked for ``on`` s of every second (a tempo word's interval), from 0.2 s on."""
    starts = tuple(int((k + 0.2) * RATE) for k in range(seconds))
    ends = tuple(s + int(on * RATE) for s in starts)
    return DuckPlan(RATE, starts, ends, RATE * 15 // 100, RATE * 2 // 10)


def always(seconds: int = 600) -> DuckPlan:
    return DuckPlan(RATE, (0,), (seconds * RATE,), RATE // 100, RATE // 100)


@pytest.fixture
def pulse(tmp_path, monkeypatch) -> Iterator[PulseServer]:
    need_pulse()
    with PulseServer(tmp_path / "pulse") as server:
        use_server(monkeypatch, server)
        yield server


@pytest.fixture
def thread_errors(monkeypatch) -> list[str]:
    """Every exception that ends a thread ("Exception in thread coach-duck")."""
    seen: list[str] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        seen.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: "
                    f"{args.exc_value}")

    monkeypatch.setattr(threading, "excepthook", hook)
    return seen


def warnings_of(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelname in ("WARNING", "ERROR") and text in r.getMessage()]


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64k") -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``path`` (root only: skipped elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True, text=True)
    need(r.returncode == 0, f"mounting a tmpfs ({r.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# -- point 2: the sound server restarts mid-session -------------------------------------------

def test_after_the_sound_server_restarts_the_ducker_reconnects_and_ducks_later_cues(
        tmp_path, pulse, caplog):
    """PulseAudio killed (kill -9) while the music is lowered, started again, a new music
    stream: the same Ducker, never restarted by anyone, lowers it under the later cues."""
    caplog.set_level(logging.INFO, logger="coach.audio.duck")
    music = Music(pulse.env, name="before")
    ducker = Ducker(every_second(), -12.0, state_path=tmp_path / "state" / "ducked.json")
    try:
        ducker.start(Clock())
        wait_until(lambda: music_percent(pulse) == [LOW], "lowered under a cue")
        assert pulse.proc is not None
        pulse.proc.kill()
        pulse.proc.wait()
        music.stop()
        wait_until(lambda: "ducking is off" in caplog.text, "the ducker saw the server go")
        pulse.start()
        music = Music(pulse.env, name="after")
        # Lowered under a cue after the restart, and back up between cues.
        wait_until(lambda: music_percent(pulse) == [LOW], "lowered again after the restart",
                   timeout=20)
        wait_until(lambda: music_percent(pulse) == [100], "back up between cues")
        wait_until(lambda: music_percent(pulse) == [LOW], "and down under the next cue")
        assert ducker.problem is None and not ducker.off.is_set()
    finally:
        ducker.stop()
        music.stop()
    assert music_percent(pulse) == []
    [off] = warnings_of(caplog, "ducking is off")
    assert off.startswith("ducking is off: the sound server went away") and "reconnecting" in off
    assert "ducking is on again" in caplog.text


# -- point 3: the thread never dies with a raw traceback --------------------------------------

def test_a_read_only_state_dir_is_one_warning_and_ducking_goes_on(tmp_path, pulse, caplog,
                                                                    thread_errors):
    """tmpfs remounted read-only: the saved volumes cannot be written; the music is lowered
    and given back all the same, one warning, and the Ducker's problem says so."""
    with tmpfs(tmp_path / "state") as state:
        assert subprocess.run(["mount", "-o", "remount,ro", str(state)]).returncode == 0
        music = Music(pulse.env)
        ducker = Ducker(every_second(), -12.0, state_path=state / "coach" / "ducked.json")
        try:
            ducker.start(Clock())
            for _ in range(2):  # two cues: down and back up each time
                wait_until(lambda: music_percent(pulse) == [LOW], "lowered")
                wait_until(lambda: music_percent(pulse) == [100], "back up")
            problem = ducker.problem
        finally:
            ducker.stop()
            music.stop()
    assert thread_errors == []
    assert problem is not None and "cannot save the lowered volumes" in problem
    assert "Read-only file system" in problem
    assert len(warnings_of(caplog, "cannot save the lowered volumes")) == 1, caplog.text


def test_a_full_state_dir_is_one_warning_and_ducking_goes_on(tmp_path, pulse, caplog,
                                                               thread_errors):
    """A 64 KiB tmpfs filled to the last byte: ENOSPC on the state write."""
    with tmpfs(tmp_path / "state", "64k") as state:
        (state / "coach").mkdir()
        with open(state / "filler", "wb") as f, contextlib.suppress(OSError):
            f.write(b"x" * 128 * 1024)
        music = Music(pulse.env)
        ducker = Ducker(every_second(), -12.0, state_path=state / "coach" / "ducked.json")
        try:
            ducker.start(Clock())
            wait_until(lambda: music_percent(pulse) == [LOW], "lowered")
            wait_until(lambda: music_percent(pulse) == [100], "back up")
            problem = ducker.problem
        finally:
            ducker.stop()
            music.stop()
    assert thread_errors == []
    assert problem is not None and "No space left on device" in problem
    assert len(warnings_of(caplog, "cannot save the lowered volumes")) == 1, caplog.text


def _bad_state_duck(state: Path, pulse: PulseServer, timeout: float) -> float:
    """Seconds from a Ducker's start to the music lowered, with ``state`` as its file."""
    music = Music(pulse.env)
    try:
        wait_until(lambda: music_percent(pulse) == [100], "the music plays")
        ducker = Ducker(always(), -12.0, state_path=state)
        t0 = time.monotonic()
        ducker.start(Clock())
        try:
            wait_until(lambda: music_percent(pulse) == [LOW], "lowered", timeout=timeout)
            took = time.monotonic() - t0
        finally:
            ducker.stop()
        assert music_percent(pulse) == [100]
    finally:
        music.stop()
    return took


@pytest.mark.parametrize("kind", ["nested", "directory", "garbage"])
def test_an_unusable_saved_volumes_file_is_moved_aside_with_one_warning(tmp_path, pulse, caplog,
                                                                        thread_errors, kind):
    state = tmp_path / "state" / "ducked.json"
    state.parent.mkdir()
    if kind == "nested":
        state.write_text("[" * 50_000 + "]" * 50_000)  # RecursionError in json.loads
    elif kind == "directory":
        state.mkdir()
        (state / "inside").write_text("x")
    else:
        state.write_bytes(b"\xff\xfe{not json")
    _bad_state_duck(state, pulse, timeout=5)
    assert thread_errors == []
    moved = [r.getMessage() for r in caplog.records if "moved aside to" in r.getMessage()]
    assert len(moved) == 1, caplog.text
    assert str(state) in moved[0] and f"{state}.bad" in moved[0]
    assert (tmp_path / "state" / "ducked.json.bad").exists()
    assert not state.exists()  # and the next session writes a good one again
    # Every later session starts clean: no second warning.
    caplog.clear()
    _bad_state_duck(state, pulse, timeout=5)
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text


def test_a_30_mb_saved_volumes_file_does_not_delay_the_start(tmp_path, pulse, caplog):
    """Valid JSON, 30 MB of entries: refused by its size before it is read (it took 3.3 s)."""
    state = tmp_path / "ducked.json"
    entry = {"index": 7, "app": "player", "pid": "1", "name": "x" * 40, "original": [0.8],
             "lowest": [0.2], "restore_id": "sink-input-by-media-role:music"}
    one = json.dumps(entry)
    n = 30 * 1024 * 1024 // (len(one) + 2)
    state.write_text('{"version": 1, "streams": [' + ", ".join([one] * n) + "]}")
    assert state.stat().st_size > 29 * 1024 * 1024
    took = _bad_state_duck(state, pulse, timeout=10)
    assert took < 1.0, took
    assert (tmp_path / "ducked.json.bad").exists()
    assert any("bytes, more than" in r.getMessage() for r in caplog.records), caplog.text


class _Breaking:
    """Connections to the sound server whose stream list raises an unexpected error, the first
    ``times`` of them (a bug in the ducker's own code, as far as the thread can tell)."""

    def __init__(self, times: int) -> None:
        from coach.audio.dummy import DummyServer
        self.server = DummyServer()
        self.music = self.server.add(volume=(1.0,))
        self.times = times
        self.connections = 0

    def connect(self):
        self.connections += 1
        server, broken = self.server, self.connections <= self.times

        class Conn:
            def __getattr__(self, name: str):
                return getattr(server, name)

            def streams(self):
                if broken:
                    raise RuntimeError("boom")
                return server.streams()

            def close(self) -> None:
                pass
        return Conn()


def test_a_failing_ducker_thread_is_logged_once_a_failure_and_restarted(tmp_path, caplog,
                                                                         thread_errors,
                                                                         monkeypatch):
    monkeypatch.setattr("coach.audio.duck.ducker.BACKOFF_S", (0.05, 0.2), raising=False)
    side = _Breaking(times=2)
    ducker = Ducker(always(), -12.0, state_path=tmp_path / "ducked.json", connect=side.connect)
    ducker.start(Clock())
    try:
        wait_until(lambda: side.server.volume(side.music) == (db_factor(-12),),
                   "lowered once the thread got going again")
    finally:
        ducker.stop()
    assert side.server.volume(side.music) == (1.0,)
    assert thread_errors == []
    failed = warnings_of(caplog, "the ducker failed")
    assert failed == ["the ducker failed (RuntimeError: boom); restarting it"] * 2, caplog.text
    assert ducker.problem is None


def test_a_ducker_that_keeps_failing_is_off_with_one_line(tmp_path, caplog, thread_errors,
                                                          monkeypatch):
    monkeypatch.setattr("coach.audio.duck.ducker.BACKOFF_S", (0.05, 0.2), raising=False)
    side = _Breaking(times=10**6)
    ducker = Ducker(always(), -12.0, state_path=tmp_path / "ducked.json", connect=side.connect)
    ducker.start(Clock())
    wait_until(ducker.off.is_set, "off")
    ducker.stop()
    ducker.start(Clock())  # off for this Ducker: no new thread, no new line
    ducker.stop()
    assert thread_errors == []
    off = warnings_of(caplog, "ducking is off")
    assert off == ["ducking is off: the ducker failed 3 times (last: RuntimeError: boom); "
                   "cues still play"], caplog.text
    assert ducker.problem == "ducking is off: the ducker failed 3 times (last: RuntimeError: boom)"
    assert side.connections == 3


# -- point 4: saved volumes are checked before any is applied ---------------------------------

@pytest.mark.parametrize("original, lowest", [
    ([4.0], [0.5]),  # above the normal volume (it raised the music from 70 % to 153 %)
    (["0.9"], [0.5]),  # not a number
    ([True], [0.5]),
    ([0.9], [0.95]),  # lowest above original
    ([-0.5], [-1.0]),
])
def test_a_saved_volume_out_of_range_is_never_applied(tmp_path, pulse, caplog, original, lowest):
    music = Music(pulse.env)
    try:
        wait_until(lambda: len(music_percent(pulse)) == 1, "the music plays")
        [s] = [s for s in sink_inputs(pulse) if s.get("media.role") == "music"]
        assert pulse.pactl("set-sink-input-volume", s["index"], "70%").returncode == 0
        state = tmp_path / "ducked.json"
        state.write_text(json.dumps({"version": 1, "streams": [{
            "index": int(s["index"]), "app": s["application.name"],
            "pid": s["application.process.id"], "name": s["media.name"],
            "original": original, "lowest": lowest, "restore_id": ""}]}))
        assert recover_left_lowered(state) == 0  # a start (with or without ducking on)
        assert music_percent(pulse) == [70]
    finally:
        music.stop()
    assert not state.exists() and (tmp_path / "ducked.json.bad").exists()
    [moved] = [r.getMessage() for r in caplog.records if "moved aside" in r.getMessage()]
    assert "entry 0" in moved and "never applied" in moved


def test_a_saved_volume_with_another_channel_count_is_never_applied(tmp_path, pulse):
    """Two channels saved for what is now a mono stream: a stream with that identity but
    another shape is not the one lowered; left alone."""
    music = Music(pulse.env)
    try:
        wait_until(lambda: len(music_percent(pulse)) == 1, "the music plays")
        [s] = [s for s in sink_inputs(pulse) if s.get("media.role") == "music"]
        assert pulse.pactl("set-sink-input-volume", s["index"], "70%").returncode == 0
        state = tmp_path / "ducked.json"
        state.write_text(json.dumps({"version": 1, "streams": [{
            "index": int(s["index"]), "app": s["application.name"],
            "pid": s["application.process.id"], "name": s["media.name"],
            "original": [0.9, 0.9], "lowest": [0.5, 0.5]}]}))
        assert recover_left_lowered(state) == 0
        assert music_percent(pulse) == [70]
    finally:
        music.stop()


def test_a_good_entry_beside_a_refused_one_is_still_given_back(tmp_path, pulse):
    music = Music(pulse.env)
    try:
        wait_until(lambda: len(music_percent(pulse)) == 1, "the music plays")
        [s] = [s for s in sink_inputs(pulse) if s.get("media.role") == "music"]
        # (raw pa_volume_t: a percent would round it out of the range we could have set)
        pulse.pactl("set-sink-input-volume", s["index"], str(round(0.8 * db_factor(-12) * 65536)))
        good = {"index": int(s["index"]), "app": s["application.name"],
                "pid": s["application.process.id"], "name": s["media.name"],
                "original": [0.8], "lowest": [0.8 * db_factor(-12)]}
        state = tmp_path / "ducked.json"
        state.write_text(json.dumps({"version": 1, "streams": [
            dict(good, original=[4.0]), good]}))
        assert [d.original for d in read_state(state)] == [(0.8,)]
        state.write_text(json.dumps({"version": 1, "streams": [dict(good, original=[4.0]), good]}))
        assert recover_left_lowered(state) == 1
        assert music_percent(pulse) == [80]
    finally:
        music.stop()


# -- point 9: an idle ducker does nothing; a busy one wakes only for its steps ---------------------

def _switches(tid: int) -> int:
    status = Path(f"/proc/self/task/{tid}/status").read_text()
    return sum(int(line.split()[1]) for line in status.splitlines()
               if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))


def test_with_no_other_stream_the_ducker_does_no_periodic_work(tmp_path, pulse):
    """Cues every second, nothing else playing: the thread sleeps in poll(2) until a stream
    appears (it woke every 15 ms before, to read the position)."""
    ducker = Ducker(every_second(), -12.0, state_path=tmp_path / "ducked.json")
    ducker.start(Clock())
    try:
        time.sleep(0.5)
        run = ducker._run
        assert run is not None and run.thread is not None and run.thread.native_id is not None
        tid = run.thread.native_id
        before = _switches(tid)
        time.sleep(3.0)
        woke = _switches(tid) - before
        assert woke <= 2, f"the idle ducker woke {woke} times in 3 s"
        music = Music(pulse.env)  # a stream appears: it is ducked under the next cue at once
        try:
            wait_until(lambda: music_percent(pulse) == [LOW], "lowered once a stream plays")
        finally:
            music.stop()
    finally:
        ducker.stop()


def test_with_music_under_a_cue_every_second_the_ducker_wakes_only_for_its_steps(tmp_path, pulse):
    """One music stream, a cue every second (six steps down and six up each): the thread
    sleeps until each step is due and hears of stream changes from the server (it re-read
    the stream list every 50 ms while ducked, and woke every 15 ms: 80 wake-ups a second).
    Its CPU share is a figure, not an assertion (the machine is shared):
    `bench/bench_duck.py --only cpu`, in BENCHMARKS.md "Ducking"."""
    music = Music(pulse.env)
    ducker = Ducker(every_second(), -12.0, state_path=tmp_path / "ducked.json")
    try:
        wait_until(lambda: len(music_percent(pulse)) == 1, "the music plays")
        ducker.start(Clock())
        wait_until(lambda: music_percent(pulse) == [LOW], "lowered")
        run = ducker._run
        assert run is not None and run.thread is not None and run.thread.native_id is not None
        tid = run.thread.native_id
        t0, s0, n0 = time.monotonic(), _switches(tid), ducker.steps
        time.sleep(4.0)
        secs = time.monotonic() - t0
        woke = (_switches(tid) - s0) / secs
        steps = (ducker.steps - n0) / secs
    finally:
        ducker.stop()
        music.stop()
    assert 11 <= steps <= 13, steps  # six down and six up a second
    assert woke < 30, f"{woke:.1f} wake-ups a second"  # about two a step


# -- the daemon: a restart of the sound server mid-session; `status` lists the ducker's problem --

DENSE = """\
program: Dense
defaults: {lead_in: 2s, rest: 4s}
exercises:
  - name: Row
    sets: 3
    reps: 12
    tempo: "1010"
"""


@pytest.fixture
def daemon(tmp_path, pulse) -> Iterator:
    from tests.support.coachd import Coachd
    env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"))
    d = Coachd(tmp_path, env)
    (d.programs / "dense.yaml").write_text(DENSE)
    yield d
    d.cleanup()


def _lowered_seen(server: PulseServer, seconds: float) -> bool:
    """The music seen at the full depth (a cue) within ``seconds``, polling pactl."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if music_percent(server) == [LOW]:
            return True
        time.sleep(0.03)
    return False


def test_the_daemon_ducks_again_after_the_sound_server_restarts_mid_session(daemon, pulse):
    music = Music(pulse.env, name="before")
    try:
        daemon.start()
        daemon.ok("start", "dense")
        daemon.wait_for(lambda s: s["state"] == "playing" and s["position"] > 4, what="playing")
        assert _lowered_seen(pulse, 5), "never lowered before the restart"
        assert problems(daemon.status()) == []
        assert pulse.proc is not None
        pulse.proc.kill()  # the server dies mid-session (mid-cue, as cues come every second)
        pulse.proc.wait()
        music.stop()
        daemon.wait_for(lambda s: s["state"] == "paused", timeout=15, what="output lost")
        pulse.start()
        music = Music(pulse.env, name="after")
        daemon.wait_for(lambda s: s["state"] == "playing", timeout=30, what="resumed")
        assert _lowered_seen(pulse, 10), ("never lowered after the restart",
                                          daemon.text()[-3000:])
        st = daemon.status()
        assert st["state"] == "playing" and problems(st) == [], st
        daemon.ok("stop")
        wait_until(lambda: music_percent(pulse) == [100], "given back at the stop")
    finally:
        music.stop()
    assert "Traceback" not in daemon.text()


def test_status_lists_the_ducker_problem_while_the_state_dir_is_read_only(daemon, pulse):
    state = Path(daemon.env["XDG_STATE_HOME"])
    with tmpfs(state):
        assert subprocess.run(["mount", "-o", "remount,ro", str(state)]).returncode == 0
        music = Music(pulse.env)
        try:
            daemon.start()
            daemon.ok("start", "dense")
            daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
            assert _lowered_seen(pulse, 10), "ducking goes on"
            st = daemon.wait_for(lambda s: s["problems"], what="a problem listed")
            daemon.ok("stop")
        finally:
            music.stop()
    [line] = st["problems"]
    assert line.startswith("ducking: cannot save the lowered volumes in ")
    assert "Read-only file system" in line and "\n" not in line
    text = daemon.text()
    assert "Traceback" not in text and text.count("cannot save the lowered volumes") == 1, text


def test_a_fade_down_is_sent_early_by_the_lead_and_a_fade_up_never_is():
    """The lead (the thread's measured lateness) moves only the fade down ahead of the
    position: the music is down by the cue's first sample even when the thread wakes late,
    and never comes back under the cue's last word."""
    plan = DuckPlan(RATE, (RATE,), (3 * RATE,), RATE * 15 // 100, RATE * 2 // 10)
    ducker = Ducker(plan, -12.0)
    lead = RATE * 30 // 1000

    def step(pos: int, lead: int) -> int:
        return ducker.wanted(pos, None, lead)[0]

    full = RATE + RATE * 15 // 100  # where the plan is fully down (the cue's first sample)
    assert step(RATE - lead - 1, lead) == 0 and step(RATE - lead, lead) == 1  # 30 ms early
    for pos in range(RATE - lead, full, 240):  # every step of the fade down, 30 ms early
        assert step(pos, lead) == step(pos + lead, 0)
    assert step(full - lead, lead) == 6 and step(full - lead, 0) < 6
    up = 3 * RATE - RATE * 2 // 10
    for pos in range(up - lead, 3 * RATE, 240):  # the fade up: never before its time
        assert step(pos, lead) == step(pos, 0)
    # And the next change is where the step really changes (the thread sleeps until then).
    for lead_ in (0, lead):
        pos = 0
        while True:
            k, frames = ducker.wanted(pos, None, lead_)
            if frames is None:
                break
            assert all(step(p, lead_) == k for p in range(pos, pos + frames, max(1, frames // 50)))
            pos += frames
        assert pos <= 3 * RATE
