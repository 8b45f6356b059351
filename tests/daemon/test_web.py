"""The phone page over HTTP (aiohttp's client against the real server on a free loopback port, in
front of an in-process daemon): the token and its cookie, refusals that change nothing (401,
403, 429, 413), where it binds, the live events, the buttons, the library and its editor, and
the history with its plot."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from coach.daemon.web.auth import MAX_FAILURES, client_address, load_or_create_token
from coach.daemon.web.server import WebServer
from tests.support.rig import Rig
from tests.support.webrig import WEB_DAY, base_url, web_rig

Session = aiohttp.ClientSession


def run(server: WebServer, body: Callable[[Session, str], Awaitable[Any]],
        login: bool = True) -> Any:
    """``body(client, base url)`` with a client that (with ``login``) holds the cookie."""
    async def main() -> Any:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as c:
            u = base_url(server)
            if login:
                r = await c.get(f"{u}/?token={server.token}", allow_redirects=False)
                assert r.status == 303
            return await body(c, u)
    return asyncio.run(main())


def playing(rig: Rig) -> dict:
    assert rig.call("start", program="day")["ok"]
    return rig.wait_for(lambda st: st["state"] == "playing", "playing")


def test_the_token_once_in_the_address_becomes_an_httponly_strict_cookie(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        async def body(c: Session, u: str) -> None:
            r = await c.get(f"{u}/?token={server.token}", allow_redirects=False)
            assert r.status == 303 and r.headers["Location"] == "/"  # out of the address bar
            cookie = r.headers["Set-Cookie"]
            assert f"coach_token={server.token}" in cookie
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
            r = await c.get(f"{u}/")
            assert r.status == 200 and "<title>coach</title>" in await r.text()
            for asset in ("app.js", "style.css"):
                assert (await c.get(f"{u}/static/{asset}")).status == 200
            assert (await c.get(f"{u}/static/../server.py")).status in (403, 404)
        run(server, body, login=False)


def test_the_token_is_made_once_0600_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "web-token"
    token = load_or_create_token(path)
    assert len(token) >= 40 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_token(path) == token


@pytest.mark.parametrize("how", ["none", "wrong query", "wrong cookie"])
def test_without_the_right_token_401_and_nothing_changes(tmp_path: Path, how: str) -> None:
    with web_rig(tmp_path) as (rig, server):
        playing(rig)

        async def body(c: Session, u: str) -> list[int]:
            q = "?token=nope" if how == "wrong query" else ""
            h = {"Cookie": "coach_token=nope"} if how == "wrong cookie" else {}
            out = []
            for method, path in (("GET", "/"), ("GET", "/api/status"), ("GET", "/api/events"),
                                 ("POST", "/api/pause"), ("POST", "/api/stop"),
                                 ("GET", "/api/history"), ("GET", "/static/app.js")):
                r = await c.request(method, f"{u}{path}{q}", headers=h, allow_redirects=False)
                out.append(r.status)
            r = await c.post(f"{u}/api/programs/day{q}", json={"text": "program: x\n"}, headers=h)
            out.append(r.status)
            return out
        assert set(run(server, body, login=False)) == {401}
        assert rig.status()["state"] == "playing"
        assert (rig.programs / "day.yaml").read_text() == WEB_DAY


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "null"}])
def test_a_cross_site_post_is_403_and_changes_nothing(tmp_path: Path, headers: dict) -> None:
    with web_rig(tmp_path) as (rig, server):
        playing(rig)

        async def body(c: Session, u: str) -> tuple[int, int, int]:
            a = (await c.post(f"{u}/api/pause", headers=headers)).status
            b = (await c.post(f"{u}/api/programs/day", json={"text": WEB_DAY + "# x\n"},
                              headers=headers)).status
            # The page's own POST (a browser's headers for it) goes through.
            same = {"Origin": u, "Sec-Fetch-Site": "same-origin"}
            ok = (await c.post(f"{u}/api/pause", headers=same)).status
            return a, b, ok
        assert run(server, body) == (403, 403, 200)
        assert (rig.programs / "day.yaml").read_text() == WEB_DAY
        assert rig.status()["state"] == "paused"  # by the last, same-origin request only


def test_guessing_the_token_is_rate_limited(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        async def body(c: Session, u: str) -> list[int]:
            guesses = [(await c.get(f"{u}/api/status?token=guess{i}")).status
                       for i in range(MAX_FAILURES + 2)]
            # Locked out: even the right token is refused from that address for now.
            right = (await c.get(f"{u}/api/status?token={server.token}",
                                 allow_redirects=False)).status
            return [*guesses, right]
        got = run(server, body, login=False)
        assert got[:MAX_FAILURES] == [401] * MAX_FAILURES
        assert got[MAX_FAILURES:] == [429, 429, 429]


def guess_then_try(server: WebServer, guesser: str | None,
                   then: list[str | None]) -> tuple[list[int], list[int]]:
    """MAX_FAILURES + 1 wrong tokens with X-Forwarded-For ``guesser`` (None: no header), then
    the right token once with each of ``then``: their statuses."""
    def xff(value: str | None) -> dict[str, str]:
        return {} if value is None else {"X-Forwarded-For": value}

    async def body(c: Session, u: str) -> tuple[list[int], list[int]]:
        guesses = [(await c.get(f"{u}/api/status?token=guess{i}", headers=xff(guesser))).status
                   for i in range(MAX_FAILURES + 1)]
        after = [(await c.get(f"{u}/api/status?token={server.token}", headers=xff(h),
                              allow_redirects=False)).status for h in then]
        return guesses, after
    return run(server, body, login=False)


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(tmp_path: Path) -> None:
    """The test's client plays the proxy on 127.0.0.1 (configured as trusted), forwarding
    clients: one guesses and is locked out, another behind the same proxy is not, and the
    locked one cannot talk its way out by writing another address into the header."""
    with web_rig(tmp_path, trusted_proxies=[ip_network("127.0.0.1"),
                                            ip_network("10.0.0.0/8")]) as (rig, server):
        guesses, after = guess_then_try(server, "203.0.113.5", [
            "203.0.113.6",  # another phone behind the same proxy: let in (303 to the page)
            "198.51.100.7, 203.0.113.5",  # the guesser wrote an address; the proxy appended its own
            "203.0.113.5, 10.1.2.3",  # through a second trusted proxy: skipped
            "203.0.113.5:51234",  # with a port, as some proxies write it
            None,  # the proxy itself (no header): not the guesser
        ])
        assert guesses == [401] * MAX_FAILURES + [429]
        assert after == [303, 429, 429, 429, 303]


@pytest.mark.parametrize("trusted", [(), (ip_network("10.0.0.0/8"), ip_network("::1"))])
def test_x_forwarded_for_is_never_read_from_a_peer_not_trusted(tmp_path: Path,
                                                                trusted: tuple) -> None:
    """Without trusted proxies (or when the peer is not one), the header is the client's own
    words: a guesser who writes a new address each time is still one address."""
    with web_rig(tmp_path, trusted_proxies=trusted) as (rig, server):
        async def body(c: Session, u: str) -> list[int]:
            return [(await c.get(f"{u}/api/status?token=guess{i}",
                                 headers={"X-Forwarded-For": f"203.0.113.{i}"})).status
                    for i in range(MAX_FAILURES + 1)]
        assert run(server, body, login=False) == [401] * MAX_FAILURES + [429]
        assert guess_then_try(server, None, ["192.0.2.1"])[1] == [429]


@pytest.mark.parametrize("remote, forwarded, client", [
    ("127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
    ("127.0.0.1", ["1.1.1.1, 203.0.113.5", "10.0.0.2"], "203.0.113.5"),  # two headers, in order
    ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("127.0.0.1", ["10.0.0.2, 127.0.0.1"], "127.0.0.1"),  # only proxies: the proxy itself
    ("127.0.0.1", ["unknown"], "unknown"),  # a proxy's word for a hidden client: its own key
    ("127.0.0.1", [], "127.0.0.1"),
    ("192.0.2.9", ["203.0.113.5"], "192.0.2.9"),  # not a trusted peer: the header is ignored
    ("::ffff:127.0.0.1", ["203.0.113.5"], "203.0.113.5"),  # a dual-stack socket's IPv4 peer
    ("::1", ["203.0.113.5"], "::1"),
])
def test_the_client_is_the_right_most_untrusted_address(remote: str, forwarded: list[str],
                                                        client: str) -> None:
    trusted = [ip_network("127.0.0.1"), ip_network("10.0.0.0/8")]
    assert client_address(remote, forwarded, trusted) == client


def test_the_token_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with web_rig(tmp_path) as (rig, server):
        playing(rig)

        async def body(c: Session, u: str) -> None:
            await c.get(f"{u}/api/status")
            await c.get(f"{u}/api/status?token={server.token}")
            await c.post(f"{u}/api/pause?token={server.token}")
            await c.get(f"{u}/api/status?token={server.token[:-1]}x")  # a near miss too
            await c.get(f"{u}/nothing-here")
        run(server, body)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "web: 127.0.0.1 GET /api/status 200" in text  # the access log is there...
    assert server.token not in text and server.token[:-1] not in text  # ...without the token


def test_a_10_mb_request_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        big = json.dumps({"text": WEB_DAY + "#" * (10 * 1024 * 1024)}).encode()

        async def body(c: Session, u: str) -> tuple[int, int]:
            r = await c.post(f"{u}/api/programs/day", data=big,
                             headers={"Content-Type": "application/json"})

            async def chunks():  # no Content-Length: refused while it is read
                for i in range(0, len(big), 1 << 20):
                    yield big[i:i + (1 << 20)]
            r2 = await c.post(f"{u}/api/programs/day", data=chunks(),
                              headers={"Content-Type": "application/json"})
            return r.status, r2.status
        assert run(server, body) == (413, 413)
        assert (rig.programs / "day.yaml").read_text() == WEB_DAY


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_it_binds_only_where_configured(tmp_path: Path) -> None:
    with web_rig(tmp_path, host="127.0.0.2") as (rig, server):
        assert _connects("127.0.0.2", server.port)
        assert not _connects("127.0.0.1", server.port)
    (tmp_path / "b").mkdir()
    with web_rig(tmp_path / "b", host="127.0.0.1") as (rig, server):
        assert _connects("127.0.0.1", server.port)
        assert not _connects("127.0.0.2", server.port)


def test_a_port_in_use_is_one_log_line_and_the_daemon_plays_on(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with Rig(tmp_path) as rig:
            from coach.daemon.web.server import Place
            server = WebServer("127.0.0.1", port, Place(rig.programs, None,
                                                        token_path=tmp_path / "t"))
            server.start(rig.d.handle)
            assert not server.wait_ready()
            server.close()
            assert rig.status()["ok"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"web: cannot listen on 127.0.0.1:{port} (Address already in use); the page is off"]


def test_a_phase_change_reaches_the_event_stream_within_half_a_second(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        playing(rig)

        async def body(c: Session, u: str) -> tuple[dict, dict, float]:
            r = await c.get(f"{u}/api/events")
            assert r.headers["Content-Type"].startswith("text/event-stream")
            first = json.loads((await r.content.readline())[5:])
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, rig.player.advance_ms, 4500)  # into the lead-in (3-6 s)
            t0 = loop.time()
            while True:
                line = await asyncio.wait_for(r.content.readline(), 2)
                if line.startswith(b"data: "):
                    st = json.loads(line[6:])
                    if st["phase"] != first["phase"]:
                        r.close()
                        return first, st, loop.time() - t0
        first, st, dt = run(server, body)
        assert first["phase"] == "announce" and st["phase"] == "lead_in"
        assert st["phase_end"] == 6.0 and st["exercise"] == "Row"
        assert dt <= 0.5


def test_the_buttons_move_the_session(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        async def body(c: Session, u: str) -> list[Any]:
            out = []
            r = await c.post(f"{u}/api/start", json={"program": "day"})
            out.append((r.status, (await r.json())["program"]))
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: rig.wait_for(lambda st: st["state"] == "playing", "playing"))
            for verb in ("pause", "resume", "skip", "back", "extend"):
                r = await c.post(f"{u}/api/{verb}")
                out.append((verb, r.status, (await r.json()).get("state")))
            r = await c.post(f"{u}/api/start", json={"program": "../etc/passwd"})
            out.append(r.status)
            r = await c.post(f"{u}/api/stop")
            out.append((r.status, await r.json()))
            r = await c.post(f"{u}/api/pause")
            out.append((r.status, (await r.json())["error"]))
            return out
        got = run(server, body)
    assert got[0] == (200, "Web day")
    assert got[1:4] == [("pause", 200, "paused"), ("resume", 200, "playing"),
                        ("skip", 200, "playing")]
    assert got[4] == ("back", 200, "playing") and got[6] == 404
    assert got[5][:2] == ("extend", 409)  # not in a rest: the daemon's own answer
    assert got[7] == (200, {"ok": True, "state": "idle"})
    assert got[8] == (409, "no session is running")


def test_the_library_shows_each_error_by_its_line_and_the_length(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        (rig.programs / "broken.yaml").write_text(
            "program: Broken\nexercises:\n  - name: Curl\n    reps: 10\n    tempo: fast\n")
        rig.call("reload")

        async def body(c: Session, u: str) -> tuple[dict, bytes]:
            listed = await (await c.get(f"{u}/api/programs")).json()
            return listed, await (await c.get(f"{u}/api/programs/day/plan.png")).read()
        listed, png = run(server, body)
        got = {p["stem"]: p for p in listed["programs"]}
    assert got["day"]["duration"] == 108.0 and got["day"]["errors"] == []
    assert got["day"]["name"] == "Web day"
    # the plan strip's size, as the PNG has it (its header's width and height): the page
    # reserves the box before the image comes
    assert png[12:16] == b"IHDR"
    assert got["day"]["plan"] == [int.from_bytes(png[16:20], "big"),
                                  int.from_bytes(png[20:24], "big")]
    [err] = got["broken"]["errors"]
    assert err["line"] == 5 and "tempo" in err["message"] and got["broken"]["duration"] is None
    assert got["broken"]["plan"] is None


def test_the_editor_never_saves_a_program_that_does_not_pass(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        path = rig.programs / "day.yaml"
        before = path.stat().st_mtime_ns
        bad = WEB_DAY.replace("reps: 3", "reps: three")

        async def body(c: Session, u: str) -> tuple[Any, ...]:
            r = await c.post(f"{u}/api/programs/day", json={"text": bad})
            refused = (r.status, await r.json())
            good = WEB_DAY.replace("sets: 2", "sets: 3")
            r = await c.post(f"{u}/api/programs/day", json={"text": good})
            saved = (r.status, await r.json())
            r = await c.post(f"{u}/api/programs/new-one", json={"text": good.replace(
                "Web day", "New one")})
            made = r.status
            r = await c.get(f"{u}/api/programs/day")
            return refused, saved, made, await r.json()
        refused, saved, made, shown = run(server, body)
        assert refused[0] == 422
        assert [(e["line"], e["message"]) for e in refused[1]["errors"]][0] == (
            8, 'reps must be a whole number between 1 and 200, got "three"')
        assert path.stat().st_mtime_ns == before or "reps: 3\n" in path.read_text()
        assert saved[0] == 200 and saved[1]["duration"] > 108.0
        assert "sets: 3" in path.read_text() and shown["text"] == path.read_text()
        assert made == 200 and (rig.programs / "new-one.yaml").exists()
        assert "new-one" in rig.call("programs")["programs"]  # the daemon re-read its library
        assert not list(rig.programs.glob(".*.tmp"))


def test_history_with_the_imbalance_report_and_the_plot(tmp_path: Path) -> None:
    with web_rig(tmp_path) as (rig, server):
        playing(rig)
        rig.play_s(19)  # Row set 1's work done: its rest, where its rating is open

        async def body(c: Session, u: str) -> tuple[Any, ...]:
            r = await c.post(f"{u}/api/rate", json={"value": 4})
            rated = (r.status, await r.json())
            bad = (await c.post(f"{u}/api/rate", json={"value": 9})).status
            await c.post(f"{u}/api/stop")
            h = await (await c.get(f"{u}/api/history")).json()
            png = await c.get(f"{u}/api/history/plot.png")
            return rated, bad, h, png.status, png.headers["Content-Type"], await png.read()
        rated, bad, h, status, ctype, png = run(server, body)
    assert rated[0] == 200 and rated[1]["value"] == 4 and rated[1]["question"] == "feel"
    assert bad == 400
    [s] = h["sessions"]
    assert s["program"] == "Web day" and s["sets"][0]["ratings"] == {"feel": 4}
    assert h["imbalance"] == []  # no unilateral exercise in it
    assert status == 200 and ctype == "image/png" and png.startswith(b"\x89PNG")
