"""PortAudio's output devices: sounddevice loaded lazily, the outputs listed (`coach devices`),
the default one, and the settings (channels, rate) a device takes."""

from __future__ import annotations

import os
import socket
from typing import Any

from coach.audio.player.output import NoOutputDevice

RENDER_HINT = "write the session to a WAV file instead with `coach render`"


def load_sounddevice() -> Any:
    # Imported lazily: `coach render`/`plan` must work where libportaudio is absent, and tests
    # pick the ALSA configuration (HOME/.asoundrc) before PortAudio initialises.
    try:
        import sounddevice
    except OSError as e:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise NoOutputDevice(f"PortAudio is not available ({e}); {RENDER_HINT}") from None
    return sounddevice


def list_devices() -> list[dict]:
    """Output devices as PortAudio sees them: index, name, channels, default samplerate, is_default."""
    sd = load_sounddevice()
    default_out = default_output(sd)
    devices = []
    for index, dev in enumerate(sd.query_devices()):
        if dev["max_output_channels"] > 0:
            devices.append({"index": index, "name": dev["name"],
                            "channels": int(dev["max_output_channels"]),
                            "default_samplerate": float(dev["default_samplerate"]),
                            "is_default": index == default_out})
    return devices


def default_output(sd: Any) -> int:
    try:
        return int(sd.default.device[1])
    except Exception:  # no default device at all
        return -1


def output_settings(sd: Any, device: Any, info: dict, asked_rate: int) -> tuple[int, int]:
    """Mono at the asked rate if the device takes it; else stereo and/or its own rate."""
    rates = [asked_rate, int(info["default_samplerate"])]
    for channels in (1, 2):
        for rate in rates:
            try:
                sd.check_output_settings(device=device, channels=channels, dtype="float32",
                                         samplerate=rate)
                return channels, rate
            except (ValueError, sd.PortAudioError):
                continue
    server = sound_server_problem()
    if server is not None:  # PortAudio only says "Illegal combination of I/O devices"
        raise NoOutputDevice(f"output device {info['name']!r} cannot be opened: {server}; "
                             f"{RENDER_HINT}")
    raise NoOutputDevice(f"output device {info['name']!r} accepts neither mono nor stereo float "
                         f"at {rates[0]} or {rates[1]} Hz; {RENDER_HINT}")


def _server_sockets() -> list[str]:
    """The Unix sockets of the sound server (PulseAudio, or PipeWire's pulse server) this
    process would use: PULSE_SERVER's, else $XDG_RUNTIME_DIR/pulse/native when a server ran in
    this session (its directory is there). A TCP server is not probed."""
    configured = os.environ.get("PULSE_SERVER")
    if configured:
        out = []
        for entry in configured.split():
            if entry.startswith("{"):  # "{machine-id}unix:/path": for that machine only
                entry = entry.partition("}")[2]
            if entry.startswith("unix:"):
                out.append(entry[len("unix:"):])
            elif entry.startswith("/"):
                out.append(entry)
        return out
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(os.path.join(runtime, "pulse")):
        return [os.path.join(runtime, "pulse", "native")]
    return []


def sound_server_problem() -> str | None:
    """"the sound server is not reachable (PATH: why)" when a sound server is configured and
    none of its sockets accepts a connection; None when one does, or none is known."""
    paths = _server_sockets()
    why = []
    for path in paths:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.settimeout(0.5)
        try:
            s.connect(path)
            return None
        except OSError as e:
            why.append(f"{path}: {e.strerror or e}")
        finally:
            s.close()
    return f"the sound server is not reachable ({'; '.join(why)})" if why else None
