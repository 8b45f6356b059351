"""The page from a real `coach daemon` process configured with `web: {listen: ...}`: the address
`coach web` prints opens it, its buttons drive the daemon (`coach status` agrees), the daemon's
own log (at debug level, every request in it) never holds the token, behind a trusted proxy
each forwarded client has its own guessing limit, and the port closes with the daemon."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.support.audio import PulseServer, need_pulse
from tests.support.coachd import Coachd
from tests.support.webrig import WEB_DAY

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_daemon_serves_the_page_that_coach_web_names(tmp_path: Path) -> None:
    need_pulse()
    port = free_port()
    with PulseServer(tmp_path / "pulse") as pulse:
        env = pulse.client_env(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"))
        d = Coachd(tmp_path, env)
        (tmp_path / "config" / "coach").mkdir(parents=True)
        (tmp_path / "config" / "coach" / "config.yaml").write_text(
            f"mpris: false\nweb: {{listen: 127.0.0.1:{port}, trusted_proxies: [127.0.0.1]}}\n")
        (d.programs / "day.yaml").write_text(WEB_DAY)
        try:
            d.start()
            url = d.ok("web", "--no-qr").splitlines()[0]
            token = (tmp_path / "state" / "coach" / "web-token").read_text().strip()
            assert url == f"http://127.0.0.1:{port}/?token={token}"

            async def use() -> tuple[int, str, dict, list[int]]:
                jar = aiohttp.CookieJar(unsafe=True)
                async with aiohttp.ClientSession(cookie_jar=jar) as c:
                    # This client is the proxy: a phone behind it guesses and is locked out...
                    guesser = {"X-Forwarded-For": "203.0.113.5"}
                    limited = [(await c.get(f"http://127.0.0.1:{port}/api/status?token=no",
                                            headers=guesser)).status for _ in range(11)]
                    # ...the owner's phone behind the same proxy is not.
                    r = await c.get(url, headers={"X-Forwarded-For": "203.0.113.6"})
                    page = await r.text()
                    r2 = await c.post(f"http://127.0.0.1:{port}/api/start", json={"program": "day"})
                    return r.status, page, await r2.json(), limited
            status, page, started, limited = asyncio.run(use())
            assert limited == [401] * 10 + [429]
            assert status == 200 and "<title>coach</title>" in page
            assert started["ok"] and started["program"] == "Web day"
            assert d.wait_for(lambda st: st["state"] == "playing", what="playing")["program"] == "Web day"
            d.ok("stop")
        finally:
            d.stop()
            d.cleanup()
        log = d.text()
        assert f"web: the page answers on http://127.0.0.1:{port}/" in log
        assert "POST /api/start 200" in log and "GET / 303" in log  # every request, at debug
        assert token not in log
        assert "web: a wrong token from 203.0.113.5" in log
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
