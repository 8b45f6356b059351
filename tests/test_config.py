"""config.yaml: validated like programs, every mistake at once, defaults when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.daemon.config import Config, load_config, parse_config, programs_dir
from coach.core.errors import CoachError


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
