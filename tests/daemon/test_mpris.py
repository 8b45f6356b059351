"""The MPRIS player on a real, private D-Bus session bus, driven by the real `playerctl`: the
in-process daemon (DummyPlayer) for the mapping and the properties, a real `coach daemon`
process for the wiring, and no bus at all for the one log line."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach.daemon.mpris import BUS_NAME, Mpris, session_bus_address
from coach.protocol.messages import Reply, Request, Status
from tests.support.coachd import Coachd
from tests.support.real import need
from tests.support.rig import PROGRAM, Rig


def _need_tools() -> None:
    for tool in ("dbus-daemon", "playerctl"):
        need(shutil.which(tool) is not None, f"`{tool}` (Debian: dbus playerctl)")


class SessionBus:
    """A private session bus: `dbus-daemon --session` on a socket in a temporary dir."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1",
             f"--address=unix:path={tmp}/bus"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)  # (it cannot raise its fd limit: noise)
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        assert self.address.startswith("unix:"), self.address

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def bus(tmp_path_factory, monkeypatch) -> Iterator[SessionBus]:
    _need_tools()
    b = SessionBus(tmp_path_factory.mktemp("dbus"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", b.address)
    yield b
    b.close()


def playerctl(*args: str) -> str:
    r = subprocess.run(["playerctl", *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"playerctl {' '.join(args)}: {r.stdout}{r.stderr}"
    return r.stdout.strip()


def until(fn, want, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = fn()
        if got == want:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {got!r}, wanted {want!r}")


class Follow:
    """`playerctl --follow`: one line per PropertiesChanged the player emits."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(["playerctl", "-p", "coach", "--follow", *args],
                                     stdout=subprocess.PIPE, text=True)
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, want: str, timeout: float = 10.0) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if line == want:
                return seen
        raise AssertionError(f"playerctl --follow never said {want!r}; it said {seen}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def rig(tmp_path: Path, espeak, bus) -> Iterator[Rig]:
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        r.call("reload")
        yield r


@pytest.fixture
def mpris(rig: Rig) -> Iterator[Mpris]:
    m = Mpris(poll_s=0.1)  # the status poll, 5x the default: the same path, sooner
    m.start(rig.d.handle)
    assert m.wait_ready(), "the player did not come up on the private bus"
    yield m
    m.close()


def test_playerctl_lists_coach_and_drives_the_session(rig: Rig, mpris: Mpris) -> None:
    assert "coach" in playerctl("-l").split()
    assert playerctl("-p", "coach", "status") == "Stopped"
    playerctl("-p", "coach", "play")  # idle, nothing interrupted: nothing happens
    time.sleep(0.3)
    assert rig.status()["state"] == "idle"

    rig.call("start", program="row")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    until(lambda: playerctl("-p", "coach", "status"), "Playing", "Playing")
    meta = playerctl("-p", "coach", "metadata", "--format",
                     "{{xesam:title}}|{{xesam:album}}|{{xesam:artist}}|{{mpris:trackid}}")
    assert meta == "Row, set 1 of 2|Row day|coach|'/org/coach/set/0_1'"  # a path, quoted
    # Row set 1 spans 0-28 s (announce to set 2's announce): its length, in microseconds.
    assert playerctl("-p", "coach", "metadata", "mpris:length") == "28000000"

    playerctl("-p", "coach", "play-pause")
    rig.wait_for(lambda s: s["state"] == "paused", "paused by play-pause")
    until(lambda: playerctl("-p", "coach", "status"), "Paused", "Paused")
    playerctl("-p", "coach", "play-pause")
    rig.wait_for(lambda s: s["state"] == "playing", "resumed by play-pause")

    rig.play_s(8.0)  # into set 1's work
    playerctl("-p", "coach", "next")
    st = rig.wait_for(lambda s: s["phase"] == "rest", "skipped to the rest")
    assert st["position"] == 18.0
    # Between sets the length is the session's.
    until(lambda: playerctl("-p", "coach", "metadata", "mpris:length"),
          str(round(st["duration"] * 1_000_000)), "the session's length in the rest")
    playerctl("-p", "coach", "next")
    st = rig.wait_for(lambda s: s["set"] == 2, "skipped to set 2")
    assert (st["phase"], st["position"]) == ("announce", 28.0)
    until(lambda: playerctl("-p", "coach", "metadata", "xesam:title"), "Row, set 2 of 2",
          "set 2 in the metadata")
    assert float(playerctl("-p", "coach", "position")) == pytest.approx(28.0, abs=1.1)
    playerctl("-p", "coach", "previous")  # within 3 s of set 2: back to set 1
    st = rig.wait_for(lambda s: s["set"] == 1, "back to set 1")
    assert st["position"] == 0.0

    playerctl("-p", "coach", "stop")
    rig.wait_for(lambda s: s["state"] == "idle", "stopped")
    until(lambda: playerctl("-p", "coach", "status"), "Stopped", "Stopped")
    assert playerctl("-p", "coach", "metadata", "mpris:trackid") == \
        "'/org/mpris/MediaPlayer2/TrackList/NoTrack'"


def test_properties_changed_is_emitted_for_status_and_track(rig: Rig, mpris: Mpris) -> None:
    status = Follow("status")
    title = Follow("metadata", "xesam:title")
    try:
        status.expect("Stopped")
        rig.call("start", program="row")
        rig.wait_for(lambda s: s["state"] == "playing", "playing")
        status.expect("Playing")
        title.expect("Row, set 1 of 2")
        rig.call("pause")  # from the socket, not the bus: the poll still sees it
        status.expect("Paused")
        rig.call("resume")
        status.expect("Playing")
        rig.call("skip")
        rig.call("skip")  # work → rest → set 2
        title.expect("Row, set 2 of 2")
        rig.call("stop")
        status.expect("Stopped")
    finally:
        status.close()
        title.close()


def test_root_properties_and_can_go_next(rig: Rig, mpris: Mpris) -> None:
    def prop(iface: str, name: str) -> str:
        r = subprocess.run(["busctl", "--user", "get-property", BUS_NAME,
                            "/org/mpris/MediaPlayer2", iface, name],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    need(shutil.which("busctl") is not None, "`busctl` (Debian: systemd)")
    root, player = "org.mpris.MediaPlayer2", "org.mpris.MediaPlayer2.Player"
    assert prop(root, "Identity") == 's "coach"'
    assert prop(root, "CanQuit") == "b false"
    assert prop(root, "CanRaise") == "b false"
    assert prop(root, "HasTrackList") == "b false"
    assert prop(root, "SupportedUriSchemes") == "as 0"
    assert prop(player, "CanGoNext") == "b false"
    assert prop(player, "CanSeek") == "b false"
    assert prop(player, "Rate") == "d 1"
    rig.call("start", program="row")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    until(lambda: prop(player, "CanGoNext"), "b true", "CanGoNext while a session runs")


def test_a_second_player_on_the_same_bus_stays_off(rig: Rig, mpris: Mpris, caplog) -> None:
    caplog.set_level(logging.INFO, logger="coach.daemon.mpris")
    other = Mpris()
    other.start(rig.d.handle)
    try:
        assert not other.wait_ready()
    finally:
        other.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "coach.daemon.mpris"]
    assert lines == [f"MPRIS: {BUS_NAME} is owned by another process; media remotes on the "
                     "bus are off"]
    assert playerctl("-p", "coach", "status") == "Stopped", "the first one still answers"


def test_no_session_bus_is_one_line_and_the_part_stays_off(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no `bus` socket in it
    assert session_bus_address() is None
    caplog.set_level(logging.DEBUG, logger="coach.daemon.mpris")
    asked: list[Request] = []
    m = Mpris()
    m.start(lambda req: asked.append(req) or Status())
    assert not m.wait_ready()
    m.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "coach.daemon.mpris"]
    assert len(lines) == 1 and "no session bus" in lines[0], lines
    assert asked == [], "an off part asks the daemon nothing"


def test_the_systemd_user_bus_in_the_runtime_dir_is_found(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "bus").touch()
    assert session_bus_address() == f"unix:path={tmp_path}/bus"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/elsewhere")
    assert session_bus_address() == "unix:path=/elsewhere"


# -- the real `coach daemon` ----------------------------------------------------------------------

@pytest.mark.slow
def test_the_daemon_without_a_bus_logs_one_line_and_answers(tmp_path) -> None:
    d = Coachd(tmp_path, dict(os.environ))
    try:
        d.start()
        assert d.status()["state"] == "idle"
        mpris_lines = [ln for ln in d.text().splitlines() if "MPRIS" in ln]
        assert len(mpris_lines) == 1 and "no session bus" in mpris_lines[0], mpris_lines
    finally:
        d.cleanup()


@pytest.mark.slow
def test_mpris_false_in_the_config_keeps_the_daemon_off_the_bus(tmp_path, bus) -> None:
    d = Coachd(tmp_path, dict(os.environ), bus=bus.address)
    cfg = Path(d.env["XDG_CONFIG_HOME"]) / "coach"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text("mpris: false\n")
    try:
        d.start()
        assert d.status()["state"] == "idle"
        listed = subprocess.run(["playerctl", "-l"], capture_output=True, text=True, timeout=10)
        assert "coach" not in listed.stdout.split(), listed.stdout
        assert "MPRIS" not in d.text()
    finally:
        d.cleanup()


@pytest.mark.slow
def test_playerctl_pauses_a_real_session_of_the_real_daemon(tmp_path, bus, espeak) -> None:
    from tests.support.audio import PulseServer, need_pulse
    need_pulse()
    with PulseServer(tmp_path / "pulse") as pulse:
        env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
        d = Coachd(tmp_path, env, bus=bus.address)
        (d.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        try:
            d.start()
            until(lambda: "coach" in subprocess.run(["playerctl", "-l"], capture_output=True,
                                                    text=True).stdout.split(),
                  True, "the daemon's player on the bus")
            assert playerctl("-p", "coach", "status") == "Stopped"
            d.cli("start", "row", check=True)
            d.wait_for(lambda s: s["state"] == "playing" and s["position"] > 0.5,
                       what="playback")
            until(lambda: playerctl("-p", "coach", "status"), "Playing", "Playing")
            assert playerctl("-p", "coach", "metadata", "xesam:album") == "Row day"
            playerctl("-p", "coach", "play-pause")
            p1 = d.wait_for(lambda s: s["state"] == "paused", what="paused by play-pause")
            time.sleep(1.0)
            p2 = d.status()
            assert p2["state"] == "paused" and p2["position"] == p1["position"]
            assert playerctl("-p", "coach", "status") == "Paused"
            playerctl("-p", "coach", "play-pause")
            d.wait_for(lambda s: s["state"] == "playing" and s["position"] > p2["position"],
                       timeout=20, what="resumed by play-pause")
            playerctl("-p", "coach", "stop")
            d.wait_for(lambda s: s["state"] == "idle", what="stopped")
            said = [ln for ln in d.text().splitlines() if "MPRIS:" in ln]
            assert f"MPRIS: {BUS_NAME} on the session bus" in said[0], said
            assert sum("MPRIS: toggle" in ln for ln in said) == 2, said
        finally:
            d.cleanup()


def test_close_ends_the_thread_and_frees_the_name(bus) -> None:
    quick = Mpris()
    quick.start(lambda req: Status())
    thread = quick._thread
    quick.close()  # right after start: the loop may not have run yet
    assert thread is not None and not thread.is_alive()

    m = Mpris()
    m.start(lambda req: Status())
    assert m.wait_ready()
    assert "coach" in playerctl("-l").split()
    thread = m._thread
    m.close()
    assert thread is not None and not thread.is_alive()
    listed = subprocess.run(["playerctl", "-l"], capture_output=True, text=True, timeout=10)
    assert "coach" not in listed.stdout.split(), "the name is released at close"


def test_close_does_not_wait_for_a_daemon_that_no_longer_answers(bus) -> None:
    gone = threading.Event()

    def handler(req: Request) -> Reply:
        if gone.is_set():
            time.sleep(4)  # Daemon.handle once the session thread has ended: its timeout
        return Status()

    m = Mpris(poll_s=0.05)
    m.start(handler)
    assert m.wait_ready()
    thread = m._thread
    gone.set()
    time.sleep(0.3)  # a poll is waiting now
    t0 = time.monotonic()
    m.close()
    assert time.monotonic() - t0 < 1.5
    assert thread is not None and not thread.is_alive()
