"""Real audio with no sound card: an ALSA file PCM (unpaced, records exactly what PortAudio wrote),
a private PulseAudio server with a null sink (real time, captured by parec), a private PipeWire
with its pulse server (the same shape), a known-signal Source, an independent onset detector,
and a Player driver run as ``python -m tests.support.audio``.

The Player always runs in a subprocess: ALSA reads ~/.asoundrc when PortAudio initialises, so HOME
must be chosen before sounddevice is imported.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.real import ROOT, need

RATE = 48000
SINK = "coach_sink"


# -- known signal and onset detector ------------------------------------------------------------

class ClickSource:
    """A Source with sharp clicks at known frames over an optional non-zero "bed".

    With ``bed > 0`` no sample is ever exactly zero and every sample depends on its frame index,
    so in a recording silence (exact zeros) is what the player inserted, and any dropped or
    repeated frame shows up as a mismatch.
    """

    def __init__(self, total_frames: int, onsets: list[int], rate: int = RATE, bed: float = 0.0,
                 click_frames: int = 48, amplitude: float = 0.8):
        self.rate = rate
        self.total_frames = total_frames
        self.onsets = list(onsets)
        i = np.arange(total_frames, dtype=np.int64)
        sig = np.zeros(total_frames, dtype=np.float32)
        if bed > 0:
            # Distinct values over 2 x 100003 consecutive frames: a shifted segment never matches.
            sign = np.where(i % 2 == 0, 1.0, -1.0)
            sig += (bed * (0.25 + ((i * 7919) % 100003) / 100003.0) * sign).astype(np.float32)
        k = np.arange(click_frames)
        click = (amplitude * np.cos(2 * np.pi * 3000 * k / rate)).astype(np.float32)
        for t in self.onsets:
            m = min(click_frames, total_frames - t)
            sig[t:t + m] = click[:m]
        self.signal = sig

    fail_at: int | None = None  # render raises once asked for this frame (a broken mixer)

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        if self.fail_at is not None and first_frame + n_frames > self.fail_at:
            raise RuntimeError(f"test source fails at frame {self.fail_at}")
        out = np.zeros(n_frames, dtype=np.float32)
        lo, hi = max(0, first_frame), min(self.total_frames, first_frame + n_frames)
        if hi > lo:
            out[lo - first_frame:hi - first_frame] = self.signal[lo:hi]
        return out


def plan_onsets(seconds: float, first_s: float = 2.0, lo_s: float = 1.0, hi_s: float = 1.7,
                rate: int = RATE, seed: int = 7, tail_s: float = 0.5) -> list[int]:
    """Onset frames from ``first_s`` on, spaced by a deterministic 1.0-1.7 s, ending by the tail."""
    rng = np.random.default_rng(seed)
    onsets, t = [], int(first_s * rate)
    while t < (seconds - tail_s) * rate:
        onsets.append(t)
        t += int(rng.uniform(lo_s, hi_s) * rate)
    return onsets


def detect_onsets(x: np.ndarray, rel: float = 0.3, refractory: int = 2400,
                  floor: float = 0.05) -> np.ndarray:
    """Frames where |x| first reaches ``rel`` of its peak (at least ``floor``) after a quiet gap
    of ``refractory`` frames. Independent of the player: plain thresholding of the recording."""
    a = np.abs(np.asarray(x, dtype=np.float32).reshape(-1))
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    thr = max(floor, rel * float(a.max()))
    hot = np.flatnonzero(a >= thr)
    if hot.size == 0:
        return hot.astype(np.int64)
    keep = np.concatenate(([True], np.diff(hot) > refractory))
    return hot[keep].astype(np.int64)


def onset_errors(found: np.ndarray, plan: list[int], rate: int = RATE) -> dict[str, Any]:
    """Compare onsets relative to the first one: per-onset error (ms) and drift (last vs first)."""
    found = np.asarray(found, dtype=np.int64)
    plan_a = np.asarray(plan, dtype=np.int64)
    if len(found) != len(plan_a):
        return {"count": len(found), "planned": len(plan_a), "errors_ms": None}
    err = ((found - found[0]) - (plan_a - plan_a[0])) * 1000.0 / rate
    return {"count": len(found), "planned": len(plan_a), "errors_ms": err.tolist(),
            "abs_max_ms": float(np.abs(err).max()), "median_ms": float(np.median(np.abs(err))),
            "p99_ms": float(np.percentile(np.abs(err), 99)), "drift_ms": float(err[-1])}


def find_clip(heard: np.ndarray, clip: np.ndarray) -> int | None:
    """Where ``clip`` plays sample for sample in ``heard`` (None: nowhere): the DummyPlayer's
    output is the mixer's, so a clip is found exactly."""
    k = int(np.argmax(np.abs(clip)))
    for at in np.flatnonzero(np.abs(heard - clip[k]) < 1e-7) - k:
        if 0 <= at <= len(heard) - len(clip) and \
                np.abs(heard[at:at + len(clip)] - clip).max() < 1e-6:
            return int(at)
    return None


