"""The phone page's server (coach/daemon/web) on a free loopback port, in front of an in-process
Rig: the real daemon, library, history (SQLite) and the DummyPlayer, whose clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from coach.daemon.web.auth import FailureLimit
from coach.daemon.web.server import Place, WebServer
from coach.store.config import Network
from tests.support.rig import Rig

# Row set 1: announce 0-3, lead-in 3-6, work 6-18, rest 18-33 (its rating asked there).
WEB_DAY = """\
program: Web day
defaults: {rest: 15s, lead_in: 3s, announce: 3s}
rate: feel
exercises:
  - name: Row
    focus: Elbows back.
    sets: 2
    reps: 3
    tempo: "2020"
  - name: Plank
    hold: 20s
"""


@contextmanager
def web_rig(tmp: Path, host: str = "127.0.0.1", history_path: Path | None = None,
            limit: FailureLimit | None = None,
            trusted_proxies: Sequence[Network] = ()) -> Iterator[tuple[Rig, WebServer]]:
    with Rig(tmp, "web", history_path=history_path) as rig:
        (rig.programs / "day.yaml").write_text(WEB_DAY)
        rig.call("reload")
        server = WebServer(host, 0, Place(rig.programs, rig.history,
                                          token_path=tmp / "state" / "web-token"), limit=limit,
                           trusted_proxies=trusted_proxies)
        server.start(rig.d.handle)
        try:
            assert server.wait_ready(), "the page did not start"
            yield rig, server
        finally:
            server.close()


def base_url(server: WebServer) -> str:
    host = f"[{server.host}]" if ":" in server.host else server.host
    return f"http://{host}:{server.port}"
