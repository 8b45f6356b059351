"""Does adapting PocketSphinx's acoustic model to the lifter help? An MLLR mean transform (one
global class, sphinxtrain's bw + mllr_solve on the bundled en-us PTM model) made from a few
enrollment utterances, heard over bench_listen.py's windows (drawn_windows: its order, its rng).

Two kinds of transform:

- per voice ("enrollment"): each voice of the measured set says the answers and carriers
  ("one", "a one", "it was a one"...) ``N`` times in a quiet room, 15 dB gym noise and 15 dB
  music (cycling), as the lifter would once through their own headset in their own gym. The
  enrollment tokens are new ones (espeak-ng at 0.9 and 1.1 times the voice's speed, Piper at
  0.9 and 1.1 times its length: never the measured windows' clips) in noise of another draw;
  the gate's stretch of each (sphinx.speech_pcm) is what bw adapts on. Each voice's windows
  (answers, off-grammar speech) are then heard with its own transform; the windows of noise
  alone are heard in turn by each voice's.
- one speaker-independent transform ("si") from the tuning set's voices (each answer and
  carrier in a quiet room, 15 dB and 10 dB gym noise and music), heard on every window.

The phone loop (sphinx._phone_gain) runs in the same decoder, so it uses the same transform.

    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_sphinx_mllr.py --set check \
        --variants none enroll5 enroll15 enroll30 si --out /tmp/mllr-check.json
    .venv/bin/python bench/listen_sphinx_mllr.py --table /tmp/mllr-check.json
    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_sphinx_mllr.py --set tune --keep \
        --variants none enroll15 enroll30 --out /tmp/mllr-keep-tune.json
    .venv/bin/python bench/listen_sphinx_mllr.py --grid /tmp/mllr-keep-tune.json \
        --floors 0.8,0.85 --gains 7e-4,5e-4,4e-4
    nice -n 10 taskset -c 1 .venv/bin/python bench/listen_sphinx_mllr.py --set check \
        --variants none enroll30 --floor 0.85 --max-gain 5e-4

The recipe (what ``prepare_model`` and ``adapt`` run; apt: sphinxtrain, sphinxbase-utils,
pocketsphinx for pocketsphinx_mdef_convert):

    pocketsphinx_mdef_convert -text en-us/mdef model/mdef.txt
    (sendump -> mixture_weights: sendump_to_mixw below)
    sphinx_fe -argfile model/feat.params -samprate 16000 -c ctl -di . -do . -ei raw -eo mfc
              -raw yes -remove_silence no
    bw -hmmdir model -moddeffn model/mdef.txt -ts2cbfn .ptm. -feat 1s_c_d_dd
       -svspec 0-12/13-25/26-38 -cmn current -agc none -varnorm no -dictfn dict
       -fdictfn model/noisedict -ctlfn ctl -lsnfn lsn -cepdir . -accumdir acc
    mllr_solve -meanfn model/means -varfn model/variances -outmllrfn mllr_matrix -accumdir acc
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_listen import drawn_windows, hear  # noqa: E402
from listen_corpus import NOISES, NUMBERS, RATE, SEEDS, SETS, WINDOW_S, Synth, Voice, window  # noqa: E402

from coach.audio.listen import sphinx  # noqa: E402

TRAIN = "/usr/lib/sphinxtrain"
# the enrollment's texts in the order taken: the bare numbers first, then the carriers
TEXTS = ([*NUMBERS] + [f"a {n}" for n in NUMBERS] + [f"it was a {n}" for n in NUMBERS])
ROOMS: tuple[tuple[str, float | None], ...] = (("quiet room", None), ("gym", 15), ("music", 15))
SI_ROOMS: tuple[tuple[str, float | None], ...] = (*ROOMS, ("gym", 10), ("music", 10))
WORDS = ("one", "two", "three", "four", "five", "a", "it", "was")


def sendump_to_mixw(src: Path, dst: Path) -> None:
    """The PTM model's quantized mixture weights (sendump: a header of strings, the codeword
    and senone counts, then a byte per senone for each feature stream and codeword, -log base
    1.0001 shifted by 10) as sphinxtrain's mixture_weights (s3 float32, senone x stream x
    codeword): what sphinxtrain's python2 sendump.py does."""
    data = src.read_bytes()
    o = 0
    feats = 1
    while True:
        n = struct.unpack_from("<I", data, o)[0]
        o += 4
        if n == 0:
            break
        s = data[o:o + n].rstrip(b"\0").decode()
        o += n
        if s.startswith("feature_count"):
            feats = int(s.split()[1])
    cw, sen = struct.unpack_from("<II", data, o)
    o += 8
    q = np.frombuffer(data, np.uint8, feats * cw * sen, o).reshape(feats, cw, sen)
    mixw = np.power(1.0001, -(q.astype(np.float64) * 1024)).transpose(2, 0, 1)
    mixw /= mixw.sum(axis=2, keepdims=True)
    with dst.open("wb") as f:
        hdr = b"s3\nversion 1.0\n"
        pad = (4 - (len(hdr) + len(b"endhdr\n")) % 4) % 4
        f.write(hdr + b" " * pad + b"endhdr\n" + struct.pack("=i", 0x11223344))
        f.write(struct.pack("=IIII", sen, feats, cw, sen * feats * cw))
        f.write(mixw.astype("<f4").tobytes())


