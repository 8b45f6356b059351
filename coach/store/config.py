"""Coach's settings: `$XDG_CONFIG_HOME/coach/config.yaml`, validated like programs. The daemon
reads all of it; the CLI reads its voice defaults (and, for `coach daemon`, the rest)."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from yaml.nodes import ScalarNode

from coach.core.errors import CoachError
from coach.core.program import VOICE_KEYS, Program, VoiceSettings, read_voice
from coach.core.types import LISTEN_ENGINES, ListenEngine
from coach.core.yamlnodes import Node, NodeReader, compose, where

KEYS = ("programs", "device", "timezone", "misfire_grace", "rate", "blocksize", "preroll",
        "media_keys", "gpio", "voice", "mpris", "duck", "web", "mqtt", "listen")
GPIO_KEYS = ("pin", "hold")
MQTT_KEYS = ("host", "port", "username", "password_file", "discovery_prefix")
DUCK_KEYS = ("level",)
WEB_KEYS = ("listen", "trusted_proxies")
LISTEN_KEYS = ("source", "hold", "engine")
WEB_DEFAULT_HOST = "127.0.0.1"  # the phone page answers only on this machine unless opened
DUCK_DEFAULT_DB = -12.0
DUCK_RANGE_DB = (-60.0, -1.0)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class MqttConfig:
    """`mqtt:`: the broker Home Assistant uses, and where its discovery listens."""

    host: str
    port: int = 1883
    username: str | None = None
    password_file: Path | None = None  # relative to the config's folder
    discovery_prefix: str = "homeassistant"
    at: tuple[str, int, int] = ("", 0, 0)  # password_file's FILE, LINE, COL: for its error


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the file it came from, if any
    programs: Path | None = None  # None: the default programs dir
    device: str | int | None = None
    timezone: str | None = None
    misfire_grace_s: int = 600
    rate: int = 48000
    blocksize: int = 1024  # frames per audio callback; larger survives a busier Pi
    preroll_ms: int = 500  # silence before the first cue, so a Bluetooth headset wakes up
    media_keys: bool | str = False  # True: any device with media keys; str: a device name/path
    gpio_pin: int | None = None
    gpio_hold_ms: int = 1000  # holding the button this long is `skip`
    voice: VoiceSettings | None = None  # defaults for every program's `voice:`, key by key
    mpris: bool = True  # the MPRIS player org.mpris.MediaPlayer2.coach on the session bus
    duck_db: float | None = DUCK_DEFAULT_DB  # other streams lowered this much under a cue; None: off
    web_listen: tuple[str, int] | None = None  # `web: {listen: HOST:PORT}`: the phone page; None: off
    # `web: {trusted_proxies: [...]}`: the reverse proxies whose X-Forwarded-For is believed
    web_trusted_proxies: tuple[Network, ...] = ()
    mqtt: MqttConfig | None = None  # Home Assistant over MQTT; None: off
    listen_source: str | None = None  # `listen: {source: NAME}`: spoken answers; None: off
    # `listen: {hold: 600ms}`: a press of the headset key or the GPIO button this long opens
    # the command window (push-to-talk). A tap lasts 0.1-0.3 s (issue 22 asks about 0.6 s):
    # not reached by a hurried tap, short enough not to feel like waiting.
    listen_hold_ms: int = 600
    # `listen: {engine: moonshine}`: the recogniser (coach/audio/listen/engines.py)
    listen_engine: ListenEngine = "pocketsphinx"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir("coach"))


def default_config_path() -> Path:
    return config_dir() / "config.yaml"


def programs_dir(config: Config, override: str | None = None) -> Path:
    """--programs, else $COACH_PROGRAMS, else the config's `programs`, else the XDG default."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("COACH_PROGRAMS"):
        return Path(os.environ["COACH_PROGRAMS"]).expanduser()
    if config.programs is not None:
        return config.programs
    return config_dir() / "programs"


