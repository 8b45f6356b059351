"""What coach says over MQTT, as Home Assistant's MQTT discovery reads it (pure: no network):
the topics, the one device discovery payload (`<prefix>/device/<node>/config`, every entity
under `components`), the retained state, and a finished set's event.

Full key names throughout (Home Assistant also takes its abbreviations; these read better in
`mosquitto_sub`). Every entity shares the device, the origin and the availability topic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from coach import __version__
from coach.core.types import (
    QUESTIONS,
    RATING_MAX,
    RATING_MIN,
    SESSION_STATES,
    SET_OUTCOMES,
    Question,
    Side,
)
from coach.protocol.messages import Rated, SetEnded, Status

# The buttons, each a request of the command table (start: the program the select shows).
BUTTONS = ("start", "pause", "resume", "skip", "back", "stop", "extend")
ONLINE, OFFLINE = "online", "offline"
RATING_ICONS: dict[Question, str] = {"feel": "mdi:arm-flex", "effort": "mdi:speedometer"}
NONE = "None"  # Home Assistant's payload for "unknown" (a sensor's and a number's reset)


def node_id(hostname: str) -> str:
    """The device's id in topics and unique ids: `coach_<host>`, in [a-zA-Z0-9_-] as the
    discovery topic requires."""
    return "coach_" + (re.sub(r"[^a-zA-Z0-9_-]", "_", hostname) or "host")


@dataclass(frozen=True)
class Topics:
    """Every topic of one daemon: its own under `coach/<node>/`, the discovery prefix's two."""

    node: str
    prefix: str  # the discovery prefix, `homeassistant`

    @property
    def base(self) -> str:
        return f"coach/{self.node}"

    @property
    def discovery(self) -> str:
        return f"{self.prefix}/device/{self.node}/config"

    @property
    def birth(self) -> str:
        """Home Assistant's own status: `online` when it (re)starts."""
        return f"{self.prefix}/status"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def program(self) -> str:
        return f"{self.base}/program"

    @property
    def program_set(self) -> str:
        return f"{self.base}/program/set"

    def rating(self, question: Question) -> str:
        return f"{self.base}/rating/{question}"

    def rating_set(self, question: Question) -> str:
        return f"{self.base}/rating/{question}/set"

    @property
    def ratings_set(self) -> str:
        """The rating numbers' command topics, as one subscription."""
        return f"{self.base}/rating/+/set"

    @property
    def set_ended(self) -> str:
        return f"{self.base}/set_ended"

    def command(self, verb: str) -> str:
        return f"{self.base}/cmd/{verb}"

    @property
    def commands(self) -> str:
        """The buttons' topics, as one subscription."""
        return f"{self.base}/cmd/+"


def _sensor(t: Topics, key: str, name: str, icon: str, **more: Any) -> dict[str, Any]:
    return {"platform": "sensor", "name": name, "unique_id": f"{t.node}_{key}",
            "state_topic": t.state, "value_template": f"{{{{ value_json.{key} }}}}",
            "icon": icon, **more}