def prepare_model(work: Path) -> Path:
    """The bundled model copied to ``work``/model with a text mdef, mixture_weights and a
    dictionary of the enrollment's words."""
    model = work / "model"
    if (model / "mixture_weights").exists():
        return model
    model.mkdir(parents=True, exist_ok=True)
    src = sphinx._model_dir()
    for f in (src / "en-us").iterdir():
        shutil.copy(f, model / f.name)
    subprocess.run(["pocketsphinx_mdef_convert", "-text", str(src / "en-us" / "mdef"),
                    str(model / "mdef.txt")], check=True, capture_output=True)
    sendump_to_mixw(src / "en-us" / "sendump", model / "mixture_weights")
    lines = {ln.split()[0]: ln for ln in (src / "cmudict-en-us.dict").read_text().splitlines()
             if ln.split() and ln.split()[0] in WORDS}
    (model / "dict").write_text("".join(lines[w] + "\n" for w in WORDS))
    return model


def token_voice(v: Voice, factor: float) -> Voice:
    """The same voice saying it again a little slower or faster (another token, not the clip
    the measured windows hold)."""
    if v.engine == "espeak-ng":
        return Voice(v.engine, v.name, round(v.speed * factor))
    return Voice(v.engine, v.name, v.speed, round(v.length * factor, 3), v.noise, v.pitch)


def enrollment(v: Voice, n: int, seed: int, synth: Synth,
               rooms: tuple[tuple[str, float | None], ...] = ROOMS,
               factors: tuple[float, ...] = (0.9, 1.1)) -> list[tuple[str, bytes]]:
    """``n`` enrollment utterances of ``v`` (text, the gate's stretch as 16-bit PCM): the
    texts at each factor in turn, the rooms cycling, noise drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    k = 0
    while len(out) < n and k < 4 * n:
        f = factors[(k // len(TEXTS)) % len(factors)]
        text = TEXTS[k % len(TEXTS)]
        kind, snr = rooms[k % len(rooms)]
        k += 1
        noise = NOISES[kind](int(RATE * WINDOW_S), rng) if snr is not None else None
        x, _ = window(synth.clip(token_voice(v, f), text), noise, snr,
                      float(rng.uniform(0.3, 2.0)), rng)
        got = sphinx.speech_pcm(x)
        if got is not None:
            out.append((text, got[1]))
    return out


def adapt(utts: list[tuple[str, bytes]], model: Path, out: Path) -> tuple[Path, float, float]:
    """One global MLLR transform from ``utts``: its file, the wall and CPU seconds of
    sphinx_fe + bw + mllr_solve."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "acc").mkdir(parents=True)
    ids = [f"u{k:03d}" for k in range(len(utts))]
    for u, (_, pcm) in zip(ids, utts, strict=True):
        (out / f"{u}.raw").write_bytes(pcm)
    (out / "ctl").write_text("".join(f"{u}\n" for u in ids))
    (out / "lsn").write_text("".join(f"<s> {t} </s> ({u})\n"
                                     for u, (t, _) in zip(ids, utts, strict=True)))
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    o = str(out)
    run = [["sphinx_fe", "-argfile", f"{model}/feat.params", "-samprate", str(RATE),
            "-c", f"{o}/ctl", "-di", o, "-do", o, "-ei", "raw", "-eo", "mfc", "-raw", "yes",
            "-remove_silence", "no"],
           [f"{TRAIN}/bw", "-hmmdir", str(model), "-moddeffn", f"{model}/mdef.txt",
            "-ts2cbfn", ".ptm.", "-feat", "1s_c_d_dd", "-svspec", "0-12/13-25/26-38",
            "-cmn", "current", "-agc", "none", "-varnorm", "no", "-dictfn", f"{model}/dict",
            "-fdictfn", f"{model}/noisedict", "-ctlfn", f"{o}/ctl", "-lsnfn", f"{o}/lsn",
            "-cepdir", o, "-accumdir", f"{o}/acc"],
           [f"{TRAIN}/mllr_solve", "-meanfn", f"{model}/means", "-varfn", f"{model}/variances",
            "-outmllrfn", f"{o}/mllr_matrix", "-accumdir", f"{o}/acc"]]
    for cmd in run:
        p = subprocess.run(cmd, capture_output=True, text=True)
        (out / f"{Path(cmd[0]).name}.log").write_text(p.stdout + p.stderr)
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {(p.stdout + p.stderr)[-800:]}")
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    return out / "mllr_matrix", time.perf_counter() - t0, cpu


