"""voice.py against the real espeak-ng (through pyttsx3): clips, trimming, loudness, disk cache,
fallback tones. Onsets and loudness are measured here with the test's own detectors."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from coach.audio.voice import (
    Clip,
    Voice,
    VoiceUnavailable,
    cache_key,
    finish,
    prepare_timeline,
    spoken_text,
    tick_clip,
)
from coach.cli.progress import terminal_progress
from coach.core.errors import CoachError
from coach.core.program import Exercise, Program, VoiceSettings
from coach.core.timeline import TICK_KEY, clip_key, compile_program
from tests.support.real import ROOT, need
from tests.support.voice import record_given

RATE = 48000
PHRASES = ["3", "squeeze", "lower", "Lat pulldown. Set 1 of 3"]




# --- the test's own measurements (independent of voice.py's trimming and gating) -----------

ONSET_DB = -45.0  # the quietest consonants ("th" of "three") sit near -40 dBFS in a clip at
# about -21 dBFS RMS; a -35 dBFS detector would report the vowel 80 ms later, not the onset.


def onset(x: np.ndarray, rate: int, thr_db: float = ONSET_DB, win_ms: float = 10.0) -> int:
    """First sample above ``thr_db``, searched from the first 10 ms window whose RMS exceeds it
    (so a lone click does not count). -1 if the clip never gets that loud."""
    w = int(rate * win_ms / 1000)
    thr = 10 ** (thr_db / 20)
    x = np.asarray(x, dtype=np.float64)
    if x.size < w:
        return -1
    c = np.concatenate([[0.0], np.cumsum(x**2)])
    rms = np.sqrt((c[w:] - c[:-w]) / w)
    above = np.flatnonzero(rms > thr)
    if above.size == 0:
        return -1
    i0 = int(above[0])
    return i0 + int(np.argmax(np.abs(x[i0:]) > thr))


def loudness_db(x: np.ndarray, rate: int) -> float:
    """RMS over 20 ms frames louder than -50 dBFS (an absolute gate, unlike voice.py's)."""
    n = int(rate * 0.02)
    x = np.asarray(x, dtype=np.float64)
    frames = x[: x.size // n * n].reshape(-1, n)
    ms = (frames**2).mean(axis=1)
    ms = ms[ms > 10 ** (-50 / 10)]
    return 10 * np.log10(ms.mean())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        return data, w.getframerate()


def espeak_cli(text: str, tmp_path: Path, voice: str = "en", wpm: int = 170) -> tuple[np.ndarray, int]:
    """The same phrase from the espeak-ng command line: an independent reference."""
    exe = shutil.which("espeak-ng")
    need(exe is not None, "espeak-ng command")
    out = tmp_path / "cli.wav"
    subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(out), text], check=True,
                   capture_output=True)
    return read_wav(out)


def voice(tmp_path: Path, name: str = "cache", **settings) -> Voice:
    return Voice(VoiceSettings(**settings), "en", RATE, cache_dir=tmp_path / name)


# --- clips ------------------------------------------------------------------------------------


def test_phrase_is_speech_at_48k(espeak, tmp_path):
    v = voice(tmp_path)
    assert v.engine == "espeak"
    clip = v.prepare(["squeeze"])["squeeze"]
    assert isinstance(clip, Clip)
    assert (clip.engine, clip.model, clip.rate, clip.text) == ("espeak", "gmw/en", RATE, "squeeze")
    x = clip.samples
    assert x.dtype == np.float32 and x.ndim == 1
    assert loudness_db(x, RATE) > -30
    # Same length as the CLI's rendering of the phrase (its own silence cut by our detector),
    # converted to 48 kHz: a clip played at the wrong rate would be 2.2x off.
    ref, ref_rate = espeak_cli("squeeze", tmp_path)
    assert ref_rate == 22050
    a = onset(ref, ref_rate)
    b = ref.size - 1 - onset(ref[::-1], ref_rate)
    ref_s = (b - a) / ref_rate
    clip_s = (x.size - 1 - onset(x[::-1], RATE) - onset(x, RATE)) / RATE
    assert abs(clip_s - ref_s) < 0.03, (clip_s, ref_s)
    # Upsampled from 22050 Hz: nothing above the source's Nyquist frequency.
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    assert spec[f > 11500].sum() < 1e-4 * spec.sum()


@pytest.mark.parametrize("text", PHRASES + ["two, lower", "10 seconds", "hold", "release"])
def test_first_audible_sample_is_sample_zero(espeak, tmp_path, text):
    x = voice(tmp_path).prepare([text])[text].samples
    first = onset(x, RATE)
    assert 0 <= first <= 0.002 * RATE, f"{text!r}: onset at {first / RATE * 1000:.1f} ms"
    last = x.size - 1 - onset(x[::-1], RATE)
    assert x.size - 1 - last <= 0.02 * RATE, f"{text!r}: {(x.size - last) / RATE * 1000:.0f} ms tail"


