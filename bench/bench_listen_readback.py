"""From the end of a spoken answer to the first sound of coach's read-back, in the audio itself
(issue 22's target: at most 1 s). `coach daemon` with `listen:` on, in a private PulseAudio,
plays into the null-sink mic it listens to (PULSE_SINK), as a headset's mic hears its own
earpiece: one capture of the mic's monitor holds the answer (paplay, a 16-bit WAV at the mic's
rate, so its samples land in the capture as they are) and the read-back, on one clock. The
answer's WAV is found in the capture, taken out of it sample for sample, and what is left is
coach: its first sound after the answer's last is the read-back.

A rated program (8 sets, a question after each), answered by espeak-ng in each answer window:
odd sets in a quiet room (a -60 dBFS floor), even sets over the corpus's music 10 dB under the
answer. Per answer: whether the right rating was stored, the latency in the audio, and the
daemon's own log figure (from the gate's end of the stretch to the stored rating).

    .venv/bin/python bench/bench_listen_readback.py [--engine pocketsphinx|moonshine] [--sets 8]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.audio import RATE, PulseServer  # noqa: E402
from tests.support.coachd import Coachd  # noqa: E402
from tests.support.speech import MIC, add_mic, music, speech  # noqa: E402

PROGRAM = """\
program: Read-back bench
defaults: {{rest: 15s, lead_in: 3s, announce: 5s}}
rate: feel
exercises:
  - name: Row
    sets: {sets}
    reps: 2
    cadence: 2s
"""
WORDS = ("four", "two", "five", "three", "one")
NUMBER = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
LOUD = 10 ** (-45 / 20)  # coach's first sound: over -45 dBFS
END_DB = -40.0  # the answer's end: its last sample within 40 dB of its peak
LEAD_S, TAIL_S = 0.3, 2.5


def answer_wav(words: str, loud: bool, seed: int) -> tuple[np.ndarray, int]:
    """The answer as fed to the mic (16-bit values as floats) and its end, a sample index."""
    clip = speech(words, RATE)
    peak = float(np.abs(clip).max())
    on = np.flatnonzero(np.abs(clip) >= peak * 10 ** (END_DB / 20))
    clip = clip[on[0]:on[-1] + 1]
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    x = np.concatenate([np.zeros(lead, np.float32), clip, np.zeros(tail, np.float32)])
    if loud:
        x += music(x.size, seed) * float(np.sqrt(np.mean(clip ** 2))) / 10 ** (10 / 20)
    return x, lead + clip.size


class MicFeed:
    """One stream into the mic for the whole run (pacat, 16-bit at RATE): a real mic's floor
    (-60 dBFS) with the answers in it, every sample kept. A stream per answer (paplay) made the
    sound server rewind the sink as it started, and what the monitor gave of it was not the
    samples played (1 answer of 2 matched nowhere); a stream that never stops is in the capture
    sample for sample."""

    BLOCK = RATE // 100

    def __init__(self, env: dict[str, str], client: str | None = None,
                 pipe_bytes: int | None = None) -> None:
        """``client``: the stream's client name (the ducker leaves one named coach alone);
        ``pipe_bytes``: the pipe into pacat shrunk to that (64 KiB: 0.68 s of the voice queued
        ahead of what is heard)."""
        self.proc = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC}", "--raw", "--format=s16le",
             f"--rate={RATE}", "--channels=1", "--latency-msec=30",
             "--stream-name=the lifter's voice"]
            + ([f"--client-name={client}"] if client else []),
            stdin=subprocess.PIPE, env=env)
        if pipe_bytes is not None:
            assert self.proc.stdin is not None
            fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, pipe_bytes)
        self.fed: list[np.ndarray] = []
        self.n = 0
        self._rng = np.random.default_rng(0)
        self._pending: list[tuple[np.ndarray, threading.Event, list[int]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _block(self) -> np.ndarray:
        """The next samples to feed: the answer queued, whole, else a block of the floor."""
        with self._lock:
            item = self._pending.pop(0) if self._pending else None
        if item is None:
            return self._rng.normal(0, 1e-3, self.BLOCK)
        x, done, where = item
        where.append(self.n)
        done.set()
        return x

    def _run(self) -> None:
        assert self.proc.stdin is not None
        while not self._stop.is_set():
            q = np.round(np.clip(self._block(), -1, 1 - 1 / 32768) * 32768).astype("<i2")
            self.fed.append(q.astype(np.float32) / 32768)
            self.n += q.size
            try:
                self.proc.stdin.write(q.tobytes())  # blocks while the stream is full: real time
            except (BrokenPipeError, ValueError, OSError):
                return

    def say(self, x: np.ndarray) -> int:
        """Queue ``x`` (it goes out whole at the next block); its first sample's index."""
        done, where = threading.Event(), list[int]()
        with self._lock:
            self._pending.append((x + self._rng.normal(0, 1e-3, x.size), done, where))
        done.wait(10)
        return where[0]

    def close(self) -> np.ndarray:
        self._stop.set()
        self._thread.join(10)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        return np.concatenate(self.fed)


