"""Does Moonshine's own confidence in what it wrote tell a near-rhyme taken for a rating ("so"
written "Two.", "tired" "Five.") from a real answer? Over bench_listen.py's windows (one draw:
``--seed``; the tuning set's own is 22), heard exactly as bench_listen.py hears them (the
window's endpointer, engines.recognizer("moonshine")'s rule, PocketSphinx its second opinion),
every stretch the recogniser takes as a rating is written to a JSON file with the decoder's
confidence around it: each greedy step's best and second token and their probabilities, the
step's entropy, and the best forced answer's per-token log-probabilities. ``--summary`` reads
such files and prints, per feature, the chance that an off-grammar stretch taken has a higher
value than an answer taken (0.5: no separation).

    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_confidence.py --seed 22 --out /tmp/c22.json
    .venv/bin/python bench/listen_confidence.py --summary /tmp/c22.json /tmp/c23.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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
from coach.audio.listen.recognizer import (  # noqa: E402
    RATING_OF,
    Heard,
    Listening,
    words,
)
from coach.audio.listen.sphinx import SphinxRecognizer  # noqa: E402

NUMBERISH = {**RATING_OF, "for": 4}  # the words the free text may spell a rating with


class _Recording:
    """The decoder session, each run's outputs kept (the harness reads the logits back)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.runs: list[list[np.ndarray]] = []

    def run(self, names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = self.session.run(names, feed)
        self.runs.append(out)
        return out

    def get_inputs(self) -> Any:
        return self.session.get_inputs()

    def get_outputs(self) -> Any:
        return self.session.get_outputs()


class _Model(ms._Model):
    """moonshine.py's model, its decodes' per-step distributions kept."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        self.decoder = _Recording(self.decoder)
        self.reset()

    def reset(self) -> None:
        self.steps: list[np.ndarray] = []  # the greedy decode's log-softmax, step by step
        self.rows: dict[tuple[int, ...], list[float]] = {}  # forced text -> per-token log p
        self.adjusted: tuple[float, list[float]] = (0.0, [])  # unprimed(): free, answers

    def greedy(self, h: np.ndarray, max_tokens: int) -> tuple[list[int], float]:
        self.decoder.runs = []
        ids, total = super().greedy(h, max_tokens)
        # a step for each token and one for the end of text, unless max_tokens cut it short
        n = len(ids) + (len(ids) < max_tokens)
        self.steps = [ms._log_softmax(out[0][0, -1]) for out in self.decoder.runs[:n]]
        return ids, total

    def score(self, h: np.ndarray, texts: list[list[int]]) -> list[float]:
        if not isinstance(self.decoder, _Recording):  # the prior's, at load
            return super().score(h, texts)
        self.decoder.runs = []
        scores = super().score(h, texts)
        if h is not self.silence:
            lp = ms._log_softmax(self.decoder.runs[-1][0])
            for i, t in enumerate(texts):
                s = [ms.BOS, *t, ms.EOS]
                self.rows[tuple(t)] = [float(lp[i, j, s[j + 1]]) for j in range(len(s) - 1)]
        return scores

    def unprimed(self, free: float, free_ids: list[int], scores: list[float], what: Listening,
                 weight: float) -> tuple[float, list[float]]:
        self.adjusted = super().unprimed(free, free_ids, scores, what, weight)
        return self.adjusted


class Recognizer(ms.MoonshineRecognizer):
    """The engine as built; each rating it takes is appended to ``taken`` with its features."""

    def __init__(self, second: SphinxRecognizer, veto: SphinxRecognizer) -> None:
        super().__init__(second=second)
        self.veto = veto  # PocketSphinx asked of every rating taken (its own history)
        self.taken: list[dict[str, Any]] = []
        self.label: dict[str, Any] = {}

    def _load(self) -> ms._Model:
        if self._model is None:
            self._model = _Model(ms._assets())
        model: ms._Model = self._model
        return model

    def gaps(self, samples: np.ndarray, found: vad.Speech, what: Listening
             ) -> tuple[float, float]:
        self._limits = super().gaps(samples, found, what)
        self._snr = vad.snr_db(samples, found)
        return self._limits

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        m = self._load()
        assert isinstance(m, _Model)
        m.reset()
        heard = super().hear(samples, what)
        if heard is not None and heard.rating is not None:
            other = self.veto.hear(samples, what)
            self.taken.append({**self.label, **features(m, heard), "snr_db": self._snr,
                               "limits": self._limits,
                               "sphinx": None if other is None else other.rating})
        return heard


def _words(m: _Model, ids: list[int]) -> list[tuple[int, str]]:
    """Each word of a token sequence: the index of its first token, its letters (lower)."""
    out: list[tuple[int, str]] = []
    for i, t in enumerate(ids):
        piece = m.tok.tokens[t].decode(errors="replace")
        if piece.startswith("\u2581") or not out:
            out.append((i, ""))
        out[-1] = (out[-1][0], out[-1][1] + words(piece.replace("\u2581", " ")).replace(" ", ""))
    return out


def _step(m: _Model, lp: np.ndarray) -> dict[str, Any]:
    """One greedy step's distribution: best and second token, their probabilities, entropy."""
    top = np.argsort(lp)[-2:][::-1]
    p = np.exp(lp)
    return {"p1": float(p[top[0]]), "p2": float(p[top[1]]),
            "t1": m.tok.decode([int(top[0])]) or f"<{int(top[0])}>",
            "t2": m.tok.decode([int(top[1])]) or f"<{int(top[1])}>",
            "entropy": float(-(p * lp).sum())}


def features(m: _Model, heard: Heard) -> dict[str, Any]:
    free_ids = [int(np.argmax(s)) for s in m.steps]
    chosen = [float(s[k]) for s, k in zip(m.steps, free_ids, strict=True)]  # free log p a step
    ids = free_ids[:-1] if free_ids and free_ids[-1] == ms.EOS else free_ids
    # the best forced answer, as hear() chose it
    free, scores = m.adjusted
    k = int(np.argmax(scores))
    best_t = m.answers["rating"][k][1]
    best_lp = m.rows[tuple(best_t)]
    gap = (free - scores[k]) / (len(best_t) + 1)
    # the number's step in the free text: the word spelling the rating heard, else any number
    wanted = heard.text.split()[-1]
    fw = _words(m, ids)
    at = next((i for i, w in fw if w == wanted or (wanted == "four" and w == "for")), None)
    if at is None:
        at = next((i for i, w in fw if w in NUMBERISH), None)
    has_number = at is not None
    bw = _words(m, list(best_t))
    forced_at = next(i for i, w in bw if w in NUMBERISH)
    if at is None:
        at = min(forced_at, len(m.steps) - 1)
    worst = int(np.argmin(best_lp))
    return {
        "free": m.tok.decode(ids), "said": heard.text, "gap": gap, "rating": heard.rating,
        "confidence": heard.confidence, "has_number": has_number,
        "first": _step(m, m.steps[0]), "number": _step(m, m.steps[at]), "number_at": at,
        "mean_p": float(np.mean(np.exp(chosen))), "min_p": float(np.exp(min(chosen))),
        "mean_p_words": float(np.mean(np.exp(chosen[:len(ids)]))) if ids else None,
        "forced": m.tok.decode(list(best_t)), "forced_lp": best_lp,
        "forced_min": float(best_lp[worst]),
        "forced_min_vs_free": float(best_lp[worst] - chosen[min(worst, len(chosen) - 1)]),
        "forced_number": float(best_lp[forced_at]),
        "free_lp": chosen,
    }


def record(corpus: str, seed: int, out: Path, cache: Path) -> None:
    """bench_listen.py's main loop over a set's windows (its draws in its order, the rng used
    as it uses it), each window labelled for the stretches it gives."""
    s = SphinxRecognizer()
    s.load()
    veto = SphinxRecognizer()
    veto.load()
    rec = Recognizer(second=s, veto=veto)
    rec.load()
    windows: list[dict[str, Any]] = []
    for x, label in drawn_windows(corpus, seed, cache):
        rec.label = {**label, "window": len(windows)}
        got, said, _, _ = hear(rec, x)
        windows.append({**rec.label, "got": got, "said": said})
    out.write_text(json.dumps({"set": corpus, "seed": seed, "windows": windows,
                               "taken": rec.taken}))


FEATURES = {
    "(for reference) gap, nats a token": lambda r: r["gap"],
    "first token p": lambda r: r["first"]["p1"],
    "number token p": lambda r: r["number"]["p1"],
    "number step entropy": lambda r: r["number"]["entropy"],
    "number step margin (p1 - p2)": lambda r: r["number"]["p1"] - r["number"]["p2"],
    "first step entropy": lambda r: r["first"]["entropy"],
    "first step margin": lambda r: r["first"]["p1"] - r["first"]["p2"],
    "mean token p (EOS in)": lambda r: r["mean_p"],
    "min token p (EOS in)": lambda r: r["min_p"],
    "forced worst token log p": lambda r: r["forced_min"],
    "forced worst - free there": lambda r: r["forced_min_vs_free"],
    "forced number token log p": lambda r: r["forced_number"],
}


def auc(off: list[float], ans: list[float]) -> float:
    """P(an off-grammar value > an answer's), ties half."""
    if not off or not ans:
        return float("nan")
    a = np.array(ans)
    return float(np.mean([np.mean(o > a) + 0.5 * np.mean(o == a) for o in off]))


def summary(files: list[Path]) -> None:
    _, by_window = _load(files)
    taken = [t for ts in by_window.values() for t in ts]
    ok = [t for t in taken if not t["off"] and t["rating"] == t["want"]]
    groups = {
        "answers, quiet": [t for t in ok if t["snr"] is None],
        "answers, 5-15 dB": [t for t in ok if t["snr"] in (5, 10, 15)],
        "off, quiet": [t for t in taken if t["kind"] == "off quiet room"],
        "off, gym 10": [t for t in taken if t["kind"] == "off gym"],
        "off, music 10": [t for t in taken if t["kind"] == "off music"],
    }
    groups["off, all"] = groups["off, quiet"] + groups["off, gym 10"] + groups["off, music 10"]
    groups["answers, quiet + 5-15"] = groups["answers, quiet"] + groups["answers, 5-15 dB"]
    print("stretches taken: " + ", ".join(f"{k} {len(v)}" for k, v in groups.items()))
    pairs = [("off, quiet", "answers, quiet"), ("off, gym 10", "answers, 5-15 dB"),
             ("off, music 10", "answers, 5-15 dB"), ("off, all", "answers, quiet + 5-15")]
    for subset, keep in (("every stretch taken", lambda t: True),
                         ("answers taken with a gap over 0.3 (off-grammar: every one)",
                          lambda t: t["off"] or t["gap"] > 0.3),
                         ("free text holds a number word", lambda t: t["has_number"])):
        print(f"\n{subset}: P(off-grammar value > answer's value), 0.5 = no separation "
              "(off-grammar / answers compared)")
        print("| feature | " + " | ".join(f"{o} vs {a}" for o, a in pairs) + " |")
        print("|---|" + "---|" * len(pairs))
        for name, value in FEATURES.items():
            cells = []
            for o, a in pairs:
                ov = [value(t) for t in groups[o] if keep(t)]
                av = [value(t) for t in groups[a] if keep(t)]
                cells.append(f"{auc(ov, av):.2f} ({len(ov)}/{len(av)})")
            print(f"| {name} | " + " | ".join(cells) + " |")
    print("\noff-grammar stretches taken: phrase, free text, number token p (second token, p)")
    for t in groups["off, all"]:
        n = t["number"]
        print(f"  {t['seed']} {t['kind']} {t['voice']} {t['text']!r} -> {t['free']!r} as "
              f"{t['rating']}: p {n['p1']:.2f} ({n['t2']!r} {n['p2']:.2f}); first "
              f"{t['first']['p1']:.2f}; mean {t['mean_p']:.2f}; forced min "
              f"{t['forced_min']:.2f}; sphinx {t['sphinx']}")


def _load(files: list[Path]) -> tuple[list[dict[str, Any]], dict[tuple[int, int], list[Any]]]:
    windows: list[dict[str, Any]] = []
    taken: dict[tuple[int, int], list[Any]] = {}
    for f in files:
        d = json.loads(f.read_text())
        windows += [{**w, "seed": d["seed"]} for w in d["windows"]]
        for t in d["taken"]:
            taken.setdefault((d["seed"], t["window"]), []).append(
                {**t, **d["windows"][t["window"]], "seed": d["seed"]})
    return windows, taken


RULES: dict[str, tuple[Callable[[dict[str, Any]], float], tuple[float, ...]]] = {
    "forced number token log p": (lambda t: t["forced_number"], (-6, -5, -4.5, -4, -3.5, -3)),
    "forced worst token log p": (lambda t: t["forced_min"], (-6, -5, -4, -3)),
    "first token p": (lambda t: t["first"]["p1"], (0.1, 0.15, 0.2, 0.25, 0.3)),
    "mean token p": (lambda t: t["mean_p"], (0.25, 0.3, 0.33, 0.36, 0.4)),
    "minus number step entropy": (lambda t: -t["number"]["entropy"], (-3.5, -3, -2.5)),
    "free text holds the number (0/1)": (lambda t: float(t["has_number"]), (0.5,)),
    # the near-rhymes the model writes as the number: only those (others 1)
    "number token p, free text a number": (lambda t: t["number"]["p1"] if t["has_number"]
                                           else 1.0, (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)),
}


def rules(files: list[Path]) -> None:
    """Each rule applied to the ratings taken (a window's rating: its last one left; the mute
    after a rating dropped is not replayed): right answers per condition, off-grammar windows
    taken. "none": a rating under the threshold is no answer; "agreed": it is taken only when
    PocketSphinx (asked of every rating taken) hears the same rating."""
    windows, taken = _load(files)

    def condition(w: dict[str, Any]) -> str:
        return w["kind"] if w["snr"] is None else f"{w['kind']} {w['snr']}"

    conditions = list(dict.fromkeys(condition(w) for w in windows if "alone" not in w["kind"]))

    def row(name: str, drop: Callable[[dict[str, Any]], bool]) -> None:
        got: dict[str, list[int]] = {c: [0, 0] for c in conditions}
        for w in windows:
            if "alone" in w["kind"]:
                continue
            left = [t for t in taken.get((w["seed"], w["window"]), []) if not drop(t)]
            rating = left[-1]["rating"] if left else None
            cell = got[condition(w)]
            cell[0] += rating is not None if w["want"] is None else rating == w["want"]
            cell[1] += w["want"] is not None and rating is not None and rating != w["want"]
        print(f"| {name} | " + " | ".join(f"{a}" + (f" w{b}" if b else "")
                                          for a, b in got.values()) + " |")

    print("| rule | " + " | ".join(conditions) + " |")
    print("|---|" + "---|" * len(conditions))
    row("as built", lambda t: False)
    for name, (value, thresholds) in RULES.items():
        for x in thresholds:
            def under(t: dict[str, Any], v: Callable[[dict[str, Any]], float] = value,
                      x: float = x) -> bool:
                return v(t) < x

            def unagreed(t: dict[str, Any], u: Callable[[dict[str, Any]], bool] = under) -> bool:
                return u(t) and t["sphinx"] != t["rating"]

            row(f"{name} < {x:g}: none", under)
            row(f"{name} < {x:g}: agreed", unagreed)


def main() -> int:
    ap = harness_arguments(__doc__)
    ap.add_argument("--summary", type=Path, nargs="*", help="the AUC table of these files")
    ap.add_argument("--rules", type=Path, nargs="*", help="the rules' table of these files")
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return 0
    if args.rules:
        rules(args.rules)
        return 0
    seed = SEEDS[args.set] if args.seed is None else args.seed
    record(args.set, seed, args.out or Path(f"/tmp/listen-confidence-{args.set}-{seed}.json"),
           args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