# The phone loop without the transform ("enrollNplain"): the adapted decoder's id -> a decoder
# of the bundled model, whose allphone search gives the loop's score.
PLAIN_LOOP: dict[int, Any] = {}
_phone_gain = sphinx._phone_gain


def phone_gain(d: Any, pcm: bytes, grammar_score: float) -> float:
    """sphinx._phone_gain, with the loop decoded by PLAIN_LOOP's decoder where there is one
    (its gain is per the frames of that decoder's last utterance: rescaled to this one's)."""
    plain = PLAIN_LOOP.get(id(d))
    if plain is None:
        return _phone_gain(d, pcm, grammar_score)
    before = max(1, plain.n_frames())
    return _phone_gain(plain, pcm, grammar_score) * before / max(1, d.n_frames())


sphinx._phone_gain = phone_gain


def condition(lab: dict[str, Any]) -> str:
    return f"{lab['kind']}{'' if lab['snr'] is None else ' ' + str(lab['snr'])}"


def make(mllr: str | None, keep: bool) -> sphinx.SphinxRecognizer:
    """sphinx.py's recogniser with the transform ``mllr``; with ``keep``,
    listen_sphinx_music.py's copy of it that keeps each decision (the grammar's hypothesis,
    its least posterior, the phone loop's gain) for ``--grid``."""
    if not keep:
        return sphinx.SphinxRecognizer(mllr=mllr)
    from listen_sphinx_music import Spec, Variant
    v = Variant(Spec(config={"mllr": mllr} if mllr else {}, short_s=sphinx.CARRIER_MIN_S))
    v.min_confidence, v.max_phone_gain = sphinx.MIN_CONFIDENCE, sphinx.MAX_PHONE_GAIN
    return v


