"""Home Assistant over MQTT (coach/daemon/mqtt/) against a real mosquitto on a loopback port:
the discovery payload checked field by field against Home Assistant's documented schema, the
state it keeps, buttons, select, ratings and the set-ended event moving the in-process daemon,
a broker restart, and a wrong host or bad credentials (one log line, retries, the session
unharmed, `problems` says so)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coach.core.types import PHASE_KINDS, QUESTIONS, SESSION_STATES, SET_OUTCOMES
from coach.daemon.mqtt import MqttBridge
from coach.daemon.mqtt.bridge import POLL_S
from coach.daemon.mqtt.discovery import (
    Topics,
    node_id,
    rated_unit,
    ratings_shown,
    still_rateable,
)
from coach.protocol.messages import Rated, Status
from coach.store.config import MqttConfig
from tests.support.broker import Mosquitto, Watcher, free_port
from tests.support.real import need
from tests.support.rig import PROGRAM, Rig

pytestmark = pytest.mark.slow  # a real mosquitto broker started for each test

HOST = "gym-pi"
T = Topics(node_id(HOST), "homeassistant")

# --- Home Assistant's documented discovery schema (integrations/mqtt, and each platform's page;
# the voluptuous schemas in homeassistant/components/mqtt: schemas.py, sensor.py, button.py,
# select.py, number.py, event.py). Each key: a check of its value. -----------------------------


def is_str(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def is_topic(v: Any) -> bool:
    """A topic to publish to: no wildcards, no NUL, at most 65535 bytes."""
    return is_str(v) and not any(c in v for c in "#+\x00") and len(v.encode()) <= 65535


def is_filter(v: Any) -> bool:
    return is_str(v) and "\x00" not in v


def is_template(v: Any) -> bool:
    return is_str(v) and v.count("{{") == v.count("}}") >= 1


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def one_of(*choices: str):
    return lambda v: v in choices


def str_list(v: Any) -> bool:
    return isinstance(v, list) and all(is_str(x) for x in v)


AVAILABILITY = {"availability_topic": is_filter, "availability_template": is_template,
                "payload_available": is_str, "payload_not_available": is_str,
                "availability_mode": one_of("all", "any", "latest"),
                "availability": lambda v: isinstance(v, list)}
COMMON = {**AVAILABILITY, "platform": one_of("sensor", "button", "select", "number", "event"),
          "name": lambda v: v is None or is_str(v), "unique_id": is_str,
          "icon": lambda v: is_str(v) and re.fullmatch(r"mdi:[a-z0-9-]+", v) is not None,
          "enabled_by_default": lambda v: isinstance(v, bool),
          "entity_category": one_of("config", "diagnostic"), "object_id": is_str,
          "default_entity_id": is_str, "json_attributes_topic": is_filter,
          "json_attributes_template": is_template, "qos": one_of(0, 1, 2), "encoding": is_str}
PLATFORMS: dict[str, tuple[set[str], dict]] = {  # platform: (required keys, key checks)
    "sensor": ({"state_topic"}, {
        "state_topic": is_filter, "value_template": is_template, "device_class": is_str,
        "unit_of_measurement": is_str,
        "state_class": one_of("measurement", "total", "total_increasing"),
        "expire_after": lambda v: isinstance(v, int) and v >= 0,
        "force_update": lambda v: isinstance(v, bool), "options": str_list,
        "suggested_display_precision": lambda v: isinstance(v, int) and v >= 0}),
    "button": ({"command_topic"}, {
        "command_topic": is_topic, "command_template": is_template, "payload_press": is_str,
        "retain": lambda v: isinstance(v, bool),
        "device_class": one_of("identify", "restart", "update")}),
    "select": ({"command_topic", "options"}, {
        "command_topic": is_topic, "state_topic": is_filter, "options": str_list,
        "value_template": is_template, "command_template": is_template,
        "optimistic": lambda v: isinstance(v, bool), "retain": lambda v: isinstance(v, bool)}),
    "number": ({"command_topic"}, {
        "command_topic": is_topic, "state_topic": is_filter, "min": is_num, "max": is_num,
        "step": lambda v: is_num(v) and v >= 0.001, "mode": one_of("auto", "box", "slider"),
        "unit_of_measurement": is_str, "device_class": is_str, "value_template": is_template,
        "command_template": is_template, "payload_reset": is_str,
        "optimistic": lambda v: isinstance(v, bool), "retain": lambda v: isinstance(v, bool)}),
    "event": ({"state_topic", "event_types"}, {
        "state_topic": is_filter, "event_types": lambda v: str_list(v) and len(v) > 0,
        "value_template": is_template, "device_class": one_of("button", "doorbell", "motion")}),
}
DEVICE = {"identifiers": str_list, "connections": lambda v: isinstance(v, list), "name": is_str,
          "manufacturer": is_str, "model": is_str, "model_id": is_str, "sw_version": is_str,
          "hw_version": is_str, "serial_number": is_str, "suggested_area": is_str,
          "configuration_url": is_str, "via_device": is_str}
ORIGIN = {"name": is_str, "sw_version": is_str, "support_url": is_str}
ROOT = {**AVAILABILITY, "device": dict, "origin": dict, "components": dict,
        "state_topic": is_filter, "command_topic": is_topic, "qos": one_of(0, 1, 2),
        "encoding": is_str}
# Sensor device classes' units (the sensor page): a duration is in d, h, min, s or ms.
DURATION_UNITS = {"d", "h", "min", "s", "ms"}


def check(obj: dict, checks: dict, where: str) -> list[str]:
    bad = []
    for key, value in obj.items():
        if key not in checks:
            bad.append(f"{where}: {key!r} is not a documented key")
        elif checks[key] is dict:
            if not isinstance(value, dict):
                bad.append(f"{where}: {key} must be a mapping")
        elif not checks[key](value):
            bad.append(f"{where}: {key}={value!r} does not fit the schema")
    return bad


def schema_errors(payload: dict) -> list[str]:
    """Every way ``payload`` (a device discovery payload) strays from the documented schema."""
    bad = check(payload, ROOT, "root")
    for key in ("device", "origin", "components"):
        if key not in payload:
            bad.append(f"root: {key} is required")
    dev, origin = payload.get("device", {}), payload.get("origin", {})
    bad += check(dev, DEVICE, "device") + check(origin, ORIGIN, "origin")
    if not dev.get("identifiers") and not dev.get("connections"):
        bad.append("device: needs identifiers or connections")
    if "name" not in origin:
        bad.append("origin: name is required")
    uids = []
    for cid, comp in payload.get("components", {}).items():
        if not re.fullmatch(r"[a-zA-Z0-9_-]+", cid):
            bad.append(f"component id {cid!r}: not [a-zA-Z0-9_-]")
        platform = comp.get("platform")
        if platform not in PLATFORMS:
            bad.append(f"{cid}: platform {platform!r} is not one coach should use")
            continue
        required, checks = PLATFORMS[platform]
        bad += check(comp, {**COMMON, **checks}, cid)
        bad += [f"{cid}: {k} is required" for k in sorted(required | {"unique_id"}) if k not in comp]
        uids.append(comp.get("unique_id"))
        if comp.get("device_class") == "enum" and (not comp.get("options") or
                                                   "unit_of_measurement" in comp or
                                                   "state_class" in comp):
            bad.append(f"{cid}: an enum sensor has options and no unit or state_class")
        if comp.get("device_class") == "duration" and \
                comp.get("unit_of_measurement") not in DURATION_UNITS:
            bad.append(f"{cid}: a duration's unit is one of {sorted(DURATION_UNITS)}")
        if platform == "number" and comp.get("min", 1) >= comp.get("max", 100):
            bad.append(f"{cid}: min must be below max")
    if len(set(uids)) != len(uids):
        bad.append("unique_id values repeat")
    return bad


def test_the_schema_check_catches_mistakes():
    """The checker above is able to fail (so its silence about coach's payload means something)."""
    ok = {"device": {"identifiers": ["x"]}, "origin": {"name": "coach"},
          "components": {"a": {"platform": "sensor", "unique_id": "u", "state_topic": "s"}}}
    assert schema_errors(ok) == []
    wrong = json.loads(json.dumps(ok))
    del wrong["origin"]
    wrong["device"] = {"name": "x"}
    wrong["components"]["a"].update(stat_t="s", state_class="sometimes")
    wrong["components"]["b"] = {"platform": "button", "unique_id": "u",
                                "command_topic": "coach/+/press"}
    errors = schema_errors(wrong)
    assert any("origin is required" in e for e in errors)
    assert any("identifiers or connections" in e for e in errors)
    assert any("'stat_t' is not a documented key" in e for e in errors)
    assert any("state_class='sometimes'" in e for e in errors)
    assert any("command_topic='coach/+/press'" in e for e in errors)
    assert any("unique_id values repeat" in e for e in errors)


# --- the daemon with a bridge, a broker and Home Assistant's view of it -----------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path) as b:
        yield b


@pytest.fixture
def rig(tmp_path: Path, espeak: None) -> Iterator[Rig]:
    with Rig(tmp_path) as r:
        (r.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        r.call("reload")
        yield r


def bridge_for(rig: Rig, port: int, poll_s: float = POLL_S, **kw: Any) -> MqttBridge:
    b = MqttBridge(MqttConfig("127.0.0.1", port, **kw), hostname=HOST, poll_s=poll_s)
    rig.d.problem_sources.append(b.problem)
    rig.d.set_listeners.append(b.set_ended)
    b.start(rig.d.handle)
    return b


@pytest.fixture
def ha(broker: Mosquitto, rig: Rig) -> Iterator[tuple[Watcher, MqttBridge]]:
    watcher = Watcher(broker.port)
    bridge = bridge_for(rig, broker.port)
    watcher.wait(T.availability, lambda t: t == "online")
    watcher.wait_json(T.discovery, lambda d: d["components"]["program_select"]["options"])
    yield watcher, bridge
    bridge.close()
    watcher.close()


def test_discovery_payload_fits_home_assistants_schema(ha, broker: Mosquitto):
    watcher, _ = ha
    payload = watcher.wait_json(T.discovery)
    assert schema_errors(payload) == []
    assert T.discovery == f"homeassistant/device/{node_id(HOST)}/config"
    # One device, everything an owner needs on a dashboard.
    cmps = payload["components"]
    assert payload["device"]["identifiers"] == [node_id(HOST)]
    assert payload["origin"]["name"] == "coach"
    assert payload["availability_topic"] == T.availability
    sensors = {k for k, c in cmps.items() if c["platform"] == "sensor"}
    assert {"state", "program", "exercise", "set", "side", "phase", "time_left"} <= sensors
    assert cmps["state"]["options"] == list(SESSION_STATES)
    buttons = {k for k, c in cmps.items() if c["platform"] == "button"}
    assert buttons == {"start", "pause", "resume", "skip", "back", "stop", "extend"}
    assert cmps["program_select"]["options"] == ["row"]
    assert {cmps[f"rating_{q}"]["min"] for q in QUESTIONS} == {1}
    assert {cmps[f"rating_{q}"]["max"] for q in QUESTIONS} == {5}
    assert cmps["set_ended"]["event_types"] == list(SET_OUTCOMES)
    # Retained, so Home Assistant finds it after its own restart; so are availability and state.
    # (Each published first, as the first subscriber sees: a subscriber that came before the
    # first state would get it live, unretained, on a loaded machine.)
    for topic in (T.availability, T.state, T.program):
        watcher.wait(topic)
    late = Watcher(broker.port)
    try:
        for topic in (T.discovery, T.availability, T.state, T.program):
            late.wait(topic)
        retained = {t for t, _, r, _ in late.messages if r}
        assert {T.discovery, T.availability, T.state, T.program} <= retained
    finally:
        late.close()


def test_the_state_every_sensor_reads(ha, rig: Rig):
    watcher, _ = ha
    idle = watcher.wait_json(T.state)
    assert idle["state"] == "idle" and idle["exercise"] is None and idle["time_left"] is None
    payload = watcher.wait_json(T.discovery)
    # Every sensor's template reads a key the state has.
    for comp in payload["components"].values():
        if comp["platform"] == "sensor":
            key = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", comp["value_template"])
            assert key is not None and key[1] in idle
    rig.call("start", program="row")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    rig.play_s(7)  # Row set 1's work (6-18 s)
    st = watcher.wait_json(T.state, lambda s: s["phase"] not in (None, "announce", "lead_in"))
    assert st["state"] == "playing" and st["program"] == "Row day" and st["exercise"] == "Row"
    assert st["set"] == "1 of 2" and st["phase"] in PHASE_KINDS and st["side"] is None
    assert 0 < st["time_left"] <= 120


def test_buttons_select_and_start_move_the_daemon(ha, rig: Rig):
    watcher, _ = ha
    watcher.publish(T.command("start"), "PRESS")
    rig.wait_for(lambda s: s["state"] in ("preparing", "playing"), "a start from the button")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    watcher.publish(T.command("pause"), "PRESS")
    assert rig.wait_for(lambda s: s["state"] == "paused", "paused by the button")
    watcher.wait_json(T.state, lambda s: s["state"] == "paused")
    watcher.publish(T.command("resume"), "PRESS")
    rig.wait_for(lambda s: s["state"] == "playing", "resumed by the button")
    before = rig.status()["set"], rig.status()["exercise"]
    watcher.publish(T.command("skip"), "PRESS")
    rig.wait_for(lambda s: (s["set"], s["exercise"]) != before or s.get("phase") == "rest",
                 "skipped by the button")
    watcher.publish(T.command("stop"), "PRESS")
    rig.wait_for(lambda s: s["state"] == "idle", "stopped by the button")
    # The select: a program that is not there changes nothing; one that is is kept (retained).
    watcher.publish(T.program_set, "nope")
    watcher.publish(T.program_set, "row")
    assert watcher.wait(T.program, lambda t: t == "row")


def test_a_rating_and_the_set_ended_event(ha, rig: Rig):
    watcher, _ = ha
    rig.call("start", program="row")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    rig.play_s(19)  # set 1's work is over (6-18 s): its rest, where it is rated
    watcher.publish(T.rating_set("effort"), "4")
    assert watcher.wait(T.rating("effort"), lambda t: t == "4") == "4"
    watcher.publish(T.rating_set("feel"), "9")  # out of range: refused, nothing stored
    rig.play_s(10)  # set 2 starts at 28 s: set 1 is closed
    ev = watcher.wait_json(T.set_ended)
    assert ev["event_type"] == "completed" and ev["exercise"] == "Row" and ev["set"] == 1
    assert ev["ratings"] == {"effort": 4} and ev["done"] == ev["planned"] == 3
    assert ev["measure"] == "reps" and ev["program"] == "Row day"
    # Events are news: never retained (Home Assistant ignores a retained event).
    assert all(not r for t, _, r, _ in watcher.messages if t == T.set_ended)
    # A new set: the rating shown is no longer the last set's.
    assert watcher.wait(T.rating("effort"), lambda t: t == "None")
    # A skipped set says so.
    n = len(watcher.messages)
    watcher.publish(T.command("skip"), "PRESS")  # set 2 cut in its announcement
    rig.play_s(0.5)
    watcher.publish(T.command("skip"), "PRESS")
    ev = watcher.wait_json(T.set_ended, lambda e: e["set"] == 2, after=n)
    assert ev["event_type"] in ("skipped", "partial")


def test_the_rating_is_cleared_by_what_status_says_not_by_a_change_seen(broker: Mosquitto,
                                                                        rig: Rig):
    """The bridge asks status every 0.25 s, and a session can go through a whole set between
    two asks: here it never asks while set 1 plays (a poll period of an hour; a button press
    makes it ask at once), and still clears set 1's rating once it sees set 2."""
    watcher = Watcher(broker.port)
    bridge = bridge_for(rig, broker.port, poll_s=3600)
    try:
        watcher.wait(T.availability, lambda t: t == "online")
        rig.call("start", program="row")
        rig.wait_for(lambda s: s["state"] == "playing", "playing")
        rig.play_s(19)  # set 1's rest
        watcher.publish(T.rating_set("effort"), "4")
        assert watcher.wait(T.rating("effort"), lambda t: t == "4") == "4"
        watcher.publish(T.rating_set("feel"), "2")  # the other question: kept beside it
        assert watcher.wait(T.rating("feel"), lambda t: t == "2") == "2"
        assert rig.status()["set"] == 1
        n = len(watcher.messages)
        rig.play_s(10)  # set 2 starts at 28 s
        watcher.publish(T.command("resume"), "PRESS")  # refused (playing); status asked
        assert watcher.wait(T.rating("effort"), lambda t: t == "None", after=n) == "None"
        assert watcher.wait(T.rating("feel"), lambda t: t == "None", after=n) == "None"
    finally:
        bridge.close()
        watcher.close()


def test_which_status_still_shows_a_rating():
    """A unilateral set's left side rated in the switch: shown through the switch and its
    answer windows, cleared once the right side's work begins, by a back into the set, by the
    next set and by the end of the session."""
    at = Status("playing", program="Legs", exercise="Split squat", exercise_index=1, set=1,
                sets=2, side="right", phase="switch", position=40.0)
    rated = Rated("Split squat", 1, "left", "feel", 4)
    unit = rated_unit(at, rated)
    assert unit is not None and unit.key == ("Legs", 1, 1, "left")
    assert ratings_shown(at, unit, {"feel": 4}) == {"feel": "4", "effort": "None"}
    later = {"position": 43.0}
    for st, shown in [(replace(at, **later, phase="answer", side="left"), True),
                      (replace(at, **later, phase="lead_in"), False),
                      (replace(at, **later, phase="up", rep=1), False),
                      (replace(at, position=30.0, phase="announce", side="left"), False),
                      (replace(at, **later, set=2, phase="announce", side="left"), False),
                      (Status("idle"), False)]:
        assert still_rateable(st, unit) is shown, st
    assert rated_unit(replace(at, set=2, side="left", phase="announce"), rated) is None
    bilateral = replace(at, side=None, phase="rest")
    both = rated_unit(bilateral, Rated("Split squat", 1, None, "feel", 4))
    assert both is not None and still_rateable(replace(bilateral, side="right"), both)


def test_birth_message_and_library_changes_resend_discovery(ha, rig: Rig):
    watcher, _ = ha
    count = sum(1 for t, *_ in watcher.messages if t == T.discovery)
    # Counted before the birth message: read after it, the resent discovery could already be
    # behind the messages that followed it (session 6: it was, once, on a loaded machine).
    before = len(watcher.messages)
    watcher.publish(T.birth, "online")  # Home Assistant restarted
    watcher.wait(T.discovery, after=before, timeout=5)
    assert sum(1 for t, *_ in watcher.messages if t == T.discovery) > count
    (rig.programs / "legs.yaml").write_text(PROGRAM.format(name="Leg day"))
    rig.call("reload")
    d = watcher.wait_json(T.discovery, lambda d: "legs" in
                          d["components"]["program_select"]["options"], timeout=6)
    assert d["components"]["program_select"]["options"] == ["legs", "row"]
    (rig.programs / "row.yaml").unlink()
    rig.call("reload")
    watcher.wait_json(T.discovery, lambda d: d["components"]["program_select"]["options"]
                      == ["legs"], timeout=6)
    assert watcher.wait(T.program, lambda t: t == "legs")  # the selection moved off it


def test_a_broker_restart_mid_session_is_survived(broker: Mosquitto, rig: Rig):
    bridge = bridge_for(rig, broker.port)
    watcher = Watcher(broker.port)
    try:
        watcher.wait(T.availability, lambda t: t == "online")
        rig.call("start", program="row")
        rig.wait_for(lambda s: s["state"] == "playing", "playing")
        broker.restart()  # every retained message is gone with it
        watcher.close()
        watcher = Watcher(broker.port)
        # Back within the back-off: discovery, availability and state are there again.
        watcher.wait(T.availability, lambda t: t == "online", timeout=15)
        watcher.wait_json(T.discovery, timeout=5)
        watcher.wait_json(T.state, lambda s: s["state"] == "playing", timeout=5)
        assert rig.status()["state"] == "playing"  # the session never noticed
        watcher.publish(T.command("pause"), "PRESS")
        rig.wait_for(lambda s: s["state"] == "paused", "paused after the restart")
        assert rig.status()["problems"] == []
    finally:
        bridge.close()
        watcher.close()


def test_no_broker_one_log_line_retries_and_a_free_session(tmp_path: Path, rig: Rig, caplog):
    caplog.set_level(logging.INFO, logger="coach.daemon.mqtt")
    port = free_port()  # nothing listens there yet
    bridge = bridge_for(rig, port)
    try:
        deadline = time.monotonic() + 10
        while "Connection refused" not in "".join(rig.status()["problems"]):
            assert time.monotonic() < deadline, rig.status()
            time.sleep(0.1)
        assert rig.status()["problems"] == [
            f"mqtt: cannot connect to 127.0.0.1:{port}: [Errno 111] Connection refused"]
        t0 = time.monotonic()
        rig.call("start", program="row")  # the session is not held up by the broker
        rig.wait_for(lambda s: s["state"] == "playing", "playing", timeout=10)
        assert time.monotonic() - t0 < 5
        time.sleep(3.5)  # retries after 1 s, 2 s ...: still one line
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "retrying with back-off" in warnings[0].getMessage()
        with Mosquitto(tmp_path, port=port) as broker:
            watcher = Watcher(broker.port)
            watcher.wait(T.availability, lambda t: t == "online", timeout=15)
            rig.wait_for(lambda s: s["problems"] == [], "connected", timeout=5)
            watcher.close()
            bridge.close()
    finally:
        bridge.close()


def test_a_host_that_does_not_resolve(rig: Rig, caplog):
    bridge = MqttBridge(MqttConfig("no-such-host.invalid", 1883), hostname=HOST)
    rig.d.problem_sources.append(bridge.problem)
    bridge.start(rig.d.handle)
    try:
        rig.wait_for(lambda s: any("no-such-host.invalid" in p and "cannot connect" in p
                                   for p in s["problems"]), "the problem said", timeout=15)
    finally:
        bridge.close()


def test_bad_credentials_are_said_once(tmp_path: Path, rig: Rig, caplog):
    passwd = shutil.which("mosquitto_passwd")
    need(passwd is not None, "mosquitto_passwd (Debian's mosquitto package)")
    assert passwd is not None
    pw = tmp_path / "passwd"
    subprocess.run([passwd, "-c", "-b", str(pw), "coach", "right"], check=True,
                   capture_output=True)
    pw.chmod(0o600)
    caplog.set_level(logging.INFO, logger="coach.daemon.mqtt")
    with Mosquitto(tmp_path, password_file=pw) as broker:
        bridge = MqttBridge(MqttConfig("127.0.0.1", broker.port, username="coach"),
                            password="wrong", hostname=HOST)
        rig.d.problem_sources.append(bridge.problem)
        bridge.start(rig.d.handle)
        try:
            st = rig.wait_for(lambda s: any("refused" in p for p in s["problems"]), "refused",
                              timeout=10)
            assert re.search(r"refused the connection: (Not authorized|Bad user name or "
                             r"password)", st["problems"][0]), st["problems"]
            time.sleep(3.5)
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1, warnings
        finally:
            bridge.close()
        good = MqttBridge(MqttConfig("127.0.0.1", broker.port, username="coach"),
                          password="right", hostname=HOST)
        good.start(rig.d.handle)
        try:
            deadline = time.monotonic() + 10
            while good.problem() is not None:
                assert time.monotonic() < deadline, good.problem()
                time.sleep(0.05)
        finally:
            good.close()


def test_a_clean_stop_says_offline(broker: Mosquitto, rig: Rig):
    watcher = Watcher(broker.port)
    bridge = bridge_for(rig, broker.port)
    try:
        watcher.wait(T.availability, lambda t: t == "online")
        n = len(watcher.messages)
        bridge.close()
        assert watcher.wait(T.availability, lambda t: t == "offline", after=n, timeout=5)
    finally:
        watcher.close()