def zero_runs(x: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of exact zeros."""
    z = np.concatenate(([False], np.asarray(x) == 0, [False]))
    d = np.diff(z.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends)]


# -- availability of the real parts ---------------------------------------------------------------

def have_portaudio() -> bool:
    return ctypes.util.find_library("portaudio") is not None


def have_alsa_pulse_plugin() -> bool:
    return bool(glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so")
                + glob.glob("/usr/lib/alsa-lib/libasound_module_pcm_pulse.so"))


def need_portaudio() -> None:
    need(have_portaudio(), "libportaudio2 (PortAudio) for sounddevice")


def need_pulse() -> None:
    need_portaudio()
    for tool in ("pulseaudio", "pactl", "parec"):
        need(shutil.which(tool) is not None, f"`{tool}` (Debian: pulseaudio pulseaudio-utils)")
    need(have_alsa_pulse_plugin(), "ALSA pulse plugin (Debian: libasound2-plugins)")


# -- environments -------------------------------------------------------------------------------

def _private_dir(parent: Path, name: str) -> Path:
    d = parent / name
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o700)
    return d


def _base_env(home: Path, runtime: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PULSE_SERVER", "PULSE_SINK", "ALSA_CONFIG_PATH", "AUDIODEV"):
        env.pop(var, None)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    return env


class AlsaFileEnv:
    """HOME with an .asoundrc whose default PCM writes raw float32 mono 48 kHz to ``out`` over a
    null PCM: the real PortAudio callback path, unpaced (~1000x real time), recorded exactly.
    ``broken=True`` makes the default PCM unusable and hides every other output."""

    def __init__(self, tmp: Path, broken: bool = False, rate: int = RATE):
        self.dir = Path(tmp)
        self.home = _private_dir(self.dir, "home")
        runtime = _private_dir(self.dir, "runtime")  # empty: no PulseAudio reachable from here
        self.out = self.dir / "out.raw"
        if broken:
            rc = ('pcm.!default { type hw card 31 device 0 }\n'
                  'ctl.!default { type hw card 31 }\n'
                  'pcm.!pulse { type hw card 31 device 0 }\n')
        else:
            rc = (f'pcm.!default {{ type plug slave {{ pcm "rec" format FLOAT_LE rate {rate} '
                  f'channels 1 }} }}\n'
                  f'pcm.rec {{ type file slave.pcm "nullout" file "{self.out}" format "raw" }}\n'
                  'pcm.nullout { type null }\n')
        (self.home / ".asoundrc").write_text(rc)
        self.env = _base_env(self.home, runtime)
        self.env["PULSE_SERVER"] = f"unix:{self.dir}/no-such-pulse"

    def read(self) -> np.ndarray:
        return np.fromfile(self.out, dtype="<f4")


class Capture:
    """parec on the null sink's monitor (or ``source``), read continuously into memory."""

    def __init__(self, env: dict[str, str], rate: int = RATE, source: str = f"{SINK}.monitor"):
        self.rate = rate
        self.proc = subprocess.Popen(
            ["parec", f"--device={source}", "--raw", "--format=s16le", f"--rate={rate}",
             "--channels=1", "--latency-msec=20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buf = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                return
            self._buf += data

    def frames(self) -> int:
        return len(self._buf) // 2

    def stop(self) -> np.ndarray:
        """Stop parec; the capture as float32 in [-1, 1)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        n = len(self._buf) // 2 * 2
        return np.frombuffer(bytes(self._buf[:n]), dtype="<i2").astype(np.float32) / 32768.0


class PulseServer:
    """A private PulseAudio server (own XDG_RUNTIME_DIR and HOME) with a 48 kHz mono null sink as
    default; ALSA's default PCM routes to it, so PortAudio's ``default`` device plays into it."""

    def __init__(self, tmp: Path, rate: int = RATE):
        self.dir = Path(tmp)
        self.rate = rate
        self.home = _private_dir(self.dir, "home")
        self.runtime = _private_dir(self.dir, "runtime")
        (self.home / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.env = _base_env(self.home, self.runtime)
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "pulseaudio.log"

    def __enter__(self) -> PulseServer:
        self.start()
        return self

    def client_env(self, **more: str) -> dict[str, str]:
        """The environment of a client of this server (coach, paplay...): its own, the
        server's socket named outright (PULSE_SERVER), and ``more``."""
        return dict(self.env, PULSE_SERVER=f"unix:{self.runtime}/pulse/native", **more)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--system=no",
                 f"--load=module-null-sink sink_name={SINK} rate={self.rate} channels=1",
                 "--load=module-native-protocol-unix", "--log-target=stderr"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited ({self.proc.returncode}): "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            if self.pactl("info").returncode == 0:
                break
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("pulseaudio did not answer `pactl info` within 15 s")
            time.sleep(0.1)
        r = self.pactl("set-default-sink", SINK)
        if r.returncode != 0:
            raise RuntimeError(f"pactl set-default-sink failed: {r.stderr}")

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                              timeout=10)

    def capture(self, source: str = f"{SINK}.monitor") -> Capture:
        return Capture(self.env, self.rate, source)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def pulse_server(tmp: Path | None = None) -> Iterator[PulseServer]:
    with contextlib.ExitStack() as stack:
        if tmp is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="coach-pulse-")))
        with PulseServer(tmp) as server:
            yield server



