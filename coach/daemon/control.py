"""The daemon's control socket: one JSON object per line each way over a Unix stream socket,
only for the daemon's own uid (SO_PEERCRED). Server (threaded) and client; the JSON objects are
the wire of coach.protocol.codec."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import selectors
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from coach.core.errors import CoachError, Diagnostic
from coach.protocol.codec import COMMANDS, request_verb
from coach.protocol.messages import CommandError, Failed, JsonObject

logger = logging.getLogger(__name__)

MAX_LINE = 64 * 1024  # bytes in one request line, newline excluded
MAX_REPLY = 64 * 1024 * 1024  # the client's bound on a reply (a long history listing)
_UCRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}
_SUN_PATH_MAX = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux


class DaemonAlreadyRunning(CoachError):
    """Another coach daemon holds this control socket."""


def socket_path() -> Path:
    """$XDG_RUNTIME_DIR/coach/control.sock, or /tmp/coach-$UID/control.sock without it."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "coach" / "control.sock"
    return Path(f"/tmp/coach-{os.getuid()}") / "control.sock"


def _error(path: Path, message: str) -> CoachError:
    return CoachError(Diagnostic(str(path), 0, 0, message))


def _encode(reply: JsonObject) -> bytes:
    # json.dumps escapes newlines inside strings, so a reply is always exactly one line.
    return json.dumps(reply).encode() + b"\n"


EVICTED = "closed: this connection was the longest idle while the control socket was full"


@dataclass(eq=False)
class _Conn:
    """One served connection: when it last sent anything, whether a request of it is being
    answered or its reply written, and whether it was closed to make room for a new client."""

    sock: socket.socket
    last: float  # time.monotonic() of its accept or of the last bytes it sent
    busy: bool = False  # the handler is answering it: never closed meanwhile
    sending: bool = False  # its reply is being written (a client that never reads blocks here)
    evicted: bool = False