def test_onset_detector_sees_untrimmed_silence(espeak, tmp_path):
    # The detector is not blind: raw espeak-ng output of "three" starts ~90 ms before it.
    ref, ref_rate = espeak_cli("3", tmp_path)
    assert onset(ref, ref_rate) > 0.01 * ref_rate


def test_equal_loudness_across_phrases(espeak, tmp_path):
    clips = voice(tmp_path).prepare(PHRASES)
    levels = {t: loudness_db(c.samples, RATE) for t, c in clips.items()}
    assert max(levels.values()) - min(levels.values()) < 1.5, levels
    for c in clips.values():
        assert np.abs(c.samples).max() <= 0.99


def test_half_volume_is_6db_quieter(espeak, tmp_path):
    text = "Lat pulldown. Set 1 of 3"
    full = voice(tmp_path, "a", volume=1.0).prepare([text])[text].samples
    half = voice(tmp_path, "b", volume=0.5).prepare([text])[text].samples
    assert loudness_db(full, RATE) - loudness_db(half, RATE) == pytest.approx(6.02, abs=0.5)


def test_settings_apply_to_every_utterance(espeak, tmp_path):
    # espeak-ng applies property changes on its own thread: without waiting for it, about a
    # third of the utterances came out at the previous utterance's rate. Alternate settings
    # and texts on the one shared engine and check each clip is what was asked for.
    lengths: dict[tuple[str, int], list[int]] = {}
    for i in range(8):
        for text, wpm in (("lower", 120), ("lower", 300), ("Lat pulldown. Set 1 of 3", 170)):
            v = voice(tmp_path, f"c{i}-{wpm}-{len(text)}", rate=wpm)
            lengths.setdefault((text, wpm), []).append(v.prepare([text])[text].samples.size)
    slow, fast = lengths[("lower", 120)], lengths[("lower", 300)]
    long = lengths[("Lat pulldown. Set 1 of 3", 170)]
    assert min(slow) > 1.5 * max(fast), lengths
    assert min(long) > 2 * max(slow), lengths
    for sizes in lengths.values():
        assert max(sizes) - min(sizes) < 0.05 * min(sizes), lengths


def test_peaks_are_limited_never_clipped():
    # A click train has a crest factor far above speech: normalising its RMS to -20 dBFS would
    # put the peaks above full scale, so the gain must come down instead.
    x = np.zeros(22050, np.float32)
    x[::2205] = 1.0
    y = finish(x, 22050, RATE, 1.0)
    assert 0.9 < np.abs(y).max() <= 0.99