def parse_config(text: str, path: str) -> Config:
    """Pure: config text in, Config out; every mistake at once as a CoachError."""
    root = compose(text, path)
    if root is None:
        return Config(path=path)
    r = NodeReader(path)
    items = r.mapping(root, "the config")
    values: dict = {"path": path}
    if items is not None:
        found = r.known_keys(items, KEYS, "in the config")
        if "programs" in found and (v := r.text(found["programs"], "programs")) is not None:
            p = Path(v).expanduser()
            values["programs"] = p if p.is_absolute() else Path(path).parent / p
        if "device" in found and (v := r.text(found["device"], "device")) is not None:
            values["device"] = int(v) if v.isdigit() else v
        if "timezone" in found and (v := r.text(found["timezone"], "timezone")) is not None:
            try:
                from zoneinfo import ZoneInfo
                ZoneInfo(v)
                values["timezone"] = v
            except Exception:
                r.error(found["timezone"], f'timezone "{v}" is not a known time zone '
                                           '(like Europe/Berlin or UTC)')
        if "misfire_grace" in found:
            ms = r.duration_ms(found["misfire_grace"], "misfire_grace", 0, 24 * 3600_000)
            if ms is not None:
                values["misfire_grace_s"] = ms // 1000
        if "rate" in found:
            n = r.integer(found["rate"], "rate", 8000, 192000)
            if n is not None:
                values["rate"] = n
        if "blocksize" in found:
            n = r.integer(found["blocksize"], "blocksize", 64, 16384)
            if n is not None:
                values["blocksize"] = n
        if "preroll" in found:
            ms = r.duration_ms(found["preroll"], "preroll", 0, 10_000)
            if ms is not None:
                values["preroll_ms"] = ms
        if "media_keys" in found:
            node = found["media_keys"]
            raw = getattr(node, "value", None)
            if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "yes", "no",
                                                                "on", "off"):
                values["media_keys"] = r.boolean(node, "media_keys")
            elif (v := r.text(node, "media_keys")) is not None:
                values["media_keys"] = v
        if "gpio" in found:
            g = r.mapping(found["gpio"], "gpio")
            if g is not None:
                gf = r.known_keys(g, GPIO_KEYS, "in gpio")
                if "pin" in gf and (pin := r.integer(gf["pin"], "gpio.pin", 0, 27)) is not None:
                    values["gpio_pin"] = pin
                if "hold" in gf:
                    ms = r.duration_ms(gf["hold"], "gpio.hold", 200, 10_000)
                    if ms is not None:
                        values["gpio_hold_ms"] = ms
        if "mpris" in found:
            b = r.boolean(found["mpris"], "mpris")
            if b is not None:
                values["mpris"] = b
        if "voice" in found:
            # The same keys, types and ranges as a program's voice; a relative model path is
            # relative to the config's folder.
            values["voice"] = read_voice(r, found["voice"], str(Path(path).parent))
        if "duck" in found:
            values["duck_db"] = _read_duck(r, found["duck"])
        if "web" in found:
            values["web_listen"], values["web_trusted_proxies"] = _read_web(r, found["web"])
        if "mqtt" in found:
            values["mqtt"] = _read_mqtt(r, found["mqtt"], path)
        if "listen" in found:
            values["listen_source"], hold, engine = _read_listen(r, found["listen"])
            if hold is not None:
                values["listen_hold_ms"] = hold
            if engine is not None:
                values["listen_engine"] = engine
    r.raise_if_any()
    return Config(**values)


def _read_duck(r: NodeReader, node: Node) -> float | None:
    """`duck: false` (off), `duck: true` (the default level) or `duck: {level: -12dB}`."""
    raw = getattr(node, "value", None)
    if isinstance(raw, str):
        on = r.boolean(node, "duck")
        return DUCK_DEFAULT_DB if on else None
    items = r.mapping(node, "duck")
    if items is None:
        return DUCK_DEFAULT_DB
    found = r.known_keys(items, DUCK_KEYS, "in duck")
    if "level" not in found:
        return DUCK_DEFAULT_DB
    text = r.text(found["level"], "duck.level")
    if text is None:
        return DUCK_DEFAULT_DB
    lo, hi = DUCK_RANGE_DB
    t = text.strip().lower().replace(" ", "")
    try:
        db = float(t[:-2] if t.endswith("db") else t)
    except ValueError:
        db = float("nan")
    if not lo <= db <= hi:
        r.error(found["level"], f'duck.level "{text}" must be a negative level in dB from '
                                f"{lo:g}dB to {hi:g}dB, like -12dB")
        return DUCK_DEFAULT_DB
    return db


def parse_listen(text: str) -> tuple[str, int] | None:
    """"HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (host 127.0.0.1); None when it is not one."""
    t = text.strip()
    host, sep, port = t.rpartition(":")
    if not sep:
        host, port = "", t
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    if any(c.isspace() or c in "/[]@" for c in host) or (":" in host and not t.startswith("[")):
        return None
    return host or WEB_DEFAULT_HOST, int(port)


def _read_web(r: NodeReader, node: Node) -> tuple[tuple[str, int] | None, tuple[Network, ...]]:
    """`web: {listen: HOST:PORT, trusted_proxies: [ADDRESS or NETWORK, ...]}` (the phone page,
    coach/daemon/web)."""
    items = r.mapping(node, "web")
    if items is None:
        return None, ()
    found = r.known_keys(items, WEB_KEYS, "in web")
    proxies = _read_proxies(r, found["trusted_proxies"]) if "trusted_proxies" in found else ()
    if "listen" not in found:
        r.error(node, "web needs `listen: HOST:PORT`, like `listen: 0.0.0.0:8080` (every "
                      "address) or `listen: 127.0.0.1:8080` (this machine only)")
        return None, proxies
    text = r.text(found["listen"], "web.listen")
    if text is None:
        return None, proxies
    listen = parse_listen(text)
    if listen is None:
        r.error(found["listen"], f'web.listen "{text}" must be HOST:PORT with a port from 1 to '
                                 "65535, like 0.0.0.0:8080 or 127.0.0.1:8080")
    return listen, proxies


