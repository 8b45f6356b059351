"""config.yaml's `mqtt:` (Home Assistant over MQTT): off when absent, defaults, every mistake
at its line and column, and the password file read at daemon start."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.core.errors import CoachError
from coach.store.config import Config, MqttConfig, parse_config, read_password


def test_mqtt_is_off_unless_configured():
    assert Config().mqtt is None and parse_config("rate: 48000\n", "c.yaml").mqtt is None


def test_mqtt_defaults_and_a_relative_password_file(tmp_path: Path):
    c = parse_config("mqtt: {host: broker.lan}\n", str(tmp_path / "config.yaml"))
    assert c.mqtt == MqttConfig("broker.lan")
    assert (c.mqtt.port, c.mqtt.discovery_prefix, c.mqtt.username) == (1883, "homeassistant", None)
    c = parse_config("mqtt:\n  host: 10.0.0.2\n  port: 8883\n  username: coach\n"
                     "  password_file: mqtt.pw\n  discovery_prefix: ha\n",
                     str(tmp_path / "config.yaml"))
    assert c.mqtt is not None
    assert (c.mqtt.host, c.mqtt.port, c.mqtt.username) == ("10.0.0.2", 8883, "coach")
    assert c.mqtt.password_file == tmp_path / "mqtt.pw" and c.mqtt.discovery_prefix == "ha"
    (tmp_path / "mqtt.pw").write_text("s3cret\n")
    assert read_password(c.mqtt) == "s3cret"
    assert read_password(MqttConfig("h")) is None


def test_mqtt_mistakes_at_their_line_and_column():
    with pytest.raises(CoachError) as e:
        parse_config("mqtt:\n  hots: x\n  port: 99999\n  discovery_prefix: home/#\n", "c.yaml")
    lines = str(e.value).splitlines()
    assert lines[0].startswith('c.yaml:2:3: error: unknown key "hots" in mqtt') and "host" in lines[0]
    assert any(x.startswith("c.yaml:2:3: error: mqtt needs a host") for x in lines), lines
    assert any(x.startswith("c.yaml:3:9: error: mqtt.port") for x in lines), lines
    assert any(x.startswith("c.yaml:4:21: error: mqtt.discovery_prefix") for x in lines), lines
    with pytest.raises(CoachError, match=r"c.yaml:1:7: error: mqtt must be a mapping"):
        parse_config("mqtt: yes\n", "c.yaml")


def test_an_unreadable_password_file_names_the_key(tmp_path: Path):
    c = parse_config("mqtt:\n  host: h\n  password_file: nope.pw\n", str(tmp_path / "c.yaml"))
    assert c.mqtt is not None
    with pytest.raises(CoachError) as e:
        read_password(c.mqtt)
    assert str(e.value).startswith(f"{tmp_path / 'c.yaml'}:3:18: error: mqtt.password_file: "
                                   f"cannot read {tmp_path / 'nope.pw'}: No such file")