def offset(x: np.ndarray, fed: np.ndarray, start: int, n: int) -> tuple[int, float]:
    """Where fed[start:start + n] is in ``x``, as x's index of fed's sample 0 (FFT
    cross-correlation), and the normalized correlation there (1.0: the same samples)."""
    part = fed[start:start + n]
    size = 1 << int(np.ceil(np.log2(x.size + n)))
    c = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(part, size)), size)[:x.size - n]
    at = int(np.argmax(c))
    seg = x[at:at + n]
    return at - start, float(np.dot(seg, part) / (np.linalg.norm(seg) * np.linalg.norm(part)))


def listening_daemon(tmp: Path, pulse: PulseServer, engine: str,
                     duck: bool = False) -> tuple[str, Coachd]:
    """A null-sink mic on ``pulse`` that hears coach (its output plays into it) and a daemon
    (not started) whose config listens to it with ``engine``: the mic's source and the daemon."""
    mic = add_mic(pulse, RATE)
    d = Coachd(tmp, pulse.client_env(XDG_CACHE_HOME=str(tmp / "cache"), PULSE_SINK=MIC))
    config = tmp / "config" / "coach" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"listen: {{source: {mic}, engine: {engine}}}\n"
                      + ("" if duck else "duck: false\n") + "mpris: false\n")
    return mic, d


def run(tmp: Path, engine: str, sets: int) -> list[dict]:
    with PulseServer(tmp / "pulse") as pulse:
        mic, d = listening_daemon(tmp, pulse, engine)
        program = d.programs / "bench.yaml"
        program.write_text(PROGRAM.format(sets=sets))
        d.ok("check", str(program))  # the clips made before the real-time part
        d.start()
        said: list[dict] = []
        feed = MicFeed(pulse.env)
        try:
            cap = pulse.capture(mic)
            d.ok("start", "bench")
            d.wait_for(lambda s: s["state"] == "playing", what="playing")
            for k in range(sets):
                d.wait_for(lambda s, k=k: s["listening"] and s["set"] == k + 1, timeout=60,
                           what=f"set {k + 1}'s answer window")
                time.sleep(0.4)
                words, loud = WORDS[k % len(WORDS)], k % 2 == 1
                wav, end = answer_wav(words, loud, seed=k)
                said.append({"set": k + 1, "words": words, "music": loud, "n": wav.size,
                             "end": end, "start": feed.say(wav)})
                d.wait_for(lambda s: not s["listening"], timeout=20, what="the window's end")
            time.sleep(1.0)
            x = cap.stop()
            fed = feed.close()
            d.ok("stop")
            session = json.loads(d.ok("history", "--json"))[0]
        finally:
            feed.close() if feed.proc.poll() is None else None
            d.stop()
    stored = {(s["set"]): s["ratings"].get("feel") for s in session["sets"]}
    lines = [ln for ln in d.text().splitlines() if "listen:" in ln]
    logged = [float(m) for m in re.findall(r"listen: heard .*? ([0-9.]+) s after its end: rated",
                                           "\n".join(lines))]
    first = said[0]
    off, match = offset(x, fed, first["start"] + int(LEAD_S * RATE), first["end"] -
                        int(LEAD_S * RATE))
    for a in said:
        lo = off + a["start"]
        n = min(a["n"], x.size - lo)
        coach = x[lo:lo + n] - fed[a["start"]:a["start"] + n]  # what is left is coach's sound
        after = np.flatnonzero(np.abs(coach[a["end"]:]) > LOUD)
        a["latency"] = after[0] / RATE if after.size else None
        a["residue"] = float(np.abs(coach[:a["end"]]).max())  # coach is silent while it is said
        a["match"] = match
        a["stored"] = stored.get(a["set"])
        a["right"] = a["stored"] == NUMBER[a["words"]]
    # The log's "rated" lines come in the order of the answers stored (one a window: the next
    # answer is a window later).
    rated = iter(logged if len(logged) == sum(a["stored"] is not None for a in said) else [])
    for a in said:
        a["logged"] = next(rated, None) if a["stored"] is not None else None
    said[0]["log"] = lines
    return said


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("pocketsphinx", "moonshine"), default="pocketsphinx")
    ap.add_argument("--sets", type=int, default=8)
    args = ap.parse_args()
    print(f"engine {args.engine}; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        said = run(Path(tmp), args.engine, args.sets)
    print("the daemon's listening log:")
    for ln in said[0]["log"]:
        print("   ", ln[ln.index("listen:"):])
    print("| set | said | room | stored | end of speech -> read-back, s (audio) | daemon log, s |")
    print("|---|---|---|---|---|---|")
    for a in said:
        lat = "no read-back" if a["latency"] is None else f"{a['latency']:.3f}"
        log = "-" if a["logged"] is None else f"{a['logged']:.2f}"
        print(f"| {a['set']} | {a['words']} | {'music 10 dB' if a['music'] else 'quiet'} | "
              f"{a['stored']} | {lat} | {log} |")
    for room in (False, True):
        got = [a["latency"] for a in said if a["music"] == room and a["right"]
               and a["latency"] is not None]
        name = "music 10 dB" if room else "quiet room"
        n = sum(a["music"] == room for a in said)
        if got:
            print(f"{name}: {len(got)} of {n} rated right and read back; end of speech to "
                  f"read-back median {np.median(got):.3f} s, max {max(got):.3f} s")
        else:
            print(f"{name}: none of {n} rated right and read back")
    print(f"the answers found in the capture: correlation {said[0]['match']:.6f}; coach's sound "
          f"under them (none: 0): max {max(a['residue'] for a in said):.5f}; load average "
          f"after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