def device_config(t: Topics, programs: list[str], hostname: str) -> dict[str, Any]:
    """The device discovery payload: one device, its origin, availability and entities."""
    cmps: dict[str, dict[str, Any]] = {
        "state": _sensor(t, "state", "State", "mdi:dumbbell", device_class="enum",
                         options=list(SESSION_STATES)),
        "program": _sensor(t, "program", "Program", "mdi:clipboard-list"),
        "exercise": _sensor(t, "exercise", "Exercise", "mdi:weight-lifter"),
        "set": _sensor(t, "set", "Set", "mdi:counter"),
        "side": _sensor(t, "side", "Side", "mdi:arrow-left-right"),
        "phase": _sensor(t, "phase", "Phase", "mdi:timer-sand"),
        "next": _sensor(t, "next", "Next", "mdi:skip-next"),
        "time_left": _sensor(t, "time_left", "Time left", "mdi:timer-outline",
                             device_class="duration", unit_of_measurement="s",
                             state_class="measurement"),
        "program_select": {"platform": "select", "name": "Program to start",
                           "unique_id": f"{t.node}_program_select", "icon": "mdi:playlist-play",
                           "command_topic": t.program_set, "state_topic": t.program,
                           "options": programs},
        "set_ended": {"platform": "event", "name": "Set ended",
                      "unique_id": f"{t.node}_set_ended", "icon": "mdi:flag-checkered",
                      "state_topic": t.set_ended, "event_types": list(SET_OUTCOMES)},
    }
    for q in QUESTIONS:  # the set just done, 1-5: how well the muscle was felt; how hard
        cmps[f"rating_{q}"] = {"platform": "number", "name": f"Rate {q}",
                               "unique_id": f"{t.node}_rating_{q}", "icon": RATING_ICONS[q],
                               "command_topic": t.rating_set(q), "state_topic": t.rating(q),
                               "min": RATING_MIN, "max": RATING_MAX, "step": 1, "mode": "box"}
    icons = {"start": "mdi:play-circle", "pause": "mdi:pause", "resume": "mdi:play",
             "skip": "mdi:skip-forward", "back": "mdi:skip-backward", "stop": "mdi:stop",
             "extend": "mdi:timer-plus"}
    for verb in BUTTONS:
        cmps[verb] = {"platform": "button", "name": verb.capitalize(),
                      "unique_id": f"{t.node}_{verb}", "icon": icons[verb],
                      "command_topic": t.command(verb), "payload_press": "PRESS"}
    return {
        "device": {"identifiers": [t.node], "name": f"Coach ({hostname})", "manufacturer": "coach",
                   "model": "voice coach daemon", "sw_version": __version__},
        "origin": {"name": "coach", "sw_version": __version__},
        "availability_topic": t.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "components": cmps,
    }


def state(st: Status) -> dict[str, Any]:
    """The retained state every sensor reads a key of (null: unknown in Home Assistant)."""
    running = st.state != "idle"
    time_left = (max(0, round(st.duration - st.position))
                 if running and st.duration is not None else None)
    return {"state": st.state, "program": st.program if running else None,
            "exercise": st.exercise if running else None,
            "set": f"{st.set} of {st.sets}" if running and st.set is not None else None,
            "side": st.side if running else None, "phase": st.phase if running else None,
            "next": st.next, "time_left": time_left}


@dataclass(frozen=True)
class RatedUnit:
    """The set (side) the ratings given over MQTT went to, and how far the session was then."""

    program: str | None
    exercise_index: int | None
    set: int
    side: Side | None
    position: float

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.program, self.exercise_index, self.set, self.side)


def rated_unit(st: Status, rated: Rated) -> RatedUnit | None:
    """The unit of a rating just stored, read off the status asked right after it; None when
    that status is already past it (the window closed in between)."""
    unit = RatedUnit(st.program, st.exercise_index, rated.set, rated.side, st.position)
    if st.exercise != rated.exercise or not still_rateable(st, unit):
        return None
    return unit


def still_rateable(st: Status, unit: RatedUnit) -> bool:
    """Whether ``unit`` is still the set (side) just done, judged from this status alone (never
    from having seen the change: the bridge asks every 0.25 s, and a session may move through
    a whole set between two asks). A rating's window lasts until the next set or side starts
    (coach/daemon/rating.py): so the session is still in the unit's set, not moved back before
    where it was rated (a back starts the set again), and, for one side of a unilateral set,
    the other side's work has not begun (the other side is named from the switch on, and the
    ratings asked in it are the first side's)."""
    if st.state == "idle" or (st.program, st.exercise_index, st.set) != \
            (unit.program, unit.exercise_index, unit.set) or st.position < unit.position:
        return False
    return unit.side is None or st.side in (None, unit.side) or st.phase in ("switch", "answer")


def ratings_shown(st: Status, unit: RatedUnit | None,
                  ratings: dict[Question, int]) -> dict[Question, str]:
    """Each rating topic's retained payload for this status: the value given to the set just
    done, or None (unknown) once that set is over or before anything was rated."""
    live = unit is not None and still_rateable(st, unit)
    return {q: str(ratings[q]) if live and q in ratings else NONE for q in QUESTIONS}


def event(ev: SetEnded) -> dict[str, Any]:
    """A finished set as the event entity's payload: its outcome is the event type."""
    out = ev.to_json()
    out["event_type"] = out.pop("outcome")
    return out


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
