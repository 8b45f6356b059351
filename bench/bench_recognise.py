"""Does each engine say every phrase so that an independent recogniser hears it?

Every distinct spoken phrase of the shipped programs (programs/*.yaml) is synthesized through
coach's own clip pipeline (coach.audio.voice.Voice: the engine, trimming, loudness, 48 kHz),
padded with 0.3 s of silence, resampled to 16 kHz mono int16 and decoded by PocketSphinx
(its bundled US English model) with a JSGF grammar over the vocabulary of the plan's words,
any sequence of them. A phrase is a hit when the recogniser's words equal the phrase's words
(digits read as English words; homophones such as "to"/"two" count as the same). Phrases
with a word outside PocketSphinx's dictionary ("pulldown") cannot be scored and are counted
apart.

    .venv/bin/python bench/bench_recognise.py                 # espeak and piper
    .venv/bin/python bench/bench_recognise.py --engine piper --show-misses
    .venv/bin/python bench/bench_recognise.py --engine piper --phrasing words.   # experiment
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.core.program import VoiceSettings, load_program  # noqa: E402
from coach.core.timeline import compile_program  # noqa: E402

TEMPO_PHRASES = {"lower", "bottom_hold", "squeeze", "top_hold", "explode"}
RATE = 48000
PAD_S = 0.3


def plan_phrases(paths: list[Path]) -> dict[str, str]:
    """Every distinct speech text of the programs -> its class: counts, tempo, other."""
    out: dict[str, str] = {}
    for path in paths:
        for cue in compile_program(load_program(path)).cues:
            if cue.kind != "speech":
                continue
            cls = ("counts" if cue.phrase == "numbers" else
                   "tempo" if cue.phrase in TEMPO_PHRASES else "other")
            out.setdefault(cue.text, cls)
    return out


def words_of(text: str) -> list[str]:
    from num2words import num2words

    def number(m: re.Match) -> str:
        return " " + num2words(float(m[0]) if "." in m[0] else int(m[0]), lang="en") + " "
    text = re.sub(r"\d+(?:\.\d+)?", number, text.lower())
    return re.findall(r"[a-z']+", text.replace("-", " "))


class Recogniser:
    """PocketSphinx, US English model from the wheel, a grammar of ``vocabulary``'s words."""

    def __init__(self, vocabulary: set[str]):
        from pocketsphinx import Decoder
        # dither (seeded, so a rerun hears the same): the padding is digital silence, which
        # PocketSphinx's front end mishears
        # without it. Beams narrower than the defaults: 10-30x faster on long announcements,
        # same hits on the counts (measured while writing this script).
        self.decoder = Decoder(samprate=16000, loglevel="FATAL", dither=True, seed=1, beam=1e-20,
                               wbeam=1e-15, pbeam=1e-20)
        self.known = {w for w in vocabulary if self.decoder.lookup_word(w)}
        rules = " | ".join(sorted(self.known))
        self.decoder.add_jsgf_string("plan", f"#JSGF V1.0;\ngrammar plan;\n"
                                             f"public <s> = <w>+;\n<w> = {rules};\n")
        self.decoder.activate_search("plan")

    def same(self, heard: list[str], text: str) -> bool:
        """Heard as said, homophones equal ("to" for "two": the recogniser cannot tell)."""
        def pron(words: list[str]) -> list[str]:
            return [self.decoder.lookup_word(w) or w for w in words]
        return pron(heard) == pron(words_of(text))

    def heard_in(self, heard: list[str], text: str) -> bool:
        """The phrase's words among what was heard, in order and together (extra words
        around them allowed: the recogniser adds short words in a clip's silence)."""
        want = [self.decoder.lookup_word(w) or w for w in words_of(text)]
        got = [self.decoder.lookup_word(w) or w for w in heard]
        return any(got[i:i + len(want)] == want for i in range(len(got) - len(want) + 1))

    def scorable(self, text: str) -> bool:
        return all(w in self.known for w in words_of(text))

    def hear(self, samples: np.ndarray, rate: int) -> list[str]:
        import soxr
        pad = np.zeros(int(rate * PAD_S), np.float32)
        x = soxr.resample(np.concatenate([pad, samples, pad]), rate, 16000)
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr.split() if hyp is not None else []


