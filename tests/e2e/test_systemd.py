"""The unit under a real `systemd --user` manager: installed by `coach install-service`, started
as Type=notify, frozen with SIGSTOP mid-session, killed by the watchdog, restarted by
Restart=on-failure, and the restarted daemon resumes the interrupted set by itself, heard in a
parec capture of the null sink.

No systemd runs as PID 1 here (a container), so the manager gets a private mount namespace
(`unshare --mount`) with a tmpfs on /run holding /run/systemd/system (what sd_booted() looks
for; the real /run is never touched). Its XDG_RUNTIME_DIR is a 0700 dir under /tmp, visible
from both namespaces: `systemctl --user`, `coach` and the test's PulseAudio server (whose
socket lives in the same runtime dir, as PipeWire's does on the Pi) are reached from here
through it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import RATE, PulseServer, need_pulse
from tests.support.cli import coach as run_coach
from tests.support.real import need

# A real systemd --user manager, its watchdog and a recorded session: timing matters.
pytestmark = [pytest.mark.slow, pytest.mark.realtime, pytest.mark.one_shard]

SYSTEMD = Path("/lib/systemd/systemd")
# The coach script of the venv running the tests: what `coach install-service` points the unit at.
COACH_BIN = Path(sys.executable).with_name("coach")
WATCHDOG_S = 6
THRESHOLD = 10 ** (-45 / 20)  # -45 dBFS: sound, in the capture

PROGRAM = """\
program: Row day
defaults: {rest: 5s, lead_in: 3s}
exercises:
  - name: Row
    sets: 2
    reps: 2
    tempo: "1010"
