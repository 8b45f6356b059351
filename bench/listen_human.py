"""How well does coach hear people, not synthetic voices? Recordings of six men saying digits
(the Free Spoken Digit Dataset: 8 kHz, 50 of each digit a speaker; US, Belgian, German and
Greek accents) put in 6-s windows as bench_listen.py puts its clips (a quiet room, gym noise and
music at known SNRs), heard through the window's endpointer in 0.1-s chunks. "one".."five" are
answers; "zero", "six".."nine" are speech that is not an answer (off-grammar: "nine" rhymes with
"five"). The recordings are 8 kHz, so every figure is a call-quality mic's (a Bluetooth
headset in its CVSD profile; bench_listen.py --band 8000 is the synthetic voices' equivalent).

    git clone https://github.com/Jakobovski/free-spoken-digit-dataset /tmp/fsdd
    nice -n 10 taskset -c 0 .venv/bin/python bench/listen_human.py --fsdd /tmp/fsdd/recordings
    (the same with --engine moonshine)
"""

from __future__ import annotations

import sys
import wave
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import ASKED, CPU, arguments, hear  # noqa: E402
from listen_corpus import NOISES, RATE, WINDOW_S, window  # noqa: E402

from coach.audio.listen.engines import recognizer  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ANSWERS = (1, 2, 3, 4, 5)
OFF = (0, 6, 7, 8, 9)
CONDITIONS: tuple[tuple[str, float | None], ...] = (
    ("quiet room", None), ("gym", 20), ("gym", 10), ("music", 20), ("music", 10))
SEED = 8


def clip(path: Path, native: bool = False) -> np.ndarray:
    """A recording at RATE, its peak at 0.3 (as listen_corpus.Synth leaves its clips), or as
    loud as it was recorded (``native``)."""
    import soxr
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    x = soxr.resample(x, rate, RATE).astype(np.float32)
    return x if native else x * (0.3 / (np.max(np.abs(x)) + 1e-9))


def main() -> int:
    ap = arguments(__doc__ or "", empty=0)
    ap.add_argument("--fsdd", type=Path, default=Path("/tmp/fsdd/recordings"),
                    help="the recordings folder of a clone of Jakobovski/free-spoken-digit-dataset")
    ap.add_argument("--per", type=int, default=10,
                    help="recordings of each digit a speaker (their first PER; 50 at most)")
    ap.add_argument("--speakers", default=",".join(SPEAKERS))
    ap.add_argument("--native", action="store_true",
                    help="each recording as loud as it was recorded (its speaker's mic: theo's "
                         "speech is at -40 dBFS, jackson's at -17), in a quiet room whose hiss is "
                         "at -70 dBFS; the quiet room only")
    args = ap.parse_args()
    conditions = CONDITIONS[:1] if args.native else CONDITIONS
    hiss = 10 ** (-70 / 20) if args.native else 0.002
    speakers = args.speakers.split(",")
    missing = [s for s in speakers if not (args.fsdd / f"1_{s}_0.wav").exists()]
    if missing:
        print(f"listen_human.py: error: no recordings of {', '.join(missing)} in {args.fsdd} "
              "(git clone https://github.com/Jakobovski/free-spoken-digit-dataset)",
              file=sys.stderr)
        return 2
    clips = {(s, d, i): clip(args.fsdd / f"{d}_{s}_{i}.wav", args.native)
             for s in speakers for d in ANSWERS + OFF for i in range(args.per)}
    rec = recognizer(args.engine)
    rng = np.random.default_rng(SEED)
    audio_s = 0.0
    print(f"engine {args.engine}; {len(speakers)} speakers x {args.per} recordings of each digit; "
          f"windows of {WINDOW_S:g} s" + ("; as loud as recorded, hiss at -70 dBFS"
                                          if args.native else ""))
    print("| noise | SNR, dB | exact | no answer | wrong | off-grammar taken | \"one to five?\" "
          "asked: answers, off-grammar |")
    print("|---|---|---|---|---|---|---|")
    by_speaker: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for kind, snr in conditions:
        tally: Counter[str] = Counter()
        taken: Counter[str] = Counter()
        for s in speakers:
            for d in ANSWERS + OFF:
                for i in range(args.per):
                    noise = NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None else None
                    x, _ = window(clips[s, d, i], noise, snr, float(rng.uniform(0.3, 2.0)), rng,
                                  hiss)
                    audio_s += WINDOW_S
                    asked = len(ASKED)
                    got, words, _, _ = hear(rec, x)
                    tally["asked off" if d in OFF else "asked"] += len(ASKED) > asked
                    cond = f"{kind} {snr or ''}".strip()
                    if d in OFF:
                        tally["off"] += 1
                        if got is not None:
                            taken[f"{WORDS[d]}->{got}"] += 1
                            by_speaker[s, cond]["off taken"] += 1
                            if args.detail:
                                print(f"  off {cond} {s} {WORDS[d]} #{i}: {words!r}")
                        continue
                    outcome = "exact" if got == d else "none" if got is None else "wrong"
                    tally[outcome] += 1
                    by_speaker[s, cond][outcome] += 1
                    if outcome != "exact" and args.detail:
                        print(f"  {cond} {s} {WORDS[d]} #{i}: {words or 'nothing'!r}")
        n = tally["exact"] + tally["none"] + tally["wrong"]
        t = sum(taken.values())
        print(f"| {kind} | {'-' if snr is None else snr} | {tally['exact']}/{n} "
              f"({tally['exact'] / n:.2f}) | {tally['none']} | {tally['wrong']} | {t}/{tally['off']}"
              f"{' (' + ', '.join(f'{k} {v}' for k, v in taken.most_common()) + ')' if t else ''}"
              f" | {tally['asked']}, {tally['asked off']} |", flush=True)
    conds = [f"{k} {s or ''}".strip() for k, s in conditions]
    print("\nexact answers by speaker, of " f"{len(ANSWERS) * args.per} (off-grammar taken, of "
          f"{len(OFF) * args.per})")
    print("| speaker | " + " | ".join(conds) + " |")
    print("|---" * (len(conds) + 1) + "|")
    for s in speakers:
        print(f"| {s} | " + " | ".join(
            f"{by_speaker[s, c]['exact']} ({by_speaker[s, c]['off taken']})" for c in conds)
            + " |")
    print(f"\nCPU: {CPU[0]:.1f} s for {audio_s:.0f} s of audio = {CPU[0] / audio_s:.4f} CPU-s per "
          "audio second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
