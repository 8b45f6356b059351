"""The daemon end to end, for what is about the process: a real `coach daemon` with a real
PulseAudio null sink, driven through the real `coach` CLI: kill -9 and the restart that resumes,
`--resume`, another uid and garbage on the socket, systemd notify and watchdog messages, the
sound server going away, a wall-clock step (libfaketime), config the process reads at start.
The daemon's logic (verbs, reload, schedules, clips ahead) runs in-process in tests/daemon."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import PulseServer, need_pulse
from tests.support.cli import coach
from tests.support.coachd import Coachd, write_program
from tests.support.real import ROOT

pytestmark = pytest.mark.slow


class Daemon(Coachd):
    """The daemon against this module's PulseAudio server and shared clip cache; `cli` checks
    the exit status unless told not to."""

    def __init__(self, tmp: Path, server: PulseServer, cache: Path, extra_env: dict | None = None,
                 prefix: list[str] | None = None, args: list[str] | None = None):
        # PulseAudio is found by its address: the daemon's own runtime dir holds its socket.
        env = server.client_env(XDG_CACHE_HOME=str(cache))
        env.update(extra_env or {})
        super().__init__(tmp, env, prefix=prefix, args=args)
        self.tmp = tmp

    def cli(self, *args: str, check: bool = True, timeout: float = 120):
        return super().cli(*args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    need_pulse()
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def daemon(tmp_path, pulse, cache):
    d = Daemon(tmp_path, pulse, cache)
    yield d
    d.cleanup()


def test_garbage_on_the_socket_leaves_the_daemon_serving(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    path = Path(daemon.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"
    answered = (b"not json\n", b"[1,2]\n", b'{"cmd": "fly"}\n', b'{"cmd": "history"}\n',
                b"x" * (70 * 1024) + b"\n")
    for payload in answered + (b'{"cmd": "sta',):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(path))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            if payload in answered:  # every complete line gets exactly one refusal
                [line] = data.splitlines()
                assert json.loads(line)["ok"] is False, (payload[:30], line)
            else:  # a half line, then the client left: nothing to answer
                assert data == b"", data
    assert daemon.status()["state"] == "idle"
    assert daemon.proc.poll() is None


def test_stranger_uid_is_refused_by_the_daemon(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    runtime = Path(daemon.env["XDG_RUNTIME_DIR"])
    sock = runtime / "coach" / "control.sock"
    # Loosen the file modes so that the filesystem does not refuse first: the daemon's own
    # SO_PEERCRED check must.
    os.chmod(runtime, 0o755)
    os.chmod(sock.parent, 0o755)
    os.chmod(sock, 0o666)
    code = ("import json,socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            "s.sendall(b'{\"cmd\": \"status\"}\\n'); print(s.makefile().readline())")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-c", code, str(sock)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"ok": False, "error": "permission denied"}
    assert daemon.status()["state"] == "idle"


def test_media_keys_and_gpio_configured_without_hardware_are_one_line_each(daemon):
    cfg = daemon.tmp / "config" / "coach"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text("media_keys: true\ngpio: {pin: 17}\n")
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    time.sleep(2.5)  # a rescan of input devices
    assert daemon.status()["state"] == "idle"
    log = daemon.log.read_text()
    assert "Traceback" not in log
    media = [line for line in log.splitlines() if "coach.daemon.buttons" in line and "input" in line]
    gpio = [line for line in log.splitlines() if "coach.daemon.buttons" in line and "GPIO" in line]
    assert len(media) == 1, media
    assert len(gpio) == 1, gpio


def test_kill_9_then_the_restarted_daemon_resumes_the_set_once(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    daemon.cli("start", "row")
    # Playing first: a skip while the clips are still being made only moves where the session
    # will start, and set 1 would never have been reached (found flaky on a busy machine).
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    daemon.cli("skip")
    daemon.cli("skip")  # set 2 of Row, from 28 s; set 1 skipped (from its announcement)
    daemon.wait_for(lambda s: s["set"] == 2 and s["position"] > 29.5, what="set 2 playing")
    daemon.stop(signal.SIGKILL)

    # Restarted within seconds (systemd's Restart=on-failure): it picks the session up itself.
    daemon.start()
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="resumed by itself")
    assert (st["exercise"], st["set"]) == ("Row", 2)
    assert 28 <= st["position"] < 31
    assert "resuming it" in daemon.text()
    daemon.stop(signal.SIGKILL)  # and dies again before finishing the set: a crash loop

    daemon.start()
    st = daemon.status()
    assert st["state"] == "idle" and st["interrupted"]["set"] == 2, "resumed once, not twice"
    daemon.cli("resume")  # what the headset's play key does
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="resumed by the play key")
    assert (st["exercise"], st["set"]) == ("Row", 2) and 28 <= st["position"] < 31
    hist = json.loads(daemon.cli("history", "--json").stdout)
    old = [h for h in hist if h["status"] == "interrupted"]
    assert len(old) == 2
    first = old[-1]
    assert [(s["set_no"], s["status"]) for s in first["sets"]][:2] == [(1, "skipped"),
                                                                        (2, "interrupted")]
    daemon.cli("stop")


def test_kill_9_of_the_daemon_mid_duck_then_its_restart_gives_the_music_back(tmp_path, pulse,
                                                                             cache):
    """The daemon dies while the music is lowered; the restarted daemon gives it back at its
    start, with no session playing (not at its first session: music may play for hours
    before one)."""
    from coach.audio.duck import db_factor
    from tests.support.duck import Music, percent, sink_inputs
    d = Daemon(tmp_path, pulse, cache, extra_env={"XDG_STATE_HOME": str(tmp_path / "state")})
    (d.programs / "long.yaml").write_text(
        "program: Long\nexercises:\n  - name: Wall sit\n    focus: Breathe slowly, keep the "
        "back flat against the wall, thighs level, and push through the heels the whole "
        "time.\n    hold: 20s\n")
    state = tmp_path / "state" / "coach" / "ducked.json"
    low = round(100 * db_factor(-12))

    def music() -> list[int]:
        return [percent(s["volume"]) for s in sink_inputs(pulse) if s.get("media.role") == "music"]

    tone = Music(pulse.env)
    try:
        d.start()
        d.cli("start", "long")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (music() and music()[0] <= low + 1):
            time.sleep(0.02)
        assert music() and music()[0] <= low + 1, ("never lowered", music(), d.text()[-2000:])
        d.stop(signal.SIGKILL)
        assert music()[0] <= low + 1 and state.exists()  # left lowered, and written down
        # Without its program the interrupted session cannot resume (it would duck again at
        # once and hide the restore): what is left to see is the restart giving volumes back.
        (d.programs / "long.yaml").unlink()
        d.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (music() != [100] or state.exists()):
            time.sleep(0.05)
        assert music() == [100] and not state.exists(), (music(), d.text()[-3000:])
        assert "left 1 stream(s) lowered: restored 1" in d.text()
        assert d.status()["state"] == "idle"
    finally:
        tone.stop()
        d.cleanup()


def test_the_old_flag_resume_still_restarts_the_set(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    daemon.cli("start", "row")
    daemon.wait_for(lambda s: s["position"] > 1, what="playing")
    daemon.stop(signal.SIGKILL)
    daemon.start("--resume")
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="resumed")
    assert (st["set"], st["phase"]) == (1, "announce")
    daemon.cli("stop")


def test_ready_and_watchdog_reach_notify_socket(tmp_path, pulse, cache):
    addr = str(tmp_path / "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(addr)
    rx.settimeout(30)
    d = Daemon(tmp_path, pulse, cache, extra_env={"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "1000000"})
    try:
        d.start()
        got: list[str] = []
        deadline = time.monotonic() + 20
        while not ({"READY=1", "WATCHDOG=1"} <= set(got)) and time.monotonic() < deadline:
            got += rx.recv(4096).decode().splitlines()
        assert "READY=1" in got and "WATCHDOG=1" in got
        assert got.index("READY=1") < got.index("WATCHDOG=1")
    finally:
        d.cleanup()
        rx.close()


def test_audio_server_goes_away_and_comes_back(tmp_path, cache):
    # A server of this test's own: it is killed and restarted under the daemon.
    need_pulse()
    server = PulseServer(tmp_path / "pulse")
    server.start()
    d = Daemon(tmp_path, server, cache)
    try:
        write_program(d.programs / "row.yaml")
        d.start()
        d.cli("start", "row")
        st = d.wait_for(lambda s: s["position"] > 7.2 and s["phase"] == "eccentric",
                        what="set 1 work")
        server.close()
        st = d.wait_for(lambda s: s["state"] == "paused", timeout=15, what="pause on loss")
        assert st["reason"].startswith("audio output lost")
        lost_at = st["position"]
        time.sleep(3)
        assert d.status()["position"] == lost_at  # held while the output is gone
        assert d.proc.poll() is None
        server.start()
        cap = server.capture()
        st = d.wait_for(lambda s: s["state"] == "playing", timeout=20, what="reconnect")
        # Resumed at the start of the cue that was cut (cues here come every second).
        assert lost_at - 1.0 <= st["position"] <= lost_at
        d.wait_for(lambda s: s["position"] > lost_at + 1.0, timeout=20, what="playing on")
        x = cap.stop()
        assert np.abs(x).max() > 0.05, "nothing audible after the server came back"
        log = d.log.read_text()
        assert "audio output lost" in log and "audio output back" in log
        assert "Traceback" not in log
        d.cli("stop")
    finally:
        d.cleanup()
        server.close()


def _libfaketime() -> str | None:
    import glob
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    return found[0] if found else None


def test_clock_steps_move_neither_cues_nor_schedules(tmp_path, pulse, cache):
    """NTP steps on a Pi without RTC: libfaketime under the daemon, its offset changed while it
    runs (FAKETIME_TIMESTAMP_FILE re-read on every call)."""
    from datetime import datetime, timedelta

    from tests.support.real import need
    lib = _libfaketime()
    need(lib is not None, "libfaketime (Debian: faketime)")
    clock = tmp_path / "faketime"

    def set_fake(when: datetime) -> None:
        offset = (when - datetime.now(UTC)).total_seconds()
        # espeak-ng's timed waits failed (EINVAL) under the single-threaded libfaketime; the
        # MT build is used, and the fake clock only ever runs ahead of the real one here.
        assert offset > 0
        tmp = clock.with_suffix(".tmp")
        tmp.write_text(f"{offset:+.3f}s\n")
        tmp.replace(clock)  # atomic: libfaketime re-reads the file on every call

    # The schedule's slot, two hours ahead of the real clock, on the minute.
    slot = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    set_fake(slot - timedelta(hours=1, seconds=10))  # the start is an hour away
    d = Daemon(tmp_path, pulse, cache, extra_env={
        "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    write_program(d.programs / "morning.yaml", name="Morning", schedule=f"daily {slot:%H:%M}")
    # Synthesize on the real clock first: espeak-ng's own timed waits fail now and then under
    # libfaketime (EINVAL), and a warm cache means the daemon synthesizes nothing.
    env = {k: v for k, v in d.env.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))}
    coach("check", str(d.programs / "morning.yaml"), env=env, check=True)
    try:
        d.start()
        assert d.status()["next"] == f"morning at {slot.isoformat(timespec='minutes')}"
        # NTP steps the clock forward to 5 s before the slot: the session must start then,
        # not an hour later when the scheduler's old sleep would have ended.
        set_fake(slot - timedelta(seconds=5))
        st = d.wait_for(lambda s: s["state"] == "playing", timeout=20, what="start after a step")
        assert st["program"] == "Morning"
        # A step of an hour in the middle of a set: the session plays on where it was (how far
        # it gets in a given time is not measured here: libfaketime also shifts the timed waits
        # of the audio client library's threads, which a real NTP step does not).
        d.wait_for(lambda s: s["position"] > 1.0, what="steady playback")
        p1 = d.status()["position"]
        set_fake(slot + timedelta(hours=1))
        st = d.wait_for(lambda s: s["position"] > p1 + 1.0, what="playing on after the step")
        assert (st["state"], st["program"], st["set"]) == ("playing", "Morning", 1)
        d.cli("stop")
        # Stepped back over the slot again: the same slot must not start a second session.
        set_fake(slot - timedelta(seconds=5))
        time.sleep(5 + 2)  # until its clock is past the slot again, and a few ticks more
        assert d.status()["state"] == "idle"
        hist = json.loads(d.cli("history", "--json").stdout)
        assert [h["program"] for h in hist] == ["Morning"]
        log = d.log.read_text()
        assert "wall clock stepped" in log and "Traceback" not in log
    finally:
        d.cleanup()


@pytest.mark.realtime  # the watchdog pings must keep their pace while Piper works
def test_a_cold_piper_start_answers_at_once_and_the_watchdog_never_waits(tmp_path, pulse):
    # Found: `coach start` synthesized every clip inside the request, holding the daemon lock
    # (8.9 s with Piper on one core), while the watchdog tick waited behind it.
    from coach.audio.voice import piper_problem
    from coach.daemon.control import request
    from tests.support.real import need
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    program = tmp_path / "piper-session.yaml"  # outside the programs dir: nothing warms it
    text = (ROOT / "programs" / "full-session.yaml").read_text()
    program.write_text(text.replace("voice: {engine: espeak,", "voice: {engine: piper,", 1))
    assert "engine: piper" in program.read_text()
    addr = str(tmp_path / "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(addr)
    rx.settimeout(0.2)
    d = Daemon(tmp_path, pulse, tmp_path / "cold-cache",
               extra_env={"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "1000000"})
    try:
        d.start()
        sock = Path(d.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"
        reply = json.loads(d.cli("start", "--json", str(program)).stdout)
        assert reply["state"] == "preparing", reply
        assert 0 <= reply["prepared"] < reply["needed"], reply
        pings: list[float] = []
        deadline = time.monotonic() + 90
        state = "preparing"
        while time.monotonic() < deadline:
            try:
                if "WATCHDOG=1" in rx.recv(4096).decode().splitlines():
                    pings.append(time.monotonic())
            except TimeoutError:
                pass
            state = request({"cmd": "status"}, path=sock, timeout=5)["state"]
            if state == "playing" and len(pings) > 10:
                break
        assert state == "playing", d.text()[-3000:]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # Pings every 0.5 s; the old daemon's went silent for the whole synthesis.
        assert max(gaps) < 2.0, gaps
        d.cli("stop")
    finally:
        d.cleanup()
        rx.close()