class ControlServer:
    """Serves the control socket from background threads (one per connection).

    ``handler(request) -> reply`` is called with each JSON request object whose verb is one of
    ``commands``, from the connection's own thread (the daemon's, commands.answer_json, parses
    it, posts it to the session thread and waits). The server adds
    ``"ok": True`` to a reply that lacks "ok"; a CoachError raised by the handler becomes
    ``{"ok": false, "error": str(e)}``, any other exception
    ``{"ok": false, "error": "internal error: ..."}`` (logged).

    At most ``max_clients`` connections are served at once, and a full server still makes room
    for a new client: the connection idle the longest (not in the middle of a request) is told
    so and closed. Only when every one of them is being answered is the newcomer refused ("too
    many connections"). 128 idle connections once locked everyone out, `coach status`
    included, until the 300 s idle timeout."""

    def __init__(
        self,
        path: Path,
        handler: Callable[[JsonObject], JsonObject],
        *,
        commands: Iterable[str] = tuple(COMMANDS),
        idle_timeout: float = 300.0,
        max_clients: int = 128,
    ):
        self.path = Path(path)
        self.handler = handler
        self.commands = frozenset(commands)
        self.idle_timeout = idle_timeout
        self.max_clients = max_clients
        self._conns: dict[socket.socket, _Conn] = {}  # the served ones, under _conns_lock
        # Serving threads alive, the evicted ones still finishing included: never more than
        # 2 * max_clients (an evicted thread ends as soon as it runs).
        self._threads = 0
        self._conns_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._lock_fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the socket (dir 0700, socket 0600) and serve in the background.

        Raises DaemonAlreadyRunning when another daemon holds or answers on the socket; a stale
        socket file (nothing answers) is replaced."""
        if len(os.fsencode(self.path)) > _SUN_PATH_MAX:
            raise _error(self.path, f"socket path longer than {_SUN_PATH_MAX} bytes")
        self._make_dir()
        self._take_lock()
        try:
            self._remove_stale()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                sock.bind(str(self.path))
                # The 0700 directory already keeps others out; 0600 says so on the socket too.
                os.chmod(self.path, 0o600)
                st = os.lstat(self.path)
                self._inode = (st.st_dev, st.st_ino)
                sock.listen(128)
                sock.setblocking(False)
            except BaseException:
                sock.close()
                raise
        except BaseException:
            self._release_lock()
            raise
        self._listener = sock
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._closing.clear()
        self._thread = threading.Thread(target=self._accept_loop, name="coach-control", daemon=True)
        self._thread.start()
        logger.info("control socket listening at %s", self.path)

    def close(self) -> None:
        """Stop serving, drop open connections and remove the socket file."""
        if self._listener is None:
            return
        self._closing.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes its thread's recv()
            except OSError:
                pass
        self._listener.close()
        self._listener = None
        try:  # only our own socket: a successor daemon may already have bound a new one
            st = os.lstat(self.path)
            if (st.st_dev, st.st_ino) == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._release_lock()

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _make_dir(self) -> None:
        d = self.path.parent
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(d)
        # /tmp/coach-$UID may have been planted by someone else: never use a dir we don't own.
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise _error(d, "socket directory is not a directory owned by this user")
        os.chmod(d, 0o700)

    def _take_lock(self) -> None:
        # An flock held for the server's life makes "is another daemon starting or running?"
        # race-free; the lock file is never deleted (deleting it would reopen that race).
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DaemonAlreadyRunning(
                Diagnostic(str(self.path), 0, 0, "coach daemon already running")
            ) from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the fd releases the flock
            self._lock_fd = None

    def _remove_stale(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise _error(self.path, "exists and is not a socket; not replacing it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        probe.settimeout(1.0)
        try:
            probe.connect(str(self.path))
        except (ConnectionRefusedError, FileNotFoundError):
            logger.info("removing stale control socket %s", self.path)
            os.unlink(self.path)
            return
        finally:
            probe.close()
        # Something answers although nobody holds our lock: an older daemon, or another program.
        raise DaemonAlreadyRunning(
            Diagnostic(str(self.path), 0, 0, "coach daemon already running (it answers on this socket)")
        )

    # -- serving -----------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._closing.is_set():
                for key, _ in sel.select():
                    if key.fileobj is not self._listener:
                        continue
                    try:
                        conn, _ = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as exc:  # EMFILE and friends: keep serving the others
                        logger.warning("control socket accept failed: %s", exc)
                        continue
                    conn.setblocking(True)
                    state = self._admit(conn)
                    if state is None:
                        # No drain here: the accept loop must not wait on a client.
                        conn.settimeout(0.1)
                        try:
                            conn.sendall(_encode(Failed("too many connections").to_json()))
                        except OSError:
                            pass
                        conn.close()
                        continue
                    threading.Thread(
                        target=self._serve, args=(state,), name="coach-control-conn", daemon=True
                    ).start()
        finally:
            sel.close()

    def _admit(self, conn: socket.socket) -> _Conn | None:
        """Take ``conn`` on, closing the longest-idle connection first when the server is full;
        None when every served connection is busy (or too many threads still run)."""
        victim = None
        with self._conns_lock:
            if len(self._conns) >= self.max_clients:
                idle = [c for c in self._conns.values() if not c.busy]
                if idle:
                    victim = min(idle, key=lambda c: c.last)
                    victim.evicted = True
                    del self._conns[victim.sock]
            if len(self._conns) >= self.max_clients or self._threads >= 2 * self.max_clients:
                state = None
            else:
                state = _Conn(conn, time.monotonic())
                self._conns[conn] = state
                self._threads += 1
        if victim is not None:
            self._evict(victim)
        return state

    def _evict(self, victim: _Conn) -> None:
        """Wake an idle connection's thread, which tells its client why and hangs up (the
        accept loop never writes to a client: it must not wait on one). One stuck writing a
        reply its client does not read is cut off both ways: its sendall() fails at once."""
        logger.debug("control socket full: closing the connection idle for %.0f s",
                     time.monotonic() - victim.last)
        try:
            # SHUT_RD: its recv() returns b"" at once, and it can still say why.
            victim.sock.shutdown(socket.SHUT_RDWR if victim.sending else socket.SHUT_RD)
        except OSError:
            pass

    def _serve(self, state: _Conn) -> None:
        conn = state.sock
        try:
            conn.settimeout(self.idle_timeout)
            pid, uid, _gid = _UCRED.unpack(
                conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
            )
            if uid != os.getuid():
                logger.warning("control socket: refused pid %d (uid %d)", pid, uid)
                self._refuse(conn, "permission denied")
                return
            buf = b""
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > MAX_LINE:
                        self._refuse(conn, "request too long")
                        return
                    chunk = conn.recv(65536)
                    if not chunk:
                        if state.evicted:
                            conn.settimeout(0.1)
                            conn.sendall(_encode(Failed(EVICTED).to_json()))
                        elif buf:
                            logger.debug("control socket: client left mid-line (%d bytes)", len(buf))
                        return
                    buf += chunk
                    with self._conns_lock:
                        state.last = time.monotonic()
                    continue
                line, buf = buf[:nl], buf[nl + 1 :]
                if len(line) > MAX_LINE:
                    self._refuse(conn, "request too long")
                    return
                with self._conns_lock:
                    if state.evicted:
                        return
                    state.busy = True
                try:
                    reply = _encode(self._reply(line))
                finally:
                    with self._conns_lock:
                        state.busy, state.sending = False, True
                conn.sendall(reply)
                with self._conns_lock:
                    state.sending, state.last = False, time.monotonic()
        except (OSError, TimeoutError) as exc:  # client vanished or idled out: its problem only
            logger.debug("control connection ended: %s", exc)
        finally:
            with self._conns_lock:
                if self._conns.get(conn) is state:
                    del self._conns[conn]
                self._threads -= 1
            conn.close()

    def _refuse(self, conn: socket.socket, error: str) -> None:
        """Answer once and hang up. Unread input is drained first, since closing a Unix socket
        with unread data resets it and the client might lose our answer."""
        try:
            conn.sendall(_encode(Failed(error).to_json()))
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(1.0)
            drained = 0
            while drained < 4 * MAX_LINE:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    def _reply(self, line: bytes) -> JsonObject:
        try:
            req = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Failed(f"malformed JSON: {exc}").to_json()
        except RecursionError:
            return Failed("malformed JSON: nested too deeply").to_json()
        try:
            cmd = request_verb(req, self.commands)
        except CommandError as exc:
            return Failed(str(exc)).to_json()
        try:
            reply = self.handler(req)
            if not isinstance(reply, dict):
                raise TypeError(f"handler returned {type(reply).__name__}, not dict")
            reply = {"ok": True, **reply} if "ok" not in reply else reply
            json.dumps(reply)  # unserialisable replies are the handler's bug, reported as such
            return reply
        except CoachError as exc:
            return Failed(str(exc)).to_json()
        except Exception as exc:
            logger.exception("control handler failed on %r", cmd)
            return Failed(f"internal error: {type(exc).__name__}: {exc}").to_json()


class DaemonNotRunning(ConnectionError):
    """No daemon at the socket (no socket file, or nobody accepting on it): the command line
    says how to start one."""


def _connect(path: Path, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            return sock
        except BlockingIOError:
            # A Unix socket with a full listen backlog fails at once with EAGAIN rather than
            # waiting (the daemon is busy accepting others): retry until the deadline.
            sock.close()
            if time.monotonic() >= deadline:
                raise ConnectionError(f"coach daemon at {path} is too busy to accept") from None
            time.sleep(0.01)
        except FileNotFoundError:
            sock.close()
            raise DaemonNotRunning(f"coach daemon is not running (no socket at {path})") from None
        except ConnectionRefusedError:
            sock.close()
            raise DaemonNotRunning(f"coach daemon is not running (nothing answers at {path})") from None
        except PermissionError:
            sock.close()
            raise ConnectionError(f"cannot reach the coach daemon at {path}: permission denied") from None
        except TimeoutError:
            sock.close()
            raise ConnectionError(f"coach daemon at {path} did not accept within {timeout:g} s") from None
        except BaseException:
            sock.close()
            raise


def request(cmd: JsonObject, path: Path | None = None, timeout: float = 5.0) -> JsonObject:
    """Send one request to the daemon and return its reply.

    Raises ConnectionError (with a message fit for the user) when the daemon can't be reached
    or doesn't answer within ``timeout`` seconds."""
    path = Path(path) if path is not None else socket_path()
    sock = _connect(path, timeout)
    try:
        try:
            sock.sendall(json.dumps(cmd).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon refused and hung up; its answer may still be waiting to be read
        buf = b""
        while b"\n" not in buf:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise ConnectionError(f"coach daemon did not answer within {timeout:g} s") from None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise ConnectionError("coach daemon closed the connection without answering")
            buf += chunk
            if len(buf) > MAX_REPLY:
                raise ConnectionError("coach daemon's reply is too long")
    finally:
        sock.close()
    try:
        reply = json.loads(buf[: buf.index(b"\n")])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConnectionError(f"coach daemon sent a malformed reply: {exc}") from None
    if not isinstance(reply, dict):
        raise ConnectionError("coach daemon sent a reply that is not a JSON object")
    return reply


__all__ = ["MAX_LINE", "ControlServer", "DaemonAlreadyRunning", "DaemonNotRunning", "request",
           "socket_path"]
