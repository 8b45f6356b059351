"""The page's library and history: each program with its length and `coach check`'s errors
(by line), its text for the editor, a save that runs the same loader first (a program that does
not pass is never written; one that does is written whole or not at all), the plan strip, and
the history with the imbalance report and the plot (coach/report, as `coach history` shows it).

Reading files, parsing and drawing run on the server's worker threads, never on its loop."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from coach.core.errors import CoachError
from coach.core.imbalance import imbalance
from coach.core.program import load_program, parse_program
from coach.core.timeline import compile_program
from coach.files import atomic_write_text
from coach.protocol.messages import ProgramList, Programs, Reload
from coach.report import views
from coach.store.config import with_voice_defaults

if TYPE_CHECKING:
    from coach.daemon.web.server import WebServer

STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a program file's name, without .yaml
SERVER: web.AppKey[WebServer] = web.AppKey("coach-web-server")  # the WebServer behind the app
HISTORY_SESSIONS = 30  # the sessions the page lists (the imbalance and plot read them all)
MAX_PROGRAM_CHARS = 1024 * 1024  # as a program file read from disk (read_program_text)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/programs", programs)
    app.router.add_get("/api/programs/{stem}", program_text)
    app.router.add_post("/api/programs/{stem}", save_program)
    app.router.add_get("/api/programs/{stem}/plan.png", plan_png)
    app.router.add_get("/api/history", history)
    app.router.add_get("/api/history/plot.png", history_png)


def _server(request: web.Request) -> WebServer:
    return request.app[SERVER]


def _diagnostics(e: CoachError) -> list[dict[str, Any]]:
    return [{"line": d.line, "col": d.col, "message": d.message, "severity": d.severity}
            for d in e.diagnostics]


def check_text(text: str, path: str, server: WebServer) -> tuple[float | None, list[dict[str, Any]]]:
    """`coach check`'s verdict on a program's text: (its length in s, []) or (None, errors).
    The same loader as `coach check` and the daemon: parse, config's voice defaults, timeline."""
    try:
        program = with_voice_defaults(parse_program(text, path), server.place.voice_defaults)
        return compile_program(program).duration_ms / 1000, []
    except CoachError as e:
        return None, _diagnostics(e)


def check_file(path: Path, server: WebServer) -> dict[str, Any]:
    """A program file read as `coach check` reads it: its name, length in s, the size of its
    plan strip in pixels (the page reserves the image's box) and its errors."""
    try:
        program = with_voice_defaults(load_program(path), server.place.voice_defaults)
        timeline = compile_program(program)
    except CoachError as e:
        return {"name": None, "duration": None, "plan": None, "errors": _diagnostics(e)}
    from coach.report.plots import plan_size_px  # no matplotlib: the size only
    return {"name": program.name, "duration": timeline.duration_ms / 1000,
            "plan": plan_size_px(timeline), "errors": []}


async def _library(server: WebServer) -> dict[str, Path]:
    """The daemon's library: each program file's path by stem."""
    reply = await server.ask(Programs())
    if not isinstance(reply, ProgramList):
        raise web.HTTPServiceUnavailable(text='{"ok": false, "error": "the daemon did not answer"}',
                                         content_type="application/json")
    return {stem: Path(p.path) for stem, p in reply.programs.items()}


async def programs(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    lib = await _library(server)

    def read_all() -> list[dict[str, Any]]:
        out = []
        for stem, path in sorted(lib.items()):
            out.append({"stem": stem, "path": str(path), **check_file(path, server)})
        return out

    return web.json_response({"ok": True, "programs": await server.in_worker(read_all)})


def _stem(request: web.Request) -> str:
    stem = request.match_info["stem"]
    if not STEM.match(stem):
        raise web.HTTPNotFound(text='{"ok": false, "error": "no such program"}',
                               content_type="application/json")
    return stem


async def program_text(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    stem = _stem(request)
    path = (await _library(server)).get(stem)
    if path is None:
        raise web.HTTPNotFound(text='{"ok": false, "error": "no such program"}',
                               content_type="application/json")

    def read() -> dict[str, Any]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return {"ok": False, "error": f"{path}: cannot read: {e}"}
        return {"ok": True, "stem": stem, "path": str(path), "text": text,
                **check_file(path, server)}

    return web.json_response(await server.in_worker(read))


async def save_program(request: web.Request) -> web.StreamResponse:
    """Validate, then write (atomically) only what passes; the daemon re-reads its library."""
    from coach.daemon.web.server import json_body
    server = _server(request)
    stem = _stem(request)
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or len(text) > MAX_PROGRAM_CHARS:
        return web.json_response({"ok": False, "error": "text must be the program, at most "
                                  "1 MiB"}, status=400)
    lib = await _library(server)
    path = lib.get(stem, server.place.programs_dir / f"{stem}.yaml")

    def check_and_save() -> tuple[float | None, list[dict[str, Any]]]:
        length, errors = check_text(text, str(path), server)
        if not errors:
            atomic_write_text(path, text)
        return length, errors

    length, errors = await server.in_worker(check_and_save)
    if errors:
        return web.json_response({"ok": False, "error": "not saved: the program has mistakes",
                                  "errors": errors}, status=422)
    await server.ask(Reload())
    return web.json_response({"ok": True, "stem": stem, "path": str(path), "duration": length})


async def plan_png(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    stem = _stem(request)
    path = (await _library(server)).get(stem)
    if path is None:
        raise web.HTTPNotFound()

    def draw() -> bytes | None:
        from coach.report.plots import plan_figure, plan_strip
        try:
            program = with_voice_defaults(load_program(path), server.place.voice_defaults)
        except CoachError:
            return None
        return _png(plan_figure(plan_strip(compile_program(program))))

    png = await server.in_worker(draw)
    if png is None:
        raise web.HTTPNotFound()
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


async def history(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    h = server.place.history

    def read() -> dict[str, Any]:
        sessions = h.recent(None) if h is not None and h.enabled else []
        rows = imbalance(sessions, "feel")
        return {"ok": True,
                "sessions": [views.session_json(s) for s in sessions[:HISTORY_SESSIONS]],
                "imbalance": [{**x.to_json(), "line": views.imbalance_line(x)} for x in rows]}

    return web.json_response(await server.in_worker(read))


async def history_png(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    h = server.place.history

    def draw() -> bytes | None:
        from coach.report.plots import history_figure
        sessions = h.recent(None) if h is not None and h.enabled else []
        panels = views.plot_data(sessions)
        return _png(history_figure(panels)) if panels else None

    png = await server.in_worker(draw)
    if png is None:
        raise web.HTTPNotFound(text='{"ok": false, "error": "no sets in the history yet"}',
                               content_type="application/json")
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})

