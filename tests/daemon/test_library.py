"""The program library (coach/daemon/library.py) on real files: a scan loads new and changed
programs, a broken edit keeps the last good version and says where the mistake is, a removed
file stops being offered, a programs folder it cannot read is one line. Then the same through the
daemon in-process: `coach reload`, the rescan that needs no reload, a program deleted while
its session plays."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from coach.daemon.app import RESCAN_S
from coach.daemon.library import Change, ProgramLibrary
from tests.support.coachd import ROW_DAY, write, write_program
from tests.support.rig import Rig
from tests.support.served import Served

# --- ProgramLibrary ------------------------------------------------------------------------------


def test_a_scan_loads_programs_and_skips_other_files(tmp_path: Path) -> None:
    write_program(tmp_path / "row.yaml", "Row day")
    write_program(tmp_path / "legs.yml", "Leg day", schedule="mon 07:00")
    write_program(tmp_path / ".hidden.yaml", "Hidden")
    (tmp_path / "notes.txt").write_text("not a program")
    lib = ProgramLibrary(tmp_path)
    assert lib.scan() == Change(loaded=("legs", "row"), changed=("legs", "row"))
    assert sorted(lib.entries) == ["legs", "row"]
    r = lib.resolve("row")
    assert (r.stem, r.path, r.program.name) == ("row", tmp_path / "row.yaml", "Row day")
    assert r.timeline.duration_ms > 0
    assert [s.text for s in lib.schedules("legs")] == ["mon 07:00"] and lib.schedules("row") == ()
    assert lib.errors() == {}
    assert lib.scan() == Change(), "nothing changed: nothing is read again"


def test_an_edit_is_reloaded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    prog = tmp_path / "row.yaml"
    write_program(prog, "Row day")
    lib = ProgramLibrary(tmp_path)
    lib.scan()
    write_program(prog, "Row day v2")
    with caplog.at_level(logging.INFO, logger="coach.daemon.library"):
        assert lib.scan() == Change(loaded=("row",), changed=("row",))
    assert lib.resolve("row").program.name == "Row day v2"
    assert f"{prog}: loaded 'Row day v2' (reloaded)" in caplog.messages


def test_a_broken_edit_keeps_the_last_good_version_and_says_where(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    prog = tmp_path / "row.yaml"
    write_program(prog, "Row day")
    lib = ProgramLibrary(tmp_path)
    lib.scan()
    write(prog, prog.read_text().replace('tempo: "2020"', 'tempo: "20201"'))
    with caplog.at_level(logging.INFO, logger="coach.daemon.library"):
        change = lib.scan()
    assert change == Change(loaded=(), changed=("row",))
    error = lib.errors()["row"]
    assert error.startswith(f"{prog}:8:12: error: ") and "tempo needs 4 symbols" in error, error
    assert lib.resolve("row").program.name == "Row day", "the last good version keeps working"
    assert any(m.startswith(f"{prog}:8:12: error: ") for m in caplog.messages), caplog.messages
    assert f"{prog}: keeping the last good version of 'Row day'" in caplog.messages
    # Fixed again: the error goes.
    write_program(prog, "Row day v3")
    assert lib.scan().loaded == ("row",)
    assert lib.errors() == {} and lib.resolve("row").program.name == "Row day v3"


def test_a_program_broken_from_the_start_is_listed_but_does_not_start(tmp_path: Path) -> None:
    write(tmp_path / "bad.yaml", "program: Bad\nexercises:\n  - name: Row\n    reps: 0\n")
    lib = ProgramLibrary(tmp_path)
    assert lib.scan() == Change(loaded=(), changed=("bad",))
    assert "bad" in lib.entries and lib.entries["bad"].program is None
    assert lib.errors()["bad"].startswith(f"{tmp_path / 'bad.yaml'}:4:")
    with pytest.raises(LookupError, match="program 'bad' does not load: .*bad.yaml:4:"):
        lib.resolve("bad")


def test_a_removed_file_is_no_longer_offered(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_program(tmp_path / "row.yaml")
    write_program(tmp_path / "legs.yaml", "Leg day", schedule="daily 07:00")
    lib = ProgramLibrary(tmp_path)
    lib.scan()
    (tmp_path / "legs.yaml").unlink()
    with caplog.at_level(logging.INFO, logger="coach.daemon.library"):
        assert lib.scan() == Change(loaded=(), changed=("legs",))
    assert sorted(lib.entries) == ["row"] and lib.schedules("legs") == ()
    assert f"{tmp_path / 'legs.yaml'}: removed" in caplog.messages
    with pytest.raises(LookupError, match=r"no program 'legs' in .* \(known: row\)"):
        lib.resolve("legs")


def test_a_path_outside_the_folder_is_loaded_as_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.yaml"
    write_program(elsewhere, "Elsewhere")
    (tmp_path / "programs").mkdir()
    lib = ProgramLibrary(tmp_path / "programs")
    lib.scan()
    r = lib.resolve(str(elsewhere))
    assert (r.stem, r.path, r.program.name) == ("elsewhere", elsewhere.resolve(), "Elsewhere")
    assert lib.entries == {}, "a file started by path is not added to the library"


def test_a_missing_programs_folder_is_one_line_until_it_is_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "programs"
    lib = ProgramLibrary(folder)
    with caplog.at_level(logging.INFO, logger="coach.daemon.library"):
        assert lib.scan() == Change() and lib.scan() == Change()
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors == [f"{folder}: cannot read the programs directory: No such file or directory"]
        folder.mkdir()
        write_program(folder / "row.yaml")
        assert lib.scan().loaded == ("row",)
    assert f"{folder}: readable again" in caplog.messages


# --- through the daemon ----------------------------------------------------------------------


def test_reload_edit_and_broken_edit_keeps_last_good(served: Served) -> None:
    daemon = served
    prog = daemon.programs / "row.yaml"
    write_program(prog, name="Row day")
    daemon.start()
    write_program(prog, name="Row day v2")
    r = json.loads(daemon.ok("reload", "--json"))
    assert "row" in r["changed"] and not r["errors"]
    write(prog, prog.read_text().replace('tempo: "2020"', 'tempo: "20201"'))
    r = json.loads(daemon.ok("reload", "--json"))
    assert 'tempo needs 4 symbols' in r["errors"]["row"]
    assert f"{prog}:8:12: error:" in daemon.text()
    daemon.ok("start", "row")
    st = daemon.wait_for(lambda s: s["state"] == "playing", what="start")
    assert st["program"] == "Row day v2", "the last good version keeps working"
    daemon.ok("stop")


def test_edited_file_is_picked_up_without_reload(tmp_path: Path, espeak: None) -> None:
    with Rig(tmp_path) as rig:
        prog = rig.programs / "row.yaml"
        write_program(prog, name="Row day")
        rig.call("reload")
        write_program(prog, name="Row day v3")
        rig.later(RESCAN_S)  # the session thread's next rescan
        names = rig.call("programs")["programs"]
        assert names["row"]["name"] == "Row day v3"
        write(rig.programs / "new.yaml", prog.read_text().replace("Row day v3", "New"))
        rig.later(RESCAN_S)
        assert "new" in rig.call("programs")["programs"]


def test_program_deleted_mid_session_keeps_playing(served: Served) -> None:
    daemon = served
    write(daemon.programs / "row.yaml", ROW_DAY.format(name="Row day"))
    daemon.start()
    daemon.ok("start", "row")
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    daemon.play_s(1.0)
    (daemon.programs / "row.yaml").unlink()
    daemon.later(RESCAN_S)
    assert "row.yaml: removed" in daemon.text(), daemon.text()[-2000:]
    p1 = daemon.status()
    daemon.play_s(1.0)
    p2 = daemon.status()
    assert p1["state"] == p2["state"] == "playing" and p2["program"] == "Row day"
    assert p2["position"] > p1["position"] + 0.5
    shown = daemon.ok("status")
    assert shown.startswith("playing: Row day") and "Row, set 1 of 2" in shown, shown
    r = daemon.cli("start", "row")  # refused: a session runs (and row is no longer offered)
    assert r.returncode == 1, r.stderr
    assert daemon.status()["state"] == "playing"
    daemon.ok("stop")
    hist = json.loads(daemon.ok("history", "--json"))
    assert hist[0]["program"] == "Row day" and hist[0]["status"] == "stopped"
    assert "Traceback" not in daemon.text()


def test_force_start_of_a_deleted_program_keeps_the_running_session(served: Served) -> None:
    daemon = served
    write(daemon.programs / "row.yaml", ROW_DAY.format(name="Row day"))
    daemon.start()
    daemon.ok("start", "row")
    daemon.wait_for(lambda s: s["state"] == "playing", what="playing")
    daemon.play_s(1.0)
    (daemon.programs / "row.yaml").unlink()
    daemon.later(RESCAN_S)  # the rescan drops it
    r = daemon.cli("start", "row", "--force")
    assert r.returncode == 1 and "no program 'row'" in r.stderr, r.stderr
    assert daemon.status()["state"] == "playing"
