"""PortAudio's output devices: sounddevice loaded lazily, the outputs listed (`coach devices`),
the default one, and the settings (channels, rate) a device takes."""

from __future__ import annotations

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
    raise NoOutputDevice(f"output device {info['name']!r} accepts neither mono nor stereo float "
                         f"at {rates[0]} or {rates[1]} Hz; {RENDER_HINT}")
