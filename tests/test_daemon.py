"""The daemon end to end: a real `coach daemon` process, a real PulseAudio null sink, the real
control socket driven through the `coach` CLI, real SQLite history, systemd notify messages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from audio_env import PulseServer, need_pulse
from daemon_env import Coachd

pytestmark = pytest.mark.slow

PROGRAM = """\
program: {name}
{schedule}defaults: {{rest: 10s, lead_in: 3s, announce: 3s}}
exercises:
  - name: Row
    focus: Elbows back.
    sets: 2
    reps: 3
    tempo: "2020"
  - name: Plank
    hold: 20s
"""
# Row set 1: announce 0-3, lead-in 3-6, work 6-18, rest 18-28; set 2 starts at 28 s.


def write_program(path: Path, name: str = "Row day", schedule: str = "") -> None:
    path.write_text(PROGRAM.format(name=name, schedule=f'schedule: "{schedule}"\n' if schedule else ""))


class Daemon(Coachd):
    """The daemon against this module's PulseAudio server and shared clip cache; `cli` checks
    the exit status unless told not to."""

    def __init__(self, tmp: Path, server: PulseServer, cache: Path, extra_env: dict | None = None,
                 prefix: list[str] | None = None, args: list[str] | None = None):
        # PulseAudio is found by its address: the daemon's own runtime dir holds its socket.
        env = dict(server.env, PULSE_SERVER=f"unix:{server.runtime}/pulse/native",
                   XDG_CACHE_HOME=str(cache))
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


def test_start_pause_resume_skip_back_stop(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    assert daemon.status()["state"] == "idle"
    r = daemon.cli("start", "row")
    assert "playing" in r.stdout
    st = daemon.wait_for(lambda s: s["position"] > 0.5, what="playback")
    assert (st["state"], st["program"], st["exercise"], st["set"], st["sets"]) == \
        ("playing", "Row day", "Row", 1, 2)
    assert st["phase"] == "announce" and st["next"] == "Row, set 2 of 2"

    daemon.cli("pause")
    p1 = daemon.status()
    time.sleep(1.5)
    p2 = daemon.status()
    assert p1["state"] == p2["state"] == "paused"
    assert p2["position"] == p1["position"], "position must freeze while paused"

    daemon.cli("resume")  # "resuming. Row, set 1 of 2. 3, 2, 1", then the paused frame
    st = daemon.status()
    assert st["state"] == "playing" and st["position"] == pytest.approx(p2["position"], abs=0.3)
    daemon.wait_for(lambda s: s["position"] > p2["position"] + 0.5, timeout=20, what="resume")

    st = json.loads(daemon.cli("skip", "--json").stdout)  # set 1 work -> its rest
    assert st["phase"] == "rest" and st["position"] == pytest.approx(18.0, abs=0.2)
    st = json.loads(daemon.cli("extend", "--json").stdout)
    assert st["phase"] == "rest"
    st = json.loads(daemon.cli("skip", "--json").stdout)  # rest -> set 2
    assert (st["set"], st["phase"]) == (2, "announce") and st["position"] == pytest.approx(28, abs=0.2)
    st = json.loads(daemon.cli("back", "--json").stdout)  # within 3 s of set 2: to set 1
    assert st["set"] == 1 and st["position"] == pytest.approx(0, abs=0.2)
    st = json.loads(daemon.cli("skip", "--json").stdout)
    assert st["position"] == pytest.approx(18, abs=0.2), st
    st = json.loads(daemon.cli("skip", "--json").stdout)
    assert st["position"] == pytest.approx(28, abs=0.2), st
    time.sleep(3.5)
    st = json.loads(daemon.cli("back", "--json").stdout)  # past 3 s: start of this set
    assert st["set"] == 2 and st["position"] == pytest.approx(28, abs=0.2)

    r = daemon.cli("start", "row", check=False)
    assert r.returncode == 1 and "running" in r.stderr
    daemon.cli("stop")
    assert daemon.status()["state"] == "idle"
    r = daemon.cli("pause", check=False)
    assert r.returncode == 1 and "no session" in r.stderr

    hist = json.loads(daemon.cli("history", "--json").stdout)
    assert hist[0]["program"] == "Row day" and hist[0]["status"] == "stopped"
    statuses = [(s["set_no"], s["status"]) for s in hist[0]["sets"]]
    assert ("1", "skipped") not in statuses and statuses[0] == (1, "completed")


def test_garbage_on_the_socket_leaves_the_daemon_serving(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    path = Path(daemon.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"
    for payload in (b"not json\n", b"[1,2]\n", b'{"cmd": "fly"}\n', b"x" * (70 * 1024) + b"\n",
                    b'{"cmd": "sta'):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(path))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data = s.recv(65536)
            if data:
                assert json.loads(data.splitlines()[0])["ok"] is False
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


def test_reload_edit_and_broken_edit_keeps_last_good(daemon):
    prog = daemon.programs / "row.yaml"
    write_program(prog, name="Row day")
    daemon.start()
    write_program(prog, name="Row day v2")
    r = json.loads(daemon.cli("reload", "--json").stdout)
    assert "row" in r["changed"] and not r["errors"]
    prog.write_text(prog.read_text().replace('tempo: "2020"', 'tempo: "20201"'))
    r = json.loads(daemon.cli("reload", "--json").stdout)
    assert 'tempo needs 4 symbols' in r["errors"]["row"]
    assert f"{prog}:8:12: error:" in daemon.log.read_text()
    daemon.cli("start", "row")
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="start")
    assert st["program"] == "Row day v2", "the last good version keeps working"
    daemon.cli("stop")


def test_edited_file_is_picked_up_without_reload(daemon):
    from coach.daemon.control import request
    prog = daemon.programs / "row.yaml"
    write_program(prog, name="Row day")
    daemon.start()
    sock = daemon.runtime / "coach" / "control.sock"
    write_program(prog, name="Row day v3")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = request({"cmd": "programs"}, path=sock)["programs"]
        if names["row"]["name"] == "Row day v3":
            break
        time.sleep(0.2)
    assert names["row"]["name"] == "Row day v3"
    (daemon.programs / "new.yaml").write_text(prog.read_text().replace("Row day v3", "New"))
    time.sleep(3)
    assert "new" in request({"cmd": "programs"}, path=sock)["programs"]


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


def test_kill_9_then_resume_at_the_interrupted_set(daemon):
    write_program(daemon.programs / "row.yaml")
    daemon.start()
    daemon.cli("start", "row")
    daemon.cli("skip")
    daemon.cli("skip")  # set 2 of Row, from 28 s
    daemon.wait_for(lambda s: s["set"] == 2 and s["position"] > 29.5, what="set 2 playing")
    daemon.stop(signal.SIGKILL)

    daemon.start()
    st = daemon.status()
    assert st["state"] == "idle" and st["interrupted"]["set"] == 2
    daemon.stop()

    daemon.start("--resume")
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="resumed")
    assert (st["exercise"], st["set"]) == ("Row", 2)
    assert 28 <= st["position"] < 31
    hist = json.loads(daemon.cli("history", "--json").stdout)
    old = [h for h in hist if h["status"] == "interrupted"]
    assert old and any(s["set_no"] == 2 and s["status"] == "interrupted" for s in old[0]["sets"])
    assert [s["set_no"] for s in old[0]["sets"]][:2] == [1, 2]
    daemon.cli("stop")


def test_schedule_starts_a_session_by_itself(tmp_path, pulse, cache):
    # Real wall clock (espeak-ng under libfaketime failed intermittently): the program is
    # scheduled for the next whole minute, at least 8 s away, and must start by itself.
    from datetime import datetime, timedelta, timezone
    now = datetime.now(timezone.utc)
    at = (now + timedelta(seconds=8 + 59)).replace(second=0, microsecond=0)
    d = Daemon(tmp_path, pulse, cache)
    write_program(d.programs / "morning.yaml", name="Morning", schedule=f"daily {at:%H:%M}")
    try:
        d.start()
        st = d.status()
        assert st["state"] == "idle" and st["next"] == f"morning at {at.isoformat(timespec='minutes')}"
        wait = (at - datetime.now(timezone.utc)).total_seconds()
        st = d.wait_for(lambda s: s["state"] == "playing", timeout=wait + 15, what="scheduled start")
        assert st["program"] == "Morning"
        assert datetime.now(timezone.utc) >= at
    finally:
        d.cleanup()


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
    from conftest import need
    from datetime import datetime, timedelta, timezone
    lib = _libfaketime()
    need(lib is not None, "libfaketime (Debian: faketime)")
    clock = tmp_path / "faketime"

    def set_fake(when: datetime) -> None:
        offset = (when - datetime.now(timezone.utc)).total_seconds()
        # espeak-ng's timed waits failed (EINVAL) under the single-threaded libfaketime; the
        # MT build is used, and the fake clock only ever runs ahead of the real one here.
        assert offset > 0
        tmp = clock.with_suffix(".tmp")
        tmp.write_text(f"{offset:+.3f}s\n")
        tmp.replace(clock)  # atomic: libfaketime re-reads the file on every call

    # The schedule's slot, two hours ahead of the real clock, on the minute.
    slot = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(second=0, microsecond=0)
    set_fake(slot - timedelta(hours=1, seconds=10))  # the start is an hour away
    d = Daemon(tmp_path, pulse, cache, extra_env={
        "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    write_program(d.programs / "morning.yaml", name="Morning", schedule=f"daily {slot:%H:%M}")
    # Synthesize on the real clock first: espeak-ng's own timed waits fail now and then under
    # libfaketime (EINVAL), and a warm cache means the daemon synthesizes nothing.
    env = {k: v for k, v in d.env.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))}
    subprocess.run([sys.executable, "-m", "coach.cli", "check", str(d.programs / "morning.yaml")],
                   cwd=ROOT, env=env, check=True, capture_output=True)
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
        time.sleep(12)
        assert d.status()["state"] == "idle"
        hist = json.loads(d.cli("history", "--json").stdout)
        assert [h["program"] for h in hist] == ["Morning"]
        log = d.log.read_text()
        assert "wall clock stepped" in log and "Traceback" not in log
    finally:
        d.cleanup()


def test_the_audio_path_never_reads_the_wall_clock():
    """Cue times come from the sample count alone, so a wall-clock step cannot move a cue: the
    modules between the program and the sound card never ask for the time of day."""
    import re
    # (core/ and audio/ since the layers commit; the stream lives in audio/player.py)
    for name in ("core/timeline.py", "core/mixer.py", "audio/player.py", "audio/voice.py",
                 "audio/wavout.py"):
        text = (ROOT / "coach" / name).read_text()
        assert not re.search(r"time\.time\(|datetime\.now|datetime\.utcnow|time\.localtime", text), name


def test_clips_are_synthesized_ahead_of_any_start(tmp_path, pulse):
    cold = tmp_path / "cold-cache"
    d = Daemon(tmp_path, pulse, cold)
    try:
        write_program(d.programs / "row.yaml")
        d.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "row: voice clips ready" not in d.log.read_text():
            time.sleep(0.2)
        assert "row: voice clips ready" in d.log.read_text()
        assert d.status()["state"] == "idle"
        plan = json.loads(d.cli("plan", "--json", str(d.programs / "row.yaml")).stdout)
        texts = {e["text"] for e in plan["events"] if e["type"] == "cue" and e["kind"] == "speech"}
        assert len(list(cold.rglob("*.npy"))) >= len(texts)  # every spoken text, before a start
    finally:
        d.cleanup()