def test_progress_reports_each_clip(espeak, tmp_path):
    calls: list[tuple[int, int]] = []
    voice(tmp_path).prepare(PHRASES + ["3"], lambda d, t: calls.append((d, t)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_terminal_progress_is_silent_off_a_tty(capsys):
    show = terminal_progress("voice")
    show(0, 2)
    show(2, 2)
    assert capsys.readouterr() == ("", "")


def test_unknown_voice_is_a_user_error(espeak, tmp_path):
    with pytest.raises(CoachError, match="en-us"):
        voice(tmp_path, voice="en-uss")


# --- the disk cache -----------------------------------------------------------------------


def test_second_prepare_synthesizes_nothing(espeak, tmp_path):
    v1 = voice(tmp_path)
    first = v1.prepare(PHRASES)
    assert v1.stats["synthesized"] == len(PHRASES)
    v1.prepare(PHRASES)  # same Voice: nothing new
    assert v1.stats["synthesized"] == len(PHRASES)
    v2 = voice(tmp_path)  # a new Voice (a new session): the disk cache
    second = v2.prepare(PHRASES)
    assert v2.stats == {"synthesized": 0, "cached": len(PHRASES)}
    for t in PHRASES:
        assert np.array_equal(first[t].samples, second[t].samples)
        assert second[t].engine == "espeak"
    sidecars = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("*.json")]
    assert sorted(s["text"] for s in sidecars) == sorted(PHRASES)
    assert {(s["engine"], s["model"]) for s in sidecars} == {("espeak", "gmw/en")}


def test_cache_key_covers_rate_volume_voice_text(espeak, tmp_path):
    variants = [{}, {"rate": 120}, {"volume": 0.5}, {"voice": "en-us"}]
    clips = []
    for s in variants:
        v = voice(tmp_path, **s)  # one shared cache dir
        clips.append(v.prepare(["lower"])["lower"])
        assert v.stats["synthesized"] == 1, s
    v = voice(tmp_path)
    v.prepare(["squeeze"])
    assert v.stats["synthesized"] == 1
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 5
    assert clips[1].samples.size > clips[0].samples.size * 1.2  # 120 wpm is slower than 170
    assert clips[3].model == "gmw/en-us"
    # A different output rate is a different clip too.
    other = Voice(VoiceSettings(), "en", 44100, cache_dir=tmp_path / "cache")
    assert other.prepare(["lower"])["lower"].rate == 44100 and other.stats["synthesized"] == 1


@pytest.mark.parametrize("text", ["0", "2", "10", "19", " 3 "])
def test_piper_is_given_a_count_below_20_as_an_exclamation(text):
    assert spoken_text("piper", text) == text.strip() + "!"
    assert spoken_text("espeak", text) == text and spoken_text("tone", text) == text


@pytest.mark.parametrize("text", ["lower", "hold", "release", "halfway"])
def test_piper_is_given_a_lone_word_as_a_sentence(text):
    assert spoken_text("piper", text) == text + "."
    assert spoken_text("espeak", text) == text and spoken_text("tone", text) == text


@pytest.mark.parametrize("text", ["2 lower", "last one lower", "rest 60 seconds", "next: Plank", "20", "75",
                                  "session complete. Well done.", "Tap one to five?", "Go!", "3.",
                                  ""])
def test_longer_texts_and_sentences_are_given_to_piper_as_they_are(text):
    assert spoken_text("piper", text) == text


def test_espeak_clips_keep_their_cache_keys_and_say_the_text(espeak, tmp_path):
    """espeak-ng is given the cue's text: its key is the one it always had (existing caches stay
    valid), its sidecar records no other words, and the clip is the text synthesized."""
    v = voice(tmp_path)
    given = record_given(v)
    v.prepare(["2", "last one lower"])
    assert given == ["2", "last one lower"]
    assert v._key("2") == cache_key("espeak", v.model, 170, 0.9, RATE, "2")
    assert all("said" not in json.loads(m.read_text()) for m in (tmp_path / "cache").glob("*.json"))


def test_a_change_of_spoken_words_changes_the_cache_key():
    args = ("piper", "/m/en_US-joe-medium.onnx|1:2|3:4", 170, 1.0, RATE, "2")
    assert cache_key(*args, "2.") != cache_key(*args) == cache_key(*args, "2")
    assert cache_key(*args, "2.") != cache_key(*args[:-1], "2.")  # not the clip of the text "2."


@pytest.mark.parametrize("damage", [b"", b"not a numpy file at all", b"\x93NUMPY\x01\x00garbage"])
def test_corrupt_cache_file_is_resynthesized(espeak, tmp_path, damage):
    good = voice(tmp_path).prepare(["squeeze"])["squeeze"].samples
    (npy,) = (tmp_path / "cache").glob("*.npy")
    npy.write_bytes(damage)
    v = voice(tmp_path)
    again = v.prepare(["squeeze"])["squeeze"].samples
    assert v.stats == {"synthesized": 1, "cached": 0}
    # espeak-ng itself varies by a few samples from run to run (one reason to cache clips).
    assert abs(again.size - good.size) < 0.02 * good.size
    assert abs(loudness_db(again, RATE) - loudness_db(good, RATE)) < 0.5
    v3 = voice(tmp_path)  # the repaired entry is used next time
    v3.prepare(["squeeze"])
    assert v3.stats == {"synthesized": 0, "cached": 1}


def test_unwritable_cache_keeps_going_and_warns_once(espeak, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a directory under a regular file: OSError even for root
    v = Voice(VoiceSettings(), "en", RATE, cache_dir=blocker / "clips")
    with caplog.at_level(logging.WARNING, logger="coach.audio.voice"):
        clips = v.prepare(PHRASES)
    assert [c.engine for c in clips.values()] == ["espeak"] * len(PHRASES)
    assert all(loudness_db(c.samples, RATE) > -30 for c in clips.values())
    warnings = [r for r in caplog.records if r.name == "coach.audio.voice" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cache" in warnings[0].getMessage()


DISK_FULL = r"""
import json, logging, resource, signal, sys
from pathlib import Path
from coach.core.program import VoiceSettings
from coach.audio.voice import Voice
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, resource.RLIM_INFINITY))
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
clips = Voice(VoiceSettings(), "en", 48000, cache_dir=Path(sys.argv[1])).prepare(sys.argv[2:])
print(json.dumps({t: [c.engine, int(c.samples.size)] for t, c in clips.items()}))
"""


@pytest.mark.slow
def test_disk_full_keeps_going_and_warns_once(espeak, tmp_path):
    # 150 kB: espeak-ng's 22050 Hz temporary WAV fits, the 48 kHz float32 .npy does not.
    texts = ["Lat pulldown. Set 1 of 3", "Rest 90 seconds. Next: wall sit"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", DISK_FULL, str(tmp_path / "c"), *texts],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert [got[t][0] for t in texts] == ["espeak", "espeak"]
    assert all(got[t][1] * 4 > 150_000 for t in texts)
    assert p.stderr.count("coach.audio.voice:") == 1 and "cache" in p.stderr, p.stderr
    assert not list((tmp_path / "c").glob("*.npy")) and not list((tmp_path / "c").glob(".*tmp"))


# --- stdout stays clean ------------------------------------------------------------------


def test_stdout_stays_clean(espeak, tmp_path, capfd):
    voice(tmp_path).prepare(PHRASES)
    out, _ = capfd.readouterr()
    assert out == ""


def test_stdout_stays_clean_in_a_real_process(espeak, tmp_path):
    code = ("from coach.core.program import VoiceSettings; from coach.audio.voice import Voice; "
            f"Voice(VoiceSettings(), cache_dir={str(tmp_path)!r}).prepare(['lower', 'squeeze']); "
            "print('ok')")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ok\n"


# --- fallbacks ----------------------------------------------------------------------------


def _dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(x.size, 1 / RATE)[np.argmax(spec)])


def test_missing_espeak_falls_back_to_tones(tmp_path, caplog):
    # "espeak-ng missing" through the same path: pyttsx3 is asked for a driver that does not exist.
    with caplog.at_level(logging.WARNING, logger="coach.audio.voice"):
        v = Voice(VoiceSettings(), "en", RATE, cache_dir=tmp_path / "c", require_real=False,
                  driver="no_such_driver")
        clips = v.prepare(["3", "lower", "squeeze", "Lat pulldown. Set 1 of 3"])
    assert v.engine == "tone"
    assert {(c.engine, c.model) for c in clips.values()} == {("tone", "tone")}
    assert len([r for r in caplog.records if r.name == "coach.audio.voice"]) == 1
    number, word = clips["3"].samples, clips["lower"].samples
    assert _dominant_hz(number) > 1.5 * _dominant_hz(word)  # a higher tick for numbers
    assert number.size < word.size
    assert np.array_equal(clips["lower"].samples, clips["squeeze"].samples)  # same cue type
    assert not np.array_equal(clips["Lat pulldown. Set 1 of 3"].samples, word)
    for c in clips.values():  # the same pipeline: trimmed, normalised
        assert onset(c.samples, RATE) <= 0.002 * RATE
        assert abs(loudness_db(c.samples, RATE) - loudness_db(word, RATE)) < 1.5
    assert not (tmp_path / "c").exists()  # tones are not cached


def test_missing_espeak_raises_when_real_is_required(tmp_path, monkeypatch):
    with pytest.raises(VoiceUnavailable):
        Voice(VoiceSettings(), cache_dir=tmp_path, require_real=True, driver="no_such_driver")
    monkeypatch.setenv("COACH_REQUIRE_REAL", "1")
    with pytest.raises(VoiceUnavailable):
        Voice(VoiceSettings(), cache_dir=tmp_path, driver="no_such_driver")


def test_unknown_piper_model_falls_back_to_espeak(espeak, tmp_path, caplog):
    # Piper itself is tested in test_piper.py; here, a model nobody installed (or no Piper at
    # all): espeak-ng speaks, after one line saying why, and CI's require_real refuses.
    with caplog.at_level(logging.WARNING, logger="coach.audio.voice"):
        v = Voice(VoiceSettings(engine="piper", model="joe"), cache_dir=tmp_path,
                  require_real=False)
    assert v.engine == "espeak"
    assert len([r for r in caplog.records if r.name == "coach.audio.voice"]) == 1
    assert "piper" in caplog.text.lower()
    with pytest.raises(VoiceUnavailable, match="(?i)piper"):
        Voice(VoiceSettings(engine="piper", model="joe"), cache_dir=tmp_path, require_real=True)


# --- timeline helpers ----------------------------------------------------------------------


def test_tick_clip_is_a_soft_short_click():
    x = tick_clip(RATE)
    assert x.dtype == np.float32 and 0.010 * RATE <= x.size <= 0.020 * RATE
    assert onset(x, RATE, win_ms=2.0) <= 0.001 * RATE
    assert 0.05 < np.abs(x).max() < 0.5


def test_prepare_timeline_covers_every_cue(espeak, tmp_path):
    program = Program("Burnout", (Exercise(name="Push-up burnout", kind="cadence", reps=20,
                                           cadence_ms=1500, rest_ms=0),))
    tl = compile_program(program)
    assert any(c.kind == "tick" for c in tl.cues)
    clips = prepare_timeline(tl, RATE, cache_dir=tmp_path)
    assert set(clips) == {clip_key(c) for c in tl.cues}
    assert TICK_KEY in clips and "tick" not in clips
    for key, x in clips.items():
        assert x.dtype == np.float32 and x.ndim == 1 and x.size > 0, key
        assert onset(x, RATE, win_ms=2.0 if key == TICK_KEY else 10.0) <= 0.002 * RATE, key
