"""A seeded fuzz of the control socket against a real `coach daemon` process: random bytes,
truncated JSON, oversized lines, deep nesting, wrong types for every field of every command,
many connections at once, half-closed connections. Every line gets one JSON reply with a boolean
"ok" (an oversized line: a refusal or a hang-up), and the daemon keeps serving with a clean log.

No audio: the programs dir holds no playable program, so no session ever starts; the HOME's
.asoundrc has no usable device should one try."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.support.audio import AlsaFileEnv
from tests.support.coachd import Coachd

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("COACH_FUZZ_SEED", "20250607"))
MAX_LINE = 64 * 1024
COMMANDS = ["status", "start", "pause", "resume", "skip", "back", "extend", "stop", "reload",
            "history", "ping", "programs", "toggle", "", "STATUS", "fly", "start ", "__init__"]
FIELDS = ["cmd", "program", "force", "json", "limit", "seconds", "at", "id"]
VALUES = [5, -1, 0, 2**70, 5.5, 1e308, float("nan"), float("inf"), None, True, False, [], {},
          [1, "a"], {"cmd": "stop"}, "", " ", "x" * 5000, "row", "../../etc/passwd", "/",
          "/dev/zero", "/dev/null", "/etc/shadow", "/proc/self/status", "nope.yaml",
          "\ud800", "é\u2028\u0085", "programs/../programs", "--force"]


def _sock_path(d: Coachd) -> Path:
    return Path(d.env["XDG_RUNTIME_DIR"]) / "coach" / "control.sock"


def _connect(path: Path, timeout: float = 20) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:  # a full listen backlog (many clients at once): try again
            s.close()
            assert time.monotonic() < deadline, "daemon never accepted"
            time.sleep(0.01)


def exchange(path: Path, lines: list[bytes], shut_wr: bool = True) -> list[bytes]:
    """Send ``lines`` (each + newline) on one connection while reading; every reply line."""
    s = _connect(path)
    payload = b"".join(ln + b"\n" for ln in lines)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            s.sendall(payload)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:  # the server hung up (an oversized line): the replies tell
            errors.append(e)

    t = threading.Thread(target=send)
    t.start()
    buf = b""
    try:
        while buf.count(b"\n") < len(lines):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        t.join(30)
        s.close()
    return buf.splitlines()


def expect_refusal(line: bytes, request: bytes | None = None) -> None:
    """Whatever the request, the reply is one JSON object with a boolean "ok"; a request that is
    not a JSON object with a "cmd" string is refused (ok false)."""
    reply = json.loads(line)
    assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool), reply
    if request is not None:
        try:
            req = json.loads(request)
        except (ValueError, RecursionError):
            req = None
        if not (isinstance(req, dict) and isinstance(req.get("cmd"), str)):
            assert reply["ok"] is False, (request[:200], reply)
    if reply["ok"] is False:
        assert isinstance(reply.get("error"), str) and reply["error"], reply
        assert "internal error" not in reply["error"], (request and request[:200], reply)


def generate(rng: random.Random) -> list[bytes]:
    """The single-line cases, each < 64 KiB and without a newline."""
    out: list[bytes] = []
    for _ in range(700):  # random bytes
        out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))).replace(b"\n", b""))
    for _ in range(300):  # random unicode text, JSON-ish characters weighted up
        alphabet = '{}[]":,0123456789.-eE tfnul\\' + "".join(chr(rng.randrange(0x20, 0x3000))
                                                            for _ in range(20))
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 120)))
                   .encode("utf-8", "surrogatepass").replace(b"\n", b""))
    valid = [json.dumps({"cmd": c, "program": "row", "force": True}).encode() for c in COMMANDS]
    for _ in range(600):  # truncated and spliced JSON
        v = rng.choice(valid)
        cut = v[:rng.randrange(0, len(v))]
        if rng.random() < 0.3:
            cut += rng.choice(valid)[rng.randrange(0, 10):]
        out.append(cut)
    for cmd in COMMANDS:  # wrong types for every field of every command
        for field in FIELDS:
            for value in VALUES:
                req = {"cmd": cmd, field: value} if field != "cmd" else {"cmd": value}
                out.append(json.dumps(req).encode("utf-8", "surrogatepass"))
    for depth in (10, 100, 500, 900):  # nesting Python's json parses
        out.append(b"[" * depth + b"]" * depth)
        out.append(b'{"cmd": "status", "x": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}")
        out.append(b'{"cmd": ' + b"[" * depth + b"]" * depth + b"}")
    pad = MAX_LINE - len(b'{"cmd": "status", "pad": ""}')
    out.append(b'{"cmd": "status", "pad": "' + b"p" * pad + b'"}')  # exactly 64 KiB: served
    out += [b"", b" ", b"\r", b"null", b"0", b'"status"', b"[]", b"{}", b'{"cmd": null}',
            b'{"cmd": "status", "cmd": "ping"}', b'{"cmd": "\\u0000"}', b"NaN", b"\xef\xbb\xbf{}",
            b'{"cmd": "status"}\r', b'{"cmd": "status"} trailing']
    rng.shuffle(out)
    return out


@pytest.fixture
def daemon(tmp_path):
    no_audio = AlsaFileEnv(tmp_path / "alsa", broken=True)
    d = Coachd(tmp_path, dict(no_audio.env, XDG_CACHE_HOME=str(tmp_path / "cache")))
    (d.programs / "bad.yaml").write_text("program: Bad\nexercises: []\n")  # loads with an error
    (d.programs / "dir.yaml").mkdir()  # a directory where a program file would be
    os.mkfifo(d.programs / "fifo.yaml")  # opening it would block: must be refused unread
    d.start()
    yield d
    d.cleanup()


def test_fuzz_control_socket(daemon):
    t0 = time.monotonic()
    rng = random.Random(SEED)
    path = _sock_path(daemon)
    lines = generate(rng)
    assert len(lines) > 5000

    # Pipelined batches on a few connections at once.
    batches = [lines[i:i + 97] for i in range(0, len(lines), 97)]
    failures: list[str] = []

    def run(batch: list[bytes]) -> None:
        try:
            replies = exchange(path, batch)
            assert len(replies) == len(batch), (len(replies), len(batch))
            for req, rep in zip(batch, replies):
                expect_refusal(rep, req)
        except BaseException as e:  # reported from the main thread
            failures.append(f"{type(e).__name__}: {str(e)[:500]}")

    for i in range(0, len(batches), 8):
        threads = [threading.Thread(target=run, args=(b,)) for b in batches[i:i + 8]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not failures, failures[:5]

    # Oversized lines: one refusal ("request too long") or a hang-up, never a reply per chunk.
    for size in (MAX_LINE + 2, 70_000, 200_000, 3 * 2**20):
        for newline in (True, False):
            s = _connect(path)
            data = b'{"cmd": "status", "pad": "' + b"x" * size + (b'"}\n' if newline else b"")
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            got = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
            s.close()
            replies = got.splitlines()
            assert len(replies) <= 1, replies[:3]
            for rep in replies:
                assert json.loads(rep) == {"ok": False, "error": "request too long"}

    # Many connections at once (more than the daemon's 128 slots): each gets a JSON answer.
    answers: list[bytes] = []
    hold: list[socket.socket] = []

    def one() -> None:
        try:
            answers.extend(exchange(path, [b'{"cmd": "status"}']))
        except BaseException as e:
            failures.append(f"{type(e).__name__}: {e}")

    try:
        for _ in range(100):  # idle connections holding slots
            hold.append(_connect(path))
        threads = [threading.Thread(target=one) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in hold:
            s.close()
    assert not failures, failures[:5]
    assert len(answers) == 200
    for a in answers:
        reply = json.loads(a)
        assert reply.get("state") == "idle" or reply == {"ok": False, "error": "too many connections"}
    assert sum(json.loads(a).get("ok") is True for a in answers) >= 28

    # Half-closed and abandoned connections.
    for _ in range(50):
        s = _connect(path)
        s.sendall(b'{"cmd": "ping"}\n{"cmd": "sta')  # a whole line, then half of one
        s.shutdown(socket.SHUT_WR)
        got = s.makefile("rb").read()
        s.close()
        replies = got.splitlines()
        assert len(replies) == 1 and json.loads(replies[0])["ok"] is True, got
        s = _connect(path)  # connect and vanish
        s.close()
        s = _connect(path)  # a flood of requests, never reading a reply
        s.sendall(b'{"cmd": "status"}\n' * 200)
        s.close()

    # Afterwards: still serving, same process, nothing thrown anywhere.
    st = json.loads(daemon.ok("status", "--json"))
    assert st["state"] == "idle"
    assert daemon.proc.poll() is None
    text = daemon.text()
    assert "Traceback" not in text and "control handler failed" not in text, text[-4000:]
    assert text.count("coach daemon ready") == 1
    assert time.monotonic() - t0 < 60  # bounded: the budget the fuzz is sized for


def _one_line_is_answered(daemon, line: bytes) -> None:
    replies = exchange(_sock_path(daemon), [line])
    assert len(replies) == 1, "no answer: the connection was dropped"
    expect_refusal(replies[0], line)
    assert daemon.status()["state"] == "idle"
    assert "Traceback" not in daemon.text(), daemon.text()[-3000:]


@pytest.mark.parametrize("line", [b"[" * 5000 + b"]" * 5000,
                                  b'{"cmd": "status", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}"],
                         ids=["array", "in-a-request"])
def test_deeply_nested_json_is_answered(daemon, line):
    _one_line_is_answered(daemon, line)


def test_nul_in_a_program_path_is_a_plain_error(daemon):
    _one_line_is_answered(daemon, json.dumps({"cmd": "start", "program": "/tmp/\x00.yaml"}).encode())
