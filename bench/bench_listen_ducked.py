"""Spoken ratings over the room's music when that music is a playback stream on coach's own sound
server (so coach's ducker can lower it), against `duck: false`; and how far down the music was,
in the audio, while the mic listened.

`coach daemon` with `listen:` on, in a private PulseAudio, plays into the null-sink mic it
listens to (PULSE_SINK), as a headset's mic hears its own earpiece. Beside it, two pacat
streams play into the same sink: the lifter's music (the corpus's music, looped, RMS MUSIC_DB
dBFS undimmed, its own stream with media.role=music and client name "gym-music": the ducker
takes it for the lifter's music) and the lifter's voice (one stream for the run, a -60 dBFS
floor with the answers in it, as bench_listen_readback.py feeds it). A rated program (--sets
sets, `rate: feel`, a question after each, an 8 s answer window the mic listens to for its
first 6 s); in each window one answer ("one".."five", bare or in the corpus's carriers "a
three", "it was a four"), said by the corpus's check set's voices in turn (espeak-ng and
Piper, each clip made by listen_corpus.Synth), its first sample AT_S after the window opens
(the answer phase's start in the timeline), at an active speech level SNR_DB over the music's
undimmed level. Active level, as the corpus measures it: the RMS of the clip's samples above
0.01 (at the corpus's scale, peak 0.3, 16 kHz); the music's level is its RMS.

--after-question S puts each answer's first sample S s after the question's last sample as heard
instead (a prompt answer: the question's cue time plus its clip's real length, the clip as coach
makes it, prepare_clips from the daemon's clip cache, checked against the render; not the
timeline's estimate, which places the answer phase whole seconds after the cue). --music off
plays no music stream at all: the room is the voice's -60 dBFS floor, the answers at the same
level (MUSIC_DB + SNR_DB), so that only the timing counts.

Per answer, with the question's end found in the capture (where the render's question was found
plus the clip's length): the answer's first sample after it; when the daemon was first seen
`listening: true` after it (a status read: the capture's count when the read came back, with the
last read that saw it closed, the bracket; the flag is set when the daemon starts its parec, which
hears from when its record stream starts); and when the daemon's record stream (a new
source-output on the server, `pactl subscribe`) appeared after it: the capture's count when the
event was read. Both are wall-clock moments put on the capture's clock by its frame count then
(parec's --latency-msec=20: the count trails what the sink plays by about that); the checks line
gives how far the status's own position put the question from where it was found.

--duck off writes `duck: false` in the daemon's config.yaml; --duck on leaves the default (down
12 dB under each cue). Per answer: the rating stored (`coach history --json`) and whether it
is right; and the music's level at the mic from a parec capture of the mic's monitor: the RMS
(dBFS) of the stretch from the window's opening to the answer's first sample (only music
there, and coach's silence: checked in a `coach render` of the program), against the RMS of
the music alone for 3 s before the session starts. Both ends of the stretch are found in the
capture itself: the answer by its samples (the voice's stream is in the capture sample for
sample), the window's opening by the question before it (the render's question, found by
cross-correlation, then the timeline's distance from the question to the answer phase).

    .venv/bin/python bench/bench_listen_ducked.py --duck on|off [--engine pocketsphinx|moonshine]
                                                  [--sets 16] [--cache /tmp/coach-bench-listen]
                                                  [--music on|off] [--after-question S]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen_readback import PROGRAM, listening_daemon  # noqa: E402  (the same program)
from bench_listen_readback import MicFeed as VoiceStream  # noqa: E402
from listen_corpus import RATE as CORPUS_RATE  # noqa: E402
from listen_corpus import SETS, Synth, Voice, answers, rms  # noqa: E402

from coach.audio.pipeline import load, prepare_clips  # noqa: E402
from coach.core.timeline import clip_key  # noqa: E402
from tests.support.audio import RATE, Capture, PulseServer  # noqa: E402
from tests.support.speech import MIC, music  # noqa: E402

NUMBER = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
MUSIC_DB = -33.0  # the music's RMS at the mic, undimmed (dBFS)
SNR_DB = 10.0  # each answer's active level over it
AT_S = 0.5  # the answer's first sample after the window opens
MUSIC_LOOP_S = 30.0  # the music's loop (a whole number of the corpus's 0.25 s chords)
REF_S = (1.0, 4.0)  # the music alone: this stretch of the capture, before the session starts
# The voice's stream leads what is heard: the pipe into pacat (shrunk to a page, PIPE_BYTES)
# and pacat's own buffer (--latency-msec=30); and a status's position is read near the end of
# the `coach status` call, not in its middle. Measured on the bench machine from the capture
# (the answer's first sample against the window's opening): 0.5 s asked, 0.48-0.55 s found.
CLOCK_LAG_S = 0.10
PIPE_BYTES = 4096
FIND_S = 1.5  # the capture is searched this far either side of where the clocks put a thing


@dataclass
class Answer:
    set: int
    voice: str
    words: str
    q_ms: int  # the question's cue (session ms)
    a_ms: int  # its answer phase's start: the window opens
    wav: np.ndarray
    start: int = -1  # the answer's first sample, as an index of the voice's stream
    listening_at: float | None = None  # the first status with listening: true, its position (s)
    volume: str = ""  # the music stream's volume (pactl) once the mic listened
    q_len: int = 0  # the question's clip (frames at RATE): its real length
    seen: tuple[int, int] = (-1, -1)  # capture counts: the last read not listening, the first one
    found: dict[str, float] = field(default_factory=dict)


def active_level(clip: np.ndarray) -> float:
    """The corpus's active speech level (listen_corpus.window): the RMS of the samples above
    0.01, at the corpus's scale (peak 0.3)."""
    active = clip[np.abs(clip) > 0.01]
    return rms(active) if active.size else rms(clip)


