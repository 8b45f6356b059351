"""`coach install-service`: write the systemd user unit with ExecStart pointing at this coach,
and say how to enable it. The unit text is systemd/coach.service (kept identical, by a test)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import NamedTuple

from coach.core.errors import CoachError, Diagnostic
from coach.files import atomic_write_text

logger = logging.getLogger(__name__)

UNIT_NAME = "coach.service"
PLACEHOLDER_EXEC = "ExecStart=%h/coach/.venv/bin/coach daemon"

# The same text as systemd/coach.service in the repository (tests/test_service.py checks); held
# here because only the coach package, not the repository, is installed on the Pi.
UNIT_TEMPLATE = """\
# coach: voice-guided training coach, as a systemd *user* service (audio lives in the user's
# PipeWire/PulseAudio session, so not a system service).
# `coach install-service` writes this file to ~/.config/systemd/user/coach.service with ExecStart
# pointing at the coach that ran it (your clone's .venv/bin/coach). Copied by hand, ExecStart is
# that of a clone in ~/coach set up by ./setup.sh (docs/raspberry-pi.md); change it for another
# place. Then:
#   systemctl --user daemon-reload && systemctl --user enable --now coach
#   sudo loginctl enable-linger $USER    # start at boot and keep running without a login

[Unit]
Description=coach voice-guided training daemon
# Audio first: PipeWire's PulseAudio interface (Raspberry Pi OS) or plain PulseAudio. Wants=, not
# Requires=: a missing pipewire-pulse (a PulseAudio system) must not stop coach from starting.
After=pipewire.service pipewire-pulse.service pulseaudio.service sound.target
Wants=pipewire-pulse.service
# No After=time-sync.target: it is a system unit and a user manager cannot order against system
# units (the line would silently do nothing). The daemon copes with clock steps itself.
# Give up after 5 failed starts in 10 minutes instead of crash-looping forever.
StartLimitIntervalSec=10min
StartLimitBurst=5

[Service]
Type=notify
NotifyAccess=main
ExecStart=%h/coach/.venv/bin/coach daemon
# The daemon sends WATCHDOG=1 at half this interval; a hung daemon is killed and restarted.
WatchdogSec=30
Restart=on-failure
RestartSec=5
TimeoutStopSec=15
Environment=PYTHONUNBUFFERED=1
# History and cached clips are private to the user.
UMask=0077
# Hardening that works in a user manager without privileges (prctl and seccomp only):
NoNewPrivileges=yes
LockPersonality=yes
RestrictNamespaces=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
# Deliberately not set:
# - ProtectSystem=, ProtectHome=, PrivateTmp=, PrivateDevices=: they need a mount namespace, which
#   a user manager only gets through unprivileged user namespaces; where the kernel forbids those
#   the unit fails to start (226/NAMESPACE). PrivateTmp would also hide /tmp/coach-$UID and
#   PrivateDevices the ALSA devices.
# - MemoryDenyWriteExecute=: sounddevice's audio callback is a cffi/libffi closure, which needs
#   writable+executable memory on some platforms.
# - RestrictRealtime=: PipeWire/PulseAudio clients may ask (via RTKit) for realtime scheduling
#   of the audio thread.

[Install]
WantedBy=default.target
"""


def default_unit_dir() -> Path:
    """Where a user manager reads units written by the user: $XDG_CONFIG_HOME/systemd/user."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def default_coach_bin() -> Path:
    """The `coach` script of the running install: the one invoked, else the one beside python."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "coach" and argv0.is_file():
        return argv0.absolute()
    return Path(sys.executable).with_name("coach").absolute()


def _quote_exec(path: Path) -> str:
    """One ExecStart word: '%' starts a specifier and '$' a variable, so both are doubled;
    a path with spaces or quotes is double-quoted with C-style escapes."""
    text = str(path).replace("%", "%%").replace("$", "$$")
    if any(c in text for c in " \t\"'\\"):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render_unit(coach_bin: Path) -> str:
    """The unit text with ExecStart running ``coach_bin daemon``."""
    line = f"ExecStart={_quote_exec(coach_bin)} daemon"
    assert UNIT_TEMPLATE.count(PLACEHOLDER_EXEC + "\n") == 1
    return UNIT_TEMPLATE.replace(PLACEHOLDER_EXEC + "\n", line + "\n")


class Installed(NamedTuple):
    path: Path  # the unit file written
    text: str  # what to run next, for the CLI to print (next_steps(path))


def install_service(coach_bin: Path, unit_dir: Path | None = None) -> Installed:
    """Write coach.service into ``unit_dir`` (default ~/.config/systemd/user) with ExecStart at
    ``coach_bin``; returns (unit path, next-steps text). Raises CoachError if coach_bin is not an
    executable file (the unit would fail at every start)."""
    coach_bin = Path(coach_bin).absolute()
    if not coach_bin.is_file() or not os.access(coach_bin, os.X_OK):
        raise CoachError(Diagnostic(str(coach_bin), 0, 0,
                                    "not an executable file; cannot point the service at it"))
    unit_dir = Path(unit_dir) if unit_dir is not None else default_unit_dir()
    unit_dir.mkdir(parents=True, exist_ok=True)
    target = unit_dir / UNIT_NAME
    # Write then rename: a running manager never reads half a unit.
    atomic_write_text(target, render_unit(coach_bin), perm=0o644)
    logger.debug("wrote %s (ExecStart=%s daemon)", target, coach_bin)  # the CLI says it
    return Installed(target, next_steps(target))


def next_steps(unit_path: Path) -> str:
    """What the user runs after install_service(), for the CLI to print."""
    return (
        f"Installed {unit_path}\n"
        "Start it now and at every login:\n"
        "  systemctl --user daemon-reload && systemctl --user enable --now coach\n"
        "Run it from boot, without anyone logged in (once, as an admin):\n"
        "  sudo loginctl enable-linger $USER\n"
        "Check it:  systemctl --user status coach    Logs:  journalctl --user -u coach -f\n"
    )
