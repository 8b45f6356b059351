"""The daemon's side of the rough edges a newcomer hit (issue 18, point 5), in-process (the Rig:
real session thread, library, history; the DummyPlayer's clock moved by the test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.rig import PROGRAM, Rig


def test_start_takes_the_file_name_as_listed(rig: Rig) -> None:
    # Found: `coach start hold-test.yaml` (as `ls` and `coach programs` show the file) failed
    # with "no such file" while `coach start hold-test` worked.
    st = rig.call("start", program="row.yaml")
    assert st["ok"] and st["program"] == "Row day", st
    rig.call("stop")
    st = rig.call("start", program="nothere.yaml")
    assert st == {"ok": False, "error": "nothere.yaml: error: no such file"}


def test_programs_says_where_it_looked(tmp_path: Path, espeak: None) -> None:
    with Rig(tmp_path) as r:
        reply = r.call("programs")
        assert reply == {"ok": True, "programs": {}, "dir": str(r.programs)}
        (r.programs / "row.yaml").write_text(PROGRAM.format(name="Row day"))
        r.call("reload")
        reply = r.call("programs")
        assert list(reply["programs"]) == ["row"] and reply["dir"] == str(r.programs)


def test_an_extended_rest_shows_in_status_while_it_plays(rig: Rig) -> None:
    # Found: after `coach extend` the status was as before (position frozen, duration and set
    # end unchanged) for the 30 s the rest was held. The position still holds (it is where
    # the program is: skip, back and the history go by it); `extended` says for how long yet,
    # and the duration and the set's end grow by that, so that minus the position they are
    # the time really left.
    rig.call("start", program="row")
    st = rig.wait_for(lambda s: s["state"] == "playing", "playing")
    total = st["duration"]
    assert "extended" not in st
    rig.play_s(8.0)
    st = rig.call("skip")  # set 1 work -> its rest (18-28 s)
    assert (st["phase"], st["position"], st["set_end"]) == ("rest", 18.0, 28.0)
    st = rig.call("extend")
    assert st["position"] == 18.0
    assert st["extended"] == pytest.approx(30.0, abs=0.05)
    assert st["duration"] == pytest.approx(total + 30.0, abs=0.05)
    assert st["set_end"] == pytest.approx(58.0, abs=0.05)
    for _ in range(4):  # 10 s of the extra rest, heard a block at a time
        st = rig.play_s(2.5)
    assert st["position"] == 18.0, "the program holds while the extra rest plays"
    assert st["extended"] == pytest.approx(20.0, abs=0.1)
    assert st["duration"] == pytest.approx(total + 20.0, abs=0.1)
    assert st["set_end"] - st["position"] == pytest.approx(30.0, abs=0.1), "20 s + 10 s of rest"
    st = rig.play_s(21.0)  # the rest of it, and the rest goes on
    assert st["position"] > 18.0 and st["phase"] == "rest"
    assert "extended" not in st
    assert (st["duration"], st["set_end"]) == (total, 28.0)


def test_a_skip_ends_an_extension(rig: Rig) -> None:
    rig.call("start", program="row")
    rig.wait_for(lambda s: s["state"] == "playing", "playing")
    rig.play_s(8.0)
    rig.call("skip")
    rig.call("extend")
    rig.play_s(5.0)
    st = rig.call("skip")  # rest -> set 2: the extra rest is dropped
    assert (st["set"], st["position"]) == (2, 28.0)
    assert "extended" not in st and st["set_end"] < 60
