"""The remedies kept for a crash resume (coach/store/remedies.py): written whole, read back
for their own session only, a damaged file said, not trusted."""

from __future__ import annotations

import pytest

from coach.core.remedy import Felt
from coach.store.remedies import clear, load, remedies_path, save

FELT = (Felt(0, 1, None, 2, 21_000), Felt(1, 2, "left", 5, 140_500))


def test_saved_then_loaded_for_its_session_only(tmp_path):
    path = remedies_path(tmp_path / "history.sqlite3")
    assert path == tmp_path / "remedies.json"
    assert load(path, 7) == ()  # none kept
    save(path, 7, FELT)
    assert load(path, 7) == FELT
    assert load(path, 8) == (), "another session's remedies are not this one's"
    assert [p.name for p in tmp_path.iterdir()] == ["remedies.json"]  # no temporary left
    save(path, 8, ())
    assert load(path, 7) == () and load(path, 8) == ()
    clear(path)
    clear(path)  # already gone: fine
    assert not path.exists()


@pytest.mark.parametrize("text", [
    "{", "[]", '{"version": 2, "session_id": 7, "felt": []}',
    '{"version": 1, "session_id": 7, "felt": {}}',
    '{"version": 1, "session_id": 7, "felt": [{"exercise_index": 0, "set": 1, "side": "up", '
    '"feel": 2, "at_ms": 0}]}',
    '{"version": 1, "session_id": 7, "felt": [{"exercise_index": 0, "set": true, '
    '"side": null, "feel": 2, "at_ms": 0}]}',
    '{"version": 1, "session_id": 7, "felt": [{"exercise_index": -1, "set": 1, '
    '"side": null, "feel": 2, "at_ms": 0}]}',
])
def test_a_damaged_file_is_an_error_not_remedies(tmp_path, text):
    path = tmp_path / "remedies.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        load(path, 7)


def test_a_write_that_cannot_be_made_raises(tmp_path):
    # The caller (the session thread) says it once; whole-or-nothing is coach/files.py's,
    # tested in tests/audio/test_files.py.
    with pytest.raises(OSError):
        save(tmp_path / "no such folder" / "remedies.json", 7, FELT)
