"""What each speech engine costs on one core: the model `coach check` uses to prove that a
remedy's new clips are made before they are heard (coach/core/remedytime.py), and that proof
run against the clip cache (a clip already cached costs nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from coach.audio.voice.cache import Voice
from coach.core.errors import Diagnostic
from coach.core.program import Program
from coach.core.remedytime import SynthCost, late_problems

# Measured on one core, fresh processes and an empty cache, on the 165 distinct texts (1-144
# characters) of the shipped programs and of their remedied plans:
#   .venv/bin/python bench/bench_synth_cost.py --repeats 3   (BENCHMARKS.md, "A remedy's
#   clips in time"; each engine pinned with `taskset -c 0`)
# (label, the engine's load with its first synthesis s, s a clip, s a character): the load's
# least of 3, and the least squares line of each clip's cost on one core (the least of 3
# syntheses), a cost being the larger of its elapsed time (espeak-ng through pyttsx3 mostly
# waits in pyttsx3's loop: 37 ms a clip elapsed, 9 ms CPU) and its CPU time (Piper's
# onnxruntime pins a thread of its pool to each core, escaping taskset: on one core that CPU
# is time). Piper: en_US-joe-medium; its cost follows the characters (0.25 s a second of
# audio): a 60-character remedy sentence ~1.1 s, its load ~1.1 s.
MEASURED: dict[str, tuple[str, float, float, float]] = {
    "espeak": ("espeak-ng", 0.040, 0.0313, 0.000109),
    "piper": ("Piper", 1.07, 0.0894, 0.0161),
    "tone": ("tones", 0.0, 0.0, 0.0),  # made at once, never cached
}
# The proof plans on twice the measured line: the clip worker runs at nice 19 on a core that
# the audio thread and the rest of the daemon share; the farthest clip lay 1.6x (espeak-ng)
# and 3.6x (Piper) above its line on a machine at load 7, most clips well under 2x. The
# daemon's start rule plans on twice its measured pace too (SYNTH_SAFETY).
MARGIN = 2.0
ENGINE_COSTS: dict[str, SynthCost] = {
    engine: SynthCost(label, MARGIN * load, MARGIN * clip, MARGIN * char)
    for engine, (label, load, clip, char) in MEASURED.items()}


def remedy_clip_problems(program: Program, rate: int = 48000, cache_dir: Path | None = None,
                         costs: Mapping[str, SynthCost] = ENGINE_COSTS) -> list[Diagnostic]:
    """`coach check`'s errors for remedies whose new clips one core cannot make in time, with
    the engine that would speak them (Piper falls back to espeak-ng where it cannot run) and
    the clips already in ``cache_dir`` (None: the default cache) counted as made."""
    if all(ex.remedy is None for ex in program.exercises):
        return []
    voice = Voice(program.voice, program.language, rate, cache_dir)
    return late_problems(program, costs[voice.engine], voice.cached)
