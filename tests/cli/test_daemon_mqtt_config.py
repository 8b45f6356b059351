"""`coach daemon` with `mqtt:` whose password file cannot be read: one line naming the config
file, line and column, and no daemon (the owner's mistake is said before anything starts)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import coach


def test_an_unreadable_password_file_stops_the_daemon_with_one_line(tmp_path: Path):
    (tmp_path / "config" / "coach").mkdir(parents=True)
    config = tmp_path / "config" / "coach" / "config.yaml"
    config.write_text("mqtt:\n  host: 127.0.0.1\n  password_file: mqtt.pw\n")
    (tmp_path / "programs").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_RUNTIME_DIR": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    r = coach("daemon", "--programs", str(tmp_path / "programs"), env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == (f"{config}:3:18: error: mqtt.password_file: cannot read "
                                f"{config.parent / 'mqtt.pw'}: No such file or directory")
    assert "Traceback" not in r.stderr and r.stdout == ""
