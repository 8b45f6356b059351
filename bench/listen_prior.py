"""Should a quiet room's ratings lose less of the decoder's prior (moonshine.py's PRIOR_WEIGHT,
tuned for music, where a number's masked onset is written "Oh.")? bench_listen.py's windows (one
draw: ``--seed``; the tuning set's own is 22), in its order with its rng, are each heard by
several variants of ``engines.recognizer("moonshine")`` (a weight for stretches QUIET_SNR_DB or
more over the noise around them, vad.snr_db; PRIOR_WEIGHT elsewhere), each with its own
PocketSphinx second opinion as in the bench, all sharing one model whose decodes are cached per
window (the variants differ only in arithmetic over the same decodes). ``--table`` sums draws.

    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_prior.py --seed 22 --out /tmp/p22.json
    .venv/bin/python bench/listen_prior.py --table /tmp/p22.json /tmp/p23.json /tmp/p24.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import drawn_windows, harness_arguments, hear  # noqa: E402
from listen_corpus import SEEDS  # noqa: E402

from coach.audio.listen import moonshine as ms  # noqa: E402
from coach.audio.listen import vad  # noqa: E402
from coach.audio.listen.recognizer import Heard, Listening  # noqa: E402
from coach.audio.listen.sphinx import SphinxRecognizer  # noqa: E402

# name: (a quiet stretch's weight, None: PRIOR_WEIGHT as everywhere; the SNR it takes, dB)
RULES: dict[str, tuple[float | None, float]] = {
    "as built (0.25 everywhere)": (None, ms.QUIET_SNR_DB),
    "quiet 0": (0.0, ms.QUIET_SNR_DB),
    "quiet 0.05": (0.05, ms.QUIET_SNR_DB),
    "quiet 0.1": (0.1, ms.QUIET_SNR_DB),
    "quiet 0.15": (0.15, ms.QUIET_SNR_DB),
    "quiet 0.2": (0.2, ms.QUIET_SNR_DB),
    "quiet 0.3": (0.3, ms.QUIET_SNR_DB),
    "quiet 0.35": (0.35, ms.QUIET_SNR_DB),
    "quiet 0.4": (0.4, ms.QUIET_SNR_DB),
    "quiet 0.5": (0.5, ms.QUIET_SNR_DB),
    "quiet (22 dB) 0": (0.0, 22.0),
    "quiet (26 dB) 0": (0.0, 26.0),
}


class _Model(ms._Model):
    """moonshine.py's model, its decodes kept until ``clear()``: every variant hearing the same
    stretch gets the same numbers for the cost of one."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        self.cache: dict[Any, Any] = {}

    def clear(self) -> None:
        self.cache = {}

    def encode(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self, "cache"):  # the prior's, at load
            return super().encode(x)
        key = ("encode", x.astype(np.float32).tobytes())
        if key not in self.cache:
            self.cache[key] = super().encode(x)
        h: np.ndarray = self.cache[key]
        return h

    def greedy(self, h: np.ndarray, max_tokens: int) -> tuple[list[int], float]:
        key = ("greedy", id(h), max_tokens)  # h is kept in the cache: its id is not reused
        if key not in self.cache:
            self.cache[key] = super().greedy(h, max_tokens)
        ids, total = self.cache[key]
        return list(ids), total

    def score(self, h: np.ndarray, texts: list[list[int]]) -> list[float]:
        if not hasattr(self, "cache"):
            return super().score(h, texts)
        key = ("score", id(h), tuple(tuple(t) for t in texts))
        if key not in self.cache:
            self.cache[key] = super().score(h, texts)
        return list(self.cache[key])


class Variant(ms.MoonshineRecognizer):
    """The engine as engines.recognizer builds it, a quiet stretch's prior weight its own."""

    def __init__(self, model: _Model, quiet_weight: float | None, snr_db: float) -> None:
        second = SphinxRecognizer()
        second.load()
        super().__init__(second=second)
        self._model = model
        self.quiet_weight = quiet_weight
        self.snr_db = snr_db

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        found = vad.speech(samples)
        snr = None if found is None else vad.snr_db(samples, found)
        quiet = self.quiet_weight is not None and snr is not None and snr >= self.snr_db
        self.prior_weight = self.quiet_weight if quiet and self.quiet_weight is not None \
            else ms.PRIOR_WEIGHT
        return super().hear(samples, what)


def record(corpus: str, seed: int, out: Path, cache: Path) -> None:
    """bench_listen.py's main loop over a set's windows (its draws in its order, the rng used
    as it uses it); each window's rating under every rule."""
    model = _Model(ms._assets())
    variants = {name: Variant(model, w, snr) for name, (w, snr) in RULES.items()}
    windows: list[dict[str, Any]] = []
    for x, label in drawn_windows(corpus, seed, cache):
        model.clear()
        got = {}
        for name, rec in variants.items():
            rating, said, _, _ = hear(rec, x)
            got[name] = [rating, said]
        windows.append({**label, "got": got})
    out.write_text(json.dumps({"set": corpus, "seed": seed, "windows": windows}))


def condition(w: dict[str, Any]) -> str:
    return w["kind"] if w["snr"] is None or w["kind"].startswith("off") else \
        f"{w['kind']} {w['snr']}"


def table(files: list[Path], detail: bool) -> None:
    """Per rule: right answers per condition (wrong ratings after "w"), ratings in windows of
    noise or music alone, off-grammar windows taken per room."""
    windows = [{**w, "seed": d["seed"]} for f in files
               for d in [json.loads(f.read_text())] for w in d["windows"]]
    conditions = list(dict.fromkeys(condition(w) for w in windows))
    rules = list(windows[0]["got"])

    def counted(w: dict[str, Any], r: int | None) -> tuple[int, int]:
        """(taken, wrong): an answer's window right / wrong, any other window's rating taken."""
        if w["want"] is None:
            return int(r is not None), 0
        return int(r == w["want"]), int(r is not None and r != w["want"])

    seeds = sorted({w["seed"] for w in windows})
    print(f"{len(files)} draw(s): seeds {', '.join(map(str, seeds))}")
    print("| rule | " + " | ".join(conditions) + " |")
    print("|---|" + "---|" * len(conditions))
    for rule in rules:
        cells: dict[str, list[int]] = {c: [0, 0] for c in conditions}
        for w in windows:
            a, b = counted(w, w["got"][rule][0])
            cells[condition(w)][0] += a
            cells[condition(w)][1] += b
        print(f"| {rule} | " + " | ".join(f"{a}" + (f" w{b}" if b else "")
                                          for a, b in cells.values()) + " |")
    if detail:
        base = rules[0]
        for rule in rules[1:]:
            print(f"\n{rule}: windows that differ from {base}")
            for w in windows:
                if w["got"][rule] != w["got"][base]:
                    print(f"  {w['seed']} {condition(w)} {w['voice']} {w['text']!r} (want "
                          f"{w['want']}): {w['got'][base]} -> {w['got'][rule]}")


def main() -> int:
    ap = harness_arguments(__doc__)
    ap.add_argument("--table", type=Path, nargs="*", help="the rules' table of these files")
    ap.add_argument("--detail", action="store_true", help="with --table: the windows that moved")
    args = ap.parse_args()
    if args.table:
        table(args.table, args.detail)
        return 0
    seed = SEEDS[args.set] if args.seed is None else args.seed
    record(args.set, seed, args.out or Path(f"/tmp/listen-prior-{args.set}-{seed}.json"),
           args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