"""
# Set 1: announce 0-6, lead-in 6-9, work 9-13, rest 13-18; set 2 from 18 s (read from the plan).

MANAGER_SCRIPT = """\
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system
exec {systemd} --user
"""


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "--mount", "--fork", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _alive_coach(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"coach" in cmd and state != "Z"


class UserManager:
    """`systemd --user` in its own mount namespace, with a clean environment (a Pi's manager
    does not inherit a developer's shell), logging to a file."""

    def __init__(self, base: Path, runtime: Path, home: Path):
        self.base, self.runtime, self.home = base, runtime, home
        self.log = base / "manager.log"
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "LANG": "C.UTF-8", "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
                    "XDG_CONFIG_HOME": str(home / ".config")}
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()  # every MainPID seen, killed at the end if still there

    def start(self) -> None:
        script = self.base / "manager.sh"
        script.write_text(MANAGER_SCRIPT.format(systemd=SYSTEMD))
        with open(self.log, "ab") as log:
            # --kill-child: if unshare dies, the manager dies with it.
            self.proc = subprocess.Popen(["unshare", "--mount", "--fork", "--kill-child",
                                          "bash", str(script)], env=self.env, cwd=self.base,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            r = self.systemctl("is-system-running", check=False)
            if r.stdout.strip() in ("running", "degraded"):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"systemd --user did not come up ({r.stdout.strip()!r}):\n"
                                     + self.text())
            time.sleep(0.1)

    def systemctl(self, *args: str, check: bool = True, timeout: float = 60
                  ) -> subprocess.CompletedProcess:
        # Inside the manager's namespace: outside it, with no /run/systemd/system, systemctl
        # thinks it is offline (`is-system-running` says so).
        assert self.proc is not None
        r = subprocess.run(["nsenter", f"--target={self.proc.pid}", "--mount", "systemctl",
                            "--user", *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check:
            assert r.returncode == 0, (f"systemctl --user {' '.join(args)}: {r.stdout}{r.stderr}"
                                       f"\n{self.text()}")
        return r

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", "-p", ",".join(props), unit).stdout
        d = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if d.get("MainPID", "0") != "0":
            self.pids.add(int(d["MainPID"]))
        return d

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.systemctl("stop", "coach", check=False, timeout=30)
                self.systemctl("exit", check=False, timeout=10)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid in self.pids:  # a daemon the manager could not stop (e.g. left in SIGSTOP)
            if _alive_coach(pid):
                os.kill(pid, signal.SIGKILL)


def _normalized_xcorr(x: np.ndarray, tpl: np.ndarray) -> np.ndarray:
    """Pearson-like match of ``tpl`` at every offset of ``x`` (1.0: the same samples, any gain)."""
    n, m = len(x), len(tpl)
    nfft = 1 << (n + m - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, nfft) * np.conj(np.fft.rfft(tpl, nfft)), nfft)[:n - m + 1]
    cs = np.concatenate(([0.0], np.cumsum(x.astype(np.float64) ** 2)))
    energy = cs[m:] - cs[:n - m + 1]
    return corr / (np.sqrt(np.maximum(energy, 1e-12)) * np.linalg.norm(tpl))


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


@dataclass
class Observed:
    """What one run of the scenario saw; the tests below judge it."""

    unit: str = ""  # coach.service as `coach install-service` wrote it
    dropin: str = ""
    active_after_start: str = ""  # `is-active` right after `systemctl --user start` returned
    props: dict[str, str] = field(default_factory=dict)  # after the first start
    first_status: subprocess.CompletedProcess | None = None  # `coach status --json`, one try
    sock_mode: int | None = None
    pid1: int = 0
    frozen_for_s: float = 0.0  # SIGSTOP -> a new MainPID
    restarted: dict[str, str] = field(default_factory=dict)  # once the new daemon was active
    pid1_alive: bool = True
    ended: list[str] = field(default_factory=list)  # "SERVICE_RESULT EXIT_CODE EXIT_STATUS"
    resumed: dict = field(default_factory=dict)  # first `status` after the restart: playing
    daemon_log: str = ""
    set2: float = 0.0
    rec: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    f_stop: int = 0  # capture frame at SIGSTOP
    f_new: int = 0  # capture frame when the new MainPID was first seen
    announcement: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    resume_words: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    logs: str = ""  # daemon log, ends, manager output: for failure messages


@pytest.fixture(scope="module")
def run() -> Iterator[Observed]:
    """The scenario, once: install, start, a session to set 2, SIGSTOP, the watchdog's
    restart, the auto-resume; the null sink recorded throughout."""
    for tool in ("systemctl", "unshare", "nsenter"):
        need(shutil.which(tool) is not None, f"`{tool}` (Debian: systemd util-linux)")
    need(SYSTEMD.is_file(), f"{SYSTEMD} (Debian: systemd)")
    need(_unshare_works(), "`unshare --mount` (root, or CAP_SYS_ADMIN) for a private /run")
    need_pulse()
    from coach.audio.voice import VoiceUnavailable, espeak_voices
    try:
        need(bool(espeak_voices()), "espeak-ng through pyttsx3")
    except VoiceUnavailable:
        need(False, "espeak-ng through pyttsx3")
    assert COACH_BIN.is_file(), f"no coach script beside {sys.executable}"

    # Short paths: three Unix sockets live in the runtime dir (108-byte limit).
    base = Path(tempfile.mkdtemp(prefix="coach-sd-", dir="/tmp"))
    pulse = PulseServer(base / "p")
    home, runtime = pulse.home, pulse.runtime  # the manager's HOME and XDG_RUNTIME_DIR
    config, data, cache = home / ".config", base / "data", base / "cache"
    programs = config / "coach" / "programs"  # the daemon's default programs dir
    daemon_log = base / "daemon.log"
    ends = base / "ends.log"  # SERVICE_RESULT EXIT_CODE EXIT_STATUS of each run
    mgr = UserManager(base, runtime, home)
    cap = None
    client_env = dict(pulse.env, XDG_RUNTIME_DIR=str(runtime), XDG_CONFIG_HOME=str(config),
                      XDG_DATA_HOME=str(data), XDG_CACHE_HOME=str(cache),
                      PULSE_SERVER=f"unix:{runtime}/pulse/native")
    ob = Observed()

    def logs() -> str:
        d = daemon_log.read_text(errors="replace")[-3000:] if daemon_log.exists() else ""
        e = ends.read_text() if ends.exists() else ""
        return f"--- daemon log ---\n{d}\n--- runs ended ---\n{e}--- manager ---\n{mgr.text()}"

    def coach(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = run_coach(*args, command=[str(COACH_BIN)], env=client_env, timeout=60)
        if check:
            assert r.returncode == 0, f"coach {' '.join(args)}: {r.stdout}{r.stderr}\n{logs()}"
        return r

    def wait_status(pred: Callable[[dict], bool], timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < deadline:
            r = coach("status", "--json", check=False)
            if r.returncode == 0:
                st = json.loads(r.stdout)
                if pred(st):
                    return st
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {st}\n{logs()}")

    try:
        pulse.start()
        # The real `coach install-service`, with this checkout's venv and a temporary HOME.
        r = subprocess.run([str(COACH_BIN), "install-service"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, HOME=str(home),
                                                XDG_CONFIG_HOME=str(config)))
        assert r.returncode == 0, r.stdout + r.stderr
        unit_dir = config / "systemd" / "user"
        ob.unit = (unit_dir / "coach.service").read_text()
        dropin = unit_dir / "coach.service.d" / "test.conf"
        dropin.parent.mkdir()
        # ExecStart stays as installed: the programs are in the default place under
        # XDG_CONFIG_HOME. The log goes to a file (no journald here); no core files.
        ob.dropin = str(dropin)
        dropin.write_text(
            "[Service]\n"
            f"WatchdogSec={WATCHDOG_S}\n"
            f"Environment=XDG_CONFIG_HOME={config} XDG_DATA_HOME={data} "
            f"XDG_CACHE_HOME={cache} PULSE_SERVER=unix:{runtime}/pulse/native\n"
            f"StandardOutput=append:{daemon_log}\n"
            "StandardError=inherit\n"
            "LimitCORE=0\n"
            # Why each run ended, as systemd saw it (its journal would say; none runs here).
            f"ExecStopPost=/bin/sh -c 'echo \"$$SERVICE_RESULT $$EXIT_CODE $$EXIT_STATUS\" "
            f">> {ends}'\n")
        programs.mkdir(parents=True)
        prog = programs / "row.yaml"
        prog.write_text(PROGRAM)
        plan = json.loads(coach("plan", "--json", str(prog)).stdout)["events"]
        ob.set2 = next(e for e in plan if e["type"] == "phase" and e["set"] == 2)["t"]
        announce2 = next(e for e in plan if e["type"] == "cue" and e["set"] == 2
                         and e["phrase"] == "announce")
        after = min(e["t"] for e in plan if e["type"] == "cue" and e["t"] > announce2["t"])
        assert announce2["t"] == ob.set2 == 18.0, (ob.set2, announce2)

        # Type=notify: `start` returns once READY=1 came.
        mgr.start()
        mgr.systemctl("daemon-reload")
        mgr.systemctl("start", "coach", timeout=60)
        ob.active_after_start = mgr.systemctl("is-active", "coach", check=False).stdout.strip()
        ob.first_status = coach("status", "--json", check=False)  # once: no retry
        ob.props = mgr.show("coach", "Type", "NotifyAccess", "WatchdogUSec", "Restart",
                            "MainPID", "NRestarts", "ExecStart", "DropInPaths")
        sock = runtime / "coach" / "control.sock"
        ob.sock_mode = (sock.stat().st_mode & 0o777) if sock.is_socket() else None
        ob.pid1 = int(ob.props["MainPID"])

        # A session reaches set 2; the daemon freezes; the watchdog has it restarted.
        cap = pulse.capture()
        deadline = time.monotonic() + 15
        while cap.frames() < RATE:  # parec's first second arrives in a burst; let it settle
            assert time.monotonic() < deadline and cap.proc.poll() is None, "parec gave no audio"
            time.sleep(0.02)
        coach("start", "row")
        wait_status(lambda s: s["state"] == "playing" and s["set"] == 2
                    and s["position"] >= ob.set2 + 1.5, timeout=60, what="set 2 playing")
        assert mgr.show("coach", "MainPID")["MainPID"] == str(ob.pid1), logs()
        os.kill(ob.pid1, signal.SIGSTOP)
        t_stop, ob.f_stop = time.monotonic(), cap.frames()
        deadline = t_stop + 40
        while True:
            p = mgr.show("coach", "MainPID", "NRestarts", "ActiveState")
            if p["MainPID"] not in ("0", str(ob.pid1)):
                break
            assert time.monotonic() < deadline, f"no restart within 40 s: {p}\n{logs()}"
            time.sleep(0.05)
        ob.frozen_for_s, ob.f_new = time.monotonic() - t_stop, cap.frames()
        deadline = time.monotonic() + 30
        while p["ActiveState"] != "active":  # Type=notify: active once READY=1 came
            assert time.monotonic() < deadline, f"restarted daemon not active: {p}\n{logs()}"
            time.sleep(0.05)
            p = mgr.show("coach", "MainPID", "NRestarts", "ActiveState")
        ob.restarted = p
        ob.pid1_alive = _alive_coach(ob.pid1)
        ob.ended = ends.read_text().splitlines() if ends.exists() else []
        ob.resumed = wait_status(lambda s: s["state"] in ("playing", "paused"), timeout=30,
                                 what="the restarted daemon to play")
        # Recorded through the end of the set's announcement.
        wait_status(lambda s: s["position"] >= after + 0.5, timeout=40, what="announcement heard")
        f_end = cap.frames()
        ob.rec = cap.stop()[:f_end]
        cap = None
        coach("stop")
        ob.daemon_log = daemon_log.read_text(errors="replace")

        # What should be heard: the set-2 announcement as `coach render` renders it (what the
        # mixer plays, sample for sample), and the resume's words as the session controller
        # builds them (its functions, its clips: the cache the daemon filled).
        from coach.audio.pipeline import load, spoken_insert
        from coach.audio.voice import Voice
        from coach.core.navigation import resume_words
        wav = base / "row.wav"
        coach("render", str(prog), "-o", str(wav))
        tpl = _read_wav(wav)[int(announce2["t"] * RATE):int(after * RATE)]
        hot = np.flatnonzero(np.abs(tpl) >= THRESHOLD)
        ob.announcement = tpl[hot[0]:hot[-1] + 1] if hot.size else tpl[:0]
        program, tl = load(prog)
        words = resume_words(tl, int(ob.set2 * 1000), program.words)
        voice = Voice(tl.voice, tl.language, RATE, cache / "coach" / "clips")
        clips = {t: c.samples for t, c in voice.prepare(words.texts).items()}
        assert set(clips) == set(words.texts)
        ob.resume_words = spoken_insert(words, clips, tl, RATE, beat_after_last_ms=1000).samples
        ob.logs = logs()
        yield ob
    finally:
        if cap is not None:
            cap.stop()
        mgr.close()
        pulse.close()
        shutil.rmtree(base, ignore_errors=True)


def test_install_service_points_the_unit_at_this_venv(run: Observed) -> None:
    assert f"ExecStart={COACH_BIN} daemon\n" in run.unit
    assert f"path={COACH_BIN} ;" in run.props["ExecStart"], run.props
    assert run.dropin in run.props["DropInPaths"].split(), run.props


def test_start_returns_once_ready_and_the_socket_answers(run: Observed) -> None:
    p = run.props
    assert (p["Type"], p["NotifyAccess"], p["Restart"]) == ("notify", "main", "on-failure"), p
    assert p["WatchdogUSec"] == f"{WATCHDOG_S}s" and p["NRestarts"] == "0", p
    assert run.active_after_start == "active", run.logs
    # Asked once, right after `start` returned: READY=1 must not come before the socket.
    assert run.first_status is not None and run.first_status.returncode == 0, \
        (run.first_status, run.logs)
    assert json.loads(run.first_status.stdout)["state"] == "idle"
    assert run.sock_mode == 0o600


def test_a_frozen_daemon_is_killed_by_the_watchdog_and_restarted(run: Observed) -> None:
    assert run.restarted["NRestarts"] == "1", run.restarted
    assert run.ended[:1] and run.ended[0].startswith("watchdog "), (run.ended, run.logs)
    assert not run.pid1_alive, "the frozen daemon is still there"
    # Frozen -> no ping for 6 s -> SIGABRT -> RestartSec=5 -> a new daemon: ~8-11 s.
    assert run.frozen_for_s < 25, f"restarted {run.frozen_for_s:.1f} s after the freeze"
    gap = run.rec[run.f_stop + RATE // 2:run.f_new]  # after the frozen client's buffer drained
    assert len(gap) > RATE and np.abs(gap).max() < THRESHOLD, \
        "sound while the daemon was frozen, before a new one existed"


def _found(rec: np.ndarray, tpl: np.ndarray) -> tuple[float, float]:
    """(best match, where in seconds) of ``tpl`` in ``rec``."""
    ncc = _normalized_xcorr(rec, tpl)
    at = int(np.argmax(ncc))
    return float(ncc[at]), at / RATE


def test_the_restarted_daemon_resumes_the_set_by_itself(run: Observed) -> None:
    st = run.resumed
    assert (st["state"], st["program"], st["exercise"], st["set"], st["sets"]) == \
        ("playing", "Row day", "Row", 2, 2), st
    assert run.set2 <= st["position"] < run.set2 + 3, st
    assert "resuming it" in run.daemon_log, run.logs
    # Heard: sound again soon after the restart, and the set-2 announcement whole (the same
    # samples), within the resume's words plus the preroll; a resume at set 1 would play it
    # 18 s later.
    post = run.rec[run.f_new:]
    loud = np.flatnonzero(np.abs(post) >= THRESHOLD)
    assert loud.size, f"silence after the restart\n{run.logs}"
    first_sound = loud[0] / RATE
    assert first_sound < 8, f"first sound {first_sound:.1f} s after the restart"
    assert len(run.announcement) > RATE // 2, "the rendered announcement is (nearly) silent"
    match, at = _found(post, run.announcement)
    assert match > 0.9, f"the set-2 announcement is not in the capture (best {match:.3f})"
    assert first_sound <= at < first_sound + 10, (first_sound, at)
    print(f"frozen -> new daemon {run.frozen_for_s:.1f} s; first sound +{first_sound:.2f} s; "
          f"set-2 announcement at +{at:.2f} s (match {match:.4f})")


def test_the_resume_is_announced_before_the_set(run: Observed) -> None:
    # DESIGN "Interrupted sessions": the set starts again after "resuming. Row, set 2 of 2.
    # 3, 2, 1": those words, as the controller renders them, end where the announcement begins.
    post = run.rec[run.f_new:]
    words, at_words = _found(post, run.resume_words)
    _, at_announcement = _found(post, run.announcement)
    assert words > 0.9, f"'resuming. Row, set 2 of 2. 3, 2, 1' not heard (best {words:.3f})"
    end = at_words + len(run.resume_words) / RATE
    assert abs(at_announcement - end) < 0.05, (at_words, end, at_announcement)