def measure(args: argparse.Namespace) -> dict[str, Any]:
    voices = SETS[args.set]
    synth = Synth(args.cache)
    model = prepare_model(args.work)
    recs: dict[str, dict[str, sphinx.SphinxRecognizer]] = {}
    times: dict[str, list[tuple[float, float]]] = {}
    if "none" in args.variants:
        recs["none"] = {"": make(None, args.keep)}
    for var in args.variants:
        if var.startswith("enroll"):
            n = int(var[len("enroll"):].removesuffix("plain").removesuffix("q"))
            rooms = ROOMS[:1] if var.endswith("q") else ROOMS  # enrollNq: a quiet room only
            recs[var] = {}
            for i, v in enumerate(voices):
                utts = enrollment(v, n, 5000 + SEEDS[args.set] * 37 + i + 1000 * args.enroll_draw,
                                  synth, rooms)
                f, wall, cpu = adapt(utts, model, args.work / args.set / var / str(i))
                times.setdefault(var, []).append((wall, cpu))
                recs[var][v.label] = make(str(f), args.keep)
                if var.endswith("plain"):
                    PLAIN_LOOP[id(recs[var][v.label]._load())] = sphinx.SphinxRecognizer()._load()
            print(f"{var}: {len(voices)} transforms, wall {np.mean([w for w, _ in times[var]]):.2f} s"
                  f", CPU {np.mean([c for _, c in times[var]]):.2f} s each", flush=True)
        elif var == "si":
            utts = []
            for i, v in enumerate(SETS["tune"]):
                utts += enrollment(v, len(TEXTS) * len(SI_ROOMS), 7000 + i, synth,
                                   rooms=SI_ROOMS, factors=(1.0,))
            f, wall, cpu = adapt(utts, model, args.work / "si")
            times["si"] = [(wall, cpu)]
            print(f"si: {len(utts)} utterances, wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
            recs["si"] = {"": make(str(f), args.keep)}
    for group in recs.values():
        for r in group.values():
            r.load()
            r.min_confidence = args.floor
            r.max_phone_gain = args.max_gain
    rows: list[dict[str, Any]] = []
    alone = Counter[str]()
    cpu0 = time.process_time()
    for x, lab in drawn_windows(args.set, SEEDS[args.set], args.cache):
        cond = condition(lab)
        if args.kinds and not any(cond.startswith(k) for k in args.kinds):
            continue
        who = lab["voice"]
        if not who:  # noise alone: each voice's transform in turn
            who = voices[alone[cond] % len(voices)].label
            alone[cond] += 1
        row = {"cond": cond, "voice": lab["voice"], "text": lab["text"], "want": lab["want"],
               "off": lab["off"], "got": {}}
        for var, group in recs.items():
            rec = group.get(who) or group[""]
            if args.keep:
                rec.calls = []  # type: ignore[attr-defined]
            got, words, _, _ = hear(rec, x)
            row["got"][var] = [got, words]
            if args.keep:
                row.setdefault("calls", {})[var] = rec.calls  # type: ignore[attr-defined]
        rows.append(row)
    cpu = time.process_time() - cpu0
    return {"set": args.set, "variants": list(recs), "times": times, "rows": rows,
            "cpu_s": cpu, "windows": len(rows)}


CONDS = ("quiet room", "gym 20", "gym 15", "gym 10", "gym 5", "music 20", "music 15",
         "music 10", "music 5")


def table(results: list[dict[str, Any]]) -> None:
    for res in results:
        print(f"\nset {res['set']}: {res['windows']} windows, {res['cpu_s']:.0f} CPU-s")
        for var, ts in res["times"].items():
            print(f"  {var}: adaptation wall {np.mean([w for w, _ in ts]):.2f} s, "
                  f"CPU {np.mean([c for _, c in ts]):.2f} s (mean of {len(ts)})")
        head = ["variant", *CONDS, "wrong (answers)", "noise / music alone",
                "off-grammar quiet / gym 10 / music 10"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for var in res["variants"]:
            cells = [var]
            wrong = 0
            for c in CONDS:
                rs = [r for r in res["rows"] if r["cond"] == c and not r["off"]]
                ok = sum(r["got"][var][0] == r["want"] for r in rs)
                wrong += sum(r["got"][var][0] not in (None, r["want"]) for r in rs)
                cells.append(f"{ok}/{len(rs)}" if rs else "-")
            cells.append(str(wrong))
            al = [sum(r["got"][var][0] is not None for r in res["rows"] if r["cond"] == k)
                  for k in ("gym alone", "music alone")]
            cells.append(" / ".join(map(str, al)))
            off = []
            for k in ("off quiet room", "off gym 10", "off music 10"):
                rs = [r for r in res["rows"] if r["cond"] == k]
                off.append(f"{sum(r['got'][var][0] is not None for r in rs)}")
            cells.append(" / ".join(off) + f" (of {sum(r['cond'] == 'off gym 10' for r in res['rows'])})")
            print("| " + " | ".join(cells) + " |")


def grid(results: list[dict[str, Any]], floors: list[float], gains: list[float]) -> None:
    """Each variant's kept decisions (``--keep``) replayed with other posterior floors and
    phone-loop limits: a window's rating is its last stretch that passes (the mute after an
    answer is not replayed: an answer window holds one stretch). At sphinx.py's own floor and
    limit it gives the run's figures."""
    for res in results:
        print(f"\nset {res['set']}")
        print("| variant | floor | phone gain | quiet | gym 10 / 5 | music 20 / 15 / 10 / 5 | "
              "wrong | noise alone | off-grammar quiet / gym 10 / music 10 (sum) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for var in res["variants"]:
            for floor in floors:
                for gain in gains:
                    cells: Counter[str] = Counter()
                    wrong = 0
                    for r in res["rows"]:
                        rating = None
                        for c in r["calls"][var]:
                            d = c.get("decodes", [{}])[0]
                            if d.get("conf") is None or d.get("rating") is None:
                                continue
                            if d["conf"] >= floor and d.get("gain", 0.0) <= gain:
                                rating = d["rating"]
                        if r["off"]:
                            cells[r["cond"]] += rating is not None
                        else:
                            cells[r["cond"]] += rating == r["want"]
                            wrong += rating not in (None, r["want"])
                    off = [cells[k] for k in ("off quiet room", "off gym 10", "off music 10")]
                    print(f"| {var} | {floor:g} | {gain:g} | {cells['quiet room']} | "
                          f"{cells['gym 10']} / {cells['gym 5']} | "
                          + " / ".join(str(cells[f"music {n}"]) for n in (20, 15, 10, 5))
                          + f" | {wrong} | {cells['gym alone'] + cells['music alone']} | "
                          + " / ".join(map(str, off)) + f" ({sum(off)}) |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=sorted(SETS), default="check")
    ap.add_argument("--variants", nargs="+", default=["none", "enroll30", "si"],
                    help="none (no transform), enrollN (per voice, N utterances; enrollNplain: "
                         "the phone loop without the transform; enrollNq: enrolled in a quiet "
                         "room only), si")
    ap.add_argument("--kinds", nargs="*", default=[],
                    help="only the windows whose condition starts so (e.g. 'music 10')")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coach-bench-listen"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/coach-mllr"))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--table", nargs="+", type=Path, help="print the tables of these runs")
    ap.add_argument("--floor", type=float, default=sphinx.MIN_CONFIDENCE,
                    help="every variant's posterior floor (sphinx.MIN_CONFIDENCE as built)")
    ap.add_argument("--max-gain", type=float, default=sphinx.MAX_PHONE_GAIN,
                    help="every variant's phone-loop limit (sphinx.MAX_PHONE_GAIN as built)")
    ap.add_argument("--enroll-draw", type=int, default=0,
                    help="another draw of the enrollment's noise and timing (0: the first)")
    ap.add_argument("--keep", action="store_true", help="keep each decision (for --grid)")
    ap.add_argument("--grid", nargs="+", type=Path, help="replay these --keep runs with "
                    "--floors x --gains")
    ap.add_argument("--floors", default=f"{sphinx.MIN_CONFIDENCE:g}")
    ap.add_argument("--gains", default=f"{sphinx.MAX_PHONE_GAIN:g}")
    args = ap.parse_args()
    if args.grid:
        grid([json.loads(p.read_text()) for p in args.grid],
             [float(f) for f in args.floors.split(",")], [float(g) for g in args.gains.split(",")])
        return 0
    if args.table:
        table([json.loads(p.read_text()) for p in args.table])
        return 0
    missing = [t for t in ("pocketsphinx_mdef_convert", "sphinx_fe", f"{TRAIN}/bw",
                           f"{TRAIN}/mllr_solve") if shutil.which(t) is None]
    if missing:  # a study's tools, not coach's: setup.sh does not install them
        print(f"listen_sphinx_mllr.py: error: {', '.join(missing)} not found: apt-get install "
              "sphinxtrain sphinxbase-utils pocketsphinx", file=sys.stderr)
        return 2
    res = measure(args)
    if args.out:
        args.out.write_text(json.dumps(res))
    table([res])
    return 0


if __name__ == "__main__":
    sys.exit(main())