def _read_proxies(r: NodeReader, node: Node) -> tuple[Network, ...]:
    """`trusted_proxies`: a list (or one) of addresses or networks (`127.0.0.1`, `::1`,
    `192.168.1.0/24`), never a host name (the check is on the peer's address)."""
    nodes = [node] if isinstance(node, ScalarNode) else \
        r.sequence(node, "web.trusted_proxies") or []
    out: list[Network] = []
    for n in nodes:
        text = r.text(n, "web.trusted_proxies")
        if text is None:
            continue
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            r.error(n, f'web.trusted_proxies "{text}" must be an IP address or a network, '
                       "like 127.0.0.1, ::1 or 192.168.1.0/24 (the proxy's address as coach "
                       "sees it, not a host name)")
    return tuple(out)


def _read_mqtt(r: NodeReader, node: Node, path: str) -> MqttConfig | None:
    """`mqtt: {host, port, username, password_file, discovery_prefix}`; host is required."""
    items = r.mapping(node, "mqtt")
    if items is None:
        return None
    found = r.known_keys(items, MQTT_KEYS, "in mqtt")
    values: dict = {}
    if "host" not in found:
        r.error(node, "mqtt needs a host (the broker's name or address, like localhost)")
    elif (host := r.text(found["host"], "mqtt.host")) is not None:
        values["host"] = host
    if "port" in found and (port := r.integer(found["port"], "mqtt.port", 1, 65535)) is not None:
        values["port"] = port
    if "username" in found and (user := r.text(found["username"], "mqtt.username")) is not None:
        values["username"] = user
    if "password_file" in found:
        pf = found["password_file"]
        if (v := r.text(pf, "mqtt.password_file")) is not None:
            p = Path(v).expanduser()
            values["password_file"] = p if p.is_absolute() else Path(path).parent / p
            values["at"] = (path, *where(pf))
    if "discovery_prefix" in found:
        dp = found["discovery_prefix"]
        if (prefix := r.text(dp, "mqtt.discovery_prefix")) is not None:
            if any(c in prefix for c in "#+\x00") or prefix.startswith("/") or prefix.endswith("/"):
                r.error(dp, f'mqtt.discovery_prefix "{prefix}" must be a topic without wildcards '
                            "(# +) or a leading or trailing /, like homeassistant")
            else:
                values["discovery_prefix"] = prefix
    return MqttConfig(**values) if "host" in values else None


def read_password(mqtt: MqttConfig) -> str | None:
    """The MQTT password from `password_file` (its first line), or None when there is none;
    an unreadable file is a CoachError at the key's line."""
    if mqtt.password_file is None:
        return None
    try:
        text = mqtt.password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise CoachError.at(mqtt.at[0], mqtt.at[1], mqtt.at[2],
                            f"mqtt.password_file: cannot read {mqtt.password_file}: {why}") from None
    lines = text.splitlines()
    return lines[0] if lines else ""


def _read_listen(r: NodeReader, node: Node
                 ) -> tuple[str | None, int | None, ListenEngine | None]:
    """`listen: {source: NAME, hold: 600ms, engine: pocketsphinx}` (the mic, a PulseAudio/
    PipeWire source or `default`; how long a press is push-to-talk; the recogniser): the source,
    the hold and the engine (None: not given)."""
    items = r.mapping(node, "listen")
    if items is None:
        return None, None, None
    found = r.known_keys(items, LISTEN_KEYS, "in listen")
    hold = r.duration_ms(found["hold"], "listen.hold", 300, 3000) if "hold" in found else None
    engine = None
    if "engine" in found:
        name = r.choice(found["engine"], "listen.engine", LISTEN_ENGINES)
        engine = next((e for e in LISTEN_ENGINES if e == name), None)
    source = _read_source(r, node, found)
    return source, hold, engine


def _read_source(r: NodeReader, node: Node, found: dict[str, Node]) -> str | None:
    if "source" not in found:
        r.error(node, "listen needs `source: NAME`, a PulseAudio/PipeWire source (`pactl list "
                      "short sources` lists them) or `source: default`")
        return None
    text = r.text(found["source"], "listen.source")
    if text is None:
        return None
    if not text.strip() or any(c.isspace() for c in text.strip()):
        r.error(found["source"], f'listen.source "{text}" must be a source name without '
                                 "spaces, like alsa_input.usb-headset.mono-fallback or default")
        return None
    return text.strip()


def with_voice_defaults(program: Program, defaults: VoiceSettings | None) -> Program:
    """``program`` with config.yaml's voice defaults filled in key by key: what the program's
    own `voice:` says wins; what neither says keeps the built-in default."""
    if defaults is None or not defaults.given:
        return program
    own = program.voice
    merged = {k: getattr(own if k in own.given else defaults, k)
              for k in VOICE_KEYS if k in own.given or k in defaults.given}
    voice = VoiceSettings(**merged, given=own.given | defaults.given)
    return dataclasses.replace(program, voice=voice)


def load_config(path: str | Path | None = None) -> Config:
    """The config file, or the defaults when there is none (a missing default file is fine,
    a missing file named on the command line is not)."""
    from coach.core.program import read_program_text
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    if not explicit and not p.exists():
        return Config()
    # An empty config.yaml (all defaults) is fine; an empty program is not.
    return parse_config(read_program_text(p, allow_empty=True), str(p))
