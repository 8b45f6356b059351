"""Ducking against a real PulseAudio server: a music stream (pacat, media.role=music, a 15 kHz
tone) is lowered by the configured dB under every cue of a `coach run` and is back within
300 ms after each; coach's own stream is labelled and never lowered; a kill -9 mid-duck is
repaired by the next start; a volume the user sets mid-duck is kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from coach.audio.duck import (
    Ducked,
    Ducker,
    PulseConnection,
    Stream,
    db_factor,
    read_state,
    recover,
    write_state,
)
from coach.core.duckplan import DuckPlan
from tests.support.audio import RATE, PipeWireServer, PulseServer, need_pipewire, need_pulse
from tests.support.cli import COACH
from tests.support.duck import (
    PLAN_SCRIPT,
    Clock,
    Music,
    band_level_db,
    cue_positions,
    levels,
    percent,
    sink_inputs,
    use_server,
    voice_onsets,
)
from tests.support.real import ROOT

# a real PulseAudio (or PipeWire) server started for each test; the music measured under cues
pytestmark = [pytest.mark.slow, pytest.mark.realtime]

PROGRAM = """\
program: Duck
defaults: {lead_in: 3s, rest: 4s}
exercises:
  - name: Wall sit
    hold: 8s
  - name: Row
    reps: 2
    tempo: "2020"
