"""The daemon in-process behind its real control socket, and the `coach` verbs run in-process
(``coach.cli.main``) against it: what the CLI prints and its exit status, the socket's framing,
the daemon's logic, with no process and no sound server. Shaped like Coachd (tests/support/
coachd.py) so a test reads the same; the output's clock is the test's (``play_s``), as is the
daemon's monotonic clock (``later``)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from coach.daemon.control import ControlServer, socket_path
from coach.protocol.codec import COMMANDS, answer_json
from tests.support.rig import Rig

LOG_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")  # the daemon's, off a tty


class Served:
    """``programs``, ``db`` and ``runtime`` exist before ``start`` (as with Coachd): a test
    writes programs or breaks the history first."""

    def __init__(self, base: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                 **rig_kw: Any) -> None:
        self.base = base
        self.programs = base / "programs"
        self.programs.mkdir(exist_ok=True)
        self.runtime = base / "run"
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        # `coach` finds the socket and the history where the daemon keeps them.
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(self.runtime))
        monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
        self.caplog = caplog
        caplog.set_level(logging.DEBUG, logger="coach")  # `coach -v daemon`
        self.rig_kw = rig_kw
        self.rig: Rig | None = None
        self.server: ControlServer | None = None

    @property
    def db(self) -> Path:
        return self.base / "data" / "coach" / "history.sqlite3"

    @property
    def sock(self) -> Path:
        return socket_path()

    def start(self, **rig_kw: Any) -> Served:
        """The daemon up (programs loaded, session thread running) and its socket answering;
        ``rig_kw`` go to the Rig (``clock``, ``busy_timeout``, ``warm``, ``tz``...)."""
        self.rig = Rig(self.base, history_path=self.db, **{**self.rig_kw, **rig_kw}).__enter__()
        self.server = ControlServer(self.sock, partial(answer_json, self.rig.d.handle),
                                    commands=COMMANDS)
        self.server.start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.rig is not None:
            self.rig.__exit__(None, None, None)

    # -- `coach VERB` in-process -------------------------------------------------------------

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        from coach.audio.voice.espeak import _Espeak
        from coach.cli import main
        out, err = io.StringIO(), io.StringIO()
        # The clip worker's espeak-ng guard swaps sys.stdout process-wide while it synthesizes,
        # always under _Espeak._LOCK: holding the lock, no synthesis swaps it under our capture.
        with _Espeak._LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # `coach: cannot connect ...` exits like the process would
                code = e.code if isinstance(e.code, int) else 1
                if isinstance(e.code, str):
                    print(e.code, file=err)
        r = subprocess.CompletedProcess(["coach", *args], code, out.getvalue(), err.getvalue())
        if check:
            assert r.returncode == 0, f"coach {' '.join(args)}: {r.stdout}{r.stderr}\n{self.text()[-3000:]}"
        return r

    def ok(self, *args: str) -> str:
        return self.cli(*args, check=True).stdout

    def status(self) -> dict:
        return json.loads(self.ok("status", "--json"))

    def wait_for(self, pred: Callable[[dict], bool], timeout: float = 20, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        st: dict = {}
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}: {st}\n{self.text()[-3000:]}")

    def text(self) -> str:
        """The daemon's log so far, one line a record, as `coach -v daemon` writes it."""
        return "".join(LOG_FORMAT.format(r) + "\n" for r in self.caplog.records
                       if r.name.startswith("coach"))

    # -- the test's clocks ---------------------------------------------------------------------

    def play_s(self, seconds: float) -> dict:
        assert self.rig is not None
        return self.rig.play_s(seconds)

    def later(self, seconds: float) -> dict:
        assert self.rig is not None
        return self.rig.later(seconds)