def need_pipewire() -> None:
    """PipeWire with its pulse server and WirePlumber, and a bus for WirePlumber: skipped only
    when a binary is missing (CI installs them: setup.sh --test)."""
    for tool in ("pipewire", "pipewire-pulse", "wireplumber", "pw-metadata", "dbus-daemon", "pactl"):
        need(shutil.which(tool) is not None,
             f"`{tool}` (Debian: pipewire pipewire-pulse wireplumber dbus pulseaudio-utils)")


class PipeWireServer:
    """A private PipeWire (the Pi's sound server: pipewire, WirePlumber, pipewire-pulse) with a
    48 kHz mono null sink as default, reached like PulseServer: ``env`` and ``pactl``.

    Own XDG_RUNTIME_DIR, HOME and XDG state/config dirs (WirePlumber keeps its stream volumes
    in $XDG_STATE_HOME/wireplumber); no systemd. WirePlumber links streams to sinks and
    restores stream volumes; it exits at once without a session bus, so a private
    `dbus-daemon --session` runs beside it."""

    def __init__(self, tmp: Path, rate: int = RATE):
        self.dir = Path(tmp)
        self.rate = rate
        self.home = _private_dir(self.dir, "home")
        self.runtime = _private_dir(self.dir, "runtime")
        self.env = _base_env(self.home, self.runtime)
        for var in ("PIPEWIRE_RUNTIME_DIR", "PIPEWIRE_REMOTE", "DBUS_SESSION_BUS_ADDRESS"):
            self.env.pop(var, None)
        self.env.update(XDG_STATE_HOME=str(self.home / "state"),
                        XDG_CONFIG_HOME=str(self.home / "config"),
                        XDG_DATA_HOME=str(self.home / "data"))
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> PipeWireServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self, name: str, argv: list[str], **kw: Any) -> subprocess.Popen:
        with open(self.dir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(argv, env=self.env, stdout=kw.pop("stdout", log),
                                    stderr=subprocess.STDOUT, **kw)
        self.procs.append(proc)
        return proc

    def _logs(self) -> str:
        return "\n".join(f"{p.name}: {p.read_text(errors='replace')[-1500:]}"
                         for p in sorted(self.dir.glob("*.log")))

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        bus = self._spawn("dbus", ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                   "--print-address=1", f"--address=unix:path={self.runtime}/bus"],
                          stdout=subprocess.PIPE, text=True)
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address.startswith("unix:"):
            raise RuntimeError(f"dbus-daemon gave no address: {self._logs()}")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self._spawn("pipewire", ["pipewire"])
        # WirePlumber exits (69, "Failed to connect to PipeWire") if it starts before
        # PipeWire's socket is there: seen on a loaded machine.
        self._until((self.runtime / "pipewire-0").exists, "PipeWire's socket")
        self._spawn("wireplumber", ["wireplumber"])
        self._spawn("pipewire-pulse", ["pipewire-pulse"])
        # No pactl before the socket is there: pactl makes $XDG_RUNTIME_DIR/pulse itself, and
        # pipewire-pulse making it meanwhile fails ("mkdir() .../pulse failed: File exists").
        self._until((self.runtime / "pulse" / "native").exists, "pipewire-pulse's socket")
        self._until(lambda: self.pactl("info").returncode == 0, "`pactl info` answers")
        r = self.pactl("load-module", "module-null-sink", f"sink_name={SINK}", f"rate={self.rate}",
                       "channels=1")
        if r.returncode != 0:
            raise RuntimeError(f"pactl load-module module-null-sink failed: {r.stderr}")
        # The default sink is WirePlumber's to apply ("Not supported" until its metadata is
        # there): once it is, WirePlumber is running and links every new stream.
        self._until(lambda: (self.pactl("set-default-sink", SINK).returncode == 0
                             and self.pactl("get-default-sink").stdout.strip() == SINK),
                    "WirePlumber makes the null sink the default")
        # WirePlumber's restore-stream (saves and restores stream volumes) makes this metadata:
        # a stream's volume set before it is up is not remembered.
        self._until(lambda: "Found" in subprocess.run(
            ["pw-metadata", "-n", "route-settings"], env=self.env, capture_output=True,
            text=True, timeout=10).stdout, "WirePlumber's restore-stream is up")

    def _until(self, ok: Any, what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited ({p.returncode}): {self._logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"PipeWire: not within {timeout:.0f} s: {what}\n{self._logs()}")
            time.sleep(0.05)

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                              timeout=10)

    def saved_volume(self, key: str) -> float | None:
        """The volume WirePlumber's restore-stream keeps for ``key`` (its own form, e.g.
        "Output/Audio:media.role:Music"), as pulse shows one (cube root of the first channel's
        linear volume); None when it keeps none. Its file is written 1 s after a change."""
        path = self.home / "state" / "wireplumber" / "restore-stream"
        try:
            text = path.read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith(f"{key}:channelVolumes="):
                return float(line.split("=", 1)[1].split(";")[0]) ** (1 / 3)
        return None

    def saves(self, key: str, volume: float, timeout: float = 15) -> None:
        """Until WirePlumber keeps ``volume`` for ``key``. A stream that ends right after a
        volume change may end before WirePlumber has read that change: it is then never saved
        and the next stream of the key starts where the one before it was (found under load:
        1/8 runs with five busy loops)."""
        self._until(lambda: (v := self.saved_volume(key)) is not None and abs(v - volume) < 0.002,
                    f"WirePlumber saves {volume} for {key} (it has {self.saved_volume(key)})",
                    timeout)

    def capture(self) -> Capture:
        return Capture(self.env, self.rate)

    def close(self) -> None:
        for p in reversed(self.procs):  # pipewire-pulse, wireplumber, pipewire, then the bus
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout is not None:
                p.stdout.close()
        self.procs = []


