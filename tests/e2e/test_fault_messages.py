"""Messages that name their real cause (issue 19, point 10): a sound server that is down is
said once per outage as "not reachable" (not 33 times as a device that "accepts neither mono nor
stereo float"); a programs dir that is a symlink loop, and loops inside it, are called symlink
loops; `"force": "yes"` is refused on the socket; a stopped sound server (SIGSTOP) makes
`status` say the output is stalled. Real processes, real sockets, a real PulseAudio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from coach.daemon.control import ControlServer, request
from coach.protocol.codec import answer_json
from coach.protocol.messages import Reply, Request, Status
from tests.support.audio import PulseServer, need_pulse
from tests.support.coachd import ROW_DAY, Coachd
from tests.support.real import ROOT

pytestmark = pytest.mark.slow  # end to end: real processes


def test_force_must_be_a_json_boolean_on_the_socket(tmp_path: Path) -> None:
    got: list[Request] = []

    def handle(req: Request) -> Reply:
        got.append(req)
        return Status()

    path = tmp_path / "run" / "control.sock"
    with ControlServer(path, partial(answer_json, handle)):
        for value in ("yes", "false", 1, 0, None, [], {}):
            reply = request({"cmd": "start", "program": "row", "force": value}, path)
            assert reply == {"ok": False,
                             "error": f"start: force must be true or false, got {value!r}"}, value
        assert got == []  # none reached the daemon, "false" least of all as true
        for value in (True, False):
            assert request({"cmd": "start", "program": "row", "force": value}, path)["ok"]
        assert request({"cmd": "start", "program": "row"}, path)["ok"]
        assert [getattr(r, "force", None) for r in got] == [True, False, False]


def coach(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_programs_dir_that_is_a_symlink_loop_is_called_one(tmp_path: Path) -> None:
    loop = tmp_path / "programs"
    os.symlink(loop, loop)  # programs -> programs
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    r = coach("daemon", "--programs", str(loop), env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip() == f"{loop}: error: cannot use the programs directory: a symlink loop"
    assert "File exists" not in r.stderr and "Traceback" not in r.stderr

    dangling = tmp_path / "gone"
    os.symlink(tmp_path / "nowhere", dangling)
    r = coach("daemon", "--programs", str(dangling), env=env)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"{dangling}: error: the programs directory is a symlink to "
                                f"{tmp_path / 'nowhere'}, which does not exist")


@pytest.mark.slow
def test_symlink_loops_inside_the_programs_dir_are_reported_once(tmp_path: Path) -> None:
    d = Coachd(tmp_path, dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    (d.programs / "row.yaml").write_text(ROW_DAY.format(name="Row day"))
    os.symlink(d.programs / "b.yaml", d.programs / "a.yaml")
    os.symlink(d.programs / "a.yaml", d.programs / "b.yaml")
    try:
        d.start()
        listed = json.loads(d.ok("programs", "--json"))["programs"]
        assert listed["row"]["error"] is None
        for stem in ("a", "b"):
            assert listed[stem]["error"] == f"{d.programs / stem}.yaml: cannot read: a symlink loop"
        r = d.cli("start", "a")
        assert r.returncode == 1 and "a symlink loop" in r.stderr, r.stderr
        time.sleep(4.5)  # two rescans: said once, not at every one
        log = d.text()
        assert log.count(f"ERROR coach.daemon.library: {d.programs / 'a'}.yaml: cannot read: "
                         "a symlink loop") == 1, log[-3000:]
        (d.programs / "a.yaml").unlink()
        (d.programs / "a.yaml").write_text(ROW_DAY.format(name="A day"))  # fixed: loads
        d.ok("reload")
        listed = json.loads(d.ok("programs", "--json"))["programs"]
        assert listed["a"] == {"name": "A day", "path": str(d.programs / "a.yaml"), "error": None}
    finally:
        d.cleanup()


@pytest.fixture
def pulse(tmp_path: Path):
    need_pulse()
    server = PulseServer(tmp_path / "pulse")
    server.start()
    yield server
    if server.proc is not None:
        os.kill(server.proc.pid, signal.SIGCONT)
    server.close()


def playing_daemon(tmp_path: Path, server: PulseServer) -> Coachd:
    env = server.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    d = Coachd(tmp_path, env)
    (d.programs / "row.yaml").write_text(ROW_DAY.format(name="Row day"))
    d.start()
    d.ok("start", "row")
    d.wait_for(lambda s: s["state"] == "playing" and s["position"] > 1.0, timeout=60,
               what="playing")
    return d


@pytest.mark.slow
def test_a_sound_server_that_is_down_is_said_once_as_not_reachable(tmp_path: Path,
                                                                   pulse: PulseServer) -> None:
    d = playing_daemon(tmp_path, pulse)
    try:
        pulse.close()
        d.wait_for(lambda s: s["state"] == "paused", timeout=15, what="the loss")
        time.sleep(7)  # three retries, 2 s apart
        log = d.text()
        said = [ln for ln in log.splitlines() if "audio output still unavailable" in ln]
        assert len(said) == 1, "\n".join(said)
        assert said[0].startswith("WARNING ") and "the sound server is not reachable (" in said[0]
        assert str(pulse.runtime / "pulse" / "native") in said[0]
        assert "accepts neither mono nor stereo" not in log
        assert d.status()["reason"] == "audio output lost; retrying"
        d.ok("stop")
    finally:
        d.cleanup()


@pytest.mark.slow
def test_a_stopped_sound_server_makes_status_say_the_output_is_stalled(tmp_path: Path,
                                                                       pulse: PulseServer) -> None:
    d = playing_daemon(tmp_path, pulse)
    assert pulse.proc is not None
    try:
        st = d.status()
        assert st.get("reason") is None and st.get("problems", []) == []
        os.kill(pulse.proc.pid, signal.SIGSTOP)
        try:
            st = d.wait_for(lambda s: s.get("reason", "").startswith("output stalled"),
                            timeout=10, what="the stall")
            time.sleep(2)
            st = d.status()
            n = int(st["reason"].split()[2])
            assert st["state"] == "playing" and st["reason"] == f"output stalled {n} s" and n >= 2
            assert st["problems"] == [f"audio output stalled {n} s: the sound server or the "
                                      "device takes no audio"]
            shown = d.ok("status")
            assert shown.startswith("playing — output stalled "), shown
        finally:
            os.kill(pulse.proc.pid, signal.SIGCONT)
        d.wait_for(lambda s: s.get("reason") is None and s["problems"] == [], timeout=15,
                   what="the output flowing again")
        pos = d.status()["position"]
        d.wait_for(lambda s: s["position"] > pos + 1.0, timeout=15, what="playing on")
        d.ok("stop")
    finally:
        d.cleanup()
