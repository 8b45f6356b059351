"""Why does PocketSphinx (the default engine) lose answers in music, and does a front-end or
search setting it never had win them back? Over bench_listen.py's windows (one draw:
``--seed``; the tuning set's own is 22), in its order with its rng, each window is heard by
several variants of sphinx.py's recogniser through the real endpointer (window.answers), each
variant with a decoder of its own (its own history); every call of a variant's ``hear`` is kept
(the gate's stretch, the grammar's hypothesis, its least word posterior, the phone loop's gain,
the stretch's SNR, what was returned), so a window's miss can be named. ``--table`` sums draws
per variant; ``--why`` names the misses of one variant.

    nice -n 10 taskset -c 0 .venv/bin/python bench/listen_sphinx_music.py --seed 22 --out /tmp/m22.json
    .venv/bin/python bench/listen_sphinx_music.py --table /tmp/m22.json /tmp/m23.json /tmp/m24.json
    .venv/bin/python bench/listen_sphinx_music.py --why "as built" /tmp/m22.json
    .venv/bin/python bench/listen_sphinx_music.py --replay "silprob 0.05" --gains 7e-4,5e-4 \
        /tmp/m22.json /tmp/m23.json /tmp/m24.json

Note (pocketsphinx 5.1.1): the model's feat.params (``-cmn batch``, ``-remove_noise yes``,
``-varnorm no``...) overrides the same keys given to ``Decoder(...)``; they are changed here on
the decoder's config and ``reinit_feat()``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import drawn_windows, harness_arguments, hear  # noqa: E402
from listen_corpus import SEEDS  # noqa: E402

from coach.audio.listen import sphinx, vad  # noqa: E402
from coach.audio.listen.recognizer import (  # noqa: E402
    NUMBER_WORDS,
    RATE,
    Heard,
    Listening,
    meaning,
)


@dataclass
class Spec:
    """A variant: decoder settings (``config``: given to Decoder; ``feat``: set on its config
    after, then reinit_feat), the pads around the gate's stretch, an optional transform of the
    decoded audio, a posterior floor as a function of the stretch's SNR, and several decodes
    of other edges voting. ``config`` applies to every search of the decoder (the command
    grammar's too: these windows are rating windows only)."""

    config: dict[str, Any] = field(default_factory=dict)
    feat: dict[str, Any] = field(default_factory=dict)
    pad_before: float = vad.PAD_S
    pad_after: float = vad.PAD_S
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    floor: Callable[[float | None], float] | None = None
    max_gain: Callable[[float | None], float] | None = None
    cmn_from_lead: bool = False  # live CMN, its mean primed by the audio before the pad
    votes: tuple[tuple[float, float], ...] = ()  # more (pad before, pad after) decodes
    # a stretch shorter than this (s, the gate's) is decoded with a rating grammar without the
    # "it was" carrier: "it was a four" took 0.67 s and more in every tuning voice
    short_s: float = 0.0


def pre_emphasis(a: float) -> Callable[[np.ndarray], np.ndarray]:
    def f(x: np.ndarray) -> np.ndarray:
        y = x.copy()
        y[1:] -= a * x[:-1]
        return y
    return f


def high_pass(hz: float) -> Callable[[np.ndarray], np.ndarray]:
    """Everything under ``hz`` taken out (FFT of the stretch, a raised-cosine edge an octave
    wide): the music's chords (roots 110-247 Hz) are low."""
    def f(x: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(x.astype(np.float64))
        freq = np.fft.rfftfreq(x.size, 1 / RATE)
        gain = np.clip(np.log2(np.maximum(freq, 1e-9) / (hz / 2)), 0, 1)
        gain = 0.5 - 0.5 * np.cos(np.pi * gain)
        return np.fft.irfft(spec * gain, x.size).astype(np.float32)
    return f


def snr_floor(db: float, low: float) -> Callable[[float | None], float]:
    """The posterior floor ``low`` for a stretch under ``db`` dB over its noise, else 0.8."""
    return lambda snr: low if snr is not None and snr < db else sphinx.MIN_CONFIDENCE


VARIANTS: dict[str, Spec] = {
    "as built": Spec(),
    "fillprob 1e-4": Spec(config={"fillprob": 1e-4}),
    "fillprob 1e-2": Spec(config={"fillprob": 1e-2}),
    "silprob 0.1": Spec(config={"silprob": 0.1}),
    "wip 0.05": Spec(config={"wip": 0.05}),
    "lw 2": Spec(config={"lw": 2.0}),
    "lw 13": Spec(config={"lw": 13.0}),
    "remove_noise off": Spec(feat={"remove_noise": False}),
    "cmn live, primed by the lead": Spec(feat={"cmn": "live"}, cmn_from_lead=True),
    "varnorm": Spec(feat={"varnorm": True}),
    "pad before 0.45": Spec(pad_before=0.45),
    "topn 8, wider beams": Spec(config={"topn": 8, "beam": 1e-60, "wbeam": 1e-40,
                                        "pbeam": 1e-60}),
    "pre-emphasis 0.5": Spec(transform=pre_emphasis(0.5)),
    # round 2 (after seed 22's first round): silence and noise-filler insertion, a lower lw
    "silprob 0.05": Spec(config={"silprob": 0.05}),
    "silprob 0.3": Spec(config={"silprob": 0.3}),
    "silprob 1": Spec(config={"silprob": 1.0}),
    "fillprob 0.1": Spec(config={"fillprob": 0.1}),
    "lw 4": Spec(config={"lw": 4.0}),
    "silprob 0.1, fillprob 1e-2": Spec(config={"silprob": 0.1, "fillprob": 1e-2}),
    "silprob 0.1, lw 4": Spec(config={"silprob": 0.1, "lw": 4.0}),
    "silprob 0.3, lw 4": Spec(config={"silprob": 0.3, "lw": 4.0}),
    "fillprob 1e-2, lw 4": Spec(config={"fillprob": 1e-2, "lw": 4.0}),
    "silprob 0.1, fillprob 1e-2, lw 4": Spec(config={"silprob": 0.1, "fillprob": 1e-2,
                                                     "lw": 4.0}),
    # round 3: the stretch decoded with three pads, a rating two of the three agree on
    "3 pads voting": Spec(votes=((0.1, 0.1), (0.35, 0.35))),
    "3 pads voting, silprob 0.05": Spec(config={"silprob": 0.05},
                                        votes=((0.1, 0.1), (0.35, 0.35))),
    "silprob 0.05, gain 5e-4": Spec(config={"silprob": 0.05}, max_gain=lambda _s: 5e-4),
    # round 5: no "it was" carrier in a stretch too short for one
    "short stretch, no carrier (0.6 s)": Spec(short_s=0.6),
    "short stretch, no carrier (0.55 s)": Spec(short_s=0.55),
    # round 4: the music's low chords out of the decoded audio
    "high-pass 250 Hz": Spec(transform=high_pass(250)),
    "high-pass 500 Hz": Spec(transform=high_pass(500)),
    "pre-emphasis 0.9": Spec(transform=pre_emphasis(0.9)),
}


# sphinx.py before session 13 (its silprob the decoder's default, 0.005): every variant's
# starting point, "as built" below
BEFORE_PHONE_GAIN = 7e-4


class Variant(sphinx.SphinxRecognizer):
    """sphinx.py's recogniser (as it was before session 13) with a Spec's changes; every
    hear() call's decision kept."""

    def __init__(self, spec: Spec) -> None:
        super().__init__(max_phone_gain=BEFORE_PHONE_GAIN)
        self.spec = spec
        self.calls: list[dict[str, Any]] = []

    def _load(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder  # type: ignore[import-untyped]
            d = Decoder(samprate=RATE, loglevel="FATAL", bestpath=False, **self.spec.config)
            if self.spec.feat:
                for k, v in self.spec.feat.items():
                    d.config[k] = v
                d.reinit_feat()
            fillers = [w for w in sphinx.FILLERS if d.lookup_word(w)]
            for name, grammar in sphinx.GRAMMARS.items():
                other = " | ".join([*fillers, *({"rating": (), "command": sphinx.COMMAND_FILLERS}
                                                [name])])
                d.add_jsgf_string(name, f"{grammar}<other> = {other};\n")
            d.add_jsgf_string("rating_short", (
                "#JSGF V1.0;\ngrammar short;\npublic <answer> = <rating> | <other>;\n"
                f"<rating> = [a] ({' | '.join(NUMBER_WORDS)});\n"
                f"<other> = {' | '.join(fillers)};\n"))
            d.add_allphone_file("phones", str(sphinx._model_dir() / "en-us-phone.lm.bin"))
            self._decoder = d
        return self._decoder

    def _decode(self, samples: np.ndarray, found: vad.Speech, before: float, after: float,
                what: Listening) -> dict[str, Any]:
        a = max(0, int((found.start_s - before) * RATE))
        b = min(samples.size, int((found.end_s + after) * RATE))
        x = samples[a:b]
        if self.spec.transform is not None:
            x = self.spec.transform(x)
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
        d = self._load()
        if self.spec.cmn_from_lead and a > int(0.1 * RATE):
            self._prime(d, samples[:a])
        short = what == "rating" and found.end_s - found.start_s < self.spec.short_s
        d.activate_search("rating_short" if short else what)
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        out: dict[str, Any] = {"text": None if hyp is None else hyp.hypstr}
        if hyp is None:
            return out
        rating, command = meaning(hyp.hypstr, what)
        out["rating"] = rating
        if rating is None and command is None:
            return out
        out["conf"] = sphinx._confidence(d)
        if what == "rating":
            out["gain"] = sphinx._phone_gain(d, pcm, hyp.best_score)
        return out

    def _prime(self, d: Any, lead: np.ndarray) -> None:
        """The live CMN's mean set to the lead's cepstral mean: the lead decoded alone (an
        utterance of its own, whose result is dropped) with a fresh mean, its mean then kept."""
        pcm = (np.clip(lead, -1, 1) * 32767).astype("<i2").tobytes()
        d.set_cmn("40,3,-1")
        d.activate_search("phones")
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        call: dict[str, Any] = {"n": samples.size}
        self.calls.append(call)
        found = vad.speech(samples)
        if found is None:
            call["outcome"] = "no stretch"
            return None
        snr = vad.snr_db(samples, found)
        call.update(start=found.start_s, end=found.end_s, snr=snr)
        t = time.process_time()
        views = [(self.spec.pad_before, self.spec.pad_after), *self.spec.votes]
        decodes = [self._decode(samples, found, b, a, what) for b, a in views]
        call["cpu"] = time.process_time() - t
        call["decodes"] = decodes
        floor = (self.spec.floor or (lambda _s: self.min_confidence))(snr)
        max_gain = (self.spec.max_gain or (lambda _s: self.max_phone_gain))(snr)
        ok = []
        for dec in decodes:
            if dec.get("conf") is None:
                dec["why"] = "no hypothesis" if dec["text"] is None else "filler"
            elif dec["conf"] < floor:
                dec["why"] = "confidence"
            elif dec.get("gain", 0.0) > max_gain:
                dec["why"] = "phone gain"
            else:
                dec["why"] = "taken"
                ok.append(dec)
        if len(views) > 1:  # voting: a rating the views' majority agree on
            ratings = [dec["rating"] for dec in ok]
            best = max(set(ratings), key=ratings.count, default=None)
            if best is None or ratings.count(best) * 2 <= len(views):
                call["outcome"] = "no majority"
                return None
            dec = next(d for d in ok if d["rating"] == best)
        else:
            if not ok:
                call["outcome"] = decodes[0]["why"]
                return None
            dec = ok[0]
        call["outcome"] = "taken"
        rating, command = meaning(dec["text"], what)
        return Heard(dec["text"], rating, command, dec["conf"], found.end_s)


def record(corpus: str, seed: int, out: Path, cache: Path, names: list[str]) -> None:
    variants = {n: Variant(VARIANTS[n]) for n in names}
    for v in variants.values():
        v.load()
    windows: list[dict[str, Any]] = []
    cpu = {n: 0.0 for n in names}
    for x, label in drawn_windows(corpus, seed, cache):
        got: dict[str, Any] = {}
        for name, rec in variants.items():
            rec.calls = []
            t = time.process_time()
            rating, said, _, _ = hear(rec, x)
            cpu[name] += time.process_time() - t
            got[name] = {"rating": rating, "said": said, "calls": rec.calls}
        windows.append({**label, "got": got})
    audio_s = len(windows) * x.size / RATE
    out.write_text(json.dumps({"set": corpus, "seed": seed, "windows": windows,
                               "cpu_per_s": {n: c / audio_s for n, c in cpu.items()}}))
    print(f"wrote {out}")


def condition(w: dict[str, Any]) -> str:
    return w["kind"] if w["snr"] is None or w["kind"].startswith("off") else \
        f"{w['kind']} {w['snr']}"


def _load(files: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
    windows, cpus = [], []
    for f in files:
        d = json.loads(f.read_text())
        windows += [{**w, "seed": d["seed"]} for w in d["windows"]]
        cpus.append(d["cpu_per_s"])
    return windows, cpus


def table(files: list[Path]) -> None:
    """Per variant: right answers per condition (wrong after "w"), ratings in windows of
    noise or music alone, off-grammar windows taken, CPU-s per audio second."""
    windows, cpus = _load(files)
    conditions = list(dict.fromkeys(condition(w) for w in windows))
    names = list(windows[0]["got"])
    print(f"{len(files)} draw(s): seeds {sorted({w['seed'] for w in windows})}")
    print("| variant | " + " | ".join(conditions) + " | answers | CPU |")
    print("|---|" + "---|" * (len(conditions) + 2))
    for name in names:
        cells: dict[str, list[int]] = {c: [0, 0] for c in conditions}
        total = 0
        for w in windows:
            r = w["got"][name]["rating"]
            c = cells[condition(w)]
            if w["want"] is None:
                c[0] += r is not None
            else:
                c[0] += r == w["want"]
                c[1] += r is not None and r != w["want"]
                total += r == w["want"]
        cpu = np.mean([c[name] for c in cpus if name in c])
        print(f"| {name} | " + " | ".join(f"{a}" + (f" w{b}" if b else "")
                                          for a, b in cells.values())
              + f" | {total} | {cpu:.4f} |")


def reason(w: dict[str, Any], name: str) -> str:
    """Why a window's answer was missed by ``name``."""
    g = w["got"][name]
    if g["rating"] is not None:
        return f"other number ({g['said']!r})"
    calls = g["calls"]
    if not calls:
        return "no stretch (the endpointer handed none)"
    out = []
    for c in calls:
        if c["outcome"] == "no stretch":
            out.append("no stretch (the gate's second look)")
            continue
        d = c["decodes"][0]
        detail = {"filler": f"filler {d['text']!r}", "no hypothesis": "no hypothesis",
                  "confidence": f"confidence {d.get('conf', 0):.2f} ({d['text']!r})",
                  "phone gain": f"phone gain {d.get('gain', 0) * 1e4:.1f}e-4 ({d['text']!r})",
                  "taken": f"taken {d['text']!r}"}[d["why"]]
        out.append(f"{detail}, stretch {c['start']:.2f}-{c['end']:.2f} s, snr "
                   + ("-" if c["snr"] is None else f"{c['snr']:.1f}"))
    return "; ".join(out)


def why(name: str, files: list[Path], kinds: tuple[str, ...]) -> None:
    windows, _ = _load(files)
    counts: dict[str, int] = {}
    for w in windows:
        if w["want"] is None or condition(w) not in kinds:
            continue
        if w["got"][name]["rating"] == w["want"]:
            continue
        r = reason(w, name)
        print(f"  {w['seed']} {condition(w)} {w['voice']} {w['text']!r}: {r}")
        key = r.split(" (")[0].split(",")[0].split(" '")[0]
        key = key.split(" 0.")[0].split(" 1")[0].split(" -")[0]
        counts[key] = counts.get(key, 0) + 1
    print({k: v for k, v in sorted(counts.items(), key=lambda kv: -kv[1])})


def replay(files: list[Path], name: str, gains: list[float], floor_under: tuple[float, float]
           | None) -> None:
    """``name``'s kept decisions with other phone-loop limits (and, with ``floor_under`` (dB,
    floor), another posterior floor for stretches under dB over their noise): a window's rating
    is the last stretch that passes (the window's mute after an answer is not replayed: an
    answer window holds one stretch). Gives the real run's figures at the variant's own limit."""
    windows, _ = _load(files)
    conditions = list(dict.fromkeys(condition(w) for w in windows))
    print(f"{name}, {len(files)} draw(s)")
    print("| rule | " + " | ".join(conditions) + " |")
    print("|---|" + "---|" * len(conditions))
    for gain in gains:
        cells: dict[str, list[int]] = {c: [0, 0] for c in conditions}
        for w in windows:
            rating = None
            for c in w["got"][name]["calls"]:
                d = c.get("decodes", [{}])[0]
                if d.get("conf") is None or d.get("rating") is None:
                    continue
                snr = c["snr"]
                floor = floor_under[1] if floor_under and snr is not None and \
                    snr < floor_under[0] else sphinx.MIN_CONFIDENCE
                if d["conf"] >= floor and d.get("gain", 0.0) <= gain:
                    rating = d["rating"]
            cell = cells[condition(w)]
            if w["want"] is None:
                cell[0] += rating is not None
            else:
                cell[0] += rating == w["want"]
                cell[1] += rating is not None and rating != w["want"]
        print(f"| phone gain {gain:g} | " + " | ".join(f"{a}" + (f" w{b}" if b else "")
                                                       for a, b in cells.values()) + " |")


def main() -> int:
    ap = harness_arguments(__doc__)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--table", type=Path, nargs="*")
    ap.add_argument("--why", metavar="VARIANT")
    ap.add_argument("--kinds", nargs="*", default=["music 10"])
    ap.add_argument("--replay", metavar="VARIANT", help="its decisions with other limits")
    ap.add_argument("--gains", default=f"{BEFORE_PHONE_GAIN:g}", help="limits, commas between")
    ap.add_argument("--floor-under", type=float, nargs=2, metavar=("DB", "FLOOR"))
    ap.add_argument("files", type=Path, nargs="*")
    args = ap.parse_args()
    if args.replay:
        replay(args.files, args.replay, [float(g) for g in args.gains.split(",")],
               args.floor_under)
        return 0
    if args.table:
        table(args.table)
        return 0
    if args.why:
        why(args.why, args.files, tuple(args.kinds))
        return 0
    seed = SEEDS[args.set] if args.seed is None else args.seed
    record(args.set, seed, args.out or Path(f"/tmp/listen-sphinx-{args.set}-{seed}.json"),
           args.cache, args.variants)
    return 0


if __name__ == "__main__":
    sys.exit(main())