# -- the player driver (runs in a subprocess) ----------------------------------------------------

def run_driver(env: dict[str, str], spec: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run the Player per ``spec`` in a fresh interpreter with ``env``; its JSON result."""
    proc = subprocess.run([sys.executable, "-m", "tests.support.audio", json.dumps(spec)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"player driver failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


def _driver(spec: dict[str, Any]) -> dict[str, Any]:
    from coach.audio.player import NoOutputDevice, Player, list_devices

    src = spec.get("source", {})
    rate = src.get("rate", RATE)
    total = int(src.get("seconds", 1) * rate)
    source = ClickSource(total, src.get("onsets", []), rate=rate, bed=src.get("bed", 0.0))
    source.fail_at = src.get("fail_at")
    player = Player(**spec.get("player", {}))
    ended = threading.Event()
    player.on_end = ended.set
    log: list[dict[str, Any]] = []
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        for op, *args in spec["steps"]:
            entry: dict[str, Any] = {"op": op}
            if op == "devices":
                entry["devices"] = list_devices()
            elif op == "play":
                player.play(source, *args)
            elif op == "pause":
                player.pause()
            elif op == "resume":
                ins, silence = None, 0
                if args and args[0]:
                    ins = np.full(int(args[0]["frames"]), float(args[0]["value"]), np.float32)
                    silence = int(args[0].get("silence", 0))  # frames of silence after it
                player.resume(ins, silence)
            elif op == "seek":
                player.seek(int(args[0]))
            elif op == "sleep":
                time.sleep(float(args[0]))
            elif op == "until_position":
                deadline = time.monotonic() + 60
                while player.position < int(args[0]) and time.monotonic() < deadline:
                    time.sleep(0.002)
            elif op == "wait":
                entry["ok"] = player.wait(float(args[0]) if args else None)
            elif op == "stop":
                player.stop()
            else:
                raise ValueError(f"unknown step {op!r}")
            ru = resource.getrusage(resource.RUSAGE_SELF)
            entry.update(position=player.position, state=player.state,
                         cpu_s=(ru.ru_utime - ru0.ru_utime) + (ru.ru_stime - ru0.ru_stime))
            log.append(entry)
    except NoOutputDevice as e:
        return {"error": "NoOutputDevice", "message": str(e), "log": log}
    finally:
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        player.stop()
    return {"log": log, "underflows": player.underflows, "on_end": ended.is_set(),
            "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "player_error": repr(player.error) if player.error else None,
            "stream_rate": player.stream_rate, "channels": player.channels,
            "latency_frames": player._latency_frames, "total_frames": total}


if __name__ == "__main__":
    print(json.dumps(_driver(json.loads(sys.argv[1]))))
