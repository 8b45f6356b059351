"""`coach web`: the page's full address with its token (the same token the daemon's page
checks) and a QR code of it; with the page off, one line saying how to turn it on."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import segno

from tests.support.cli import coach


def env_for(tmp: Path, config: str | None) -> dict[str, str]:
    (tmp / "cfg" / "coach").mkdir(parents=True, exist_ok=True)
    if config is not None:
        (tmp / "cfg" / "coach" / "config.yaml").write_text(config)
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp / "cfg"), "XDG_STATE_HOME": str(tmp / "state")}


def test_it_prints_the_address_with_the_token_and_a_qr_code(tmp_path: Path) -> None:
    env = env_for(tmp_path, "web: {listen: 127.0.0.1:8181}\n")
    r = coach("web", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    token_file = tmp_path / "state" / "coach" / "web-token"
    token = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert lines[0] == f"http://127.0.0.1:8181/?token={token}"
    # The QR code: segno's compact terminal drawing of exactly that address.
    qr = [line for line in lines[1:] if set(line) <= set("█▀▄ ")]
    expected = segno.make(lines[0], error="m")
    assert len(qr) == (expected.symbol_size()[1] + 1) // 2
    assert "only on this machine" in r.stdout
    again = coach("web", "--no-qr", env=env)  # the same token every time, and no drawing
    assert again.stdout.splitlines()[0] == lines[0] and len(again.stdout.splitlines()) == 2


def test_an_open_address_shows_this_machines_address_not_0000(tmp_path: Path) -> None:
    r = coach("web", "--no-qr", env=env_for(tmp_path, "web: {listen: 0.0.0.0:8080}\n"))
    assert r.returncode == 0, r.stderr
    url = r.stdout.splitlines()[0]
    assert re.fullmatch(r"http://[^/]+:8080/\?token=[A-Za-z0-9_-]{43}", url), url
    assert "0.0.0.0" not in url and "only on this machine" not in r.stdout


def test_with_the_page_off_it_says_how_to_turn_it_on(tmp_path: Path) -> None:
    r = coach("web", env=env_for(tmp_path, "mpris: false\n"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        f"{tmp_path}/cfg/coach/config.yaml: error: the page is off: add `web: {{listen: "
        "0.0.0.0:8080}` (every address) or `web: {listen: 127.0.0.1:8080}` and restart the daemon"]
    assert not (tmp_path / "state" / "coach" / "web-token").exists()
