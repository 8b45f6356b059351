"""The page on the lifter's phone: an aiohttp server on its own thread and asyncio loop.

Like the keys, the GPIO button and MPRIS it only posts typed requests through ``handler``
(``Daemon.handle``, from an executor thread, so the loop never blocks on the session thread)
and reads the one typed Status. The live part is server-sent events: while a page is open the
status is asked every POLL_S and sent when what the page shows has changed (a phase change
reaches the page within POLL_S plus the session thread's tick). The library, its editor and the
history are in coach/daemon/web/api.py; the gate (token, cookie, origin, limit) in auth.py.

aiohttp rather than Starlette: one dependency that is both the server and the framework (no
ASGI server beside it), and server-sent events are a plain streamed response on its own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from coach.core.program import VoiceSettings
from coach.daemon.looppart import LoopPart
from coach.daemon.web import api
from coach.daemon.web.auth import AccessLog, FailureLimit, gate, load_or_create_token
from coach.protocol.messages import (
    Back,
    CommandError,
    Extend,
    Failed,
    GetStatus,
    Pause,
    Rate,
    Reply,
    Request,
    Resume,
    Skip,
    Start,
    Status,
    Stop,
)
from coach.store.config import Network
from coach.store.history import History

log = logging.getLogger(__name__)

Handler = Callable[[Request], Reply]
# While a page is open: how often the status is asked (the page's latency). 0.25 s as the MQTT
# bridge: a phase change reaches the DOM in 143 ms median, 253 ms max (bench_web.py), and the
# daemon with the page and MQTT on costs 1.30 % of a core, not 1.57-1.75 % as at 0.1 s
# (bench_net_cpu.py: each poll is a wake-up of this loop, its executor and the session thread).
POLL_S = 0.25
RESYNC_S = 2.0  # a status is sent at least this often (the countdown's clock, a keep-alive)
MAX_BODY = 2 * 1024 * 1024  # a program is at most 1 MiB; anything larger is refused (413)
# The buttons that move a running session, by the page's name for them.
SESSION_VERBS: dict[str, Callable[[], Request]] = {
    "pause": Pause, "resume": Resume, "skip": Skip, "back": Back, "stop": Stop, "extend": Extend}
STATIC = resources.files("coach.daemon.web") / "static"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml", ".png": "image/png"}


def _shown(st: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a status, but the position (which moves every poll)."""
    return {k: v for k, v in st.items() if k != "position"}


@dataclass
class Place:
    """Where the daemon keeps what the page reads and edits."""

    programs_dir: Path
    history: History | None = None
    voice_defaults: VoiceSettings | None = None
    token_path: Path | None = None  # None: the state dir's (auth.token_path)