def db(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-12)))


def answer_wav(synth: Synth, voice: Voice, text: str) -> np.ndarray:
    """The answer as the corpus makes it (16 kHz, trimmed, peak 0.3), at RATE, scaled so that
    its active level is SNR_DB over the music's."""
    clip = synth.clip(voice, text)
    gain = 10 ** ((MUSIC_DB + SNR_DB) / 20) / active_level(clip)
    return (soxr.resample(clip, CORPUS_RATE, RATE) * gain).astype(np.float32)


def plan_answers(sets: int, synth: Synth, program: Path) -> list[Answer]:
    """Set k's answer: the check set's voice k (in turn), its k-th answer form (answers(voice):
    "one".."five", two of them in a carrier); the question and window times from the
    timeline."""
    _, tl = load(program)
    asked = [c for c in tl.cues if c.question is not None]
    windows = [p for p in tl.phases if p.phase == "answer"]
    assert len(asked) == len(windows) == sets, (len(asked), len(windows))
    voices = SETS["check"]
    out = []
    for k in range(sets):
        i = k % len(voices)
        text = answers(i)[k % len(NUMBER)]
        out.append(Answer(k + 1, voices[i].label, text, asked[k].t_ms, windows[k].t_ms,
                          answer_wav(synth, voices[i], text)))
    return out


