"""An insert's silence (an extended rest: "30 more seconds", then silence to the 30th second)
is counted by the player, never made as samples: the real Player through PortAudio into an
ALSA file PCM (exact, unpaced) and the DummyPlayer hear the insert, exactly that many silent
frames, then the source from the paused frame."""

from __future__ import annotations

import numpy as np

from coach.audio.dummy import DummyPlayer
from tests.support.audio import (
    RATE,
    AlsaFileEnv,
    ClickSource,
    need_portaudio,
    plan_onsets,
    run_driver,
    zero_runs,
)

WHOLE = {"ahead_ms": 200_000}  # the whole source queued up front (an unpaced PCM drains fast)
SILENCE = 25 * RATE  # far more than any block, queue or buffer


def test_the_player_plays_insert_then_its_silence_then_the_paused_frame(tmp_path) -> None:
    need_portaudio()
    env = AlsaFileEnv(tmp_path)
    try:
        src = {"seconds": 60, "onsets": plan_onsets(60), "bed": 0.01}
        insert = {"frames": 4800, "value": 0.5, "silence": SILENCE}
        r = run_driver(env.env, {"source": src, "player": WHOLE, "steps": [
            ["play"], ["until_position", 10 * RATE], ["pause"], ["sleep", 0.05],
            ["resume", insert], ["wait", 60]]})
        sig = ClickSource(60 * RATE, src["onsets"], bed=0.01).signal
        rec = env.read()
        runs = zero_runs(rec)
        # The lead-in, the pause, the insert's silence, the tail after the end.
        assert len(runs) == 4, runs
        lead = runs[0][1]
        gap_start, gap_len = runs[1]
        paused_at = gap_start - lead
        assert np.array_equal(rec[lead:gap_start], sig[:paused_at])
        after = gap_start + gap_len
        assert np.array_equal(rec[after:after + 4800], np.full(4800, 0.5, np.float32))
        after += 4800
        assert runs[2] == (after, SILENCE), (runs[2], after)
        after += SILENCE
        assert np.array_equal(rec[after:after + len(sig) - paused_at], sig[paused_at:])
        assert r["on_end"]
    finally:
        env.out.unlink(missing_ok=True)


def test_the_dummy_player_counts_the_silence_and_the_insert_position_through_it() -> None:
    src = ClickSource(20 * RATE, [], bed=0.01)
    p = DummyPlayer(preroll_ms=0)
    p.play(src)
    p.advance(2 * RATE)
    p.pause()
    p.advance(1000)
    held = p.position
    before = len(p.heard)
    p.resume(np.full(480, 0.5, np.float32), silence=SILENCE)
    p.advance(480 + SILENCE - 100)
    assert p.position == held and p.insert_position == 480 + SILENCE - 100
    p.advance(100 + RATE)
    heard = p.heard[before:]
    assert np.array_equal(heard[:480], np.full(480, 0.5, np.float32))
    assert not heard[480:480 + SILENCE].any()
    assert np.array_equal(heard[480 + SILENCE:], src.signal[held:held + RATE])
    p.stop()
