"""The systemd side: sd_notify against a real datagram socket the test owns (path and abstract),
and the user unit as installed, checked by systemd-analyze."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from coach.core.errors import CoachError
from coach.daemon import sdnotify
from coach.daemon.service import (
    UNIT_TEMPLATE,
    default_unit_dir,
    install_service,
    next_steps,
    render_unit,
)
from tests.support.real import ROOT, need


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_ready_watchdog_stopping_status(listener: socket.socket) -> None:
    assert sdnotify.ready() is True
    assert listener.recv(4096) == b"READY=1"
    assert sdnotify.watchdog() is True
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert sdnotify.status("playing\nUpper A") is True
    assert listener.recv(4096) == b"STATUS=playing Upper A"
    assert sdnotify.stopping() is True
    assert listener.recv(4096) == b"STOPPING=1"


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"coach-test-notify-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.ready() is True
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_from_a_child_process(listener: socket.socket) -> None:
    # The daemon is a separate process that only inherits NOTIFY_SOCKET, as under systemd.
    code = "from coach.daemon import sdnotify; sdnotify.ready(); sdnotify.watchdog()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    assert listener.recv(4096) == b"READY=1"
    assert listener.recv(4096) == b"WATCHDOG=1"


def test_no_op_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.ready() is False
    assert sdnotify.watchdog() is False


def test_dead_socket_does_not_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert sdnotify.ready() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert sdnotify.watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    assert sdnotify.watchdog_interval() is None


# -- the unit -------------------------------------------------------------------------------

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    need(os.path.exists(SYSTEMD_ANALYZE), "systemd-analyze (Debian package systemd)")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    return subprocess.run(
        [SYSTEMD_ANALYZE, "--user", "verify", str(unit)],
        env=env, capture_output=True, text=True, timeout=120,
    )


def venv_coach() -> Path:
    # The venv's coach script when the package is installed, else its python: an executable
    # that exists, which is what systemd-analyze checks of ExecStart.
    coach = Path(sys.executable).with_name("coach")
    return coach if coach.exists() else Path(sys.executable)


def test_repo_unit_is_the_template() -> None:
    assert (ROOT / "systemd" / "coach.service").read_text() == UNIT_TEMPLATE


def test_installed_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit, text = install_service(venv_coach(), tmp_path / "units")
    assert unit == tmp_path / "units" / "coach.service"
    assert "systemctl --user daemon-reload && systemctl --user enable --now coach" in text
    text = unit.read_text()
    exec_lines = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")]
    assert exec_lines == [f"ExecStart={venv_coach().absolute()} daemon"]
    out = verify(unit, tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    for line in ["Type=notify", "NotifyAccess=main", "WatchdogSec=30", "Restart=on-failure",
                 "RestartSec=5", "Environment=PYTHONUNBUFFERED=1", "NoNewPrivileges=yes",
                 "WantedBy=default.target"]:
        assert line in text.splitlines()


def test_verify_catches_a_missing_binary(tmp_path: Path) -> None:
    # The check above can fail: the same unit whose binary has gone is rejected.
    fake = tmp_path / "bin" / "coach"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    unit = install_service(fake, tmp_path / "units").path
    assert verify(unit, tmp_path).returncode == 0
    fake.unlink()
    out = verify(unit, tmp_path)
    assert out.returncode != 0 and "is not executable" in out.stderr


def test_awkward_install_path_is_escaped(tmp_path: Path) -> None:
    fake = tmp_path / "my venv 100%" / "bin" / "coach"  # a space and a specifier character
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    unit = install_service(fake, tmp_path / "units").path
    assert f'ExecStart="{str(fake).replace("%", "%%")}" daemon' in unit.read_text()
    out = verify(unit, tmp_path)  # systemd found the binary: quoting and escaping are right
    assert (out.returncode, out.stderr) == (0, "")


def test_install_refuses_a_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(CoachError, match="not an executable file"):
        install_service(tmp_path / "nope" / "coach", tmp_path / "units")
    assert not (tmp_path / "units").exists()


def test_default_unit_dir_and_next_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_unit_dir() == tmp_path / "cfg" / "systemd" / "user"
    unit = install_service(venv_coach()).path
    assert unit == tmp_path / "cfg" / "systemd" / "user" / "coach.service"
    assert unit.read_text() == render_unit(venv_coach().absolute())
    text = next_steps(unit)
    assert str(unit) in text
    assert "systemctl --user daemon-reload && systemctl --user enable --now coach" in text
    assert "sudo loginctl enable-linger $USER" in text
