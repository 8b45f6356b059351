"""The folders are the layers: coach/core is pure and imports nothing else of coach; coach/audio
imports only core; coach/store (what coach keeps on disk: the history, config.yaml, program
files) imports only core; coach/report (history views, pictures) reads core and the store,
never the daemon, and only the CLI imports it; coach/protocol (the control messages and their
wire codec) imports only core, for the daemon and its clients alike; the daemon never imports
the CLI; coach/files.py (atomic writes) is a leaf any layer but the pure core may use. Read from
the source (every import, also inside functions), so a lazy import cannot hide a wrong
direction; and `coach plan` / `coach history` are run to show they load no daemon code."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "coach"
FORBIDDEN = {
    "core": ("coach.audio", "coach.store", "coach.daemon", "coach.report", "coach.cli",
             "coach.files", "coach.protocol"),
    "audio": ("coach.store", "coach.daemon", "coach.report", "coach.cli", "coach.protocol"),
    # What coach keeps on disk: read by the CLI, the reports and the daemon alike.
    "store": ("coach.audio", "coach.daemon", "coach.report", "coach.cli", "coach.protocol"),
    "daemon": ("coach.report", "coach.cli"),
    # The phone page is a face, like the CLI: it shows the reports (imbalance, plots).
    "daemon/web": ("coach.cli",),
    # Reports read core and the store (history records); only the face imports them.
    "report": ("coach.audio", "coach.daemon", "coach.cli", "coach.protocol"),
    # The control protocol (messages, wire codec): the contract between the daemon and its
    # clients, so it stands on the core alone and a client (the CLI) loads no daemon code.
    "protocol": ("coach.audio", "coach.store", "coach.daemon", "coach.report", "coach.cli",
                 "coach.files"),
}
# The core is pure: no clock, no threads, no sound, no sockets.
CORE_FORBIDDEN_STDLIB = ("threading", "socket", "sounddevice", "time", "subprocess", "sqlite3")


def imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved from
    ``package`` (by default the package the file lives in, e.g. coach.core.program)."""
    tree = ast.parse(path.read_text(), str(path))
    if package is None:
        package = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return out


def layer_files(layer: str) -> list[Path]:
    """Every module of ``coach/<layer>/``, its subpackages' too (coach/core/program/...), but
    those of a subpackage that is a layer of its own (coach/daemon/web/)."""
    own = [PKG / other for other in FORBIDDEN if other.startswith(layer + "/")]
    return sorted(p for p in (PKG / layer).rglob("*.py")
                  if not any(p.is_relative_to(o) for o in own))


def forbidden(layer: str, found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(line, mod) for line, mod in found
            if any(mod == x or mod.startswith(x + ".") for x in FORBIDDEN[layer])]


def wrong_imports(layer: str) -> list[str]:
    return [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
            for f in layer_files(layer) for line, mod in forbidden(layer, imports(f))]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    assert layer_files(layer), f"coach/{layer}/ is empty"
    bad = wrong_imports(layer)
    assert not bad, "\n".join(bad)


def test_core_is_pure() -> None:
    bad = [f"{f.relative_to(PKG.parent)}:{line}: imports {mod}"
           for f in layer_files("core") for line, mod in imports(f)
           if mod.split(".")[0] in CORE_FORBIDDEN_STDLIB]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    # The rule must be able to fail: a core module importing the player is caught. The probe
    # lives in tmp_path (never in coach/) and is read as if it were in coach/core.
    f = tmp_path / "_probe_wrong_import.py"
    f.write_text("def f():\n    from ..audio.player import Player\n    return Player\n")
    found = imports(f, "coach.core")
    assert "coach.audio.player" in [mod for _, mod in found]
    assert forbidden("core", found) == [(2, "coach.audio.player"), (2, "coach.audio.player.Player")]


def test_the_checker_walks_subpackages(tmp_path: Path) -> None:
    # A wrong import in a subpackage of a layer (coach/core/program/) is caught too, its
    # relative import resolved from the subpackage.
    assert PKG / "core" / "program" / "walker.py" in layer_files("core")
    f = tmp_path / "_probe_wrong_import.py"
    f.write_text("def f():\n    from ...audio.player import Player\n    return Player\n")
    bad = forbidden("core", imports(f, "coach.core.program"))
    assert bad == [(2, "coach.audio.player"), (2, "coach.audio.player.Player")]


