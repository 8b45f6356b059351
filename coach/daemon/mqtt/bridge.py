"""The daemon as a Home Assistant device over MQTT (`mqtt:` in config.yaml; off without it).

paho-mqtt's synchronous client, driven by this part's one thread: it connects (and, on a wrong
host, refused credentials or a lost broker, says so in one log line and retries with back-off),
runs paho's network loop, asks ``status`` every POLL_S and publishes what changed (retained),
reads ``programs`` every PROGRAMS_S for the select, and turns button presses into requests of
the command table. Like every other input it only posts requests through ``handler``
(``Daemon.handle``, which waits for the session thread's reply with a timeout): a dead broker
never holds up a session. Finished sets come from the session thread through ``set_ended``,
which only queues them.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from coach.core.types import QUESTIONS, RATING_MAX, RATING_MIN, Question, is_rating
from coach.daemon.mqtt import discovery
from coach.daemon.mqtt.discovery import NONE, OFFLINE, ONLINE, RatedUnit, Topics
from coach.protocol import messages as protocol
from coach.protocol.messages import (
    Failed,
    GetStatus,
    ProgramList,
    Programs,
    Rate,
    Rated,
    Reply,
    Request,
    SetEnded,
    Start,
    Status,
)
from coach.store.config import MqttConfig

log = logging.getLogger(__name__)

Handler = Callable[[Request], Reply]
# How often `status` is asked: a phase change reaches a subscriber within this (plus the
# network), under the 0.5 s (bench/bench_mqtt.py measures it).
POLL_S = 0.25
PROGRAMS_S = 2.0  # the library is rescanned every 2 s by the session thread
KEEPALIVE_S = 30
BACKOFF_S = (1.0, 60.0)  # the first retry after 1 s, doubling up to a minute
CONNECT_TIMEOUT_S = 5.0
JOIN_S = 5.0

# A button's request (start is the select's program, below).
REQUESTS: dict[str, Callable[[], Request]] = {
    "pause": protocol.Pause, "resume": protocol.Resume, "skip": protocol.Skip,
    "back": protocol.Back, "stop": protocol.Stop, "extend": protocol.Extend,
}


class MqttBridge:
    """One broker connection on its own thread; ``start(handler)`` and ``close()`` as the
    other inputs; ``problem()`` for status, ``set_ended`` for the session thread."""

    def __init__(self, config: MqttConfig, password: str | None = None,
                 hostname: str | None = None, poll_s: float = POLL_S) -> None:
        self.config = config
        self.hostname = hostname or socket.gethostname()
        self.topics = Topics(discovery.node_id(self.hostname), config.discovery_prefix)
        self.poll_s = poll_s
        self.where = f"{config.host}:{config.port}"
        self.handler: Handler | None = None
        self.programs: list[str] = []
        self.selected: str | None = None
        self.connected = False
        self._problem: str | None = f"mqtt: not connected to {self.where} yet"
        self._said: str | None = None  # the last failure logged (each one once)
        self._stop = threading.Event()
        self._events: queue.SimpleQueue[SetEnded] = queue.SimpleQueue()
        self._inbox: list[tuple[str, bytes]] = []  # messages received, handled after loop()
        self._last_state: str | None = None
        # The ratings given here and the set (side) they went to; what each rating topic holds.
        self._rated: RatedUnit | None = None
        self._ratings: dict[Question, int] = {}
        self._shown: dict[Question, str] = {}
        self._thread: threading.Thread | None = None
        t = self.topics
        c = self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                      client_id=f"{t.node}-{os.getpid()}")
        if config.username is not None:
            c.username_pw_set(config.username, password)
        # A killed daemon (kill -9, power cut): the broker says `offline` for it.
        c.will_set(t.availability, OFFLINE, qos=1, retain=True)
        c.connect_timeout = CONNECT_TIMEOUT_S
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message

    # --- any thread ---------------------------------------------------------------------------

    def start(self, handler: Handler) -> None:
        self.handler = handler
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_S)

    def problem(self) -> str | None:
        """A line for status's problems while configured but not connected."""
        return self._problem

    def set_ended(self, ev: SetEnded) -> None:
        """From the session thread: queued, never blocking."""
        self._events.put(ev)

    # --- this part's thread -------------------------------------------------------------------

    def _run(self) -> None:
        delay = BACKOFF_S[0]
        self._read_programs()  # the select's options are in the first discovery payload
        next_poll = 0.0
        next_programs = time.monotonic() + PROGRAMS_S
        sock = False  # a socket to the broker is open (CONNACK may still be due)
        while not self._stop.is_set():
            if not sock:
                try:
                    self.client.connect(self.config.host, self.config.port, KEEPALIVE_S)
                    sock = True
                except (OSError, ValueError) as e:  # unknown host, refused, timed out
                    self._fail(f"cannot connect to {self.where}: {e}")
                    self._stop.wait(delay)
                    delay = min(delay * 2, BACKOFF_S[1])
                    continue
            now = time.monotonic()
            rc = self.client.loop(timeout=max(0.0, min(next_poll, next_programs) - now))
            if self.connected:
                delay = BACKOFF_S[0]
            if rc != paho.MQTT_ERR_SUCCESS:
                sock = False
                self._lost(f"lost the connection to {self.where}: {paho.error_string(rc)}")
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_S[1])
                continue
            self._handle_inbox()
            now = time.monotonic()
            if now >= next_programs:
                next_programs = now + PROGRAMS_S
                self._read_programs()
            if now >= next_poll:
                next_poll = now + self.poll_s
                self._poll()
            self._send_events()
        self._goodbye(sock)

    def _goodbye(self, sock: bool) -> None:
        """A clean stop: `offline` now (a clean disconnect sends no will)."""
        if sock and self.connected:
            info = self.client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)
            self.client.disconnect()
        self.connected = False

    def _fail(self, what: str) -> None:
        self._problem = f"mqtt: {what}"
        if what != self._said:  # one line per failure, not one per retry
            log.warning("mqtt: %s; retrying with back-off (up to %g s)", what, BACKOFF_S[1])
            self._said = what
        else:
            log.debug("mqtt: %s (still)", what)

    def _lost(self, what: str) -> None:
        if self.connected or self._said is None:
            self._fail(what)
        self.connected = False

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._fail(f"{self.where} refused the connection: {reason}")
            return
        self.connected = True
        self._problem = None
        log.info("mqtt: connected to %s as %s", self.where, self.topics.node)
        self._said = None
        t = self.topics
        client.subscribe([(t.birth, 0), (t.commands, 0), (t.program_set, 0), (t.ratings_set, 0)])
        client.publish(t.availability, ONLINE, qos=1, retain=True)
        self._announce()
        self._last_state = None  # everything again: the broker may have restarted empty
        self._shown = {}

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self.connected and not self._stop.is_set():
            self._lost(f"lost the connection to {self.where}: {reason}")
        self.connected = False

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        self._inbox.append((msg.topic, bytes(msg.payload)))

    def _announce(self) -> None:
        """Discovery, the select's state and the rating's: retained."""
        if not self.connected:
            return
        t = self.topics
        payload = discovery.device_config(t, self.programs, self.hostname)
        self.client.publish(t.discovery, discovery.dumps(payload), qos=1, retain=True)
        self.client.publish(t.program, self.selected or NONE, qos=1, retain=True)

    def _handle_inbox(self) -> None:
        inbox, self._inbox = self._inbox, []
        t = self.topics
        for topic, raw in inbox:
            payload = raw.decode("utf-8", "replace").strip()
            if topic == t.birth:
                if payload == ONLINE:  # Home Assistant (re)started: tell it again
                    log.info("mqtt: Home Assistant is online; discovery sent again")
                    self._announce()
                    self._last_state = None
                    self._shown = {}
            elif topic == t.program_set:
                if payload in self.programs:
                    self.selected = payload
                    self.client.publish(t.program, payload, qos=1, retain=True)
                else:
                    log.info("mqtt: no program %r to select (known: %s)", payload,
                             ", ".join(self.programs) or "none")
            elif topic.startswith(t.base + "/rating/"):
                question = topic.split("/")[-2]
                if question in QUESTIONS:
                    self._rate(question, payload)
            elif topic.startswith(t.base + "/cmd/"):
                self._button(topic.rsplit("/", 1)[1])

    def _ask(self, req: Request) -> Reply | None:
        if self.handler is None:
            return None
        return self.handler(req)

    def _button(self, verb: str) -> None:
        if verb == "start":
            if self.selected is None:
                log.info("mqtt: start pressed with no program selected")
                return
            req: Request = Start(self.selected)
        elif verb in REQUESTS:
            req = REQUESTS[verb]()
        else:
            log.info("mqtt: no button %r", verb)
            return
        reply = self._ask(req)
        if isinstance(reply, Failed):
            log.info("mqtt: %s: %s", verb, reply.error)
        self._poll()  # what it changed, at once

    def _rate(self, question: Question, payload: str) -> None:
        try:
            value = float(payload)
        except ValueError:
            value = float("nan")
        if not value.is_integer() or not is_rating(int(value)):
            log.info("mqtt: a rating is a whole number from %d to %d, got %r", RATING_MIN,
                     RATING_MAX, payload)
            return
        reply = self._ask(Rate(int(value), question))
        if isinstance(reply, Failed):
            log.info("mqtt: rate: %s", reply.error)
        if not isinstance(reply, Rated):
            return
        st = self._ask(GetStatus())
        if not isinstance(st, Status):
            return
        unit = discovery.rated_unit(st, reply)
        if unit is not None:
            if self._rated is None or self._rated.key != unit.key:
                self._rated, self._ratings = unit, {}
            self._ratings[reply.question] = reply.value
        self._show_ratings(st)

    def _poll(self) -> None:
        reply = self._ask(GetStatus())
        if not isinstance(reply, Status) or not self.connected:
            return
        text = discovery.dumps(discovery.state(reply))
        if text != self._last_state:
            self.client.publish(self.topics.state, text, qos=1, retain=True)
            self._last_state = text
        self._show_ratings(reply)

    def _show_ratings(self, st: Status) -> None:
        """Each rating topic as this status says it is now: the value given to the set just
        done while its window lasts, None from the next set (side) on. Derived from the status
        alone, not from having seen the set change: a session can move through a whole set
        between two polls (the in-process Rig does, and a skip does)."""
        if self._rated is not None and not discovery.still_rateable(st, self._rated):
            self._rated, self._ratings = None, {}
        if not self.connected:
            return
        for q, payload in discovery.ratings_shown(st, self._rated, self._ratings).items():
            if self._shown.get(q) != payload:
                self.client.publish(self.topics.rating(q), payload, qos=1, retain=True)
                self._shown[q] = payload

    def _read_programs(self) -> None:
        reply = self._ask(Programs())
        if not isinstance(reply, ProgramList):
            return
        programs = [stem for stem, p in reply.programs.items() if p.name is not None]
        if programs == self.programs:
            return
        self.programs = programs
        if self.selected not in programs:
            self.selected = programs[0] if programs else None
        self._announce()  # the select's options are in the discovery payload

    def _send_events(self) -> None:
        while True:
            try:
                ev = self._events.get_nowait()
            except queue.Empty:
                return
            if self.connected:  # an event is news, never retained (Home Assistant ignores it)
                self.client.publish(self.topics.set_ended, discovery.dumps(discovery.event(ev)),
                                    qos=1)
