"""The Output contract, one set of tests for both players: the real Player through real PortAudio
(ALSA file PCM: unpaced, recorded exactly) and the in-process DummyPlayer (explicit clock).

Each contract is a plain function of a driver (``new_player``, ``run_until``, ``play_frames``,
``heard``). The dummy runs in-process; the real Player runs in a subprocess started with
``python -m tests.audio.test_player_contract CONTRACT OUT`` because ALSA reads ~/.asoundrc when
PortAudio initialises (see tests/support/audio.py).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from coach.audio.dummy import DummyPlayer
from coach.audio.player import NoOutputDevice, Output, Player
from tests.support.audio import RATE, ROOT, AlsaFileEnv, ClickSource, need_portaudio, zero_runs

PREROLL = 500 * RATE // 1000  # both players' default preroll_ms=500
SETTLE = 16 * 1024  # output frames after which a pause has reached the audio callback
BED = 0.01
STATES = ("idle", "playing", "paused")
WHOLE = 200_000  # render-ahead (ms) past every test source: the real player queues it all at once


# -- drivers -------------------------------------------------------------------------------------

class DummyDriver:
    """Drives DummyPlayer by its clock: time passes only when the test says so."""

    exact = True  # no lead beyond the preroll, no output latency

    def __init__(self) -> None:
        self.players: list[DummyPlayer] = []

    def new_player(self, ahead_ms: int = WHOLE) -> DummyPlayer:
        # (``ahead_ms`` is the real player's render-ahead; the dummy renders each block as it plays.)
        self.players.append(DummyPlayer())
        return self.players[-1]

    def run_until(self, pred: Callable[[], object], what: str = "", limit_s: int = 600) -> None:
        p = self.players[-1]
        for _ in range(limit_s * RATE // p.blocksize):
            if pred():
                return
            p.advance(p.blocksize)
        raise AssertionError(f"never happened in {limit_s} s of output: {what}")

    def play_frames(self, n: int) -> None:
        self.players[-1].advance(n)

    def heard(self) -> np.ndarray:
        return self.players[-1].heard

    def close(self) -> None:
        for p in self.players:
            p.stop()


class RealDriver:
    """Drives the real Player; the ALSA file PCM consumes ~1600x faster than real time, and the
    file it writes is both the clock (play_frames) and the recording (heard)."""

    exact = False  # PortAudio writes silence before the first play, and has output latency

    def __init__(self, out: Path) -> None:
        self.out = out
        self.players: list[Player] = []

    def new_player(self, ahead_ms: int = WHOLE) -> Player:
        # The unpaced PCM outruns any feeder: WHOLE queues the entire source up front, so the
        # recording has no starvation gaps and can be compared frame for frame.
        self.players.append(Player(ahead_ms=ahead_ms))
        return self.players[-1]

    def run_until(self, pred: Callable[[], object], what: str = "", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened in {timeout} s: {what}")
            time.sleep(0.0002)

    def _size(self) -> int:
        return self.out.stat().st_size if self.out.exists() else 0

    def play_frames(self, n: int) -> None:
        want = self._size() + 4 * n
        self.run_until(lambda: self._size() >= want, f"{n} more frames written")

    def heard(self) -> np.ndarray:
        return np.fromfile(self.out, dtype="<f4")

    def close(self) -> None:
        for p in self.players:
            p.stop()


Driver = DummyDriver | RealDriver


# -- helpers -------------------------------------------------------------------------------------

def _source(seconds: float, fail_at: int | None = None) -> ClickSource:
    # A bed and no clicks: every source sample is non-zero and depends on its frame, so exact
    # zeros in a recording are what the player inserted, and a wrong frame is a mismatch.
    src = ClickSource(int(seconds * RATE), [], bed=BED)
    src.fail_at = fail_at
    return src


HELD_AHEAD_MS = 30_000  # render-ahead for a HeldSource: jobs of 15-30 s, few starved polls


class HeldSource:
    """A ``_source`` whose frames in each held range [lo, hi) reach the real player's feeder
    thread only once the test releases that range: the unpaced PCM (~1600x real time) plays
    out 50 s of audio in ~30 ms, so a test thread stalled that long on a shared machine let a
    seek meant for the middle of the source land after its target (CI, once: y < 10 s). Held,
    the feeder waits at ``lo`` and the output starves (silence, which ``_body`` leaves out) until
    the test has acted. Renders on the test's own thread (the dummy's clock, a seek's first
    chunk) are never held."""

    def __init__(self, seconds: float, holds: list[tuple[int, int]]) -> None:
        self._src = _source(seconds)
        self.rate, self.total_frames, self.signal = self._src.rate, self._src.total_frames, self._src.signal
        self._holds = [(lo, hi, threading.Event()) for lo, hi in holds]

    def render(self, first_frame: int, n_frames: int) -> np.ndarray:
        if threading.current_thread() is not threading.main_thread():
            for lo, hi, released in self._holds:
                if first_frame < hi and first_frame + n_frames > lo:
                    released.wait(60)
        return self._src.render(first_frame, n_frames)

    def release(self, i: int) -> None:
        self._holds[i][2].set()

    def release_all(self) -> None:
        for _, _, released in self._holds:
            released.set()


def _lead(d: Driver, rec: np.ndarray) -> int:
    runs = zero_runs(rec)
    assert runs and runs[0][0] == 0, "recording does not start with silence"
    lead = runs[0][1]
    assert lead >= PREROLL
    if d.exact:
        assert lead == PREROLL
    return lead


def _body(d: Driver) -> np.ndarray:
    """What was heard after the lead, silences left out (a seek or a starved feeder may leave
    silence, never a wrong frame)."""
    rec = d.heard()
    body = rec[_lead(d, rec):]
    return body[body != 0]


def _played_out(d: Driver, p: Output) -> None:
    d.run_until(lambda: p.wait(0), "wait() true")
    assert p.state == "idle"


# -- the contract --------------------------------------------------------------------------------

def contract_play_advances_and_plays_out(d: Driver) -> None:
    p, src = d.new_player(), _source(60)
    assert p.state == "idle" and p.wait(0) and p.position == 0
    p.play(src)
    assert p.state == "playing" and not p.wait(0) and p.error is None
    d.run_until(lambda: p.position >= 10 * RATE, "position reaches 10 s")
    at = p.position
    assert p.state == "playing" and not p.wait(0)
    d.run_until(lambda: p.position > at, "position advances")
    _played_out(d, p)
    assert p.position == src.total_frames and p.error is None and not p.lost.is_set()
    d.play_frames(RATE // 10)
    assert p.position == src.total_frames and p.state == "idle" and p.wait(0)
    p.stop()
    rec = d.heard()
    lead = _lead(d, rec)
    assert np.array_equal(rec[lead:lead + src.total_frames], src.signal)  # every frame, in order
    assert not rec[lead + src.total_frames:].any()  # then only silence
    assert p.underflows == 0


def contract_preroll_and_insert_precede_the_source(d: Driver) -> None:
    p, src = d.new_player(), _source(10)
    start, insert = 2 * RATE, np.full(4800, 0.5, np.float32)
    p.play(src, start_frame=start, insert=insert)
    assert p.position >= start and p.state == "playing"
    if d.exact:  # (the unpaced PCM may be through the preroll before the next statement)
        d.play_frames(PREROLL // 2)
        assert p.position == start  # preroll silence: nothing of the source heard yet
    _played_out(d, p)
    p.stop()
    rec = d.heard()
    lead = _lead(d, rec)
    assert np.array_equal(rec[lead:lead + len(insert)], insert)
    rest = rec[lead + len(insert):]
    n = src.total_frames - start
    assert np.array_equal(rest[:n], src.signal[start:]) and not rest[n:].any()


def contract_play_again_cuts_to_preroll_insert_and_the_new_start(d: Driver) -> None:
    p, src = d.new_player(), _source(120)
    start, insert = 20 * RATE, np.full(4800, 0.5, np.float32)
    p.play(src)
    d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
    p.pause()
    d.play_frames(SETTLE)
    held = p.position
    p.play(src)  # from paused: plays
    assert p.state == "playing"
    d.run_until(lambda: p.position >= 10 * RATE, "position reaches 10 s")
    p.play(src, start_frame=start, insert=insert)  # while playing: cut to the new start
    assert p.state == "playing" and p.position >= start
    _played_out(d, p)
    p.stop()
    rec = d.heard()
    heard, sig = rec[_lead(d, rec):], src.signal
    (g0, n0), (g1, n1) = zero_runs(heard)[:2]
    assert g0 == held and n0 >= SETTLE + PREROLL  # the pause, then the second play's preroll
    assert np.array_equal(heard[:held], sig[:held])
    b = g0 + n0
    x = g1 - b  # frames of the second play before the third cut in
    assert 10 * RATE <= x < src.total_frames
    assert np.array_equal(heard[b:g1], sig[:x])
    assert n1 == PREROLL  # the third play's preroll, exactly: nothing else between
    c = g1 + PREROLL
    assert np.array_equal(heard[c:c + len(insert)], insert)
    c += len(insert)
    n = src.total_frames - start
    assert np.array_equal(heard[c:c + n], sig[start:]) and not heard[c + n:].any()


def contract_a_jump_drops_what_was_being_inserted(d: Driver) -> None:
    p, src = d.new_player(), _source(60)
    # A 2-minute insert: ~75 ms of the unpaced PCM between the test's look and its seek (20 s
    # was ~12 ms, less than a loaded CI machine may stall a thread; see HeldSource).
    target, insert = 30 * RATE, np.full(120 * RATE, 0.5, np.float32)
    p.play(src)
    d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
    p.pause()
    d.play_frames(SETTLE)
    held = p.position
    p.resume(insert)  # "30 more seconds"...
    d.play_frames(RATE // 2)
    p.seek(target)  # ...then skip: skip wins
    assert p.state == "playing" and p.position >= target
    _played_out(d, p)
    p.stop()
    heard, sig = _body(d), src.signal
    k = int(np.flatnonzero(heard[held:] != 0.5)[0])  # insert frames heard before the jump
    assert 0 < k < len(insert), (k, held, len(heard))
    if d.exact:
        assert k == RATE // 2
    assert np.array_equal(heard, np.concatenate([sig[:held], insert[:k], sig[target:]]))


def contract_play_at_the_end_plays_the_insert_then_ends(d: Driver) -> None:
    p, src = d.new_player(), _source(5)
    insert = np.full(4800, 0.5, np.float32)
    p.play(src, start_frame=src.total_frames + 100, insert=insert)  # clamped to the end
    assert p.position == src.total_frames
    _played_out(d, p)
    assert p.position == src.total_frames
    p.stop()
    rec = d.heard()
    lead = _lead(d, rec)
    assert np.array_equal(rec[lead:lead + len(insert)], insert) and not rec[lead + len(insert):].any()


def contract_open_first_then_play(d: Driver) -> None:
    p, src = d.new_player(), _source(5)
    p.open()
    p.open()  # already open: nothing happens
    assert p.state == "idle" and p.wait(0) and p.position == 0 and not p.lost.is_set()
    d.play_frames(RATE // 10)  # an open output is heard: silence
    p.play(src)
    assert p.state == "playing"
    _played_out(d, p)
    p.stop()
    rec = d.heard()
    lead = zero_runs(rec)[0][1]
    assert lead >= RATE // 10 + PREROLL
    if d.exact:
        assert lead == RATE // 10 + PREROLL
    assert np.array_equal(rec[lead:lead + src.total_frames], src.signal)
    assert not rec[lead + src.total_frames:].any()


def contract_pause_holds_then_resume_plays_insert_and_continues(d: Driver) -> None:
    p, src = d.new_player(), _source(120)
    # Long inserts keep the unpaced PCM (~1600x real time) inside them while the test looks:
    # 2 minutes is ~75 ms of it.
    insert = np.full(120 * RATE, 0.5, np.float32)
    p.play(src)
    d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
    assert p.insert_position is None  # no insert yet
    before = p.position
    p.pause()
    assert p.state == "paused"
    d.play_frames(SETTLE)
    held = p.position
    assert before <= held < src.total_frames
    d.play_frames(RATE)  # a second of output passes
    assert p.position == held and p.state == "paused" and not p.wait(0)
    p.pause()  # pausing twice changes nothing
    assert p.position == held and p.state == "paused"
    p.resume(insert)
    assert p.state == "playing" and p.position >= held
    d.play_frames(RATE // 2)
    assert p.position == held  # mid-insert: the source waits where it paused
    # Frames of the insert heard so far: within it (up to the output latency before its start).
    k = p.insert_position
    assert k is not None and -RATE // 2 <= k <= len(insert), k
    _played_out(d, p)
    assert p.position == src.total_frames
    k = p.insert_position
    assert k is not None and k >= len(insert), k  # all of it heard
    p.stop()
    rec = d.heard()
    lead = _lead(d, rec)
    heard = rec[lead:]
    gap_start, gap_len = zero_runs(heard)[0]
    assert gap_start == held  # silence began exactly at the frame position reported
    assert gap_len >= RATE
    assert np.array_equal(heard[:held], src.signal[:held])
    after = gap_start + gap_len
    assert np.array_equal(heard[after:after + len(insert)], insert)
    after += len(insert)
    n = src.total_frames - held
    assert np.array_equal(heard[after:after + n], src.signal[held:])  # from the paused frame
    assert not heard[after + n:].any()


def contract_words_said_into_a_pause_play_and_the_pause_holds(d: Driver) -> None:
    p, src = d.new_player(), _source(120)
    insert = np.full(120 * RATE, 0.5, np.float32)  # long, as above: the test looks inside it
    p.play(src)
    d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
    p.say(insert)  # playing: nothing (words go in by resume)
    p.pause()
    d.play_frames(SETTLE)
    held = p.position
    p.say(insert)
    assert p.state == "paused" and p.position == held
    d.play_frames(RATE // 2)
    assert p.state == "paused" and p.position == held  # the source holds under the words
    d.run_until(lambda: (p.insert_position or 0) >= len(insert), "the words heard")
    d.play_frames(RATE)
    assert p.state == "paused" and p.position == held and not p.wait(0)
    p.resume()
    _played_out(d, p)
    p.stop()
    rec = d.heard()
    heard = rec[_lead(d, rec):]
    runs = zero_runs(heard)
    (gap1, len1), (gap2, len2) = runs[0], runs[1]
    assert gap1 == held and np.array_equal(heard[:held], src.signal[:held])
    assert np.array_equal(heard[gap1 + len1:gap2], insert)  # the words, whole, in the pause
    assert len2 >= RATE
    n = src.total_frames - held
    after = gap2 + len2
    assert np.array_equal(heard[after:after + n], src.signal[held:])  # on from the paused frame
    assert not heard[after + n:].any()


def contract_seek_while_playing_keeps_playing(d: Driver) -> None:
    s1, s2 = 60 * RATE, 10 * RATE
    # Held from 40 s and from 100 s, so each seek lands in a known stretch however late the
    # test acts. The feeder renders 15-30 s a job (HELD_AHEAD_MS): a job crossing 40 s starts
    # at 30 s or later, one crossing 100 s at 90 s or later (the seek itself renders 60-90 s).
    p, src = d.new_player(HELD_AHEAD_MS), HeldSource(120, [(40 * RATE, s1), (100 * RATE, 120 * RATE)])
    try:
        p.play(src)
        d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
        p.seek(s1)
        src.release(0)
        assert p.state == "playing" and p.position >= s1
        d.run_until(lambda: p.position >= 70 * RATE, "position reaches 70 s")
        p.seek(s2)  # back
        src.release(1)
        assert p.state == "playing" and s2 <= p.position < s1
        _played_out(d, p)
    finally:
        src.release_all()
    assert p.position == src.total_frames
    p.stop()
    heard, sig = _body(d), src.signal
    x1 = int(np.flatnonzero(heard[:len(sig)] != sig[:len(heard)])[0])  # where the first seek cut
    y = len(heard) - x1 - (len(sig) - s2)  # frames heard from s1 until the second seek
    assert 5 * RATE <= x1 <= 40 * RATE and 10 * RATE <= y <= 40 * RATE, (x1, y)
    assert np.array_equal(heard, np.concatenate([sig[:x1], sig[s1:s1 + y], sig[s2:]]))


def contract_seek_while_paused_stays_paused(d: Driver) -> None:
    target = 50 * RATE
    p, src = d.new_player(HELD_AHEAD_MS), HeldSource(80, [(40 * RATE, target)])  # as above
    try:
        p.play(src)
        d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
        p.pause()
        d.play_frames(SETTLE)
        p.seek(target)
        src.release(0)
        assert p.state == "paused" and p.position == target
        d.play_frames(RATE)
        assert p.state == "paused" and p.position == target
        p.resume()
        assert p.state == "playing"
        _played_out(d, p)
    finally:
        src.release_all()
    p.stop()
    heard, sig = _body(d), src.signal
    x = len(heard) - (len(sig) - target)
    assert 5 * RATE <= x <= 40 * RATE, x
    assert np.array_equal(heard, np.concatenate([sig[:x], sig[target:]]))


def contract_stop_goes_idle_and_stays_there(d: Driver) -> None:
    p, src = d.new_player(), _source(120)
    p.play(src)
    d.run_until(lambda: p.position >= 5 * RATE, "position reaches 5 s")
    p.stop()
    assert p.state == "idle" and p.wait(0)
    at = p.position
    assert 5 * RATE <= at < src.total_frames
    p.resume()
    p.seek(10 * RATE)
    p.pause()
    assert p.state == "idle" and p.position == at and p.wait(0)  # nothing to control any more
    heard, sig = _body(d), src.signal
    assert at <= len(heard) < len(sig)  # stopped mid-source; the rest never played
    if d.exact:
        assert len(heard) == at
    assert np.array_equal(heard, sig[:len(heard)])
    # Stopping a paused player ends it just the same.
    p2 = d.new_player()
    p2.play(src)
    p2.pause()
    p2.stop()
    assert p2.state == "idle" and p2.wait(0)


def contract_position_never_goes_backwards_within_a_generation(d: Driver) -> None:
    p, src = d.new_player(), _source(60)
    seen: list[int] = []
    watched: list[int] = []
    done = threading.Event()

    def watch() -> None:  # another thread, reading as fast as it can
        while not done.is_set():
            watched.append(p.position)

    def note(cond: Callable[[int], bool]) -> Callable[[], bool]:
        def pred() -> bool:
            seen.append(p.position)
            return cond(seen[-1])
        return pred

    p.play(src)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        d.run_until(note(lambda pos: pos >= 10 * RATE), "position reaches 10 s")
        p.pause()
        d.play_frames(SETTLE)
        seen.append(p.position)
        p.resume(np.full(10 * RATE, 0.5, np.float32))
        d.run_until(note(lambda pos: pos >= 20 * RATE), "position reaches 20 s")
        p.pause()
        p.resume()  # pause and resume within one block
        d.run_until(note(lambda pos: p.wait(0)), "wait() true")
    finally:
        done.set()
        watcher.join()
    p.stop()
    for name, xs in (("polled", seen), ("watched", watched)):
        a = np.asarray(xs)
        back = np.flatnonzero(np.diff(a) < 0)
        assert back.size == 0, f"{name} position went back: {a[back[0]]} -> {a[back[0] + 1]}"
        assert a.min() >= 0 and a.max() <= src.total_frames
    assert seen[-1] == src.total_frames and len(set(seen)) > 3


def contract_position_is_consistent_under_concurrent_control(d: Driver) -> None:
    p, src = d.new_player(ahead_ms=1000), _source(20)
    total = src.total_frames
    rng = np.random.default_rng(3)
    ops = rng.integers(0, 5, 1500)
    frames = rng.integers(0, total + 1, 1500)
    positions: list[int] = []
    states: list[str] = []
    errors: list[BaseException] = []
    insert = np.full(480, 0.5, np.float32)

    def hammer() -> None:
        try:
            for op, frame in zip(ops, frames, strict=True):
                if op == 0:
                    p.pause()
                elif op == 1:
                    p.resume(insert if frame % 2 else None)
                elif op == 2:
                    p.seek(int(frame))
                else:
                    positions.append(p.position)
                states.append(p.state)
        except BaseException as e:
            errors.append(e)

    p.play(src)
    t = threading.Thread(target=hammer)
    t.start()
    while t.is_alive():
        d.play_frames(RATE // 4)
        positions.append(p.position)
    t.join()
    assert not errors, repr(errors[0])
    assert len(positions) > 200
    bad = [x for x in positions if not 0 <= x <= total]
    assert not bad, bad[:5]
    assert set(states) <= set(STATES) and "paused" in states
    p.resume()
    p.seek(total - RATE)
    assert p.state == "playing"
    _played_out(d, p)  # still a working player afterwards
    assert p.position == total and p.error is None
    p.stop()
    assert p.state == "idle" and p.wait(0)


def contract_a_failing_source_ends_playback(d: Driver) -> None:
    p, src = d.new_player(ahead_ms=1000), _source(10, fail_at=3 * RATE)
    p.play(src)
    _played_out(d, p)
    assert "test source fails at frame" in str(p.error)
    assert 0 < p.position <= 3 * RATE
    p.seek(0)  # a failed player has nothing to seek in
    assert p.state == "idle"
    p.stop()
    heard = _body(d)
    assert 0 < len(heard) <= 3 * RATE and np.array_equal(heard, src.signal[:len(heard)])


CONTRACTS = [v for k, v in sorted(globals().items()) if k.startswith("contract_")]


@pytest.fixture
def alsa_file(tmp_path: Path) -> Iterator[AlsaFileEnv]:
    need_portaudio()
    env = AlsaFileEnv(tmp_path)
    yield env
    env.out.unlink(missing_ok=True)  # unpaced recordings of silence grow fast


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda f: f.__name__.removeprefix("contract_"))
# The real Player runs each contract in a fresh interpreter (~0.6 s each): the slow tier.
@pytest.mark.parametrize("impl", ["dummy", pytest.param("portaudio", marks=pytest.mark.slow)])
def test_contract(impl: str, contract: Callable[[Driver], None], request: pytest.FixtureRequest) -> None:
    if impl == "dummy":
        d = DummyDriver()
        try:
            contract(d)
        finally:
            d.close()
        return
    env = request.getfixturevalue("alsa_file")
    proc = subprocess.run([sys.executable, "-m", "tests.audio.test_player_contract", contract.__name__,
                           str(env.out)], cwd=ROOT, env=env.env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-6000:]
    assert "Exception in thread" not in proc.stderr, proc.stderr[-6000:]


# -- both are Outputs; what only the dummy has ---------------------------------------------------

def test_both_players_are_outputs() -> None:
    assert isinstance(DummyPlayer(), Output)
    assert isinstance(Player(), Output)  # constructing touches no device


def test_the_contract_can_fail() -> None:
    # A player that drops one frame on resume must fail the pause contract; one that lands a
    # frame past where it was asked to seek must fail both seek contracts.
    class Dropping(DummyPlayer):
        def resume(self, insert: np.ndarray | None = None, silence: int = 0) -> None:
            super().resume(insert, silence)
            with self._cond:
                self._pos += 1

    class Overshooting(DummyPlayer):
        def seek(self, frame: int) -> None:
            super().seek(frame + 1)

    class D(DummyDriver):
        def __init__(self, player: type[DummyPlayer]) -> None:
            super().__init__()
            self.player = player

        def new_player(self, ahead_ms: int = WHOLE) -> DummyPlayer:
            self.players.append(self.player())
            return self.players[-1]

    with pytest.raises(AssertionError):
        contract_pause_holds_then_resume_plays_insert_and_continues(D(Dropping))
    for contract in (contract_seek_while_playing_keeps_playing, contract_seek_while_paused_stays_paused):
        with pytest.raises(AssertionError):
            contract(D(Overshooting))


def test_dummy_lose_freezes_position_and_silences() -> None:
    p, src = DummyPlayer(), _source(5)
    p.play(src)
    p.advance(PREROLL + RATE)
    assert p.position == RATE and not p.lost.is_set()
    p.lose()
    p.advance(RATE)
    assert p.lost.is_set() and p.position == RATE and p.state == "playing" and not p.wait(0)
    assert len(p.heard) == PREROLL + RATE  # nothing more was heard
    p.stop()
    assert p.state == "idle" and p.wait(0)


def test_dummy_advance_ms_on_end_and_frames_out() -> None:
    p, src = DummyPlayer(), _source(1)
    ended = threading.Event()
    p.on_end = ended.set
    p.play(src)
    p.advance_ms(500)
    assert p.position == 0 and p.frames_out == PREROLL
    p.advance_ms(999)
    assert p.state == "playing" and not ended.is_set()
    p.advance_ms(1)
    assert p.state == "idle" and p.wait(0) and ended.is_set() and p.position == RATE


def test_dummy_factory_and_missing_device() -> None:
    factory = DummyPlayer.factory(preroll_ms=0)
    p1 = factory()
    p1.play(_source(1))
    assert factory.last is p1 and p1.preroll_ms == 0
    factory.available = False
    p2 = factory()
    with pytest.raises(NoOutputDevice):
        p2.play(_source(1))
    assert p2.state == "idle" and factory.players == [p1, p2]
    with pytest.raises(NoOutputDevice):
        p2.open()
    factory.available = True
    p2.open()
    factory.available = False  # an open output stays open
    p2.play(_source(1))
    assert p2.state == "playing"


def test_dummy_auto_runs_in_real_time() -> None:
    p, src = DummyPlayer(auto=True, speed=20.0, record=False), _source(10)
    t0 = time.monotonic()
    p.play(src)
    assert p.wait(5)
    took = time.monotonic() - t0
    assert p.position == src.total_frames and p.state == "idle"
    assert 10.5 / 20 * 0.8 <= took <= 3.0, took  # 10.5 s of output at 20x
    assert p.heard.size == 0 and p.frames_out >= src.total_frames + PREROLL
    p.stop()


if __name__ == "__main__":
    # The real-PortAudio side of test_contract: argv = contract name, ALSA file PCM output.
    real = RealDriver(Path(sys.argv[2]))
    try:
        globals()[sys.argv[1]](real)
    finally:
        real.close()
    print("ok")