"""


def env_for(server: PulseServer, tmp: Path, config: str | None = None) -> dict[str, str]:
    env = dict(server.env, XDG_CACHE_HOME=str(tmp / "cache"), XDG_STATE_HOME=str(tmp / "state"),
               XDG_CONFIG_HOME=str(tmp / "config"))
    if config is not None:
        (tmp / "config" / "coach").mkdir(parents=True, exist_ok=True)
        (tmp / "config" / "coach" / "config.yaml").write_text(config)
    return env


# The null sink takes ~2 s to settle to real-time pace (docs/DESIGN.md, "Testing with real
# parts"): cues in it sit early in the capture and are not measured.
SETTLE = 2 * RATE


def check_ducking(x: np.ndarray, plan: dict, level_db: float, ref: float, after: int) -> dict:
    """Under each cue (from full depth to its clip's end) the tone is ``level_db`` below
    ``ref`` (±1 dB, median of 100 ms windows); from 300 ms after each interval's last
    clip ends to the next interval, back at ``ref`` (every window ±1 dB)."""
    cues = plan["cues"]
    if os.environ.get("DUCK_DUMP"):
        np.save(os.environ["DUCK_DUMP"] + ".npy", x)
        Path(os.environ["DUCK_DUMP"] + ".json").write_text(json.dumps(dict(plan, after=after)))
    at, found = cue_positions(voice_onsets(x, after), [c for c, _ in cues])
    assert found >= 2 * len(cues) // 3, (found, len(cues))  # the voice is there, on its plan
    depths, backs = [], []
    for (c, n), onset in zip(cues, at):
        if c < SETTLE:
            continue
        i = np.searchsorted(plan["starts"], c, side="right") - 1
        # From where the plan is at full depth (the cue's first sample, or later where the
        # interval began less than a fade before it).
        full_from = onset + max(0, plan["starts"][i] + plan["down"] - c)
        got = levels(x, full_from, onset + n)
        if got:
            depth = float(np.median(got)) - ref
            depths.append(depth)
            assert abs(depth - level_db) <= 1.0, (c / RATE, n / RATE, depth,
                                                  " ".join(f"{g:.1f}" for g in got))
    for e in plan["ends"]:
        last = max(k for k, (c, _) in enumerate(cues) if c < e)
        onset = at[last]
        if cues[last][0] < SETTLE:
            continue
        clip_end = onset + cues[last][1]
        k_next = next((k for k, (c, _) in enumerate(cues) if c >= e), None)
        nxt = None
        if k_next is not None:  # where the next cue's fade down begins (by the plan's spacing)
            nxt = onset + cues[k_next][0] - cues[last][0] - plan["down"]
        # Every 100 ms window wholly after clip end + 300 ms is back at the tone's own level.
        got = levels(x, clip_end + 3 * RATE // 10,
                     nxt if nxt is not None else clip_end + RATE)
        if got:
            backs.append(max(abs(g - ref) for g in got))
            assert backs[-1] <= 1.0, (clip_end / RATE, " ".join(f"{g:.1f}" for g in got))
    return {"depths": depths, "back": backs}


@pytest.mark.realtime  # plays in real time through a sound server: timing is measured
def test_music_is_lowered_under_every_cue_and_back_after_coach_stream_labelled(tmp_path):
    need_pulse()
    prog = tmp_path / "p.yaml"
    prog.write_text(PROGRAM)
    with PulseServer(tmp_path / "pulse") as server:
        env = env_for(server, tmp_path, "duck: {level: -12dB}\n")
        subprocess.run([*COACH, "check", str(prog)], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        plan = json.loads(subprocess.run([sys.executable, "-c", PLAN_SCRIPT, str(prog)], cwd=ROOT,
                                         env=env, check=True, capture_output=True,
                                         text=True).stdout)
        cap = server.capture()
        music = Music(server.env)
        time.sleep(1.5)
        launched = cap.frames()
        run = subprocess.Popen([*COACH, "run", str(prog)], cwd=ROOT,
                               env=env, stderr=subprocess.PIPE, text=True)
        seen: list[list[dict[str, str]]] = []
        while run.poll() is None:
            seen.append(sink_inputs(server))
            time.sleep(0.1)
        err = run.stderr.read() if run.stderr else ""
        time.sleep(1.0)
        after = sink_inputs(server)
        x = cap.stop()
        music.stop()
    assert run.returncode == 0, err
    assert "Traceback" not in err and "ducking is off" not in err, err
    coach = [s for snap in seen for s in snap if s.get("application.name") == "coach"]
    assert coach, seen[-1] if seen else "no sink-inputs seen"
    assert all(s["media.role"] == "event" for s in coach), coach[0]
    assert all(percent(s["volume"]) == 100 for s in coach), "coach's own stream was ducked"
    music_vols = {percent(s["volume"]) for snap in seen for s in snap
                  if s.get("media.role") == "music"}
    assert min(music_vols) < 100, music_vols  # lowered at some point (pactl saw it)
    assert [percent(s["volume"]) for s in after if s.get("media.role") == "music"] == [100]
    assert not (tmp_path / "state" / "coach" / "ducked.json").exists()
    # The tone's own level once coach has gone, under every cue, and back after each.
    ref = float(np.median(levels(x, len(x) - RATE * 8 // 10, len(x))))
    assert -11.5 < ref < -9.5, ref  # 0.3 amplitude is -10.5 dBFS
    check_ducking(x, plan, -12.0, ref, launched)


def _set_volume_percent(server: PulseServer, role: str, pct: int) -> None:
    for s in sink_inputs(server):
        if s.get("media.role") == role:
            r = server.pactl("set-sink-input-volume", s["index"], f"{pct}%")
            assert r.returncode == 0, r.stderr


@pytest.mark.realtime
def test_kill_9_mid_duck_then_the_next_start_restores_the_music(tmp_path):
    need_pulse()
    prog = tmp_path / "p.yaml"
    # One long announcement: the music is down for seconds.
    prog.write_text("program: Long\nexercises:\n  - name: Wall sit\n    focus: Breathe slowly, "
                    "keep the back flat against the wall, thighs level, and push through the "
                    "heels the whole time.\n    hold: 20s\n")
    with PulseServer(tmp_path / "pulse") as server:
        env = env_for(server, tmp_path)
        subprocess.run([*COACH, "check", str(prog)], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        music = Music(server.env)
        try:
            run = subprocess.Popen([*COACH, "run", str(prog)], cwd=ROOT,
                                   env=env, stderr=subprocess.DEVNULL)
            state = tmp_path / "state" / "coach" / "ducked.json"
            deadline = time.monotonic() + 30
            low = None
            while time.monotonic() < deadline:
                vols = [percent(s["volume"]) for s in sink_inputs(server)
                        if s.get("media.role") == "music"]
                if vols and vols[0] <= round(100 * db_factor(-12)) + 1:
                    low = vols[0]
                    break
                time.sleep(0.02)
            assert low is not None, "the music was never lowered"
            assert state.exists()
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            # Left lowered by the dead coach: the file says what to give back.
            assert [percent(s["volume"]) for s in sink_inputs(server)
                    if s.get("media.role") == "music"] == [low]
            assert [d.app for d in read_state(state)] == ["pacat"]
            # The next `coach run` restores it before it ducks anything.
            cap = server.capture()
            # Ctrl-C as a terminal sends it: a runner started in the background (`.ci/run &`)
            # passes SIGINT on ignored, and Python then never raises KeyboardInterrupt (found:
            # the stack dump showed coach run simply playing on).
            rerun = subprocess.Popen([*COACH, "run", str(prog)],
                                     cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
            back = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and back is None:
                if [percent(s["volume"]) for s in sink_inputs(server)
                        if s.get("media.role") == "music"] == [100]:
                    back = time.monotonic()
                time.sleep(0.01)
            sink_log = sink_inputs(server)
            rerun.send_signal(signal.SIGINT)
            try:
                _, err = rerun.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                # Seen once in CI (a clean clone, under load): Ctrl-C did not end it. Where
                # every thread is goes to stderr (coach's SIGUSR1), then the test fails.
                rerun.send_signal(signal.SIGUSR1)
                time.sleep(2)
                rerun.kill()
                _, err = rerun.communicate(timeout=30)
                raise AssertionError(f"coach run did not stop on Ctrl-C:\n{err}") from None
            time.sleep(0.5)
            x = cap.stop()
        finally:
            music.stop()
    assert back is not None, "the music stayed lowered"
    assert "left 1 stream(s) lowered: restored 1" in err, (err, sink_log)
    assert not state.exists()
    # Ctrl-C of the second run gave back what it lowered: the tone ends at its own level.
    assert abs(band_level_db(x, len(x) - RATE // 10) - 20 * np.log10(0.3)) < 1.0


@pytest.mark.realtime
def test_a_volume_the_user_sets_mid_duck_is_kept(tmp_path, monkeypatch):
    need_pulse()
    with PulseServer(tmp_path / "pulse") as server:
        use_server(monkeypatch, server)
        music = Music(server.env)
        try:
            time.sleep(0.5)
            out = Clock()
            rate = RATE
            # Ducked from 0.5 s to 3 s of the clock's position.
            plan = DuckPlan(rate, (rate // 2,), (3 * rate,), rate * 15 // 100, rate * 2 // 10)
            ducker = Ducker(plan, -12.0, state_path=tmp_path / "ducked.json")
            ducker.start(out)
            time.sleep(1.5)
            vols = [percent(s["volume"]) for s in sink_inputs(server) if s.get("media.role") == "music"]
            assert vols == [round(100 * db_factor(-12))], vols
            _set_volume_percent(server, "music", 40)  # the user, mid-duck
            time.sleep(2.5)  # past the end of the duck
            vols = [percent(s["volume"]) for s in sink_inputs(server) if s.get("media.role") == "music"]
            ducker.stop()
            vols_after_stop = [percent(s["volume"]) for s in sink_inputs(server)
                               if s.get("media.role") == "music"]
        finally:
            music.stop()
    assert vols == [40], vols  # not restored over the user's choice, not lowered again
    assert vols_after_stop == [40]
    assert not (tmp_path / "ducked.json").exists()


# -- the saved-state file against the real server (fast: no real-time audio) -------------------

def test_saved_volumes_are_restored_unless_the_user_changed_them_since(tmp_path, monkeypatch):
    need_pulse()
    with PulseServer(tmp_path / "pulse") as server:
        use_server(monkeypatch, server)
        a, b, c = Music(server.env, 30, name="a"), Music(server.env, 30, name="b"), \
            Music(server.env, 30, name="c")
        try:
            conn = PulseConnection()
            deadline = time.monotonic() + 10
            while len(conn.streams()) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            streams = {s.name: s for s in conn.streams()}
            assert set(streams) == {"a", "b", "c"}
            low = db_factor(-12)
            saved = []
            for name in "abc":
                s = streams[name]
                saved.append(Ducked(s.idx, s.app, s.pid, s.name, (0.8,), (0.8 * low,), (0.8 * low,)))
                conn.set_volume(s.idx, (0.8 * low,))
            path = tmp_path / "state" / "ducked.json"
            write_state(path, saved)
            assert len(read_state(path)) == 3
            conn.set_volume(streams["b"].idx, (0.9,))  # the user turned b up after the crash
            c.stop()  # c is gone
            time.sleep(0.2)
            assert recover(conn, path) == 1
            now = {s.name: s for s in conn.streams()}
            assert abs(now["a"].volume[0] - 0.8) < 0.002  # given back
            assert abs(now["b"].volume[0] - 0.9) < 0.002  # the user's choice kept
            assert "c" not in now
            assert not path.exists()
            assert recover(conn, path) == 0  # nothing to do twice
            # An unreadable file is reported and dropped, never a crash.
            path.write_text("{not json")
            assert recover(conn, path) == 0 and not path.exists()
            conn.close()
        finally:
            for m in (a, b, c):
                m.stop()


def test_coach_own_streams_are_never_ducked():
    from coach.audio.duck import is_ours
    assert is_ours(Stream(1, (1.0,), "coach", "1", "", "event"), pid=2)
    assert is_ours(Stream(1, (1.0,), "ALSA plug-in [python3]", "7", "", ""), pid=7)
    assert not is_ours(Stream(1, (1.0,), "pacat", "8", "", "music"), pid=7)


def test_no_sound_server_is_one_warning_and_the_ducker_is_off(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/nothing-here")
    ducker = Ducker(DuckPlan(RATE, (0,), (RATE,), 10, 10), state_path=tmp_path / "d.json")
    out = Clock()
    ducker.start(out)
    deadline = time.monotonic() + 10
    while not ducker.off.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    ducker.stop()
    ducker.start(out)  # off for good: no second attempt, no second warning
    ducker.stop()
    assert ducker.off.is_set()
    warnings = [r for r in caplog.records if "ducking is off" in r.getMessage()]
    assert len(warnings) == 1, caplog.text


# -- the Server contract: PulseConnection against a real server, DummyServer in memory --------

class _PulseSide:
    """Streams on a real private server: pacat (media.role=music) started and killed."""

    def __init__(self, server: PulseServer) -> None:
        self.server = server
        self.music: dict[int, Music] = {}
        self.conn = PulseConnection()

    def add(self, name: str) -> int:
        m = Music(self.server.env, 30, name=name)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = [s for s in self.conn.streams() if s.name == name]
            if got:
                self.music[got[0].idx] = m
                return got[0].idx
            time.sleep(0.02)
        raise AssertionError(f"stream {name} never appeared")

    def connect(self) -> PulseConnection:
        return PulseConnection()  # a connection of the ducker's own: pulsectl is one thread's

    def remove(self, index: int) -> None:
        self.music.pop(index).stop()
        deadline = time.monotonic() + 10
        while any(s.idx == index for s in self.conn.streams()) and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        for m in self.music.values():
            m.stop()
        self.conn.close()


class _DummySide:
    def __init__(self) -> None:
        from coach.audio.dummy import DummyServer
        self.conn = DummyServer()

    def add(self, name: str) -> int:
        return self.conn.add(app="pacat", name=name, role="music")

    def connect(self):
        return self.conn

    def remove(self, index: int) -> None:
        self.conn.remove(index)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(params=["pulse", "pipewire", "dummy"])
def server_side(request, tmp_path, monkeypatch):
    if request.param == "dummy":
        side = _DummySide()
        yield side
        side.close()
        return
    if request.param == "pipewire":
        need_pipewire()
        with PipeWireServer(tmp_path / "pipewire") as pw:
            use_server(monkeypatch, pw)  # type: ignore[arg-type]
            side = _PulseSide(pw)  # type: ignore[arg-type]
            try:
                yield side
            finally:
                side.close()
        return
    need_pulse()
    with PulseServer(tmp_path / "pulse") as server:
        r = server.pactl("load-module", "module-stream-restore")
        assert r.returncode == 0, r.stderr
        use_server(monkeypatch, server)
        side = _PulseSide(server)
        try:
            yield side
        finally:
            side.close()


def test_server_contract_streams_and_volumes(server_side) -> None:
    conn = server_side.conn
    a = server_side.add("a")
    [s] = [s for s in conn.streams() if s.idx == a]
    assert (s.name, s.role, s.app) == ("a", "music", "pacat")
    assert s.restore_id == "sink-input-by-media-role:music"
    assert conn.set_volume(a, (0.5,) * len(s.volume))
    assert all(abs(v - 0.5) < 0.002 for v in next(x for x in conn.streams() if x.idx == a).volume)
    server_side.remove(a)
    assert all(x.idx != a for x in conn.streams())
    assert conn.set_volume(a, (1.0,)) is False  # gone: False, never an exception


def test_server_contract_remembered_volumes(server_side) -> None:
    conn = server_side.conn
    a = server_side.add("a")
    key = "sink-input-by-media-role:music"
    conn.set_volume(a, (0.4,))

    def eventually(read: Callable[[], tuple[float, ...] | None],
                   want: float) -> tuple[float, ...] | None:
        # PipeWire's session manager saves a volume, and gives a new stream its saved one, a
        # moment after the change (it lists the stream at 0 % meanwhile): this contract failed
        # on PipeWire once in a whole-suite run when read at once.
        deadline = time.monotonic() + 5
        got = read()
        while not (got is not None and all(abs(v - want) < 0.002 for v in got)) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
            got = read()
        return got

    kept = eventually(lambda: conn.remembered_volume(key), 0.4)
    assert kept is not None and all(abs(v - 0.4) < 0.002 for v in kept), kept
    assert conn.remembered_volume("") is None
    assert conn.remembered_volume("sink-input-by-media-role:nothing-like-it") is None
    server_side.remove(a)
    conn.remember_volume(key, (0.9,) * len(kept))
    b = server_side.add("b")  # the next stream with that key starts at the remembered volume
    vol = eventually(lambda: next(x for x in conn.streams() if x.idx == b).volume, 0.9)
    assert all(abs(v - 0.9) < 0.002 for v in vol), vol


def test_a_stream_that_ends_while_lowered_is_remembered_at_its_own_volume(server_side,
                                                                           tmp_path) -> None:
    """The next song's stream must not start lowered because the last one ended mid-cue."""
    conn = server_side.conn
    a = server_side.add("a")
    rate = RATE
    plan = DuckPlan(rate, (0,), (60 * rate,), rate // 100, rate // 100)
    ducker = Ducker(plan, -12.0, state_path=tmp_path / "ducked.json", connect=server_side.connect)
    low = db_factor(-12)

    def volume(i: int) -> tuple[float, ...] | None:
        return next((x.volume for x in conn.streams() if x.idx == i), None)

    ducker.start(Clock())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (volume(a) and volume(a)[0] <= low + 0.002):
        time.sleep(0.02)
    assert volume(a) is not None and volume(a)[0] <= low + 0.002, volume(a)
    server_side.remove(a)  # the song ends while lowered
    # The ducker forgets it (and puts its key's remembered volume back), then its file is gone.
    # (Not this connection's remembered_volume: on PipeWire it is what this one saw last.)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (tmp_path / "ducked.json").exists():
        time.sleep(0.02)
    assert not (tmp_path / "ducked.json").exists()
    ducker.stop()
    b = server_side.add("b")
    assert abs(volume(b)[0] - 1.0) < 0.002, volume(b)  # type: ignore[index]


def test_pipewire_restores_stream_volumes_but_lists_only_what_clients_wrote(tmp_path,
                                                                            monkeypatch) -> None:
    """What PulseConnection's remembered volumes rest on, on PipeWire (pipewire-pulse with
    WirePlumber): the next stream with a key starts at the last volume a stream with that key
    had, but the pulse interface's stream-restore list does not show it; an entry a client
    writes is given to the next stream, and then never updated."""
    import pulsectl
    need_pipewire()
    with PipeWireServer(tmp_path / "pipewire") as pw:
        use_server(monkeypatch, pw)  # type: ignore[arg-type]
        side = _PulseSide(pw)  # type: ignore[arg-type]
        pulse = pulsectl.Pulse("facts")
        key = "sink-input-by-media-role:music"
        try:
            assert "PipeWire" in pulse.server_info().server_name

            def vol(i: int) -> float:
                return float(next(x.volume for x in side.conn.streams() if x.idx == i)[0])

            def starts_at(i: int, volume: float) -> bool:
                """PipeWire lists a new stream at 0 % (found under load) and WirePlumber
                gives it its key's volume a moment later: what it is given is what counts."""
                deadline = time.monotonic() + 5
                while abs(vol(i) - volume) >= 0.002 and time.monotonic() < deadline:
                    time.sleep(0.02)
                return abs(vol(i) - volume) < 0.002

            def listed() -> list[float] | None:
                e = next((e for e in pulse.stream_restore_list() if e.name == key), None)
                return None if e is None else [float(v) for v in e.volume.values]

            # WirePlumber's own key for it. A stream removed right after a volume change can
            # go before WirePlumber has read the change, which is then never saved: each step
            # waits until it is saved.
            wp_key = "Output/Audio:media.role:Music"
            a = side.add("a")
            assert starts_at(a, 1.0), vol(a)
            side.conn.set_volume(a, (0.4,))
            pw.saves(wp_key, 0.4)
            side.remove(a)
            assert listed() is None  # nothing listed for the key...
            b = side.add("b")
            assert starts_at(b, 0.4), vol(b)  # ...yet the next stream starts where a ended
            pulse.stream_restore_write(pulsectl.PulseExtStreamRestoreInfo(key, [0.9], ["mono"]),
                                       mode="replace")
            pw.saves(wp_key, 0.9)
            side.remove(b)
            c = side.add("c")
            assert starts_at(c, 0.9), vol(c)  # a written entry is what the next one gets
            side.conn.set_volume(c, (0.3,))
            pw.saves(wp_key, 0.3)
            side.remove(c)
            d = side.add("d")
            assert starts_at(d, 0.3), vol(d)  # WirePlumber saved c's last volume...
            # ...and the list does not say so: it still says 0.9, or (once, in a fresh-clone CI
            # run with its real-time shards side by side) nothing at all, cause not pinned. What
            # PulseConnection rests on is the same either way: the list never shows what
            # WirePlumber saved, so on PipeWire the volume a stream was given is the truth.
            assert listed() in ([pytest.approx(0.9, abs=0.002)], None), listed()
        finally:
            pulse.close()
            side.close()


def test_after_a_crash_a_stream_gone_meanwhile_is_remembered_at_its_own_volume(tmp_path) -> None:
    """kill -9 mid-duck, then the song ended before coach came back: its stream is gone, but the
    server's stream-restore entry still holds the lowered volume for the next one."""
    from coach.audio.dummy import DummyServer
    server = DummyServer()
    a = server.add(app="player", role="music", volume=(0.8,))
    low = 0.8 * db_factor(-12)
    server.set_volume(a, (low,))  # what the dead coach had set
    [s] = server.streams()
    path = tmp_path / "ducked.json"
    write_state(path, [Ducked(a, s.app, s.pid, s.name, (0.8,), (low,), (low,),
                              restore_id=s.restore_id)])
    server.remove(a)
    # A user's own choice for the key is never overwritten: only a volume we could have set.
    assert recover(server, path) == 0
    assert server.remembered_volume(s.restore_id) == (0.8,)
    b = server.add(app="player", role="music")
    assert server.volume(b) == (0.8,)
    server.set_volume(b, (0.3,))  # the user, on the new stream
    server.remove(b)
    write_state(path, [Ducked(b, "player", "4242", "music", (0.8,), (low,), (low,),
                              restore_id=s.restore_id)])
    recover(server, path)
    assert server.remembered_volume(s.restore_id) == (0.3,)


def until(pred, what: str, timeout: float = 5) -> None:
    """Wait for the ducker's own thread to have done ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not pred():
        time.sleep(0.01)
    assert pred(), what


def test_a_stream_appearing_mid_duck_is_lowered_and_one_that_vanishes_is_forgotten(tmp_path):
    from coach.audio.dummy import DummyServer
    server = DummyServer()
    a = server.add(name="a")
    rate = RATE
    plan = DuckPlan(rate, (0,), (60 * rate,), rate // 100, rate // 100)
    path = tmp_path / "ducked.json"
    ducker = Ducker(plan, -12.0, state_path=path, connect=lambda: server)
    low = db_factor(-12)

    def lowered(i: int) -> bool:
        v = server.volume(i)
        return v is not None and abs(v[0] - low) < 0.002

    ducker.start(Clock())
    until(lambda: lowered(a), "a lowered")
    b = server.add(name="b")  # a new song's stream, mid-cue
    until(lambda: lowered(b), "b, which appeared mid-duck, lowered too")
    until(lambda: {d.name for d in read_state(path)} == {"a", "b"}, "both written down")
    server.remove(a)
    until(lambda: {d.name for d in read_state(path)} == {"b"}, "a forgotten once gone")
    ducker.stop()
    assert server.volume(b) == (1.0,) and not path.exists()


def test_the_next_songs_stream_made_mid_cue_comes_back_at_the_songs_volume(server_side,
                                                                           tmp_path) -> None:
    """Gapless playback opens the next song's stream while the last one is lowered: the
    server's stream-restore starts it at the lowered volume; after the cue it must be back at
    the music's own volume, not kept at that one."""
    conn = server_side.conn
    a = server_side.add("a")
    rate = RATE
    plan = DuckPlan(rate, (0,), (60 * rate,), rate // 100, rate // 100)
    ducker = Ducker(plan, -12.0, state_path=tmp_path / "ducked.json", connect=server_side.connect)
    low = db_factor(-12)

    def volume(i: int) -> float | None:
        return next((x.volume[0] for x in conn.streams() if x.idx == i), None)

    ducker.start(Clock())
    until(lambda: abs((volume(a) or 0) - low) < 0.002, "a lowered")
    b = server_side.add("b")
    until(lambda: abs((volume(b) or 0) - low) < 0.002, "b lowered (or started lowered)")
    server_side.remove(a)
    time.sleep(0.2)
    ducker.stop()
    assert abs((volume(b) or 0) - 1.0) < 0.002, volume(b)


class _InsertOutput:
    """An Output holding its position while an insert plays, as the Player reports one: until
    the audio callback begins the new insert (its next block), ``insert_position`` is still
    the last insert's (long over); from ``begin()`` on it counts the new one in real time."""

    state = "playing"

    def __init__(self) -> None:
        self.begun: float | None = None

    @property
    def position(self) -> int:
        return 5 * RATE

    @property
    def insert_position(self) -> int | None:
        if self.begun is None:
            return 20 * RATE
        return int((time.monotonic() - self.begun) * RATE)

    def begin(self) -> None:
        self.begun = time.monotonic()


def test_the_music_goes_down_under_an_inserts_first_words_not_a_second_later(tmp_path) -> None:
    """said() comes just before the output begins the insert, so at that moment the output
    still reports the last insert's position. The ducker slept up to a second before reading
    it again (found: the first step down 981-994 ms after the insert's first frame in 7 of 8
    tries), so short words ("3, 2, 1", a rating's echo) were over before the music went down."""
    from coach.audio.dummy import DummyServer
    server = DummyServer()
    music = server.add()
    quiet = DuckPlan(RATE, (60 * RATE,), (61 * RATE,), RATE * 15 // 100, RATE * 2 // 10)
    words = DuckPlan(RATE, (0,), (RATE * 6 // 10,), RATE * 15 // 100, RATE * 2 // 10)
    out = _InsertOutput()
    lowest: list[float] = []
    ducker = Ducker(quiet, -12.0, state_path=tmp_path / "ducked.json", connect=lambda: server,
                    realtime=False)
    ducker.start(out)
    try:
        until(lambda: server.listens > 0, "the ducker waits")
        time.sleep(0.1)
        ducker.said(words)  # the session queued the insert...
        time.sleep(0.01)
        out.begin()  # ...and the callback begins it at its next block
        while out.insert_position < RATE * 8 // 10:  # the words and their fade up: 0.8 s
            lowest.append(server.volume(music)[0])  # type: ignore[index]
            time.sleep(0.005)
    finally:
        ducker.stop()
    assert min(lowest) < db_factor(-6), f"the music never went down under the words: {min(lowest)}"


def test_held_the_music_goes_down_in_steps_whatever_the_plan_and_comes_back_when_let_go(
        tmp_path) -> None:
    """A command window's mic is open (push-to-talk, `coach listen`) at a time no plan knows:
    the music goes to the full depth, a step at a time, and follows the plan again after."""
    from coach.audio.dummy import DummyServer
    server = DummyServer()
    music = server.add()
    quiet = DuckPlan(RATE, (600 * RATE,), (601 * RATE,), RATE * 15 // 100, RATE * 2 // 10)
    ducker = Ducker(quiet, -12.0, state_path=tmp_path / "ducked.json", connect=lambda: server,
                    realtime=False)
    low = db_factor(-12)

    def level() -> float:
        return server.volume(music)[0]  # type: ignore[index]

    ducker.start(Clock())
    try:
        until(lambda: server.listens > 0, "the ducker waits")
        assert level() == 1.0 and ducker.steps == 0
        ducker.hold(True)
        until(lambda: abs(level() - low) < 0.002, "the music at -12 dB while held")
        assert ducker.steps == ducker.n_steps == 6  # 2 dB at a time, not one jump
        time.sleep(0.3)
        assert abs(level() - low) < 0.002, "held down"
        ducker.hold(False)
        until(lambda: level() == 1.0, "the music back at its own volume once let go")
        assert ducker.steps == 2 * ducker.n_steps
    finally:
        ducker.stop()
    assert level() == 1.0


def test_held_while_stopped_the_ducker_runs_for_the_hold_alone(tmp_path) -> None:
    """Paused, the session stops its ducker (the music back at once); a command window then
    still lowers the music while it listens, and stopping the hold gives it back."""
    from coach.audio.dummy import DummyServer
    server = DummyServer()
    music = server.add()
    busy = DuckPlan(RATE, (0,), (600 * RATE,), RATE * 15 // 100, RATE * 2 // 10)
    ducker = Ducker(busy, -12.0, state_path=tmp_path / "ducked.json", connect=lambda: server,
                    realtime=False)
    low = db_factor(-12)

    def level() -> float:
        return server.volume(music)[0]  # type: ignore[index]

    class Paused(Clock):
        @property
        def state(self) -> str:
            return "paused"

    out = Paused()
    ducker.start(out)
    try:
        until(lambda: server.listens > 0, "the ducker follows a paused output")
        assert level() == 1.0  # paused: not ducked, though the plan says down
        ducker.stop()
        ducker.hold(True)
        assert ducker.running
        until(lambda: abs(level() - low) < 0.002, "the music at -12 dB while held, paused")
        ducker.hold(False)
        assert not ducker.running and level() == 1.0, "let go: stopped again, the music back"
    finally:
        ducker.stop()
