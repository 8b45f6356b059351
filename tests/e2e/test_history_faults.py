"""Acknowledged means stored (issue 19), end to end: `coach daemon` in a real process playing into
a real PulseAudio, driven by the real `coach` CLI, its data dir a real tmpfs where a full disk or a
read-only folder is needed (root only: as root, chmod stops nothing). The issue's repro (a history
file of another schema), a full disk said as one and recovered from, and `coach history` on a
read-only data dir."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coach.store.history import History
from tests.support.audio import PulseServer, need_pulse
from tests.support.cli import coach
from tests.support.coachd import Coachd, problems
from tests.support.fs import Tmpfs
from tests.support.real import ROOT, need

pytestmark = pytest.mark.slow  # end to end: real processes

# Row set 1: announce 0-3, lead-in 3-6, work 6-10, then the feel question and its answer phase;
# it can be rated until set 2 starts, after a 30 s rest.
RATED = """\
program: Rated rows
defaults: {rest: 30s, lead_in: 3s, announce: 3s}
rate: feel
exercises:
  - name: Row
    sets: 2
    reps: 2
    cadence: 2s
"""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    need_pulse()
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server:
        yield server


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


def new_daemon(base: Path, pulse: PulseServer, clip_cache: Path) -> Coachd:
    env = pulse.client_env(XDG_CACHE_HOME=str(clip_cache))
    d = Coachd(base, env)
    (d.programs / "rated.yaml").write_text(RATED)
    return d


def set_1_rateable(d: Coachd) -> None:
    d.wait_for(lambda s: s["state"] == "playing" and s["position"] > 10.5, timeout=60,
               what="set 1's work over")


def assert_clean_log(d: Coachd) -> None:
    text = d.text()
    assert "Traceback" not in text, text[-4000:]
    assert text.count("coach daemon ready") == 1, text[-4000:]
    assert d.proc is not None and d.proc.poll() is None, "the daemon died"


@pytest.mark.slow
def test_the_issues_repro_a_history_of_another_schema_is_kept_aside_and_the_rating_stored(
        tmp_path: Path, pulse: PulseServer, clip_cache: Path) -> None:
    need(shutil.which("sqlite3") is not None, "the sqlite3 command (Debian's sqlite3)")
    d = new_daemon(tmp_path, pulse, clip_cache)
    try:
        d.db.parent.mkdir(parents=True)
        subprocess.run(["sqlite3", str(d.db), "create table sessions(a)"], check=True)
        theirs = d.db.read_bytes()
        d.start()
        assert d.status()["problems"] == []
        d.ok("start", "rated")
        set_1_rateable(d)
        assert d.ok("rate", "4").strip() == "rated Row, set 1: feel 4"
        d.ok("stop")
        hist = json.loads(d.ok("history", "--json"))
        assert [(h["program"], h["status"]) for h in hist] == [("Rated rows", "stopped")]
        assert hist[0]["sets"][0]["ratings"] == {"feel": 4}
        [aside] = list(d.db.parent.glob("history.sqlite3.foreign-*"))
        assert aside.read_bytes() == theirs, "kept aside, never written into"
        said = [ln for ln in d.text().splitlines() if "history database" in ln]
        assert len(said) == 1 and str(d.db) in said[0] and str(aside) in said[0], said
        assert "not recording" not in d.text()
        assert_clean_log(d)
    finally:
        d.cleanup()


@pytest.mark.slow
def test_a_full_disk_is_said_as_one_and_history_comes_back_with_the_room(
        tmp_path: Path, pulse: PulseServer, clip_cache: Path) -> None:
    with Tmpfs(tmp_path / "data") as data:
        d = new_daemon(tmp_path, pulse, clip_cache)
        try:
            d.start()
            # A reader (`coach history` in another process) holds the file open, so the
            # daemon letting go of its connection does not delete the WAL and free room.
            reader = sqlite3.connect(d.db)
            reader.execute("SELECT count(*) FROM sessions").fetchone()
            data.fill()
            d.ok("start", "rated")
            full = ["history not saving: disk full"]
            d.wait_for(lambda s: s["problems"] == full, what="history off")
            assert f"problem: {full[0]}" in d.ok("status").splitlines()  # a line each
            set_1_rateable(d)
            r = d.cli("rate", "4")
            assert r.returncode == 1, r.stdout
            assert r.stderr.strip() == "coach: not saved: history is off: disk full"
            data.free()
            reader.close()
            time.sleep(1.1)  # a rating tries the database at once when the last try is 1 s old
            assert d.ok("rate", "5").strip() == "rated Row, set 1: feel 5 (was 4)"
            assert problems(d.status()) == []
            r = d.cli("stop")
            assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "idle", "")
            hist = json.loads(d.ok("history", "--json"))
            assert [(h["program"], h["status"]) for h in hist] == [("Rated rows", "stopped")]
            assert hist[0]["sets"][0]["ratings"] == {"feel": 5}
            text = d.text()
            assert "cannot rollback" not in text
            said = [ln for ln in text.splitlines() if "history database" in ln]
            assert len(said) == 1 and "disk full" in said[0] and "SQLITE_FULL" in said[0], said
            assert "history saving again" in text
            assert_clean_log(d)
        finally:
            d.cleanup()


def test_coach_history_reads_a_read_only_data_dir(tmp_path: Path) -> None:
    with Tmpfs(tmp_path / "data") as data:
        db = data.path / "coach" / "history.sqlite3"
        with History(db) as h:
            for day in (5, 6):
                t = datetime(2026, 11, day, 7, 0, tzinfo=UTC)
                sid = h.start_session("Row day", "/p/row.yaml", t)
                h.end_session(sid, "stopped", t.replace(minute=20))
        data.remount("ro")
        env = dict(os.environ, XDG_DATA_HOME=str(data.path), PYTHONDONTWRITEBYTECODE="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        r = coach("history", env=env)
        assert r.returncode == 0, r.stderr
        assert "no sessions yet" not in r.stdout
        assert [ln.split()[2:4] for ln in r.stdout.splitlines()] == [["Row", "day"]] * 2
        assert r.stderr == "", "a reader that can read says nothing (of recording, least of all)"
        r = coach("history", "--json", env=env)
        assert r.returncode == 0 and len(json.loads(r.stdout)) == 2, r.stderr
