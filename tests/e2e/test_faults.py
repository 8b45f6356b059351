"""Proof under faults, each through the real code path in a real process: no TTS, an unusable or
full clip cache, an unreadable programs directory, no sound device. (A corrupt or locked history
database and a program deleted mid-session are the daemon's logic: tests/daemon/test_faults.py
and tests/daemon/test_library.py run them in-process.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.audio import AlsaFileEnv, need_portaudio
from tests.support.cli import coach
from tests.support.coachd import ROW_DAY, Coachd
from tests.support.real import ROOT, need

# Real processes under faults: every test here is in the slow tier.
pytestmark = pytest.mark.slow

RATE = 48000
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

SHORT = """\
program: Faults
{voice}defaults: {{rest: 3s, lead_in: 3s, announce: 3s}}
exercises:
  - name: Row
    sets: 1
    reps: 2
    tempo: "2020"
  - name: Plank
    hold: 5s
"""

LONG = ROW_DAY


# -- helpers -------------------------------------------------------------------------------------

def base_env(tmp: Path) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"), PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def without_pyttsx3(env: dict, tmp: Path) -> dict:
    """What a machine without pyttsx3 looks like: `import pyttsx3` raises ImportError (a package
    first on PYTHONPATH that does exactly that), and COACH_REQUIRE_REAL unset."""
    shadow = tmp / "no-pyttsx3"
    (shadow / "pyttsx3").mkdir(parents=True, exist_ok=True)
    (shadow / "pyttsx3" / "__init__.py").write_text(
        'raise ImportError("No module named pyttsx3")\n')
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))
    env.pop("COACH_REQUIRE_REAL", None)
    return env


def log_lines(stderr: str, level: str) -> list[str]:
    # Records are "LEVEL logger: message" (no tty) or "coach: LEVEL: message" (a tty). These
    # runs play into ALSA's file output with no sound server: the ducker's own one line ("no
    # sound server to duck other streams on") is expected there and is not the fault's.
    return [ln for ln in stderr.splitlines() if re.match(rf"(coach: )?{level}\b", ln)
            and "ducking is off" not in ln]


def plan_cues(prog: Path) -> list[dict]:
    r = coach("plan", "--json", str(prog), env=base_env(prog.parent))
    assert r.returncode == 0, r.stderr
    return [e for e in json.loads(r.stdout)["events"] if e["type"] == "cue"]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spec))])


# The fallback's tones (coach/voice.py ToneSynth): phase words 880 Hz, counts 1760 Hz,
# announcements a chime starting at 523.25 Hz. Speech has no such pure peak at every cue.
TONES = (523.25, 880.0, 1760.0)


def assert_tones_at_cues(wav: np.ndarray, cues: list[dict]) -> None:
    for c in cues:
        a = round(c["t"] * RATE)
        win = wav[a:a + RATE // 20].astype(np.float64) / 32768  # the first 50 ms after the cue
        assert np.abs(win).max() > 0.1, f"silent at cue {c['text']!r} ({c['t']} s)"
        hz = peak_hz(win)
        assert min(abs(hz - f) for f in TONES) < 40, f"cue {c['text']!r}: peak {hz:.0f} Hz"


# An ALSA `file` PCM whose output goes to a pipe: the reader writes only the non-zero samples.
# Why: an unpaced PCM drains ~1000x faster than a feeder renders, so `coach run` into it records
# gigabytes of zero-filled gaps (which carry no information: positions in such a recording are
# not time). The reader also lifts its own RLIMIT_FSIZE soft limit to the hard one, so that a
# limit set on `coach run` (disk full) hits coach's files and not the recording.
NONZERO_WRITER = """\
import resource, sys
import numpy as np
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
total = 0
rest = b""
with open(sys.argv[1], "wb") as out:
    while True:
        data = sys.stdin.buffer.read(1 << 20)
        if not data:
            break
        data = rest + data
        n = len(data) // 4 * 4
        rest = data[n:]
        x = np.frombuffer(data[:n], dtype="<f4")
        total += x.size
        out.write(x[x != 0].tobytes())
with open(sys.argv[1] + ".frames", "w") as f:
    f.write(str(total))
