"""coach vs the naive baseline (sleep + pyttsx3 say()): both play the same program into a private
PulseAudio null sink, captured with parec; cue onsets are found in each capture and compared.

    .venv/bin/python bench/bench_vs_naive.py [FILE] [--keep DIR]

Onsets, relative to each capture's first cue: the first sample at or above -45 dBFS from 20 ms
before the cue's planned time, searching forward. The baseline plays one cue after another: while
its previous cue still sounds there, the search starts where that cue's sound ends (known from
what say() synthesizes for it), and a cue already sounding at the search start is dated from
where its sound began. coach mixes instead: its cue planned under a still-sounding clip (which
`coach check` warns about) has no visible onset and counts as "masked". A cue more than 2 s late,
or never heard, is "missed". bench_load.py and bench_startup.py use the helpers here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import RATE, PulseServer, have_alsa_pulse_plugin, have_portaudio  # noqa: E402

THRESHOLD_DBFS = -45.0
EARLY_MS = 20
MISS_S = 2.0
COACH = [sys.executable, "-m", "coach.cli"]

# ~2.3 minutes: tempo reps (cues every second, rep numbers), a hold (halfway, 10 s, 3-2-1) and
# a high-rep cadence set (a count or a tick every 1.2 s). Short enough that both runs fit ~5 min.
VS_PROGRAM = """\
program: Bench vs naive
voice: {engine: espeak, rate: 170, volume: 0.9}
defaults: {rest: 10s, lead_in: 5s}
exercises:
  - name: Lat pulldown
    focus: Elbows down.
    reps: 5
    tempo: "3-1-2-1"
  - name: Wall sit
    hold: 25s
  - name: Push-up burnout
    reps: 25
    cadence: 1.2s
"""


def machine() -> str:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            info.setdefault(k.strip().lower(), v.strip())
    except OSError:
        pass
    # x86: "model name"; a Raspberry Pi: "Model" (the board) and "model name" (the core).
    model = " / ".join(dict.fromkeys(v for k in ("model name", "hardware", "model")
                                     if (v := info.get(k)) and not v.isdigit())) or "?"
    return (f"machine: nproc {os.cpu_count()}, CPU {model}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def real_parts_missing() -> str | None:
    missing = [t for t in ("pulseaudio", "pactl", "parec", "aplay") if shutil.which(t) is None]
    if missing or not have_portaudio() or not have_alsa_pulse_plugin():
        return (f"missing real parts: {missing} portaudio={have_portaudio()} "
                f"alsa-pulse={have_alsa_pulse_plugin()}")
    return None


# -- what each player plays: per-cue planned time and sound extent ------------------------------

@dataclass
class CueSound:
    t_ms: int  # planned, from the session start
    text: str
    kind: str
    span: int  # frames at RATE from its first to its last sample >= threshold


def _span(x: np.ndarray, thr: float) -> int:
    hot = np.flatnonzero(np.abs(x) >= thr)
    return int(hot[-1] - hot[0]) if hot.size else 0


def coach_sounds(path: str, cache_dir: Path) -> list[CueSound]:
    """coach's clips (prepared into ``cache_dir``, which also warms it for `coach run`)."""
    from coach.audio.voice import prepare_timeline
    from coach.core.program import load_program
    from coach.core.timeline import clip_key, compile_program
    tl = compile_program(load_program(path))
    clips = prepare_timeline(tl, rate=RATE, cache_dir=cache_dir)
    thr = 10 ** (THRESHOLD_DBFS / 20)
    out = []
    for c in tl.cues:
        out.append(CueSound(c.t_ms, c.text, c.kind, _span(clips[clip_key(c)], thr)))
    return out


def naive_sounds(path: str, env: dict[str, str]) -> list[CueSound]:
    """What the baseline's say() plays per cue, from naive_coach.py --clips (its own process:
    pyttsx3 keeps one engine per process)."""
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "naive_coach.py"), "--clips",
                        "--threshold", str(THRESHOLD_DBFS), path], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"naive_coach.py --clips failed: {r.stderr[-2000:]}")
    out = []
    for c in json.loads(r.stdout.strip().splitlines()[-1]):
        k = RATE / c["rate"]
        first = c["first"] or 0
        span = (c["last"] - first) if c["last"] is not None else 0
        out.append(CueSound(c["t_ms"], c["text"], c["kind"], int(span * k)))
    return out


# -- onsets in a capture -------------------------------------------------------------------------