def test_files_is_a_leaf() -> None:
    # Every layer but the core may use coach/files.py, so it uses none of them.
    f = PKG / "files.py"
    bad = [f"coach/files.py:{line}: imports {mod}" for line, mod in imports(f)
           if mod == "coach" or mod.startswith("coach.")]
    assert not bad, "\n".join(bad)


def test_no_module_left_at_the_top() -> None:
    # Only the leaf helper for atomic writes lives beside the layers (the face is coach/cli/).
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert top == ["__init__.py", "files.py"], top


# --- `coach plan` and `coach history` run without the daemon's code -----------------------------

# The parser's verb table (`coach start`, `coach rate`...) is the control protocol's command
# table (coach/protocol/, not the daemon's code): the parser loads no daemon module, and
# neither does `coach plan` or `coach history`.
PARSER_DAEMON_MODULES: set[str] = set()
RUN_CLI = """
import json, sys
import coach.cli
def daemon_modules():
    return sorted(m for m in sys.modules if m == "coach.daemon" or m.startswith("coach.daemon."))
coach.cli.build_parser()
before = daemon_modules()
status = coach.cli.main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"status": status, "before": before, "after": daemon_modules()}), file=sys.stderr)
"""


def run_cli(env: dict[str, str], *args: str) -> tuple[str, dict]:
    r = subprocess.run([sys.executable, "-c", RUN_CLI, *args], capture_output=True, text=True,
                       env=env, cwd=PKG.parent, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout, json.loads(r.stderr.strip().splitlines()[-1])


def test_plan_and_history_load_no_daemon_code(tmp_path: Path) -> None:
    from coach.core.program import load_program
    from coach.store.history import History
    program_path = PKG.parent / "programs" / "unilateral-rated.yaml"  # has `progress:` rules
    program = load_program(program_path)
    assert any(ex.progress for ex in program.exercises)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    (tmp_path / "config" / "coach").mkdir(parents=True)
    (tmp_path / "config" / "coach" / "config.yaml").write_text("voice: {rate: 150}\n")
    # A finished session of it, every set completed: today's plan progresses from it.
    now = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    with History(tmp_path / "data" / "coach" / "history.sqlite3") as h:
        sid = h.start_session(program.name, str(program_path.resolve()), now)
        for i, ex in enumerate(program.exercises):
            h.record_used(sid, i, ex.name, ex.reps, ex.hold_ms, ex.sets)
            for n in range(1, ex.sets + 1):
                h.end_set(h.start_set(sid, ex.name, i, n, ex.sets, "both", 0, now),
                          "completed", now)
        h.end_session(sid, "completed", now)

    out, seen = run_cli(env, "plan", "--json", str(program_path))
    assert seen["status"] == 0 and json.loads(out)["progress"], out
    runs = [seen]
    for args in (["plan", str(program_path)], ["history"], ["history", "--json"]):
        out, seen = run_cli(env, *args)
        assert seen["status"] == 0 and program.name in out, out
        runs.append(seen)
    for seen in runs:
        assert set(seen["before"]) <= PARSER_DAEMON_MODULES, seen
        assert seen["after"] == seen["before"], seen


# --- the audio path keeps no wall-clock time ----------------------------------------------------

def test_the_audio_path_never_reads_the_wall_clock():
    """Cue times come from the sample count alone, so a wall-clock step cannot move a cue: the
    modules between the program and the sound card never ask for the time of day."""
    import re
    names = ("core/timeline/model.py", "core/timeline/compiler.py", "core/timeline/overlaps.py",
             "core/mixer.py", "core/navigation.py", "audio/player/portaudio.py",
             "audio/player/callback.py", "audio/player/frames.py", "audio/player/devices.py",
             "audio/voice/base.py", "audio/voice/cache.py", "audio/voice/dsp.py",
             "audio/voice/espeak.py", "audio/voice/piper.py", "audio/voice/tone.py",
             "audio/wavout.py", "audio/pipeline.py", "daemon/session.py", "daemon/running.py",
             "daemon/recover.py", "daemon/prepare.py", "daemon/record.py", "daemon/rating.py",
             "daemon/status.py", "daemon/ducking.py")
    for name in names:
        text = (PKG / name).read_text()
        assert not re.search(r"time\.time\(|datetime\.now|datetime\.utcnow|time\.localtime", text), name