class MicFeed(VoiceStream):
    """The lifter's voice (bench_listen_readback.MicFeed: one stream for the run, a -60 dBFS
    floor, every sample kept), each answer put on the sample asked for. Its client is named
    "coach": the ducker leaves coach's own streams alone, and a voice in the room is no playback
    stream it could lower (it would lower the answers with the music: the mic hears both)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._at: list[tuple[int, Answer]] = []  # before the feeding thread starts
        super().__init__(env, client="coach", pipe_bytes=PIPE_BYTES)

    def _block(self) -> np.ndarray:
        with self._lock:
            item = self._at[0] if self._at else None
            if item is not None and item[0] <= self.n:
                self._at.pop(0)
        if item is None:
            return self._rng.normal(0, 1e-3, self.BLOCK)
        if item[0] > self.n:
            return self._rng.normal(0, 1e-3, min(self.BLOCK, item[0] - self.n))
        item[1].start = self.n  # late if it was asked for a sample already gone
        return item[1].wav + self._rng.normal(0, 1e-3, item[1].wav.size)

    def say_at(self, a: Answer, at: int) -> None:
        with self._lock:
            self._at.append((at, a))


class RecordStreams:
    """`pactl subscribe`: each new or removed source-output (a parec: the daemon's mic window; the
    bench's own capture is older than the subscription), with the capture's count when the event
    was read."""

    def __init__(self, env: dict[str, str], frames: Callable[[], int]) -> None:
        self.events: list[tuple[str, int, int]] = []  # ("new"|"remove", stream index, frames)
        self._frames = frames
        self.proc = subprocess.Popen(["pactl", "subscribe"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.match(r"Event '(new|remove)' on source-output #(\d+)", line)
            if m:
                self.events.append((m.group(1), int(m.group(2)), self._frames()))

    def opened(self, lo: int, hi: int) -> int | None:
        """The capture's count at the first new record stream seen between ``lo`` and ``hi``."""
        return next((c for e, _, c in self.events if e == "new" and lo <= c < hi), None)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


class Music:
    """The lifter's music: the corpus's music (tests.support.speech.music, 16 kHz, made at RATE),
    MUSIC_LOOP_S looped, RMS MUSIC_DB dBFS, on a pacat stream of its own with
    media.role=music and a client that is not coach."""

    def __init__(self, env: dict[str, str]) -> None:
        loop = music(int(MUSIC_LOOP_S * CORPUS_RATE), seed=7)
        loop = soxr.resample(loop, CORPUS_RATE, RATE).astype(np.float64)
        loop *= 10 ** (MUSIC_DB / 20) / rms(loop)
        self._data = np.round(loop * 32768).astype("<i2").tobytes()
        self.proc = subprocess.Popen(
            ["pacat", "--playback", f"--device={MIC}", "--raw", "--format=s16le",
             f"--rate={RATE}", "--channels=1", "--latency-msec=100", "--client-name=gym-music",
             "--stream-name=music", "--property=media.role=music"],
            stdin=subprocess.PIPE, env=env, stderr=subprocess.DEVNULL)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        step = RATE // 10 * 2  # 0.1 s of 16-bit samples
        try:
            while not self._stop.is_set():
                for at in range(0, len(self._data), step):
                    if self._stop.is_set():
                        return
                    self.proc.stdin.write(self._data[at:at + step])
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def sink_inputs(pulse: PulseServer) -> list[dict[str, str]]:
    """`pactl list sink-inputs`: each stream's client name, role, media name and volume."""
    out = []
    for block in pulse.pactl("list", "sink-inputs").stdout.split("Sink Input #")[1:]:
        d = {k: m.group(1) if (m := re.search(rf'^\s*{re.escape(k)} = "(.*)"$', block, re.M))
             else "" for k in ("application.name", "media.role", "media.name")}
        vol = re.search(r"^\s*Volume: .*?(\d+%)", block, re.M)
        d["volume"] = vol.group(1) if vol else ""
        out.append(d)
    return out


def music_volume(pulse: PulseServer) -> str:
    return next((s["volume"] for s in sink_inputs(pulse) if s["media.role"] == "music"), "gone")


@dataclass
class Clocks:
    """Each status read: the session's position (s), and the voice stream's and the capture's
    sample counts when it came back."""

    reads: list[tuple[float, int, int]] = field(default_factory=list)

    def feed_at(self, t_s: float, since: float) -> float:
        """The voice stream's index heard at session time ``t_s``, by the reads from ``since``
        on (an insert holds the position: only reads after the last one count)."""
        ok = [(p, f) for p, f, _ in self.reads if p >= since] or [r[:2] for r in self.reads]
        p, f = ok[-1]
        return f - CLOCK_LAG_S * RATE + (t_s - p) * RATE

    def capture_at(self, t_s: float) -> float:
        """Where session time ``t_s`` is in the capture, roughly (the nearest read)."""
        p, _, c = min(self.reads, key=lambda r: abs(r[0] - t_s))
        return c - CLOCK_LAG_S * RATE + (t_s - p) * RATE


def past(ms: int) -> Callable[[dict], bool]:
    return lambda s: s["position"] * 1000 >= ms


def listening(k: int) -> Callable[[dict], bool]:
    return lambda s: bool(s["listening"]) and s["set"] == k


def find(x: np.ndarray, part: np.ndarray, near: float) -> tuple[int, float]:
    """Where ``part`` is in ``x`` within FIND_S of ``near`` (FFT cross-correlation): x's index of
    part's sample 0, and the normalized correlation there (1.0: the same samples)."""
    lo = max(0, int(near - FIND_S * RATE))
    seg = x[lo:int(near + FIND_S * RATE) + part.size]
    if seg.size < part.size:
        return -1, 0.0
    size = 1 << int(np.ceil(np.log2(seg.size + part.size)))
    c = np.fft.irfft(np.fft.rfft(seg, size) * np.conj(np.fft.rfft(part, size)), size)
    c = c[:seg.size - part.size + 1]
    at = int(np.argmax(c))
    got = seg[at:at + part.size]
    return lo + at, float(np.dot(got, part) / (np.linalg.norm(got) * np.linalg.norm(part) + 1e-12))


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def question_frames(program: Path, cache: Path) -> int:
    """The rating question's clip as coach plays it (frames at RATE), from the daemon's clip
    cache (made by `coach check`; the same voice: the config sets none)."""
    _, tl = load(program)
    keys = {clip_key(c) for c in tl.cues if c.question is not None}
    assert len(keys) == 1, keys
    clips = prepare_clips(tl, rate=RATE, cache_dir=cache)
    return len(clips[keys.pop()])


def run(tmp: Path, engine: str, sets: int, duck: bool, cache: Path, with_music: bool,
        after: float | None) -> dict:
    program = tmp / "programs" / "bench.yaml"
    program.parent.mkdir(parents=True)
    program.write_text(PROGRAM.format(sets=sets))
    plan = plan_answers(sets, Synth(cache), program)
    with PulseServer(tmp / "pulse") as pulse:
        mic, d = listening_daemon(tmp, pulse, engine, duck)
        d.ok("check", str(program))  # the clips made before the real-time part
        render = tmp / "render.wav"
        d.ok("render", str(program), "-o", str(render))  # coach's sound, sample for sample
        # platformdirs' user_cache_dir("coach") under the daemon's XDG_CACHE_HOME
        q_len = question_frames(program, tmp / "cache" / "coach" / "clips")
        for a in plan:
            a.q_len = q_len
        d.start()
        assert d.proc is not None
        which = daemon_code(d.proc.pid, d.env)
        feed = MicFeed(pulse.env)
        tune = Music(pulse.env) if with_music else None
        cap: Capture | None = None
        rec: RecordStreams | None = None
        clocks = Clocks()

        def status() -> dict:
            st = d.status()
            assert cap is not None
            clocks.reads.append((float(st["position"]), feed.n, cap.frames()))
            return st

        def until(pred: Callable[[dict], bool], what: str, timeout: float) -> dict:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                st = status()
                if pred(st):
                    return st
                time.sleep(0.05)
            raise AssertionError(f"timed out waiting for {what}\n{d.text()[-3000:]}")

        try:
            cap = pulse.capture(mic)
            rec = RecordStreams(pulse.env, cap.frames)
            # The music alone, until the capture holds REF_S (parec takes tenths of a second
            # to start, more on a loaded machine: a fixed sleep once let the first cue's duck
            # into the reference).
            while cap.frames() < (REF_S[1] + 0.2) * RATE:
                time.sleep(0.05)
            streams = sink_inputs(pulse)
            d.ok("start", "bench")
            until(lambda s: s["state"] == "playing", "playing", 30)
            since = 0.0
            for a in plan:
                # During the question: where the window's opening + AT_S is on the voice's clock.
                until(past(a.q_ms + 500), f"set {a.set}'s question", 90)
                at_s = (a.a_ms / 1000 + AT_S if after is None
                        else (a.q_ms + a.q_len * 1000 / RATE) / 1000 + after)
                feed.say_at(a, int(round(clocks.feed_at(at_s, since))))
                st = until(listening(a.set), f"set {a.set}'s answer window", 20)
                a.listening_at = float(st["position"])
                a.seen = (clocks.reads[-2][2], clocks.reads[-1][2])
                a.volume = music_volume(pulse)
                until(lambda s: not s["listening"], "the window's end", 20)
                since = clocks.reads[-1][0]
            until(lambda s: s["state"] != "playing", "the session's end", 60)
            time.sleep(1.0)
            x = cap.stop()
            rec.stop()
            fed = feed.close()
            if tune is not None:
                tune.stop()
            session = json.loads(d.ok("history", "--json"))[0]
        finally:
            if feed.proc.poll() is None:
                feed.close()
            if tune is not None:
                tune.stop()
            if rec is not None:
                rec.stop()
            if cap is not None:
                cap.stop()
            d.stop()
            d.cleanup()
    r = read_wav(render)
    stored = {s["set"]: s["ratings"].get("feel") for s in session["sets"]}
    alone = x[int(REF_S[0] * RATE):int(REF_S[1] * RATE)]
    ref = rms(alone)
    blocks = [db(rms(b)) for b in alone.reshape(-1, RATE // 4)]
    # The render's question: its last sample above 16-bit zero, against the clip's length (the
    # clip fades out to 0 over its last milliseconds).
    q0 = plan[0].q_ms * RATE // 1000
    tail = np.flatnonzero(np.abs(r[q0:plan[0].a_ms * RATE // 1000]) > 0)
    render_q_len = int(tail[-1]) + 1 if tail.size else 0
    for a in plan:
        a.found["stored"] = stored.get(a.set) or 0
        q0, a0 = a.q_ms * RATE // 1000, a.a_ms * RATE // 1000
        q_at, q_match = find(x, r[q0:a0], clocks.capture_at(a.q_ms / 1000))
        opened = q_at + (a0 - q0)  # the answer phase's start (the timeline's window)
        q_end = q_at + a.q_len  # the question's last sample as heard
        near = a.start + (clocks.reads[-1][2] - clocks.reads[-1][1])  # the streams' offset
        ans_at, a_match = find(x, fed[a.start:a.start + a.wav.size], near)
        a.found.update(q_match=q_match, a_match=a_match, after=(ans_at - opened) / RATE,
                       after_q=(ans_at - q_end) / RATE, seen_q=(a.seen[1] - q_end) / RATE,
                       unseen_q=(a.seen[0] - q_end) / RATE)
        # The status's position against the capture: where its reads put the question's start
        # (the capture's count at a read, back by the position's distance from the cue) against
        # where it was found; the reads between the question and the window seen open.
        offs = [c - (p - a.q_ms / 1000) * RATE - q_at for p, _, c in clocks.reads
                if a.q_ms / 1000 <= p <= (a.listening_at or 0)]
        a.found["pos_err"] = float(np.median(offs)) / RATE if offs else float("nan")
        got = rec.opened(q_at, q_at + (a0 - q0) + 8 * RATE) if rec is not None else None
        a.found["rec_q"] = (got - q_end) / RATE if got is not None else float("nan")
        a.found["coach"] = float(np.abs(r[a0:a0 + max(0, ans_at - opened)]).max(initial=0.0))
        a.found["level"] = db(rms(x[opened:ans_at])) if ans_at > opened else float("nan")
    log = [ln[ln.index("listen:"):] for ln in d.text().splitlines() if "listen:" in ln]
    log += [ln[ln.index("coach.audio.duck"):] for ln in d.text().splitlines()
            if "coach.audio.duck" in ln and ("WARNING" in ln or "ERROR" in ln)]
    return {"answers": plan, "ref": db(ref), "ref_blocks": (min(blocks), max(blocks)),
            "streams": streams, "log": log, "which": which, "q_len": q_len,
            "render_q_len": render_q_len, "estimate_gap": (plan[0].a_ms - plan[0].q_ms) / 1000}


def daemon_code(pid: int, env: dict[str, str]) -> str:
    """Which coach the daemon runs: its cwd (it is `python -m coach.cli`: the cwd is first on
    its sys.path) and what `import coach` gives there with its environment."""
    cwd = os.readlink(f"/proc/{pid}/cwd")
    got = subprocess.run([sys.executable, "-c", "import coach; print(coach.__file__)"],
                         cwd=cwd, env=env, capture_output=True, text=True, timeout=30)
    return (f"pid {pid}, cwd {cwd}, PYTHONPATH {env.get('PYTHONPATH', '-')}, "
            f"`import coach` there: {got.stdout.strip() or got.stderr.strip()}")


def fmt(v: float, spec: str = ".3f") -> str:
    return format(v, spec) if np.isfinite(v) else "-"


def spread(vals: list[float]) -> str:
    v = [x for x in vals if np.isfinite(x)]
    if not v:
        return "none"
    return f"{min(v):+.3f} / {float(np.median(v)):+.3f} / {max(v):+.3f} s (n={len(v)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duck", choices=("on", "off"), default="on",
                    help="off: `duck: false` in the daemon's config (default: on, coach's default)")
    ap.add_argument("--engine", choices=("pocketsphinx", "moonshine"), default="pocketsphinx")
    ap.add_argument("--sets", type=int, default=16)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coach-bench-listen"),
                    help="the corpus's clip cache (listen_corpus.Synth)")
    ap.add_argument("--music", choices=("on", "off"), default="on",
                    help="off: no music stream (the voice's -60 dBFS floor alone)")
    ap.add_argument("--after-question", type=float, default=None, metavar="S",
                    help="each answer's first sample S s after the question's last sample "
                         f"(default: {AT_S:g} s after the answer phase's start)")
    args = ap.parse_args()
    when = (f"{AT_S:g} s into each window (the answer phase's start)"
            if args.after_question is None
            else f"{args.after_question:g} s after the question's last sample")
    room = f"music {MUSIC_DB:g} dBFS" if args.music == "on" else "no music (-60 dBFS floor)"
    print(f"duck {args.duck}; engine {args.engine}; {args.sets} sets; {room}, answers at an "
          f"active level of {MUSIC_DB + SNR_DB:g} dBFS, {when}; load average before: "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        out = run(Path(tmp), args.engine, args.sets, args.duck == "on", args.cache,
                  args.music == "on", args.after_question)
    print(f"the daemon: {out['which']}")
    print(f"the question's clip: {out['q_len'] / RATE:.3f} s (coach's clip; the render's last "
          f"non-zero sample: {out['render_q_len'] / RATE:.3f} s); the timeline's answer phase "
          f"{out['estimate_gap']:.3f} s after its start, "
          f"{out['estimate_gap'] - out['q_len'] / RATE:.3f} s after its end")
    print("streams on the mic's sink before the session:")
    for s in out["streams"]:
        print(f"    {s['application.name']!r} role {s['media.role'] or '-'} "
              f"({s['media.name']}) {s['volume']}")
    print("the daemon's log:")
    for ln in out["log"]:
        print("   ", ln)
    said: list[Answer] = out["answers"]
    ref = out["ref"]
    what = "music" if args.music == "on" else "the room"
    print("| set | voice | said | stored | right | answer after the question's end, s | "
          "listening first seen after the question's end, s (last read not) | mic's record "
          "stream after the question's end, s | answer after the answer phase's start, s | "
          f"{what} in the window before it, dBFS (vs alone) | music stream volume (pactl) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for a in said:
        f = a.found
        want = NUMBER[a.words.split()[-1]]
        stored = int(f["stored"]) or None
        level = (f"{f['level']:.1f} ({f['level'] - ref:+.1f})" if np.isfinite(f["level"])
                 else "-")
        print(f"| {a.set} | {a.voice} | {a.words} | {stored if stored else 'none'} | "
              f"{'yes' if stored == want else 'no'} | {f['after_q']:.3f} | "
              f"{f['seen_q']:.3f} ({f['unseen_q']:.3f}) | {fmt(f['rec_q'])} | "
              f"{f['after']:.3f} | {level} | {a.volume if args.music == 'on' else '-'} |")
    right = sum(int(a.found["stored"]) == NUMBER[a.words.split()[-1]] for a in said)
    levels = [a.found["level"] for a in said if np.isfinite(a.found["level"])]
    print(f"exact: {right} of {len(said)} (none stored: "
          f"{sum(not a.found['stored'] for a in said)})")
    print("after the question's end, min / median / max: the answer "
          f"{spread([a.found['after_q'] for a in said])}; listening first seen "
          f"{spread([a.found['seen_q'] for a in said])} (last read not: "
          f"{spread([a.found['unseen_q'] for a in said])}); the mic's record stream "
          f"{spread([a.found['rec_q'] for a in said])}")
    lo, hi = out["ref_blocks"]
    alone = (f"{what} alone before the session: {ref:.1f} dBFS (0.25 s blocks {lo:.1f} to "
             f"{hi:.1f}); in the windows before the answer: ")
    print(alone + (f"median {np.median(levels):.1f} dBFS ({np.median(levels) - ref:+.1f} dB), "
                   f"{min(levels):.1f} to {max(levels):.1f} (n={len(levels)})"
                   if levels else "none (every answer before the answer phase)"))
    print(f"checks: answer after the answer phase's start {min(a.found['after'] for a in said):.3f}-"
          f"{max(a.found['after'] for a in said):.3f} s; the mic seen listening "
          f"{max((a.listening_at or 0) - a.a_ms / 1000 for a in said):.2f} s after the phase's "
          f"start at most (status position); the capture's count at a read against the "
          f"question's start found, by the read's position: "
          f"{spread([a.found['pos_err'] for a in said])}; coach's sound in the stretches "
          f"(render, none: 0): {max(a.found['coach'] for a in said):.5f}; question found in the "
          f"capture: correlation >= {min(a.found['q_match'] for a in said):.3f}, answers >= "
          f"{min(a.found['a_match'] for a in said):.3f}; load average after: "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
