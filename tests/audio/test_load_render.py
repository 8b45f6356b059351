"""Double progression heard: over simulated completed sessions, logged by the session
controller's own history code into a real SQLite file, the reps walk 8 → 12 and then the load
goes up 2.5 kg at 8 reps; each session's announcement is rendered with the real espeak-ng voice
through the pipeline, and its clip sits at its planned sample saying the load of that day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from coach.audio.pipeline import build_mixer, prepare_clips
from coach.core.program import load_program
from coach.core.timeline import compile_program
from coach.daemon.record import SessionRecord
from coach.store.history import History
from coach.store.programs import Resolved, with_progress

PROGRAM = """\
program: Goblet day
exercises:
  - name: Goblet squat
    reps: 8
    tempo: "1010"
    lead_in: 3s
    load: 24kg
    progress: {reps: +1, max: 12, then: {load: +2.5kg, reps: 8}, when: completed}
"""
RATE = 48000
PAD = 480  # 10 ms of silence checked before the clip


def test_double_progression_is_heard_in_the_announcement_at_its_planned_sample(
        tmp_path: Path, espeak: None) -> None:
    path = tmp_path / "goblet.yaml"
    path.write_text(PROGRAM)
    history = History(tmp_path / "history.sqlite3")
    walked: list[tuple[int, str]] = []
    heard: list[str] = []
    clock = [datetime(2026, 3, 2, 7, 0, tzinfo=UTC)]
    for _ in range(7):
        program = load_program(path)
        resolved, _ = with_progress(Resolved("goblet", path, program, compile_program(program)),
                                    history)
        ex = resolved.program.exercises[0]
        walked.append((ex.reps or 0, str(ex.load)))
        timeline = resolved.timeline
        [cue] = [c for c in timeline.cues if c.phrase == "announce"]
        heard.append(cue.text)
        # Rendered as `coach render` and the daemon play it: the real voice, the mixer.
        clips = prepare_clips(timeline, rate=RATE, cache_dir=tmp_path / "clips",
                              require_real=True)
        mixer = build_mixer(timeline, clips, rate=RATE)
        clip = clips[cue.text]
        assert np.abs(clip).max() > 0.05, "the voice said something"
        start = mixer.frame_of(cue.t_ms)
        out = mixer.render(start - PAD, len(clip) + PAD)
        assert not out[:PAD].any(), f"silence before the announcement: {cue.text}"
        assert np.abs(out[PAD:] - clip).max() < 1e-6, f"sample-exact: {cue.text}"
        # The session is played through, every set completed, logged as the daemon logs it.
        rec = SessionRecord(history, lambda: clock[0])
        rec.begin(resolved, None, 0, 0.0)
        for span in timeline.sets:
            rec.observe(span.start_ms + 10)
            rec.observe(span.work_end_ms + 10)
        rec.end(timeline.duration_ms, "completed")
        clock[0] += timedelta(days=2)
    assert walked == [(8, "24kg"), (9, "24kg"), (10, "24kg"), (11, "24kg"), (12, "24kg"),
                      (8, "26.5kg"), (9, "26.5kg")]
    assert heard[0] == "Goblet squat, 24 kilos. 8 reps, tempo 1 0 1 0."
    assert heard[1] == "Goblet squat, 24 kilos. 9 reps today, up from 8, tempo 1 0 1 0."
    assert heard[4] == "Goblet squat, 24 kilos. 12 reps today, up from 11, tempo 1 0 1 0."
    assert heard[5] == "Goblet squat, 26.5 kilos today, up from 24. 8 reps, tempo 1 0 1 0."
    assert heard[6] == "Goblet squat, 26.5 kilos. 9 reps today, up from 8, tempo 1 0 1 0."
    # Each set of each session is in the log with the load it was lifted with.
    loads = [[x.load for x in s.sets] for s in reversed(history.recent(None))]
    assert loads == [["24kg"]] * 5 + [["26.5kg"]] * 2
    history.close()
