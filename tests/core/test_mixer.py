"""Mixer and WAV writer: exact frame placement, window independence, streaming memory."""

from __future__ import annotations

import tracemalloc
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.audio.wavout import render_to_wav
from coach.core.mixer import TICK_KEY, Mixer, clip_key, default_tick
from coach.core.timeline import Cue, Phase, Timeline


def cue(t_ms: int, text: str, kind: str = "speech") -> Cue:
    return Cue(t_ms, text, "tick" if kind == "tick" else "numbers", "Ex", 0, 1, None, kind)


def phase(t_ms: int, duration_ms: int, name: str) -> Phase:
    return Phase(t_ms, duration_ms, name, "Ex", 0, 1, 1, None, None)


def timeline(duration_ms: int, events: list) -> Timeline:
    # Same order as the compiler: by time, phases before cues at equal times.
    events = sorted(events, key=lambda e: (e.t_ms, isinstance(e, Cue)))
    return Timeline("test", duration_ms, tuple(events))


def burst(n: int, seed: int, level: float = 0.4) -> np.ndarray:
    """Noise with a sharp onset: first and last samples are clearly non-zero."""
    x = np.random.default_rng(seed).uniform(-level, level, n).astype(np.float32)
    x[0], x[-1] = level, -level
    return x


def chirp(n: int, rate: int) -> np.ndarray:
    t = np.arange(n) / rate
    x = 0.5 * np.sin(2 * np.pi * (300 + 4000 * t) * t)
    x[0] = 0.5  # sharp onset
    return x.astype(np.float32)


def onsets(x: np.ndarray) -> list[int]:
    """Independent detector: starts of runs of non-zero samples."""
    nz = (x != 0).astype(np.int8)
    return list(np.flatnonzero(np.diff(np.concatenate(([0], nz))) == 1))


def test_clip_key() -> None:
    assert clip_key(cue(0, "three")) == "three"
    assert clip_key(cue(0, "tick", "tick")) == TICK_KEY == "\x00tick"
    assert clip_key(cue(0, "three", "tick")) == TICK_KEY