@dataclass
class Onsets:
    frames: list[int | None]  # per cue, where its sound starts in the capture (None: not found)
    errors_ms: list[float | None]  # per cue, vs plan relative to the first cue
    missed: list[bool]  # never heard, or heard more than miss_s late
    masked: list[bool]  # mixed under a previous cue's sound: no onset to see (mixing player)


def find_onsets(rec: np.ndarray, cues: list[CueSound], sequential: bool, rate: int = RATE,
                threshold_dbfs: float = THRESHOLD_DBFS, early_ms: int = EARLY_MS,
                miss_s: float = MISS_S) -> Onsets:
    """``sequential``: the player plays one cue after another (the baseline: a late cue delays
    the next); otherwise it mixes each cue at its own time (coach), so a cue planned while an
    earlier one still sounds is masked rather than late."""
    hot = np.flatnonzero(np.abs(rec) >= 10 ** (threshold_dbfs / 20))
    n = len(cues)
    if hot.size == 0 or n == 0:
        return Onsets([None] * n, [None] * n, [True] * n, [False] * n)
    margin = rate // 100  # 10 ms: resampling smear at the end of a clip
    gap = rate * 80 // 1000  # a quiet gap this long ends a sound (longer than gaps inside words)
    early = early_ms * rate // 1000
    out = Onsets([], [], [], [])
    first = int(hot[0])
    floor = first  # where the previous cue's sound has ended
    for i, c in enumerate(cues):
        expected = first + (c.t_ms - cues[0].t_ms) * rate // 1000
        start = expected - early if i else first
        masked = not sequential and i > 0 and floor > start
        start = max(start, floor)
        j = int(np.searchsorted(hot, start))
        onset = int(hot[j]) if j < hot.size else None
        if onset is not None and onset == start and start > floor:
            # Already sounding at the search start: it began earlier, after the previous cue
            # (but not over 0.5 s early: a sound going on since then is some other cue's).
            back = max(floor, expected - rate // 2)
            j = int(np.searchsorted(hot, back))
            onset = int(hot[j]) if hot[j] > back or back == floor else None
        if onset is not None and not masked:
            # A sound clearly longer than this cue's is another cue's (a short tick that was
            # never heard must not claim the next count): not this cue's onset. A mixing
            # player's cue ends before the next one's time, so look no further than that.
            limit = (first + (cues[i + 1].t_ms - cues[0].t_ms) * rate // 1000 - early
                     if not sequential and i + 1 < n else hot[-1] + 1)
            k = j
            while k + 1 < hot.size and hot[k + 1] - hot[k] <= gap and hot[k + 1] < limit:
                k += 1
            if hot[k] - onset > c.span + max(rate // 20, int(0.3 * c.span)):
                onset = None
        if masked or onset is None or onset > expected + miss_s * rate:
            # Not heard in time: its sound, if any came later, is not told apart from the next
            # cue's, so the search for the next cue starts afresh from that cue's own time.
            out.frames.append(None)
            out.errors_ms.append(None)
            out.missed.append(not masked)
            out.masked.append(masked)
            continue
        out.frames.append(onset)
        out.errors_ms.append((onset - expected) * 1000.0 / rate)
        out.missed.append(False)
        out.masked.append(False)
        floor = max(floor, onset + c.span + margin)
    return out


def summarize(o: Onsets) -> dict:
    signed = [e for e in o.errors_ms if e is not None]
    found = [abs(e) for e in signed]
    a = np.asarray(found) if found else np.zeros(0)
    return {"cues": len(o.missed), "found": len(found), "missed": sum(o.missed),
            "masked": sum(o.masked),
            "median_ms": float(np.median(a)) if a.size else None,
            "p99_ms": float(np.percentile(a, 99)) if a.size else None,
            "max_ms": float(a.max()) if a.size else None,
            "drift_ms": (o.errors_ms[-1] - o.errors_ms[0])
            if o.errors_ms and o.errors_ms[-1] is not None else None,
            "late50": sum(1 for e in signed if e > 50)}


UNDERFLOW_RE = re.compile(r"(\d+) output underflow")


def underflows(log_text: str) -> int:
    """The highest underflow count coach logged ("N output underflow(s) so far", and at exit)."""
    return max((int(m) for m in UNDERFLOW_RE.findall(log_text)), default=0)


def start_capture(pulse: PulseServer, settle_s: float = 1.0):
    """parec on the sink, once it has delivered ``settle_s`` of audio (its first connection can
    take over 0.5 s; frames counted before that would not be wall-clock time)."""
    cap = pulse.capture()
    deadline = time.monotonic() + 15
    while cap.frames() < settle_s * cap.rate:
        if time.monotonic() > deadline or cap.proc.poll() is not None:
            cap.stop()
            raise RuntimeError("parec delivered no audio within 15 s")
        time.sleep(0.02)
    return cap


def capture_run(pulse: PulseServer, cmd: list[str], env: dict[str, str], timeout: float,
                tail_s: float = 1.0, prefix: list[str] | None = None
                ) -> tuple[np.ndarray, str, int, int]:
    """Run ``cmd`` while parec records the sink: (capture from the moment the process started,
    its stderr, its exit status, that moment as a capture frame)."""
    cap = start_capture(pulse)
    with tempfile.TemporaryFile() as err:
        at = cap.frames()
        proc = subprocess.Popen([*(prefix or []), *cmd], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        time.sleep(tail_s)
        rec = cap.stop()
        err.seek(0)
        text = err.read().decode(errors="replace")
    return rec[at:], text, rc, at


def coach_env(pulse: PulseServer, cache_home: Path) -> dict[str, str]:
    env = dict(pulse.env)
    env.update(XDG_CACHE_HOME=str(cache_home), PYTHONUNBUFFERED="1")
    return env


def fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def print_table(rows: list[tuple[str, dict, str]]) -> None:
    head = (f"{'run':<8} {'cues':>5} {'found':>6} {'missed':>7} {'masked':>7} {'median':>8} {'p99':>8} "
            f"{'max':>8} {'drift':>8} {'late>50':>8} {'underflows':>10}")
    print(head)
    print(f"{'':<8} {'':>5} {'':>6} {'':>7} {'':>7} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8}")
    for name, s, uf in rows:
        print(f"{name:<8} {s['cues']:>5} {s['found']:>6} {s['missed']:>7} {s['masked']:>7} "
              f"{fmt(s['median_ms']):>8} "
              f"{fmt(s['p99_ms']):>8} {fmt(s['max_ms']):>8} {fmt(s['drift_ms'], '+.1f'):>8} "
              f"{s['late50']:>8} {uf:>10}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", metavar="FILE", help="default: a generated ~2.3 min program")
    ap.add_argument("--keep", metavar="DIR", help="save both captures (.npy) and logs here")
    args = ap.parse_args()
    why = real_parts_missing()
    if why:
        print(why, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="coach-vs-naive-") as tmp_s:
        tmp = Path(tmp_s)
        path = args.file
        if path is None:
            path = str(tmp / "bench-vs-naive.yaml")
            Path(path).write_text(VS_PROGRAM)
        cache_home = tmp / "cache"
        with PulseServer(tmp / "pulse") as pulse:
            env = coach_env(pulse, cache_home)
            c_cues = coach_sounds(path, cache_home / "coach" / "clips")
            n_cues = naive_sounds(path, env)
            duration = c_cues[-1].t_ms / 1000 if c_cues else 0
            c_rec, c_log, c_rc, _ = capture_run(pulse, [*COACH, "run", path], env,
                                                timeout=duration * 2 + 120)
            n_rec, n_log, n_rc, _ = capture_run(
                pulse, [sys.executable, str(ROOT / "bench" / "naive_coach.py"), path], env,
                timeout=duration * 4 + 120)
        c = summarize(find_onsets(c_rec, c_cues, sequential=False))
        n = summarize(find_onsets(n_rec, n_cues, sequential=True))
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            np.save(keep / "coach.npy", c_rec)
            np.save(keep / "naive.npy", n_rec)
            (keep / "coach.log").write_text(c_log)
            (keep / "naive.log").write_text(n_log)
    print(machine())
    print(f"program: {args.file or 'generated (VS_PROGRAM)'}, {len(c_cues)} cues over "
          f"{duration:.1f} s; onsets at >= {THRESHOLD_DBFS:g} dBFS, relative to the first cue; "
          f"missed = not heard within {MISS_S:g} s")
    print_table([("coach", c, str(underflows(c_log))), ("naive", n, "n/a")])
    print("errors are |onset - plan|; drift = last cue's error - first's (signed); late>50 = "
          "cues heard more than 50 ms late")
    said = [ln.split(": ", 1)[-1] for ln in n_log.splitlines() if "say() calls" in ln]
    if said:
        print(f"naive's own wall clock: {said[-1]}")
    for name, rc, log in (("coach run", c_rc, c_log), ("naive", n_rc, n_log)):
        if rc != 0:
            print(f"{name} exited {rc}: {log[-1500:]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
