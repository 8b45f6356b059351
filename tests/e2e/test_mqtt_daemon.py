"""Home Assistant over MQTT end to end: a real `coach daemon` process (PulseAudio null sink)
with `mqtt:` in its config.yaml, a real mosquitto, and a paho client standing in for Home
Assistant. A button press changes `coach status`; kill -9 of the daemon makes the broker say
`offline` for it (the last will)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from coach.daemon.mqtt.discovery import Topics, node_id
from tests.support.audio import PulseServer, need_pulse
from tests.support.broker import Mosquitto, Watcher
from tests.support.coachd import ROW_DAY, Coachd

pytestmark = pytest.mark.slow

T = Topics(node_id(socket.gethostname()), "homeassistant")


@pytest.fixture
def pulse(tmp_path_factory):
    need_pulse()
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


def test_a_button_moves_the_daemon_and_a_killed_daemon_is_unavailable(
        tmp_path: Path, pulse: PulseServer, espeak) -> None:
    with Mosquitto(tmp_path) as broker:
        env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
        d = Coachd(tmp_path, env)
        config = Path(d.env["XDG_CONFIG_HOME"]) / "coach" / "config.yaml"
        config.parent.mkdir(parents=True)
        config.write_text(f"mqtt: {{host: 127.0.0.1, port: {broker.port}}}\nmpris: false\n")
        (d.programs / "row.yaml").write_text(ROW_DAY.format(name="Row day"))
        ha = Watcher(broker.port)
        try:
            d.start()
            ha.wait(T.availability, lambda t: t == "online", timeout=15)
            found = ha.wait_json(T.discovery, lambda p: p["components"]["program_select"]
                                 ["options"] == ["row"], timeout=10)
            assert found["device"]["identifiers"] == [T.node]
            assert d.status()["problems"] == []
            ha.publish(T.command("start"), "PRESS")  # the select shows the only program
            d.wait_for(lambda s: s["state"] == "playing", what="started by the button")
            ha.publish(T.command("pause"), "PRESS")
            st = d.wait_for(lambda s: s["state"] == "paused", what="paused by the button")
            assert st["program"] == "Row day"
            assert "paused: Row day" in d.ok("status")
            ha.wait_json(T.state, lambda s: s["state"] == "paused" and s["exercise"] == "Row")
            n = len(ha.messages)
            d.stop(signal.SIGKILL)  # no goodbye: the broker's will for it
            assert ha.wait(T.availability, lambda t: t == "offline", after=n, timeout=10)
            assert "mqtt: connected to 127.0.0.1" in d.text()
        finally:
            ha.close()
            d.cleanup()
