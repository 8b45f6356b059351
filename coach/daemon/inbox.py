"""The session thread's inbox, the one threading rule made concrete: any thread posts a
message (a typed request to be answered, a clip made, a wake-up); only the session thread takes
them, one at a time, and answers a request by setting its reply."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from coach.daemon.clips import ClipReady, JobDone
from coach.protocol.messages import Failed, Reply, Request

REPLY_TIMEOUT_S = 5.0  # a poster waits this long for the session thread's reply


@dataclass
class Call:
    """A request posted to the session thread, and its reply once made."""

    request: Request
    done: threading.Event = field(default_factory=threading.Event)
    reply: Reply | None = None


@dataclass(frozen=True)
class Wake:
    """Posted to make the session thread look at ``stopping`` now (a signal arrived)."""


Message = Call | ClipReady | JobDone | Wake


class Inbox:
    """The session thread's queue. ``post`` from any thread; ``call`` posts a request and
    waits (with a timeout) for the reply."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[Message] = queue.SimpleQueue()

    def post(self, msg: Message) -> None:
        self._q.put(msg)

    def call(self, request: Request, timeout: float = REPLY_TIMEOUT_S) -> Reply:
        c = Call(request)
        self._q.put(c)
        if not c.done.wait(timeout):
            return Failed(f"the daemon did not answer {request.verb!r} within {timeout:g} s")
        assert c.reply is not None
        return c.reply

    def get(self, timeout: float) -> Message | None:
        try:
            return self._q.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
