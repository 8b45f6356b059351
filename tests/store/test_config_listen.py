"""config.yaml's `listen: {source: NAME}`: off when absent, the source's name as given, and a
mistake is one line naming file, line and field."""

from __future__ import annotations

import pytest

from coach.core.errors import CoachError
from coach.store.config import parse_config


@pytest.mark.parametrize("text,source", [
    ("", None),
    ("listen: {source: mic.monitor}\n", "mic.monitor"),
    ("listen: {source: default}\n", "default"),
    ("listen:\n  source: alsa_input.usb-Jabra.mono-fallback\n",
     "alsa_input.usb-Jabra.mono-fallback"),
])
def test_listen_source(text: str, source: str | None) -> None:
    assert parse_config(text, "config.yaml").listen_source == source


@pytest.mark.parametrize("text,message", [
    ("listen: {}\n",
     "config.yaml:1:9: error: listen needs `source: NAME`, a PulseAudio/PipeWire source "
     "(`pactl list short sources` lists them) or `source: default`"),
    ("listen: {source: 'a b'}\n",
     'config.yaml:1:18: error: listen.source "a b" must be a source name without spaces, like '
     "alsa_input.usb-headset.mono-fallback or default"),
    ("listen: {source: mic, rate: 8000}\n", 'config.yaml:1:23: error: unknown key "rate" in listen'),
    ("listen: mic\n", None),
])
def test_listen_mistakes_are_one_line_each(text: str, message: str | None) -> None:
    with pytest.raises(CoachError) as e:
        parse_config(text, "config.yaml")
    assert len(e.value.diagnostics) == 1
    if message is not None:
        assert str(e.value) == message
    assert "Traceback" not in str(e.value)


@pytest.mark.parametrize("text,hold", [
    ("listen: {source: mic.monitor}\n", 600),
    ("listen: {source: mic.monitor, hold: 800ms}\n", 800),
    ("listen: {source: mic.monitor, hold: 1s}\n", 1000),
])
def test_listen_hold(text: str, hold: int) -> None:
    assert parse_config(text, "config.yaml").listen_hold_ms == hold


@pytest.mark.parametrize("text,message", [
    ("listen: {source: mic, hold: 5s}\n",
     "config.yaml:1:29: error: listen.hold must be between 0.3s and 3s, got \"5s\""),
    ("listen: {source: mic, hold: soon}\n", None),
])
def test_listen_hold_mistakes_are_one_line_each(text: str, message: str | None) -> None:
    with pytest.raises(CoachError) as e:
        parse_config(text, "config.yaml")
    assert len(e.value.diagnostics) == 1
    if message is not None:
        assert str(e.value) == message


@pytest.mark.parametrize("text,engine", [
    ("listen: {source: mic.monitor}\n", "pocketsphinx"),
    ("listen: {source: mic.monitor, engine: pocketsphinx}\n", "pocketsphinx"),
    ("listen: {source: mic.monitor, engine: moonshine}\n", "moonshine"),
])
def test_listen_engine(text: str, engine: str) -> None:
    assert parse_config(text, "config.yaml").listen_engine == engine


def test_listen_engine_mistake_is_one_line() -> None:
    with pytest.raises(CoachError) as e:
        parse_config("listen: {source: mic, engine: whisper}\n", "config.yaml")
    assert len(e.value.diagnostics) == 1
    assert str(e.value) == ("config.yaml:1:31: error: listen.engine must be one of pocketsphinx, "
                            'moonshine, got "whisper"')
