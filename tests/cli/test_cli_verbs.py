"""The command line's parser names each verb's code as "MODULE:FUNCTION" and imports it only when
the verb runs: every name resolves, and building the parser (or running `coach status`) loads
no verb's code, no audio and no daemon beyond its socket client."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from coach.cli.app import build_parser, resolve
from tests.support.real import ROOT


def verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_verb_names_a_function_of_the_cli_package():
    found = verbs(build_parser())
    assert {"check", "plan", "new", "schema", "render", "run", "demo", "daemon", "status",
            "start", "rate", "programs", "history", "install-service", "devices",
            "voices"} <= set(found)
    for name, parser in found.items():
        runs = parser.get_default("func")
        assert isinstance(runs, str) and runs.startswith("coach.cli."), (name, runs)
        assert callable(resolve(runs)), (name, runs)


LOADED = """
import json, sys
import coach.cli
coach.cli.build_parser()
parsed = sorted(m for m in sys.modules if m.startswith("coach") or m == "numpy")
try:
    coach.cli.main(["status"])
except SystemExit:
    pass  # no daemon here: "coach: coach daemon is not running (...)"
status = sorted(m for m in sys.modules if m.startswith("coach") or m == "numpy")
print(json.dumps({"parsed": parsed, "status": status}))
"""


def test_the_parser_and_status_load_no_verb_code_no_audio_no_daemon(tmp_path):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    r = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert set(seen["parsed"]) == {"coach", "coach.cli", "coach.cli.app", "coach.cli.options",
                                   "coach.core", "coach.core.errors", "coach.core.types",
                                   "coach.protocol", "coach.protocol.codec",
                                   "coach.protocol.messages"}, seen["parsed"]
    added = set(seen["status"]) - set(seen["parsed"])
    assert added == {"coach.cli.remote", "coach.cli.fmt", "coach.daemon",
                     "coach.daemon.control"}, added