@pytest.mark.parametrize("rate", [48000, 44100, 22050])
def test_clips_land_on_their_exact_frames(rate: int) -> None:
    times = [0, 41, 107, 333, 1001, 2999, 12_345, 59_999]  # 30 ms clips never overlap
    texts = [f"c{i}" for i in range(len(times))]
    n = rate * 30 // 1000  # 30 ms clips: no two overlap
    clips = {t: burst(n, i) for i, t in enumerate(texts)}
    tl = timeline(60_000, [cue(t, s) for t, s in zip(times, texts)])
    m = Mixer(tl, clips, rate=rate)
    out = m.render(0, m.total_frames)
    expected = [t * rate // 1000 for t in times]
    assert onsets(out) == expected
    for t, s, f in zip(times, texts, expected):
        assert m.frame_of(t) == f
        assert np.array_equal(out[f:f + n], clips[s])
    if rate == 44100:
        # 1 ms is 44.1 frames: truncation, not rounding or drift.
        assert m.frame_of(1) == 44 and m.frame_of(41) == 1808 and m.frame_of(59_999) == 2_645_955


def test_two_hours_do_not_drift_at_44100() -> None:
    rate = 44100
    t_last = 2 * 3600 * 1000 - 7  # an odd ms near the end of a 2-hour session
    tl = timeline(2 * 3600 * 1000, [cue(t_last, "x")])
    m = Mixer(tl, {"x": burst(100, 1)}, rate=rate)
    f = t_last * rate // 1000
    win = m.render(f - 50, 200)
    assert onsets(win) == [50]
    assert m.total_frames == 2 * 3600 * rate


def test_total_frames() -> None:
    tl = timeline(1001, [cue(0, "a")])
    # ceil(1001 * 44100 / 1000) = ceil(44144.1)
    assert Mixer(tl, {"a": burst(10, 0)}, rate=44100).total_frames == 44145
    assert Mixer(tl, {"a": burst(10, 0)}, rate=48000).total_frames == 48048
    # A clip running past the end extends the output by its tail, never cut.
    tl = timeline(1000, [cue(900, "a")])
    m = Mixer(tl, {"a": burst(48000, 0)}, rate=48000)
    assert m.total_frames == 900 * 48 + 48000
    out = m.render(0, m.total_frames)
    assert out[-1] != 0 and np.array_equal(out[900 * 48:], burst(48000, 0))


def _busy_timeline(rate: int) -> tuple[Timeline, dict[str, np.ndarray]]:
    """Dense, overlapping cues with a few clips, including ties at the same ms."""
    rng = np.random.default_rng(7)
    clips = {"lower": burst(rate * 300 // 1000, 1), "squeeze": chirp(rate * 450 // 1000, rate),
             "3": burst(rate * 120 // 1000, 2, 0.7), "long": burst(rate * 2, 3, 0.3)}
    names = list(clips)
    times = sorted(int(t) for t in rng.integers(0, 20_000, 60))
    events = [cue(t, names[i % len(names)]) for i, t in enumerate(times)]
    events += [cue(times[5], "3"), cue(times[5], "long")]  # ties
    return timeline(20_000, events), clips


@settings(max_examples=60, deadline=None)
@given(start=st.integers(-50_000, 1000),
       sizes=st.lists(st.sampled_from([1, 2, 7, 64, 441, 1000, 4096, 48000, 100_003]),
                      min_size=1, max_size=40))
def test_windows_concatenate_to_one_render(start: int, sizes: list[int]) -> None:
    rate = 44100
    tl, clips = _busy_timeline(rate)
    m = Mixer(tl, clips, rate=rate)
    total = sum(sizes)
    whole = m.render(start, total)
    parts, f = [], start
    for n in sizes:
        parts.append(m.render(f, n))
        f += n
    assert np.array_equal(np.concatenate(parts), whole)


@pytest.mark.slow  # a whole session rendered in many block sizes: about 2 s
def test_windows_cover_the_whole_session_in_any_block_size() -> None:
    rate = 48000
    tl, clips = _busy_timeline(rate)
    m = Mixer(tl, clips, rate=rate)
    whole = m.render(0, m.total_frames)
    assert np.count_nonzero(whole) > 0
    for block in (1, 7, 1000, 48000, 123_457):
        if block == 1:
            # Frame by frame near the densest part only (all of it would be slow in Python).
            f0 = tl.cues[5].t_ms * rate // 1000 - 3
            got = np.concatenate([m.render(f, 1) for f in range(f0, f0 + 3000)])
            assert np.array_equal(got, whole[f0:f0 + 3000])
            continue
        got = np.concatenate([m.render(f, block) for f in range(0, m.total_frames, block)])
        assert np.array_equal(got[:m.total_frames], whole)
        assert not got[m.total_frames:].any()


def test_deterministic() -> None:
    tl, clips = _busy_timeline(48000)
    a = Mixer(tl, clips).render(0, 48000 * 21)
    b = Mixer(tl, clips).render(0, 48000 * 21)
    assert a.dtype == np.float32 and a.shape == (48000 * 21,)
    assert np.array_equal(a, b)


def test_overlapping_clips_sum_and_are_limited() -> None:
    rate = 48000
    a, b = burst(4800, 1, 0.3), burst(4800, 2, 0.3)
    tl = timeline(1000, [cue(0, "a"), cue(50, "b")])
    out = Mixer(tl, {"a": a, "b": b}, rate=rate).render(0, 9600)
    off = 50 * rate // 1000
    expected = np.zeros(9600, np.float32)
    expected[:4800] += a
    expected[off:off + 4800] += b
    assert np.array_equal(out, expected)  # a is never cut by b: both play in full
    # Loud overlaps are hard-limited to [-1, 1].
    loud = np.full(480, 0.8, np.float32)
    tl = timeline(100, [cue(0, "x"), cue(5, "y")])
    out = Mixer(tl, {"x": loud, "y": -loud * 3}, rate=rate).render(0, 1000)
    assert np.all(out[:240] == np.float32(0.8))
    assert np.all(out[240:720] == -1.0)  # -1.6 where they overlap, -2.4 after: both limited
    assert out.max() <= 1.0 and out.min() >= -1.0


def test_windows_outside_the_session_are_zeros() -> None:
    clip = burst(480, 3)
    tl = timeline(1000, [cue(0, "a"), cue(990, "a")])
    m = Mixer(tl, {"a": clip})
    assert m.total_frames == 990 * 48 + 480
    past = m.render(m.total_frames, 5000)
    assert past.shape == (5000,) and not past.any()
    assert not m.render(10**9, 7).any()
    straddle = m.render(m.total_frames - 10, 20)
    assert np.array_equal(straddle[:10], clip[-10:]) and not straddle[10:].any()
    before = m.render(-100, 200)
    assert not before[:100].any() and np.array_equal(before[100:], clip[:100])
    assert not m.render(-5000, 4000).any()
    assert m.render(0, 0).shape == (0,)


def test_missing_clip_is_a_key_error() -> None:
    tl = timeline(1000, [cue(0, "a"), cue(500, "b")])
    with pytest.raises(KeyError):
        Mixer(tl, {"a": burst(10, 0)})
    with pytest.raises(KeyError):
        Mixer(timeline(1000, [cue(0, "tick", "tick")]), {"tick": burst(10, 0)})


def test_tick_cues_use_the_tick_clip() -> None:
    tick = burst(100, 9)
    tl = timeline(2000, [cue(0, "one"), cue(1000, "tick", "tick")])
    m = Mixer(tl, {"one": burst(200, 1), TICK_KEY: tick})
    out = m.render(0, m.total_frames)
    assert np.array_equal(out[48000:48100], tick)


def test_metronome() -> None:
    rate = 48000
    events = [phase(0, 3000, "announce"), cue(0, "announce"),
              phase(3000, 4000, "eccentric"), cue(3000, "lower"), cue(5000, "2"),
              phase(7000, 1000, "bottom_pause"), cue(7000, "hold"),
              phase(8000, 2500, "concentric"), cue(8000, "squeeze"),
              phase(10_500, 10_000, "hold")]
    tl = timeline(21_000, events)
    n = 480
    clips = {s: burst(n, i) for i, s in enumerate(["announce", "lower", "2", "hold", "squeeze"])}
    plain = Mixer(tl, clips, rate=rate)
    assert onsets(plain.render(0, plain.total_frames)) == [0, 144_000, 240_000, 336_000, 384_000]
    tick = burst(96, 42, 0.1)
    m = Mixer(tl, clips, rate=rate, metronome=True, tick=tick)
    out = m.render(0, m.total_frames)
    # Ticks at whole seconds from each tempo phase's start where nothing is said: 4, 6, 9, 10 s.
    # Not in the announce or the hold, not where a cue starts.
    assert onsets(out) == [0, 144_000, 192_000, 240_000, 288_000, 336_000, 384_000, 432_000,
                           480_000]
    for f in (192_000, 288_000, 432_000, 480_000):
        assert np.array_equal(out[f:f + 96], tick)
    # Where a cue starts, the cue alone is heard (no tick added on top).
    for f, s in [(144_000, "lower"), (240_000, "2"), (336_000, "hold"), (384_000, "squeeze")]:
        assert np.array_equal(out[f:f + n], clips[s])
    # Without a tick given, a default click is used.
    d = Mixer(tl, clips, rate=rate, metronome=True).render(192_000, 2000)
    assert np.array_equal(d[:len(default_tick(rate))], default_tick(rate))


def _read_wav(path) -> tuple[int, int, int, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        return (w.getframerate(), w.getnchannels(), w.getsampwidth(),
                np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))


@pytest.mark.parametrize("rate,block", [(48000, 48000), (44100, 777), (22050, 100_000)])
def test_render_to_wav(tmp_path, rate: int, block: int) -> None:
    tl, clips = _busy_timeline(rate)
    clips = {k: v * 1.9 for k, v in clips.items()}  # loud enough to hit the limiter
    m = Mixer(tl, clips, rate=rate)
    seen: list[tuple[int, int]] = []
    path = tmp_path / "out.wav"
    render_to_wav(m, path, block_frames=block, progress=lambda d, t: seen.append((d, t)))
    got_rate, channels, width, samples = _read_wav(path)
    assert (got_rate, channels, width) == (rate, 1, 2)
    assert len(samples) == m.total_frames
    ref = m.render(0, m.total_frames).astype(np.float64)
    expected = np.round(ref * 32767).astype(np.int16)
    assert np.array_equal(samples, expected)
    assert samples.max() == 32767 and samples.min() == -32767
    assert seen[-1] == (m.total_frames, m.total_frames)
    assert len(seen) == -(-m.total_frames // block)
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_render_to_wav_failure_leaves_no_file(tmp_path) -> None:
    tl, clips = _busy_timeline(48000)
    m = Mixer(tl, clips)

    def stop(done: int, total: int) -> None:
        if done > 3 * 48000:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        render_to_wav(m, tmp_path / "out.wav", progress=stop)
    assert list(tmp_path.iterdir()) == []


def _long_session(minutes: int, rate: int) -> tuple[Timeline, dict[str, np.ndarray]]:
    """A cue every second, ~10 distinct clips of 0.2-0.9 s."""
    clips = {f"w{i}": burst(rate * (200 + 70 * i) // 1000, i) for i in range(10)}
    events = [cue(s * 1000, f"w{s % 10}") for s in range(minutes * 60)]
    return timeline(minutes * 60_000, events), clips


def _peaks(minutes: int, rate: int, path) -> tuple[int, int]:
    tl, clips = _long_session(minutes, rate)
    tracemalloc.start()
    try:
        m = Mixer(tl, clips, rate=rate)
        build_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        render_to_wav(m, path)
        render_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert m.total_frames == minutes * 60 * rate
    return build_peak, render_peak


@pytest.mark.slow
def test_memory_does_not_grow_with_session_length(tmp_path) -> None:
    rate = 48000
    b5, r5 = _peaks(5, rate, tmp_path / "5.wav")
    b120, r120 = _peaks(120, rate, tmp_path / "120.wav")
    audio_minute = 60 * rate * 4  # one minute of float32 output: 11.5 MB
    # Rendering streams: its peak is a block or two, the same for 5 and 120 minutes.
    assert r5 < 2 * 1024 * 1024 and r120 < 2 * 1024 * 1024
    assert r120 - r5 < 64 * 1024
    # Building keeps only per-cue integers (tens of bytes a cue; a second of audio is 192 kB).
    extra_cues = (120 - 5) * 60
    assert b120 - b5 < 128 * extra_cues < audio_minute
    with wave.open(str(tmp_path / "120.wav"), "rb") as w:
        assert w.getnframes() == 120 * 60 * rate