class WebServer(LoopPart):
    """The web part: ``start(handler)`` / ``close()`` like the keys, the button and MPRIS."""

    thread_name = "coach-web"
    label = "web"
    failed = "the page failed; it is off (the daemon plays on)"

    def __init__(self, host: str, port: int, place: Place, *, poll_s: float = POLL_S,
                 limit: FailureLimit | None = None,
                 trusted_proxies: Sequence[Network] = ()) -> None:
        super().__init__(log)
        self.host = host
        self.port = port  # 0: any free port; the bound one is here once ``ready`` is set
        self.place = place
        self.poll_s = poll_s
        self.limit = limit or FailureLimit()
        self.trusted_proxies = tuple(trusted_proxies)
        self.token = load_or_create_token(place.token_path)
        self._handler: Handler | None = None
        # One worker for the daemon: requests reach the session thread in the order they came.
        self._daemon_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="coach-web")
        # Disk and pictures (history, program files, plots) never wait behind the daemon.
        self.work_pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="coach-web-io")
        self._clients: set[asyncio.Queue[str]] = set()
        self._last: dict[str, Any] | None = None
        self._poller: asyncio.Task[None] | None = None

    # --- lifecycle (the daemon's main thread) -----------------------------------------------

    def start(self, handler: Handler) -> None:
        self._handler = handler
        self._start_loop()

    def close(self) -> None:
        self._close_loop()
        self._daemon_pool.shutdown(wait=False, cancel_futures=True)
        self.work_pool.shutdown(wait=False, cancel_futures=True)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY,
                              middlewares=[_size_limit, gate(self.token, self.limit,
                                                                 self.trusted_proxies)])
        app[api.SERVER] = self
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/status", self._status)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/start", self._start_program)
        app.router.add_post("/api/rate", self._rate)
        app.router.add_post("/api/{verb:pause|resume|skip|back|stop|extend}", self._session_verb)
        api.add_routes(app)
        return app

    async def _main(self) -> None:
        assert self._stop is not None
        runner = web.AppRunner(self.app(), handle_signals=False, access_log_class=AccessLog,
                               shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            try:
                await site.start()
            except OSError as e:
                why = os.strerror(e.errno) if e.errno else str(e)
                log.error("web: cannot listen on %s:%d (%s); the page is off", self.host,
                          self.port, why)
                return
            server = site._server
            if self.port == 0 and server is not None and server.sockets:  # type: ignore[attr-defined]
                self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            self.active = True
            self.ready.set()
            log.info("web: the page answers on http://%s:%d/ (`coach web` shows its address "
                     "with the token)", self.host, self.port)
            await self._stop.wait()
        finally:
            self.active = False
            for q in list(self._clients):
                q.put_nowait("")  # an empty message ends each open event stream
            if self._poller is not None:
                self._poller.cancel()
            await runner.cleanup()

    # --- talking to the daemon ---------------------------------------------------------------

    async def ask(self, req: Request) -> Reply:
        assert self._loop is not None and self._handler is not None
        return await self._loop.run_in_executor(self._daemon_pool, self._handler, req)

    async def in_worker(self, fn: Callable[..., Any], *args: Any) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self.work_pool, fn, *args)

    def _send(self, st: dict[str, Any]) -> None:
        self._last = st
        line = f"data: {json.dumps(st)}\n\n"
        for q in self._clients:
            q.put_nowait(line)

    async def _poll(self) -> None:
        """While a page is open: the status every poll_s, sent when what it shows changed."""
        assert self._loop is not None
        sent_at = 0.0
        while self._clients:
            reply = await self.ask(GetStatus())
            if isinstance(reply, Status):
                st = reply.to_json()
                now = self._loop.time()
                if (self._last is None or _shown(st) != _shown(self._last)
                        or now - sent_at >= RESYNC_S):
                    self._send(st)
                    sent_at = now
            await asyncio.sleep(self.poll_s)
        self._poller = None

    # --- handlers -----------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return _asset("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return _asset(request.match_info["name"])

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return reply_json(await self.ask(GetStatus()))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store"})
        await resp.prepare(request)
        q: asyncio.Queue[str] = asyncio.Queue()
        self._clients.add(q)
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll())
        try:
            reply = await self.ask(GetStatus())
            if isinstance(reply, Status):
                await resp.write(f"data: {json.dumps(reply.to_json())}\n\n".encode())
            while True:
                line = await q.get()
                if not line:
                    break
                await resp.write(line.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(q)
        return resp

    async def _after(self, reply: Reply) -> web.StreamResponse:
        """A request's reply; a Status also goes to every open page at once."""
        if isinstance(reply, Status) and self._clients:
            self._send(reply.to_json())
        elif not isinstance(reply, Failed) and self._clients:
            st = await self.ask(GetStatus())
            if isinstance(st, Status):
                self._send(st.to_json())
        return reply_json(reply)

    async def _session_verb(self, request: web.Request) -> web.StreamResponse:
        return await self._after(await self.ask(SESSION_VERBS[request.match_info["verb"]]()))

    async def _start_program(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        try:
            # Only the two fields the page may set (never a scheduler's slot); force is a
            # JSON boolean or absent, as on the socket.
            req = Start.from_json({k: body[k] for k in ("program", "force") if k in body})
        except CommandError as e:
            return web.json_response({"ok": False, "error": str(e)}, status=400)
        if "/" in req.program or req.program not in await self._stems():
            # The page starts the library's programs, never an arbitrary file of the Pi.
            return web.json_response({"ok": False, "error": f"no program {req.program!r} in "
                                      "the library"}, status=404)
        return await self._after(await self.ask(req))

    async def _stems(self) -> set[str]:
        from coach.protocol.messages import ProgramList, Programs
        reply = await self.ask(Programs())
        return set(reply.programs) if isinstance(reply, ProgramList) else set()

    async def _rate(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        try:
            req = Rate.from_json(body)
        except CommandError as e:
            return web.json_response({"ok": False, "error": str(e)}, status=400)
        return await self._after(await self.ask(req))


def reply_json(reply: Reply) -> web.Response:
    return web.json_response(reply.to_json(), status=409 if isinstance(reply, Failed) else 200)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} when it is none); a body too large is a 413 here."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text='{"ok": false, "error": "the body is not JSON"}',
                                 content_type="application/json") from None
    return body if isinstance(body, dict) else {}


@web.middleware
async def _size_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """A body larger than MAX_BODY is refused before a byte of it is read or anything runs."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return web.json_response({"ok": False, "error": f"request too large (at most "
                                  f"{MAX_BODY // (1024 * 1024)} MiB)"}, status=413)
    return await handler(request)


def _asset(name: str) -> web.Response:
    suffix = Path(name).suffix
    if "/" in name or name.startswith(".") or suffix not in CONTENT_TYPES:
        raise web.HTTPNotFound()
    f = STATIC / name
    if not f.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=f.read_bytes(), content_type=CONTENT_TYPES[suffix],
                        headers={"Cache-Control": "no-cache",
                                 # Nothing from anywhere else: no CDN, no inline script.
                                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
                                 "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})
