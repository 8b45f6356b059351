"""A real MQTT broker for the tests: Debian's mosquitto on a free loopback port (a two-line
config), and a paho client that records what it sees, as Home Assistant would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.real import need

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """`mosquitto -c CONF` on 127.0.0.1:PORT; ``restart`` keeps the port (and loses every
    retained message: no persistence, like a broker that crashed)."""

    def __init__(self, tmp: Path, port: int | None = None, password_file: Path | None = None) -> None:
        need(Path(MOSQUITTO).exists(), "mosquitto (Debian's package: apt-get install mosquitto)")
        self.port = port or free_port()
        self.conf = tmp / f"mosquitto-{self.port}.conf"
        conf = f"listener {self.port} 127.0.0.1\n"
        if password_file is None:
            conf += "allow_anonymous true\n"
        else:
            conf += f"allow_anonymous false\npassword_file {password_file}\n"
        if os.geteuid() == 0:  # as root it would become the mosquitto user, which cannot
            conf += "user root\n"  # read a test's files
        self.conf.write_text(conf)
        self.log = tmp / f"mosquitto-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.05)
        raise AssertionError("mosquitto did not listen:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
            self.logf.close()
        self.proc = None

    def restart(self, down_s: float = 0.5) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Watcher:
    """A paho client subscribed to ``topics``: every message (topic, text, retained, the
    monotonic time it arrived), and a ``publish`` for button presses."""

    def __init__(self, port: int, topics: tuple[str, ...] = ("#",)) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion
        self.messages: list[tuple[str, str, bool, float]] = []
        self.cond = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"watcher-{id(self)}")
        subscribed = threading.Event()

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            c.subscribe([(t, 1) for t in topics])

        def on_message(c: Any, u: Any, msg: Any) -> None:
            with self.cond:
                self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain),
                                      time.monotonic()))
                self.cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert subscribed.wait(10), "the watcher did not subscribe"

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def last(self, topic: str) -> str | None:
        with self.cond:
            for t, text, _, _ in reversed(self.messages):
                if t == topic:
                    return text
        return None

    def wait(self, topic: str, pred: Any = lambda text: True, timeout: float = 10,
             after: int = 0) -> str:
        """The first message on ``topic`` (from index ``after`` on) that ``pred`` accepts."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, text, _, _ in self.messages[after:]:
                    if t == topic and pred(text):
                        return text
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m[:2] for m in self.messages if m[0] == topic][-5:]
                    raise AssertionError(f"no message on {topic} as expected; last: {seen}")
                self.cond.wait(left)

    def wait_json(self, topic: str, pred: Any = lambda obj: True, timeout: float = 10,
                  after: int = 0) -> dict:
        text = self.wait(topic, lambda t: bool(t) and pred(json.loads(t)), timeout, after)
        return json.loads(text)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
