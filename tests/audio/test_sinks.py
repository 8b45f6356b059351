"""coach.audio.player.Player through real PortAudio: an ALSA file PCM (exact, unpaced) and a private
PulseAudio server (real time). Timing is read from the recorded audio, never from a clock."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.audio import (
    RATE,
    AlsaFileEnv,
    ClickSource,
    PulseServer,
    detect_onsets,
    need_portaudio,
    need_pulse,
    onset_errors,
    plan_onsets,
    run_driver,
    zero_runs,
)

# The real Player in a fresh interpreter for every test (real PortAudio): the slow tier.
pytestmark = pytest.mark.slow

PREROLL = 500 * RATE // 1000  # Player's default preroll_ms=500
BED = 0.01
# Unpaced PCMs drain ~1000x faster than real time; a feeder thread cannot keep up with that, so
# these tests queue the whole source up front (ahead_ms) and exercise the callback path exactly.
# One test below runs the default ahead_ms to prove a starved feeder never drops a frame.
WHOLE = {"ahead_ms": 200_000}


@pytest.fixture
def alsa_file(tmp_path):
    need_portaudio()
    env = AlsaFileEnv(tmp_path)
    yield env
    env.out.unlink(missing_ok=True)  # unpaced recordings of silence grow fast


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    need_pulse()
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


def _source(seconds: float, onsets: list[int] | None = None, bed: float = BED) -> dict:
    return {"seconds": seconds, "onsets": onsets or [], "bed": bed}


def _signal(spec: dict) -> np.ndarray:
    return ClickSource(int(spec["seconds"] * RATE), spec["onsets"], bed=spec["bed"]).signal


def _lead(rec: np.ndarray) -> int:
    runs = zero_runs(rec)
    assert runs and runs[0][0] == 0, "recording does not start with silence"
    return runs[0][1]


def _states(result: dict) -> list[str]:
    return [e["state"] for e in result["log"]]


# -- the onset detector itself -------------------------------------------------------------------

def test_detector_finds_exact_onsets_in_noise():
    rng = np.random.default_rng(1)
    plan = plan_onsets(30)
    x = ClickSource(30 * RATE, plan).signal + rng.normal(0, 0.01, 30 * RATE).astype(np.float32)
    assert detect_onsets(x).tolist() == plan
    assert detect_onsets(0.1 * x).tolist() == plan  # relative threshold: level does not matter


def test_detector_refractory_silence_and_errors():
    x = np.zeros(RATE, np.float32)
    assert detect_onsets(x).size == 0
    x[1000] = x[1010] = x[30000] = 0.5  # 1010 is inside the refractory gap of 1000
    assert detect_onsets(x).tolist() == [1000, 30000]
    e = onset_errors(np.array([500, 1000 + 500 + 48, 3000 + 500]), [0, 1000, 3000])
    assert e["errors_ms"] == [0.0, 1.0, 0.0] and e["abs_max_ms"] == 1.0 and e["drift_ms"] == 0.0
    assert onset_errors(np.array([1, 2]), [1, 2, 3])["errors_ms"] is None


# -- through the ALSA file PCM (real PortAudio callback path, unpaced) ----------------------------

def test_clicks_land_exactly_with_preroll_and_nothing_dropped(alsa_file):
    src = _source(30, plan_onsets(30))
    r = run_driver(alsa_file.env, {"source": src, "player": WHOLE,
                                   "steps": [["play"], ["wait", 60]]})
    sig = _signal(src)
    rec = alsa_file.read()
    lead = _lead(rec)
    assert lead >= PREROLL
    # Every source frame, in order, with no silence inside, then only silence.
    assert np.array_equal(rec[lead:lead + len(sig)], sig)
    assert not rec[lead + len(sig):].any()
    assert (detect_onsets(rec) - lead).tolist() == src["onsets"]
    last = r["log"][-1]
    assert (last["op"], last["ok"], last["position"], last["state"]) == ("wait", True, len(sig), "idle")
    assert r["on_end"] and r["underflows"] == 0


def test_starved_feeder_inserts_silence_but_never_drops_a_frame(alsa_file):
    # A short ahead_ms against a consumer ~1000x faster than real time: the queue runs dry often.
    src = _source(3, plan_onsets(3, first_s=0.5))
    r = run_driver(alsa_file.env, {"source": src, "player": {"ahead_ms": 50},
                                   "steps": [["play"], ["wait", 60]]})
    rec = alsa_file.read()
    assert len(zero_runs(rec)) > 3  # it did starve (lead, tail and gaps in between)
    assert np.array_equal(rec[rec != 0], _signal(src))
    assert r["on_end"] and r["log"][-1]["position"] == len(_signal(src))


def test_pause_resume_continues_from_the_exact_frame(alsa_file):
    src = _source(120, plan_onsets(120))
    insert = {"frames": 4800, "value": 0.5}
    r = run_driver(alsa_file.env, {"source": src, "player": WHOLE, "steps": [
        ["play"], ["until_position", 10 * RATE], ["pause"], ["sleep", 0.05],
        ["resume", insert], ["wait", 60]]})
    sig = _signal(src)
    rec = alsa_file.read()
    lead = _lead(rec)
    runs = zero_runs(rec)
    assert len(runs) == 3, runs  # lead, the pause, the tail after the end
    gap_start, gap_len = runs[1]
    paused_at = gap_start - lead
    assert 10 * RATE <= paused_at < len(sig)
    assert r["log"][3]["state"] == "paused" and r["log"][3]["position"] == paused_at
    assert np.array_equal(rec[lead:gap_start], sig[:paused_at])
    after = gap_start + gap_len
    assert np.array_equal(rec[after:after + insert["frames"]], np.full(insert["frames"], 0.5, np.float32))
    after += insert["frames"]
    assert np.array_equal(rec[after:after + len(sig) - paused_at], sig[paused_at:])
    assert _states(r) == ["playing", "playing", "paused", "paused", "playing", "idle"]
    assert r["on_end"]


# Seeking while playing and while paused: tests/audio/test_player_contract.py, whose held source
# keeps each seek inside a known stretch (here the unpaced PCM ran 40 s of source in ~25 ms
# between the look and the seek: the same race that failed the contract once in CI).


def test_stop_ends_cleanly(alsa_file):
    src = _source(120)
    r = run_driver(alsa_file.env, {"source": src, "player": WHOLE, "steps": [
        ["play"], ["until_position", 5 * RATE], ["stop"], ["wait", 5]]})
    sig = _signal(src)
    rec = alsa_file.read()
    lead = _lead(rec)
    body = rec[lead:]
    cut = int(np.flatnonzero(body)[-1]) + 1  # the bed is never zero: the last source frame written
    assert 5 * RATE <= cut < len(sig)  # stopped mid-source, the rest never written
    assert np.array_equal(body, sig[:cut])
    assert r["log"][2]["state"] == "idle" and r["log"][3]["ok"] is True
    assert not r["on_end"]  # stop is not the end of the source
    assert "Traceback" not in r["stderr"]


def test_a_source_that_fails_mid_play_ends_playback_instead_of_hanging(alsa_file):
    src = {**_source(10), "fail_at": 3 * RATE}
    r = run_driver(alsa_file.env, {"source": src, "steps": [["play"], ["wait", 30]]})
    assert r["log"][-1]["ok"] and r["log"][-1]["state"] == "idle"
    assert "test source fails at frame" in r["player_error"] and not r["on_end"]
    heard = alsa_file.read()
    heard = heard[heard != 0]
    assert 0 < len(heard) <= 3 * RATE and np.array_equal(heard, _signal(src)[:len(heard)])


def test_source_at_another_rate_is_resampled_in_step(alsa_file):
    plan = plan_onsets(20, rate=24000)
    src = {"seconds": 20, "rate": 24000, "onsets": plan, "bed": 0.0}
    r = run_driver(alsa_file.env, {"source": src, "player": WHOLE, "steps": [["play"], ["wait", 60]]})
    assert r["stream_rate"] == RATE and r["log"][-1]["position"] == 20 * 24000
    found = detect_onsets(alsa_file.read())
    want = 2 * (np.array(plan) - plan[0])
    assert len(found) == len(plan)
    assert np.abs((found - found[0]) - want).max() <= 2


def test_no_output_device_is_one_clear_message(tmp_path):
    need_portaudio()
    env = AlsaFileEnv(tmp_path, broken=True)
    r = run_driver(env.env, {"source": _source(1), "steps": [["devices"], ["play"]]})
    assert r["log"][0]["devices"] == []
    assert r["error"] == "NoOutputDevice"
    assert "\n" not in r["message"] and "coach render" in r["message"]


# -- through a real PulseAudio server, in real time -----------------------------------------------

@pytest.mark.realtime  # plays in real time through a sound server: timing is measured
def test_real_time_onsets_within_10ms_no_drift(pulse):
    plan = plan_onsets(20)
    cap = pulse.capture()
    r = run_driver(pulse.env, {"source": _source(20, plan, bed=0.0),
                               "steps": [["devices"], ["play"], ["wait", 60]]})
    rec = cap.stop()
    assert r["log"][-1]["ok"] and r["on_end"]
    devices = r["log"][0]["devices"]
    assert [d["name"] for d in devices if d["is_default"]] == ["default"]
    assert all(d["channels"] > 0 and d["default_samplerate"] > 0 for d in devices)
    found = detect_onsets(rec)
    e = onset_errors(found, plan)
    assert e["errors_ms"] is not None, (found.tolist(), plan)
    assert e["abs_max_ms"] <= 10.0, e
    assert abs(e["drift_ms"]) <= 1.0, e