"""


def piped_alsa(tmp: Path) -> tuple[AlsaFileEnv, Path]:
    need_portaudio()
    env = AlsaFileEnv(tmp)
    writer = tmp / "nonzero_writer.py"
    writer.write_text(NONZERO_WRITER)
    out = tmp / "nonzero.raw"
    (env.home / ".asoundrc").write_text(
        'pcm.!default { type plug slave { pcm "rec" format FLOAT_LE rate 48000 channels 1 } }\n'
        f'pcm.rec {{ type file slave.pcm "nullout" '
        f'file "|exec {sys.executable} {writer} {out}" format "raw" }}\n'
        'pcm.nullout { type null }\n')
    env.env.update(PYTHONDONTWRITEBYTECODE="1", XDG_CACHE_HOME=str(tmp / "cache"))
    return env, out


def nonzero_int16(x: np.ndarray) -> np.ndarray:
    """Samples as a 16-bit WAV would hold them, zeros left out."""
    q = np.rint(np.clip(x.astype(np.float64), -1, 1) * 32767).astype(np.int16)
    return q[q != 0]


# -- 1. no TTS ------------------------------------------------------------------------------------

def test_render_without_pyttsx3_uses_tones_and_warns_once(tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text(SHORT.format(voice=""))
    cues = plan_cues(prog)
    env = without_pyttsx3(base_env(tmp_path), tmp_path)
    r = coach("render", str(prog), "-o", str(tmp_path / "out.wav"), env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warnings = log_lines(r.stderr, "WARNING")
    assert len(warnings) == 1, r.stderr
    assert "pyttsx3" in warnings[0] and "tones" in warnings[0]
    assert_tones_at_cues(read_wav(tmp_path / "out.wav"), cues)


def test_render_without_pyttsx3_under_require_real_is_a_one_line_error(tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text(SHORT.format(voice=""))
    env = dict(without_pyttsx3(base_env(tmp_path), tmp_path), COACH_REQUIRE_REAL="1")
    r = coach("render", str(prog), "-o", str(tmp_path / "out.wav"), env=env)
    assert r.returncode != 0
    assert not (tmp_path / "out.wav").exists()
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pyttsx3" in lines[0], r.stderr


def test_run_without_pyttsx3_plays_the_tones_it_renders(tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text(SHORT.format(voice=""))
    alsa, out = piped_alsa(tmp_path / "alsa")
    env = without_pyttsx3(alsa.env, tmp_path)
    r = coach("run", str(prog), env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warnings = log_lines(r.stderr, "WARNING")
    assert len(warnings) == 1 and "pyttsx3" in warnings[0], r.stderr
    rendered = coach("render", str(prog), "-o", str(tmp_path / "ref.wav"), env=env)
    assert rendered.returncode == 0, rendered.stderr
    ref = read_wav(tmp_path / "ref.wav")
    assert_tones_at_cues(ref, plan_cues(prog))
    # What PortAudio wrote, silence left out, is sample for sample the rendered session.
    played = nonzero_int16(np.fromfile(out, dtype="<f4"))
    assert played.size > RATE // 2
    assert np.array_equal(played, ref[ref != 0])


# -- 2. unusable clip cache -----------------------------------------------------------------------

def _cache_inside_a_file(tmp: Path) -> tuple[dict, list[str]]:
    blocker = tmp / "not-a-dir"
    blocker.write_text("a regular file where the cache dir would be\n")
    return dict(base_env(tmp), XDG_CACHE_HOME=str(blocker / "cache")), []


def _cache_read_only(tmp: Path) -> tuple[dict, list[str]]:
    # Root writes anywhere: the render runs as nobody, the cache dir belongs to root (0755).
    need(shutil.which("setpriv") is not None, "setpriv (util-linux) to drop root")
    cache = tmp / "ro-cache"
    cache.mkdir()
    cache.chmod(0o755)
    env = dict(base_env(tmp), XDG_CACHE_HOME=str(cache), HOME=str(tmp))
    return env, NOBODY


def _world_dir() -> Path:
    """A scratch dir nobody (uid 65534) can reach and write (pytest's tmp_path is 0700 root)."""
    d = Path(tempfile.mkdtemp(prefix="coach-fault-", dir="/tmp"))
    d.chmod(0o755)
    os.chown(d, 65534, 65534)
    return d


@pytest.mark.parametrize("make", [_cache_inside_a_file, _cache_read_only],
                         ids=["cache-inside-a-file", "cache-read-only"])
def test_render_with_unwritable_cache_still_renders_and_warns_once(make):
    tmp = _world_dir()
    try:
        prog = tmp / "p.yaml"
        prog.write_text(SHORT.format(voice=""))
        prog.chmod(0o644)
        env, prefix = make(tmp)
        r = coach("render", str(prog), "-o", str(tmp / "out.wav"), env=env, prefix=prefix)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        warnings = log_lines(r.stderr, "WARNING")
        assert len(warnings) == 1 and "clip cache" in warnings[0], r.stderr
        wav = read_wav(tmp / "out.wav")
        for c in plan_cues(prog):  # speech (not tones: espeak-ng works) at every cue
            a = round(c["t"] * RATE)
            assert np.abs(wav[a:a + RATE // 5]).max() > 3000, c
        assert not list(Path(env["XDG_CACHE_HOME"]).rglob("*.npy"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_cache_inside_a_file_says_so_once(tmp_path):
    prog = tmp_path / "p.yaml"
    prog.write_text(SHORT.format(voice=""))
    env, _ = _cache_inside_a_file(tmp_path)
    r = coach("render", str(prog), "-o", str(tmp_path / "out.wav"), env=env)
    assert r.returncode == 0, r.stderr
    voice = [ln for ln in r.stderr.splitlines() if "coach.audio.voice" in ln or "voice:" in ln]
    assert len(voice) == 1, "\n".join(voice[:5])


def test_run_with_disk_full_for_the_cache_still_plays_and_warns_once(tmp_path):
    """Disk full is RLIMIT_FSIZE (prlimit --fsize=4096:unlimited on `coach run`): every clip
    file (>= 19 KB: 0.1 s of float32 at 48 kHz) fails with EFBIG, while the recording is written
    by the ALSA pipe's reader, which lifts its own soft limit to the (unlimited) hard one.
    The voice is Piper: it synthesizes in memory, whereas espeak-ng through pyttsx3 writes each
    utterance to a temporary WAV that the limit would break too (that is the TTS-missing path,
    tested above)."""
    from coach.audio.voice import piper_problem
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    need(shutil.which("prlimit") is not None, "prlimit (util-linux)")
    prog = tmp_path / "p.yaml"
    prog.write_text(SHORT.format(voice="voice: {engine: piper}\n"))
    alsa, out = piped_alsa(tmp_path / "alsa")
    cache = Path(alsa.env["XDG_CACHE_HOME"])
    r = coach("run", str(prog), env=alsa.env, prefix=["prlimit", "--fsize=4096:unlimited"])
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warnings = log_lines(r.stderr, "WARNING")
    assert len(warnings) == 1, r.stderr
    assert "clip cache" in warnings[0] and "File too large" in warnings[0]
    assert not list(cache.rglob("*.npy")) and not list(cache.rglob("*.tmp"))
    played = np.fromfile(out, dtype="<f4")
    # About one second of speech per cue or two: far more than 3 s of non-silent audio.
    assert played.size > 3 * RATE and np.abs(played).max() > 0.2
    total = int(Path(f"{out}.frames").read_text())
    assert total > 32 * RATE  # the whole 32 s session went through the device


# -- a daemon in a real process (tests/support/coachd.py) -----------------------------------------

@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


def _nobody_daemon() -> Coachd:
    """A daemon as uid 65534 with XDG dirs it owns and a programs dir it cannot read (root's,
    0700). No audio: it never starts a session."""
    need(shutil.which("setpriv") is not None, "setpriv (util-linux) to drop root")
    base = _world_dir()
    for sub in ("home", "config", "data", "cache"):
        (base / sub).mkdir()
        os.chown(base / sub, 65534, 65534)
    programs = base / "programs"
    programs.mkdir(mode=0o700)
    programs.chmod(0o700)
    (programs / "row.yaml").write_text(LONG.format(name="Row day"))
    env = dict(os.environ, HOME=str(base / "home"), XDG_CACHE_HOME=str(base / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    d = Coachd(base, env, programs=programs, prefix=NOBODY)
    os.chown(d.runtime, 65534, 65534)
    # The log is written by the test (root) through the daemon's stdout: no chown needed.
    return d


@pytest.fixture(scope="module")
def nobody() -> Iterator[Coachd]:
    """One daemon as uid 65534 for the tests below, after two rescans of the programs directory
    it cannot read (the second must not say it again)."""
    d = _nobody_daemon()
    try:
        d.start()
        time.sleep(4.5)  # two rescans of the programs directory
        yield d
    finally:
        d.cleanup()
        shutil.rmtree(d.base, ignore_errors=True)


def test_unreadable_programs_dir_is_one_error_line(nobody: Coachd) -> None:
    d = nobody
    assert d.status()["state"] == "idle"
    errors = [ln for ln in d.text().splitlines() if "cannot read the programs" in ln]
    assert len(errors) == 1, errors


def test_unreadable_programs_dir_daemon_stays_up_and_answers(nobody: Coachd) -> None:
    d = nobody
    st = d.status()
    assert st["state"] == "idle" and d.proc.poll() is None
    progs = json.loads(d.ok("reload", "--json"))
    assert progs["programs"] == []
    errors = [ln for ln in d.text().splitlines() if ln.startswith("ERROR")]
    assert errors and all(f"{d.programs}: cannot read the programs directory: "
                          "Permission denied" in ln for ln in errors), errors
    assert "Traceback" not in d.text()


# -- no sound device ------------------------------------------------------------------------------

def test_start_without_a_sound_device_is_a_clean_refusal(tmp_path, clip_cache):
    need_portaudio()
    broken = AlsaFileEnv(tmp_path / "alsa", broken=True)
    d = Coachd(tmp_path, dict(broken.env, XDG_CACHE_HOME=str(clip_cache)))
    (d.programs / "row.yaml").write_text(LONG.format(name="Row day"))
    try:
        d.start()
        r = d.cli("start", "row")
        assert r.returncode == 1 and "internal error" not in r.stderr, r.stderr
        assert "device" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert d.status()["state"] == "idle"
        assert json.loads(d.ok("history", "--json")) == [], "nothing was played"
        assert "Traceback" not in d.text(), d.text()[-3000:]
    finally:
        d.cleanup()
