"""config.yaml: validated like programs, every mistake at once, defaults when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.core.errors import CoachError
from coach.store.config import Config, load_config, parse_config, programs_dir
from tests.support.cli import coach


def test_full_config(tmp_path):
    c = parse_config("programs: progs\ndevice: pulse\ntimezone: Europe/Berlin\n"
                     "misfire_grace: 5m\nrate: 44100\nmedia_keys: true\n"
                     "blocksize: 2048\npreroll: 1s\n"
                     "gpio: {pin: 17, hold: 1.5s}\n", str(tmp_path / "config.yaml"))
    assert c.programs == tmp_path / "progs"  # relative to the config file
    assert (c.device, c.timezone, c.misfire_grace_s, c.rate) == ("pulse", "Europe/Berlin", 300, 44100)
    assert c.media_keys is True and c.gpio_pin == 17 and c.gpio_hold_ms == 1500
    assert c.blocksize == 2048 and c.preroll_ms == 1000


def test_device_index_and_media_key_device_name():
    c = parse_config("device: 3\nmedia_keys: WH-1000XM4\n", "c.yaml")
    assert c.device == 3 and c.media_keys == "WH-1000XM4"


def test_mpris_is_on_unless_turned_off():
    assert Config().mpris is True and parse_config("rate: 48000\n", "c.yaml").mpris is True
    assert parse_config("mpris: false\n", "c.yaml").mpris is False
    assert parse_config("mpris: on\n", "c.yaml").mpris is True
    with pytest.raises(CoachError) as e:
        parse_config("mpris: sometimes\n", "c.yaml")
    assert str(e.value).startswith("c.yaml:1:8: error: mpris must be true or false")


def test_every_mistake_at_once_with_line_and_column():
    with pytest.raises(CoachError) as e:
        parse_config("programz: x\ntimezone: Mars/Olympus\nrate: fast\ngpio: {pin: 99}\n", "c.yaml")
    lines = str(e.value).splitlines()
    assert lines[0].startswith("c.yaml:1:1: error: unknown key \"programz\"") and "programs" in lines[0]
    assert lines[1].startswith("c.yaml:2:11: error: timezone \"Mars/Olympus\"")
    assert lines[2].startswith("c.yaml:3:7: error: rate")
    assert lines[3].startswith("c.yaml:4:13: error: gpio.pin must be between 0 and 27")


def test_missing_default_config_is_defaults_but_named_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config() == Config()
    with pytest.raises(CoachError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_empty_config_file_means_defaults(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("\n# nothing yet\n")
    assert load_config(p) == Config(path=str(p))


def test_programs_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("COACH_PROGRAMS", raising=False)
    assert programs_dir(Config()) == tmp_path / "cfg" / "coach" / "programs"
    assert programs_dir(Config(programs=Path("/p"))) == Path("/p")
    monkeypatch.setenv("COACH_PROGRAMS", str(tmp_path / "env"))
    assert programs_dir(Config(programs=Path("/p"))) == tmp_path / "env"
    assert programs_dir(Config(), "/cli") == Path("/cli")


# ---- voice defaults: config.yaml's `voice:` under each program's own, key by key ----------

from coach.core.program import VoiceSettings, parse_program  # noqa: E402
from coach.store.config import with_voice_defaults  # noqa: E402

VOICE_PROGRAM = "program: P\n{voice}exercises:\n  - name: A\n    hold: 10s\n"


def test_config_voice_defaults_are_read_like_a_programs(tmp_path):
    c = parse_config("voice: {engine: piper, model: voices/m.onnx, rate: 150, volume: 0.5}\n",
                     str(tmp_path / "config.yaml"))
    v = c.voice
    assert (v.engine, v.rate, v.volume) == ("piper", 150, 0.5)
    assert v.model == str(tmp_path / "voices" / "m.onnx")  # relative to the config's folder
    assert v.given == {"engine", "model", "rate", "volume"}
    assert parse_config("device: pulse\n", "c.yaml").voice is None


def test_config_voice_mistakes_point_at_them():
    with pytest.raises(CoachError) as e:
        parse_config("voice:\n  rate: 999\n  engine: espek\n  pitch: 3\n", "c.yaml")
    assert [str(d) for d in e.value.diagnostics] == [
        "c.yaml:2:9: error: voice.rate must be between 80 and 400, got 999",
        'c.yaml:3:11: error: voice.engine must be one of espeak, piper, got "espek" '
        '(did you mean "espeak"?)',
        'c.yaml:4:3: error: unknown key "pitch" in voice']


def test_program_voice_overrides_config_key_by_key():
    defaults = parse_config("voice: {engine: espeak, voice: en-us, rate: 150, volume: 0.5}\n",
                            "c.yaml").voice
    p = with_voice_defaults(parse_program(VOICE_PROGRAM.format(voice="voice: {rate: 200}\n")),
                            defaults)
    assert (p.voice.engine, p.voice.voice, p.voice.rate, p.voice.volume) == (
        "espeak", "en-us", 200, 0.5)
    # a program without voice: takes every default; no config: the built-in defaults
    bare = parse_program(VOICE_PROGRAM.format(voice=""))
    assert with_voice_defaults(bare, defaults).voice.rate == 150
    assert with_voice_defaults(bare, None).voice == VoiceSettings()
    assert with_voice_defaults(bare, None) is bare
    # a key neither says keeps the built-in default
    only_rate = parse_config("voice: {rate: 120}\n", "c.yaml").voice
    merged = with_voice_defaults(bare, only_rate).voice
    assert (merged.engine, merged.rate, merged.volume) == ("espeak", 120, 0.9)


def test_config_voice_changes_the_timeline(tmp_path):
    # The announcement's length is estimated from the voice rate: the defaults reach the compiler.
    from coach.core.timeline import compile_program
    bare = parse_program(VOICE_PROGRAM.format(voice=""))
    slow = parse_config("voice: {rate: 80}\n", "c.yaml").voice
    fast = parse_config("voice: {rate: 400}\n", "c.yaml").voice
    a = compile_program(with_voice_defaults(bare, slow)).phases[0]
    b = compile_program(with_voice_defaults(bare, fast)).phases[0]
    assert a.phase == b.phase == "announce" and a.duration_ms > b.duration_ms


@pytest.mark.parametrize("written, resolved", [
    ("voices/joe.onnx", "{dir}/voices/joe.onnx"), ("joe.onnx", "{dir}/joe.onnx"),
    ("../m/joe.onnx", "{dir}/../m/joe.onnx"), ("/abs/joe.onnx", "/abs/joe.onnx"),
    ("~/joe.onnx", "~/joe.onnx"), ("en_US-joe-medium", "en_US-joe-medium")])
def test_relative_model_path_is_read_from_the_programs_folder(written, resolved):
    text = VOICE_PROGRAM.format(voice=f"voice: {{engine: piper, model: {written}}}\n")
    p = parse_program(text, "/home/u/progs/p.yaml")
    assert p.voice.model == resolved.format(dir="/home/u/progs")
    assert parse_program(text).voice.model == written  # text without a file: as written


def test_coach_voices_uses_config_defaults_under_the_program(tmp_path, espeak):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("voice: {rate: 150, volume: 0.5}\n")
    prog = tmp_path / "p.yaml"
    prog.write_text(VOICE_PROGRAM.format(voice="voice: {rate: 200}\n"))
    r = coach("voices", "--config", str(cfg), str(prog), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"  {prog}: espeak " in r.stdout and ", 200 wpm, volume 0.5" in r.stdout


@pytest.mark.slow  # Piper
def test_relative_piper_model_from_another_working_directory(tmp_path):
    from coach.audio.voice import VoiceUnavailable, piper_problem, resolve_piper_model
    from tests.support.real import need
    need(piper_problem() is None, f"Piper ({piper_problem()})")
    try:
        joe = resolve_piper_model(None, "en").path
    except VoiceUnavailable as e:
        need(False, f"the default Piper voice ({e})")
        raise
    progs = tmp_path / "progs"
    (progs / "voices").mkdir(parents=True)
    (progs / "voices" / "mine.onnx").symlink_to(joe)
    (progs / "voices" / "mine.onnx.json").symlink_to(joe.with_name(joe.name + ".json"))
    prog = progs / "p.yaml"
    prog.write_text(VOICE_PROGRAM.format(voice="voice: {engine: piper, model: voices/mine.onnx}\n"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = coach("voices", "--config", str(tmp_path / "none.yaml"), str(prog), cwd=elsewhere)
    assert "no such file" in r.stderr  # a config named on the command line must exist
    (tmp_path / "none.yaml").write_text("")
    r = coach("voices", "--config", str(tmp_path / "none.yaml"), str(prog), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if str(prog) in ln)
    assert f"piper mine ({progs / 'voices' / 'mine.onnx'})" in line and "instead of" not in line


def test_daemon_applies_config_voice_defaults(tmp_path):
    from coach.daemon.app import Daemon
    progs = tmp_path / "progs"
    progs.mkdir()
    (progs / "a.yaml").write_text(VOICE_PROGRAM.format(voice="voice: {volume: 0.3}\n"))
    d = Daemon(progs, voice_defaults=parse_config("voice: {rate: 120, volume: 0.8}\n",
                                                  "c.yaml").voice)
    d.library.scan()
    resolved = d.library.resolve("a")
    program, timeline = resolved.program, resolved.timeline
    assert (program.voice.rate, program.voice.volume) == (120, 0.3)
    assert timeline.voice.rate == 120


def test_duck_is_on_at_minus_12_db_by_default_and_takes_a_level_or_false():
    assert parse_config("", "c.yaml").duck_db == -12.0
    assert parse_config("duck: {level: -6dB}\n", "c.yaml").duck_db == -6.0
    assert parse_config("duck: {level: -18 dB}\n", "c.yaml").duck_db == -18.0
    assert parse_config("duck: false\n", "c.yaml").duck_db is None
    assert parse_config("duck: true\n", "c.yaml").duck_db == -12.0
    for text, message in [("duck: {level: 3dB}\n", "must be a negative level in dB"),
                          ("duck: {level: loud}\n", "must be a negative level in dB"),
                          ("duck: {levl: -6dB}\n", 'did you mean "level"'),
                          ("duck: maybe\n", "duck must be true or false")]:
        with pytest.raises(CoachError) as e:
            parse_config(text, "c.yaml")
        assert message in str(e.value), (text, str(e.value))