PHRASINGS = {
    # what the engine is given instead of a phrase's text (the text itself is unchanged)
    "as-is": lambda text: text,
    "words": lambda text: re.sub(r"\d+", lambda m: _en(int(m[0])), text),
    "words.": lambda text: re.sub(r"\d+", lambda m: _en(int(m[0])), text).rstrip(".") + ".",
    "words!": lambda text: re.sub(r"\d+", lambda m: _en(int(m[0])), text).rstrip(".") + "!",
}


def _en(n: int) -> str:
    from num2words import num2words
    return num2words(n, lang="en")


def score(engine: str, phrases: dict[str, str], rec: Recogniser, show_misses: bool,
          phrasing: str = "as-is", rate: int = 170) -> dict[str, tuple[int, int, int]]:
    from coach.audio import voice as V
    with tempfile.TemporaryDirectory() as cache:
        v = V.Voice(VoiceSettings(engine=engine, rate=rate), "en", RATE, Path(cache),
                    require_real=True)
        if phrasing != "as-is":
            synth, change = v._synth.synth, PHRASINGS[phrasing]
            v._synth.synth = lambda text: synth(change(text) if phrases.get(text) in (
                "counts", "tempo") else text)  # type: ignore[method-assign]
        texts = [t for t in phrases if rec.scorable(t)]
        t0 = time.perf_counter()
        clips = v.prepare(texts)
        synth_s = time.perf_counter() - t0
    tally: dict[str, list[int]] = {"counts": [0, 0, 0], "tempo": [0, 0, 0], "other": [0, 0, 0]}
    for text in texts:
        heard = rec.hear(clips[text].samples, RATE)
        ok = rec.same(heard, text)
        tally[phrases[text]][0] += ok
        tally[phrases[text]][1] += rec.heard_in(heard, text)
        tally[phrases[text]][2] += 1
        if show_misses and not ok:
            print(f"  miss [{engine}] {text!r}: heard {' '.join(heard)!r} "
                  f"({clips[text].samples.size / RATE:.2f} s)")
    print(f"  ({engine}: {len(texts)} texts synthesized in {synth_s:.1f} s)", file=sys.stderr)
    return {k: (a, b, c) for k, (a, b, c) in tally.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("espeak", "piper"), action="append")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--phrasing", choices=PHRASINGS, default="as-is",
                    help="give the engine the counts and tempo words as number words, with a "
                         "full stop or an exclamation mark (an experiment; coach itself is unchanged)")
    ap.add_argument("--rate", type=int, default=170, help="voice rate, wpm (default 170)")
    ap.add_argument("programs", nargs="*", type=Path)
    args = ap.parse_args()
    paths = args.programs or sorted((ROOT / "programs").glob("*.yaml"))
    phrases = plan_phrases(paths)
    vocab = {w for t in phrases for w in words_of(t)}
    rec = Recogniser(vocab)
    scorable = [t for t in phrases if rec.scorable(t)]
    print(f"{len(phrases)} distinct phrases in {len(paths)} programs; {len(scorable)} scorable "
          f"(every word in PocketSphinx's dictionary; {len(rec.known)} words in the grammar)")
    print("exact hits/phrases (in brackets: phrases whose words were heard among extra ones)")
    print("| engine | counts | tempo words | others | all |")
    print("|---|---|---|---|---|")
    for engine in args.engine or ["espeak", "piper"]:
        t = score(engine, phrases, rec, args.show_misses, args.phrasing, args.rate)
        exact, within, total = (sum(v[i] for v in t.values()) for i in range(3))
        cells = " | ".join(f"{a}/{c} ({b})" for a, b, c in (t["counts"], t["tempo"], t["other"]))
        what = f"{engine}, {args.rate} wpm, {args.phrasing}"
        print(f"| {what} | {cells} | {exact}/{total} ({within}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
