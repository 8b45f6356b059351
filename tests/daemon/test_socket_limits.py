"""The control socket under a crowd, over real Unix sockets: idle connections never lock a new
client out (the longest idle one is closed to make room), busy ones are never closed, and a
real daemon answers `coach status` at once with 200 idle connections open."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coach.daemon.control import ControlServer, request
from tests.support.coachd import Coachd
from tests.support.real import ROOT


def connect(path: Path) -> socket.socket:
    deadline = time.monotonic() + 5
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:  # the listen backlog is full for a moment: as request() does
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def read_line(s: socket.socket) -> dict | None:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf)


def evicted(reply: dict | None) -> bool:
    """The line a connection closed to make room gets before its end of file."""
    return reply is not None and reply["ok"] is False and "longest idle" in reply["error"]


def echo(req: dict) -> dict:
    return {"echo": req}


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "coach" / "control.sock"


def test_200_idle_connections_leave_room_for_status(sock_path: Path) -> None:
    with ControlServer(sock_path, echo):  # 128 connections at most, as the daemon's
        idle = []
        for i in range(200):
            s = connect(sock_path)
            if i == 0:
                s.sendall(b'{"cmd": "status"}\n')  # the first one was served once, then idled
                assert read_line(s) == {"ok": True, "echo": {"cmd": "status"}}
            idle.append(s)
            time.sleep(0.001)  # accepted in this order: the oldest is the longest idle
        t0 = time.monotonic()
        reply = request({"cmd": "status"}, sock_path, timeout=5)
        took = time.monotonic() - t0
        assert reply == {"ok": True, "echo": {"cmd": "status"}}
        assert took < 1.0, f"status took {took:.2f} s"
        # The longest idle were told why and closed; the newest are still served.
        assert evicted(read_line(idle[0]))
        assert read_line(idle[0]) is None
        newest = idle[-1]
        newest.sendall(b'{"cmd": "ping"}\n')
        assert read_line(newest) == {"ok": True, "echo": {"cmd": "ping"}}
        for s in idle:
            s.close()


def test_a_connection_that_keeps_talking_outlives_idle_newer_ones(sock_path: Path) -> None:
    with ControlServer(sock_path, echo, max_clients=3):
        chatty = connect(sock_path)
        quiet = [connect(sock_path), connect(sock_path)]
        time.sleep(0.05)
        chatty.sendall(b'{"cmd": "ping"}\n')  # the oldest connection, but it just spoke
        assert read_line(chatty) is not None
        assert request({"cmd": "status"}, sock_path)["ok"] is True
        assert evicted(read_line(quiet[0]))
        chatty.sendall(b'{"cmd": "ping"}\n')
        assert read_line(chatty) == {"ok": True, "echo": {"cmd": "ping"}}
        for s in [chatty, *quiet]:
            s.close()


def test_connections_being_answered_are_never_closed(sock_path: Path) -> None:
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow(req: dict) -> dict:
        if req.get("slow"):
            entered.release()
            release.wait(10)
        return {"echo": req}

    with ControlServer(sock_path, slow, max_clients=2):
        busy = [connect(sock_path) for _ in range(2)]
        for s in busy:
            s.sendall(b'{"cmd": "status", "slow": true}\n')
        for _ in busy:
            assert entered.acquire(timeout=5)
        # Both are in the middle of a request: the newcomer is refused, nobody is cut off.
        assert request({"cmd": "status"}, sock_path) == {"ok": False, "error": "too many connections"}
        release.set()
        for s in busy:
            assert read_line(s) == {"ok": True, "echo": {"cmd": "status", "slow": True}}
        # Now idle: a newcomer gets a place.
        assert request({"cmd": "status"}, sock_path)["ok"] is True
        for s in busy:
            s.close()


def test_clients_that_never_read_their_replies_do_not_lock_others_out(sock_path: Path) -> None:
    with ControlServer(sock_path, echo, max_clients=3):
        stuck = []
        for _ in range(3):
            s = connect(sock_path)
            # Thousands of requests, no reply read: the server blocks writing the replies.
            s.sendall(b'{"cmd": "status"}\n' * 6000)
            stuck.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        assert request({"cmd": "status"}, sock_path, timeout=5)["ok"] is True
        assert time.monotonic() - t0 < 1.0
        for s in stuck:
            s.close()


def test_a_crowd_of_connecting_clients_leaves_the_thread_count_bounded(sock_path: Path) -> None:
    with ControlServer(sock_path, echo, max_clients=16):
        before = threading.active_count()
        held = [connect(sock_path) for _ in range(300)]
        time.sleep(0.3)
        assert threading.active_count() - before <= 2 * 16
        assert request({"cmd": "status"}, sock_path)["ok"] is True
        for s in held:
            s.close()


@pytest.mark.slow
def test_coach_status_answers_a_real_daemon_with_200_idle_connections(tmp_path: Path) -> None:
    d = Coachd(tmp_path, dict(os.environ))
    try:
        d.start()
        path = Path(d.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"
        idle = [connect(path) for _ in range(200)]
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "coach.cli", "status", "--json"], cwd=ROOT,
                           env=d.env, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        assert json.loads(r.stdout)["state"] == "idle"
        assert took < 10, took  # a Python start; the refusal came at once too, but said no
        for s in idle:
            s.close()
        assert "Traceback" not in d.text()
    finally:
        d.cleanup()
