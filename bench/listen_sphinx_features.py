"""What tells an off-grammar near-rhyme that PocketSphinx's rating grammar takes for a number
("nice" as five, "more" as four, "so" as two) from a real answer? Over bench_listen.py's windows
(one draw: ``--seed``; the tuning set's own is 22), heard through the window's endpointer by
sphinx.py's recogniser with its two floors off (MIN_CONFIDENCE 0, MAX_PHONE_GAIN infinite: every
stretch the grammar decodes as a rating is taken), each stretch taken is written to a JSON file
with features for a rejection rule:

- ``confidence``, ``gain``: the engine's own (the least word posterior; the phone loop's gain,
  nats a frame), and the number word's posterior ``number_p``;
- ``filler_margin``: the rating path's acoustic score over the best path of a grammar of the
  fillers alone (nats; 0 or less: a filler explains the stretch as well); ``carried_margin``:
  the same against the rating's own carrier with a filler in the number's place ("it was a"
  + "hard" against "it was a five"), the rule tried as sphinx.py's MIN_FILLER_MARGIN (per
  frame of the number word; 2f33d4f, reverted: BENCHMARKS.md, "Tried: a filler in the
  number's place");
- ``onset_margin``, ``swap_margin``: the rating path's acoustic score over the best path of the
  same grammar with the number's first phone replaced by any other phone or dropped ("five" ->
  "N AY V", "AY V"...), and with any one of its phones replaced or dropped (nats: under 0, a
  word one phone from the number explains the stretch better);
- ``kws``: PocketSphinx's keyphrase search for the number (threshold off), its best detection
  overlapping the number word's frames (log of the binding's prob);
- ``loop_edit``, ``loop_onset``: the phone loop's phones over the number word's frames against
  its pronunciation (edit distance over the pronunciation's length; its first phone there);
- ``word_gain``: the phone loop against the grammar over the number word's frames only;
- ``vocab300_margin``, ``vocab1500_margin``: against the carrier with any of the 300 / 1500
  words likeliest by the wheel's English unigram model (less the numbers and their homophones).

The margins are scored by a second decoder that computes every senone of each frame
(``compallsen``), from the cepstral mean the engine's grammar began with: PocketSphinx scores a
frame against the best senone it computed, so two searches' scores compare only so. ``LIGHT=1``
in the environment: the filler margins only (half the time).

``--summary`` prints per feature the chance that an off-grammar stretch taken has a higher value
than an answer taken (0.5: no separation); ``--rules`` replays threshold rules on top of the
engine's (a window's rating is its last one left; the 2-s mute after a dropped rating is not
replayed).

    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_sphinx_features.py --seed 22 --out /tmp/s22.json
    (LIGHT=1 for the filler margins only)
    .venv/bin/python bench/listen_sphinx_features.py --summary /tmp/s22.json /tmp/s23.json
    .venv/bin/python bench/listen_sphinx_features.py --rules /tmp/s22.json /tmp/s23.json
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import drawn_windows, harness_arguments  # noqa: E402
from listen_corpus import RATE, SEEDS  # noqa: E402

from coach.audio.listen import sphinx  # noqa: E402
from coach.audio.listen.recognizer import (  # noqa: E402
    NUMBER_WORDS,
    Heard,
    Listening,
    meaning,
)
from coach.audio.listen.window import answers as heard_in  # noqa: E402

PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
          "UH UW V W Y Z ZH").split()
CARRIERS = ("", "a ", "it was a ")
VOCAB = (300, 1500)
LIGHT = bool(os.environ.get("LIGHT"))  # the margins against fillers only (faster)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -1e9


def _edit(a: list[str], b: list[str]) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


class Recognizer(sphinx.SphinxRecognizer):
    """sphinx.py's recogniser with its floors off; each rating it gives is kept in ``last``
    with its features (the window yields the stretch decoded last)."""

    def __init__(self) -> None:
        super().__init__(min_confidence=0.0, max_phone_gain=math.inf)
        self.last: dict[str, Any] | None = None
        self.pron: dict[str, list[str]] = {}
        self.cpu: dict[str, float] = {}
        self._m: Any = None

    def _load(self) -> Any:
        if self._decoder is not None:
            return self._decoder
        super()._load()
        # The measurements' own decoder: PocketSphinx scores a frame against the best senone it
        # computed, so two searches' scores compare only when every senone is computed in both
        # (compallsen); the engine's decoder is left as built (its phone gain is tuned so).
        from pocketsphinx import Decoder  # type: ignore[import-untyped]
        d = Decoder(samprate=RATE, loglevel="FATAL", bestpath=False, compallsen=True)
        fillers = [w for w in sphinx.FILLERS if d.lookup_word(w)]
        d.add_jsgf_string("fillers", "#JSGF V1.0;\ngrammar fillers;\npublic <a> = "
                          + " | ".join(fillers) + ";\n")
        keys = Path(tempfile.mkdtemp()) / "keys.txt"
        grammars: dict[str, tuple[list[str], list[str]]] = {}
        for n in NUMBER_WORDS:
            p = d.lookup_word(n).split()
            self.pron[n] = p
            onset: list[str] = []
            every: list[str] = []
            for i in range(len(p)):
                for q in [*(x for x in PHONES if x != p[i]), ""]:
                    alt = [*p[:i], *([q] if q else []), *p[i + 1:]]
                    if not alt:
                        continue
                    w = f"x{n}{i}{q.lower() or 'del'}"
                    d.add_word(w, " ".join(alt), False)
                    every.append(w)
                    if i == 0:
                        onset.append(w)
            grammars[n] = (onset, every)
        d.add_word("xsentinel", "AH", True)
        for k, carrier in enumerate(CARRIERS):
            d.add_jsgf_string(f"carried_{k}", f"#JSGF V1.0;\ngrammar c{k};\npublic <a> = "
                              f"{carrier}({' | '.join(fillers)});\n")
        for n, (onset, every) in grammars.items():
            for k, carrier in enumerate(CARRIERS):
                for name, alts in (("forced", [n]), ("onset", onset), ("swap", every)):
                    d.add_jsgf_string(f"{name}_{n}_{k}", f"#JSGF V1.0;\ngrammar {name}{n}{k};\n"
                                      f"public <a> = {carrier}({' | '.join(alts)});\n")
            keys.write_text(f"{n} /1e-80/\n")
            d.add_kws(f"kws_{n}", str(keys))
        d.add_allphone_file("phones", str(sphinx._model_dir() / "en-us-phone.lm.bin"))
        # the English words most likely by the wheel's language model (unigram), less the
        # numbers and every word said exactly as one ("for", "to", "won")
        from pocketsphinx import NGramModel
        lm = NGramModel(d.config, d.logmath, str(sphinx._model_dir() / "en-us.lm.bin"))
        said = {" ".join(self.pron[n]) for n in NUMBER_WORDS}
        prons: dict[str, set[str]] = {}
        for line in (sphinx._model_dir() / "cmudict-en-us.dict").open():
            w, *ph = line.split()
            prons.setdefault(w.split("(")[0], set()).add(" ".join(ph))
        ranked = sorted(((lm.prob([w]), w) for w in prons if w.isalpha() and w.isascii()),
                        reverse=True)
        common = [w for _, w in ranked if w not in NUMBER_WORDS and not prons[w] & said]
        for size in VOCAB:
            for k, carrier in enumerate(CARRIERS):
                d.add_jsgf_string(f"vocab{size}_{k}", f"#JSGF V1.0;\ngrammar v{size}{k};\n"
                                  f"public <a> = {carrier}({' | '.join(common[:size])});\n")
        self._m = d
        return self._decoder

    def _decode(self, d: Any, search: str, pcm: bytes) -> tuple[Any, list[Any]]:
        c = time.process_time()
        d.activate_search(search)
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        h = d.hyp()
        seg = list(d.seg() or [])
        key = search.split("_")[0]
        self.cpu[key] = self.cpu.get(key, 0.0) + time.process_time() - c
        return h, seg

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        self.last = None
        stretch = sphinx.speech_pcm(samples)
        if stretch is None:
            return None
        found, pcm = stretch
        d = self._load()
        c0 = d.get_cmn(False)  # the other searches hear the stretch with the grammar's features
        hyp, seg = self._decode(d, what, pcm)
        if hyp is None:
            return None
        rating, command = meaning(hyp.hypstr, what)
        if rating is None:
            return None
        frames = max(1, d.n_frames())
        confidence = sphinx._confidence(d)
        number = NUMBER_WORDS[rating - 1]
        word = next(s for s in reversed(seg) if s.word.split("(")[0] == number)
        wa, wb = word.start_frame, word.end_frame
        # the engine's phone loop, and its phones over the number word
        loop, lseg = self._decode(d, "phones", pcm)
        gain = ((_log(loop.best_score) - _log(hyp.best_score)) / frames
                if loop is not None else 0.0)
        inside = [s for s in lseg if min(s.end_frame, wb) - max(s.start_frame, wa) + 1
                  > (s.end_frame - s.start_frame + 1) / 2 and s.word != "SIL"]
        phones = [s.word for s in inside]
        pron = self.pron[number]
        over = 0.0
        for s in lseg:
            n = min(s.end_frame, wb) - max(s.start_frame, wa) + 1
            if n > 0:
                over += n / (s.end_frame - s.start_frame + 1) * (_log(s.ascore) + _log(s.lscore))
        word_gain = (over - _log(word.ascore) - _log(word.lscore)) / max(1, wb - wa + 1)
        # the rating's own path and its competitors, on the measurements' decoder, each from the
        # CMN the engine's grammar began with (the live mean moves with every decode)
        k = len(hyp.hypstr.split()) - 1
        k = {0: 0, 1: 1, 3: 2}[k]

        m = self._m

        def again(search: str) -> tuple[Any, list[Any]]:
            m.set_cmn(c0)
            return self._decode(m, search, pcm)

        rh, rseg = again(f"forced_{number}_{k}")
        acoustic = sum(_log(s.ascore) for s in rseg) if rh is not None else -1e3
        total = _log(rh.best_score) if rh is not None else -1e3
        loop0, _ = again("phones")
        gain0 = ((_log(loop0.best_score) - total) / frames if loop0 is not None else 0.0)
        fh, fseg = again("fillers")
        ch, cseg = again(f"carried_{k}")
        none: tuple[Any, list[Any]] = (None, [])
        oh, oseg = again(f"onset_{number}_{k}") if not LIGHT else none
        sh, sseg = again(f"swap_{number}_{k}") if not LIGHT else none
        kh, kseg = again(f"kws_{number}") if not LIGHT else none
        vocab = {size: again(f"vocab{size}_{k}") if not LIGHT else none for size in VOCAB}
        kws = [_log(s.prob) for s in kseg
               if min(s.end_frame, wb) - max(s.start_frame, wa) > 0]

        def margin(h: Any, sg: list[Any]) -> float:
            return acoustic - sum(_log(s.ascore) for s in sg) if h is not None else 1e3

        self.last = {
            "said": hyp.hypstr, "rating": rating, "confidence": confidence,
            "number_p": float(word.prob), "gain": gain, "gain0": gain0, "frames": frames,
            "word_frames": wb - wa + 1, "carrier": len(hyp.hypstr.split()) - 1,
            "word_gain": word_gain,
            "loop": phones, "loop_edit": _edit(phones, pron) / len(pron),
            "loop_onset": bool(phones) and phones[0] == pron[0],
            "filler": fh.hypstr if fh is not None else None,
            "filler_margin": margin(fh, fseg),
            "carried": ch.hypstr if ch is not None else None,
            "carried_margin": margin(ch, cseg),
            "forced_ok": rh is not None,
            "filler_margin_total": (total - _log(fh.best_score)
                                    if fh is not None else 1e3),
            "onset": oh.hypstr if oh is not None else None,
            "onset_margin": margin(oh, oseg),
            "swap": sh.hypstr if sh is not None else None,
            "swap_margin": margin(sh, sseg),
            "kws": max(kws) if kws else -1e3, "kws_n": len(kws),
            **{f"vocab{size}": h.hypstr if h is not None else None
               for size, (h, _) in vocab.items()},
            **{f"vocab{size}_margin": margin(h, sg) for size, (h, sg) in vocab.items()},
        }
        return Heard(hyp.hypstr, rating, command, confidence, found.end_s)


def record(corpus: str, seed: int, out: Path, cache: Path) -> None:
    """bench_listen.py's windows in its order (its rng drawn as it draws it), each rating the
    window yields kept with the features of the stretch it came from."""
    rec = Recognizer()
    rec.load()
    windows: list[dict[str, Any]] = []
    taken: list[dict[str, Any]] = []
    chunk = int(RATE * 0.1)
    for x, label in drawn_windows(corpus, seed, cache):
        label = {**label, "window": len(windows)}
        got = None
        for h in heard_in((x[i:i + chunk] for i in range(0, x.size, chunk)), rec, "rating",
                          x.size / RATE):
            assert rec.last is not None and rec.last["said"] == h.text
            taken.append({**label, **rec.last})
            got = h.rating
        windows.append({**label, "got": got})
    out.write_text(json.dumps({"set": corpus, "seed": seed, "windows": windows,
                               "taken": taken, "cpu": rec.cpu}))
    print(f"CPU-s by search: {rec.cpu}")


FEATURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "confidence (least posterior)": lambda t: t["confidence"],
    "number word posterior": lambda t: t["number_p"],
    "phone gain, nats a frame (as built)": lambda t: t["gain"],
    "phone gain, the grammar's features (CMN) for both": lambda t: t["gain0"],
    "phone gain over the number word": lambda t: t["word_gain"],
    "filler margin (acoustic)": lambda t: t["filler_margin"],
    "filler margin (total score)": lambda t: t["filler_margin_total"],
    "filler margin a frame": lambda t: t["filler_margin"] / t["frames"],
    "carrier + filler margin (acoustic)": lambda t: t.get("carried_margin", 0),
    "carrier + filler margin a number-word frame (the rule tried)":
        lambda t: t.get("carried_margin", 0) / t["word_frames"],
    "onset-swap margin": lambda t: t["onset_margin"],
    "onset-swap margin a word frame": lambda t: t["onset_margin"] / t["word_frames"],
    "one-phone-swap margin": lambda t: t["swap_margin"],
    "one-phone-swap margin a word frame": lambda t: t["swap_margin"] / t["word_frames"],
    "kws best detection (log prob)": lambda t: t["kws"],
    **{f"{size} common words' margin": (lambda t, size=size: t.get(f"vocab{size}_margin", 0))
       for size in VOCAB},
    "loop phones' edit distance / pron": lambda t: t["loop_edit"],
    "loop's first phone is the onset (0/1)": lambda t: float(t["loop_onset"]),
    "number word frames": lambda t: t["word_frames"],
    "carrier words": lambda t: t["carrier"],
}


def auc(off: list[float], ans: list[float]) -> float:
    """P(an off-grammar value > an answer's), ties half."""
    if not off or not ans:
        return float("nan")
    a = np.array(ans)
    return float(np.mean([np.mean(o > a) + 0.5 * np.mean(o == a) for o in off]))


def _load(files: list[Path]) -> tuple[list[dict[str, Any]], dict[tuple[int, int], list[Any]]]:
    windows: list[dict[str, Any]] = []
    taken: dict[tuple[int, int], list[Any]] = {}
    for f in files:
        d = json.loads(f.read_text())
        windows += [{**w, "seed": d["seed"]} for w in d["windows"]]
        for t in d["taken"]:
            taken.setdefault((d["seed"], t["window"]), []).append({**t, "seed": d["seed"]})
        print(f"{f}: CPU-s by search {d.get('cpu')}")
    return windows, taken


def built(t: dict[str, Any]) -> bool:
    """The engine's own floors: does it drop this rating?"""
    return t["confidence"] < sphinx.MIN_CONFIDENCE or t["gain"] > sphinx.MAX_PHONE_GAIN


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
    groups["answers, all"] = groups["answers, quiet"] + groups["answers, 5-15 dB"]
    print("stretches taken by the grammar: "
          + ", ".join(f"{k} {len(v)}" for k, v in groups.items()))
    pairs = [("off, quiet", "answers, quiet"), ("off, gym 10", "answers, 5-15 dB"),
             ("off, music 10", "answers, 5-15 dB"), ("off, all", "answers, all")]
    for subset, keep in (("every stretch the grammar takes", lambda t: True),
                         ("those the engine keeps (posterior >= 0.8, gain <= 7e-4)",
                          lambda t: not built(t))):
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
    print("\nby number, those the engine keeps: AUC off-all vs answers-all (n off / n answers)")
    for n in range(1, 6):
        cells = []
        for name in ("phone gain, nats a frame (as built)", "onset-swap margin",
                     "one-phone-swap margin", "filler margin (acoustic)",
                     "kws best detection (log prob)"):
            v = FEATURES[name]
            ov = [v(t) for t in groups["off, all"] if not built(t) and t["rating"] == n]
            av = [v(t) for t in groups["answers, all"] if not built(t) and t["rating"] == n]
            cells.append(f"{name.split(',')[0].split(' (')[0]} {auc(ov, av):.2f}")
        print(f"  {n}: ({len(ov)}/{len(av)}) " + "; ".join(cells))
    print("\noff-grammar stretches the engine keeps:")
    for t in groups["off, all"]:
        if not built(t):
            print(f"  {t['seed']} {t['kind']} {t['voice']} {t['text']!r} -> {t['said']!r}: "
                  f"gain {t['gain'] * 1e4:.1f}e-4, onset {t['onset_margin']:.3f} "
                  f"({t['onset']}), swap {t['swap_margin']:.3f} ({t['swap']}), filler "
                  f"{t['filler_margin']:.3f}, kws {t['kws']:.3f}, loop {t['loop']}")


def rules(files: list[Path], extra: dict[str, Any] | None = None) -> None:
    """Each rule applied to the ratings taken: right answers (w: wrong) per condition and
    off-grammar windows taken."""
    windows, taken = _load(files)

    def condition(w: dict[str, Any]) -> str:
        return w["kind"] if w["snr"] is None else f"{w['kind']} {w['snr']}"

    conditions = list(dict.fromkeys(condition(w) for w in windows))
    print("| rule | " + " | ".join(conditions) + " |")
    print("|---|" + "---|" * len(conditions))

    def row(name: str, drop: Callable[[dict[str, Any]], bool]) -> None:
        got: dict[str, list[int]] = {c: [0, 0] for c in conditions}
        for w in windows:
            left = [t for t in taken.get((w["seed"], w["window"]), []) if not drop(t)]
            rating = left[-1]["rating"] if left else None
            cell = got[condition(w)]
            cell[0] += rating is not None if w["want"] is None else rating == w["want"]
            cell[1] += w["want"] is not None and rating is not None and rating != w["want"]
        print(f"| {name} | " + " | ".join(f"{a}" + (f" w{b}" if b else "")
                                          for a, b in got.values()) + " |")

    row("grammar alone", lambda t: False)
    row("as built", built)
    sweeps: dict[str, tuple[Callable[[dict[str, Any]], float], tuple[float, ...]]] = {
        "filler margin": (lambda t: t["filler_margin"], (-0.01, -0.005, 0, 0.005, 0.01, 0.02)),
        "carrier + filler margin a word frame": (
            lambda t: t["carried_margin"] / t["word_frames"] * 1e4, (-5, -4, -3, -2, 0)),
    }
    if "onset_margin" in taken[next(iter(taken))][0] and not LIGHT:
        sweeps["one-phone-swap margin"] = (lambda t: t["swap_margin"], (-0.02, -0.01))
        sweeps["kws"] = (lambda t: t["kws"], (-0.25, -0.2))
    for name, (value, xs) in sweeps.items():
        for x in xs:
            row(f"as built, and {name} >= {x:g}",
                lambda t, v=value, x=x: built(t) or v(t) < x)
    for g in (4e-4, 5e-4, 6e-4):
        for n in range(1, 6):
            row(f"as built, gain <= {g:g} for {n} only",
                lambda t, g=g, n=n: built(t) or (t["rating"] == n and t["gain"] > g))


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
    record(args.set, seed, args.out or Path(f"/tmp/listen-sphinx-{args.set}-{seed}.json"),
           args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
