"""Moonshine tiny, an open-vocabulary English recogniser, as a second engine (``listen: {engine:
moonshine}``): its encoder and decoder (ONNX Runtime format, MIT) ship in the moonshine-voice
0.0.73 wheel for x86_64 and aarch64 and run here on onnxruntime; nothing is downloaded.

Behind the same voice-activity gate as PocketSphinx (vad.py), the stretch of speech is encoded
once and decoded twice: freely (greedy, what the model would write down) and forced along every
answer the window takes ("Four.", "It was a four.", "Pause."...). An answer is the best forced
one when it explains the audio nearly as well as the free text: speech that is no answer is
written down as itself ("Fine.", "Stop.", "I am done."), which the answers explain far worse
(log-probability gap, MAX_GAP). Only moonshine_voice's files are used, not its Python package
(which imports requests and its downloader)."""

from __future__ import annotations

import importlib.util
import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import (
    COMMANDS,
    NUMBER_WORDS,
    OFF_SCALE_WORDS,
    RATE,
    Heard,
    Listening,
    Recognizer,
    meaning,
    words,
)

log = logging.getLogger(__name__)

MODEL = "tiny-en"  # the English model the wheel ships (its other languages are downloaded)
BOS, EOS = 1, 2
# How much worse the best answer may explain the stretch than the free decode: natural
# log-probability per token of the answer (its end of text counted; "Four." is 3 tokens, "It was
# a four." 6). Per token, so that a carrier's words, which the model often writes otherwise
# ("It's one of four"), do not count against it more than a bare number. bench_listen.py's
# tuning set: 1.0 / 1.2 / 1.4 took 28 / 33 / 34 of 35 answers in a quiet room, 27 / 28 / 31 at
# 10 dB music, and 9 / 13 / 16 of its 189 off-grammar windows (BENCHMARKS.md).
MAX_GAP = 1.2
# Up to this gap a rating is still taken when a second recogniser (PocketSphinx, with its
# grammar, posterior and phone loop) hears the same rating in the same audio. Tuning set,
# against Moonshine alone at 1.2: quiet room 33 -> 34 of 35, 10 dB gym 30 -> 35, 10 dB music
# 28 -> 30; off-grammar windows taken 13 -> 20 of 189 (PocketSphinx alone: 34).
MAX_GAP_AGREED = 2.5
# In a quiet room (the stretch QUIET_SNR_DB or more over the noise floor around it, vad.snr_db)
# a rating PocketSphinx agrees with may be at most QUIET_GAP_AGREED, not MAX_GAP_AGREED. A
# near-rhyme heard clearly is written down as itself ("Tired.", "More.") and still fits
# PocketSphinx's number, at gaps of 2.1-2.5; a quiet room's answers PocketSphinx agrees with stay
# under 1.9. Chosen on three draws of bench_listen.py's tuning windows (seeds 22-24): a quiet
# room's off-grammar windows taken 22 -> 17 of 189, no answer lost; the alone gap narrowed too
# (0.8 x both) took 22 -> 14 there but lost a check-set answer ("it was a five" at 0.99); judged
# on the fresh set (BENCHMARKS.md, "A quiet room's agreed gap").
QUIET_SNR_DB = 24.0  # tuning windows: a quiet room 27-31 dB, the 20-dB conditions 16-20
QUIET_GAP_AGREED = 2.0
# The audio kept around the gate's stretch: 0.2 s (PocketSphinx's) cut the weak "f" of
# espeak-ng's "five", heard then as "I am" (tuning set, quiet room: 26 answers of 35 at 0.2 s,
# 33 at 0.4 s, same threshold).
PAD_S = 0.4
MAX_TOKENS_PER_S = 6.5  # the free decode's bound (Moonshine's own rule of thumb)
# The decoder's taste in texts, apart from the audio: a rating's free decode and every answer
# lose PRIOR_WEIGHT times their log-probability over no speech (PRIOR_S of a quiet room's hiss,
# encoded once at load). In music and noise a number's onset is masked ("four" written "Oh.",
# "Or?"; "five" "I am."), and those likelier texts beat the number by 1.2-3.0 nats a token; over
# no speech they are likelier too, by a part of it. bench_listen.py's tuning windows in three
# draws (seeds 22, 23, 24; 105 answers per condition, 189 off-grammar windows per room):
# 0.25 took 104 -> 104 answers at 10 dB gym noise and 93 -> 95 at 10 dB music, 3 -> 2 wrong, and
# off-grammar 72 -> 64 windows (quiet / gym / music 30 / 13 / 29 -> 27 / 16 / 21); 0.2 and 0.3
# gave 94 and 94 with 66 and 65; no weight up to a gap of 1.35, 94 with 77 (BENCHMARKS.md).
PRIOR_WEIGHT = 0.25
PRIOR_S = 1.5
# An answer as the model writes it: capitalised, with or without a full stop.
FORMS: dict[Listening, tuple[str, ...]] = {
    "rating": ("{}", "{}.", "A {}.", "It was a {}."),
    "command": ("{}", "{}."),
}
# Other ways the model writes a rating, each forced too and taken as the answer it spells: "four"
# as its homophone ("For.", 17 of 74 stretches of "four" freely decoded, bench_listen.py's
# tuning windows in three draws, seeds 22-24), "a four" with "At" (21 of 54). Taken then:
# 879 -> 890 of 945 answers (10 dB music 95 -> 97 of 105; "For" 5, "At four" 6), no more
# wrong or off-grammar; check set: 5 dB music 49 -> 50 of 60, nothing else moved; 11 ms CPU
# more a stretch. Not taken: "At" before the other numbers ("At one." is how "seven" and
# "that one" are written: 4 more off-grammar windows and a wrong rating for 6 answers), "To",
# "Too" (5 off-grammar windows, "go" and "stop", for none), "Won" and digits ("4.", "It was a
# 4."; 6 of 937 free decodes hold one): no answer more (BENCHMARKS.md).
SPELLINGS: dict[str, tuple[str, ...]] = {"four": ("For", "For."), "a four": ("At four",
                                                                          "At four.")}
# Numbers off the scale: when the free decode writes one of OFF_SCALE_WORDS or a digit (and no
# rating), the lifter said that number ("zero": felt nothing; "six"), and no rating is taken
# (the number is heard as off the scale), however well a forced
# answer explains the stretch (nine and "Five." are one phone apart). Real speech
# (bench/listen_human.py: six men's recorded digits, 8 kHz, 5 rooms): 216 of 1500 windows of
# "zero", "six".."nine" were taken as ratings, 48 fewer with this rule; no right answer of the
# 1367 taken, nor of the synthetic tuning and check sets' 795, was written so (BENCHMARKS.md,
# "People, not synthetic voices").


def off_scale(text: str) -> bool:
    """Whether the free text is a number off the rating scale ("Nine.", "6"), with no rating."""
    said = set(re.findall(r"[a-z0-9]+", text.lower()))
    digits = {int(w) for w in said if w.isdigit()}
    on = said & set(NUMBER_WORDS) or digits & {1, 2, 3, 4, 5}
    return bool(not on and (said & set(OFF_SCALE_WORDS) or digits))


def _assets() -> Path:
    spec = importlib.util.find_spec("moonshine_voice")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("moonshine_voice (pip install moonshine-voice==0.0.73)")
    d = Path(next(iter(spec.submodule_search_locations))) / "assets" / MODEL
    if not (d / "encoder_model.ort").is_file():
        raise FileNotFoundError(f"{d}: no encoder_model.ort (moonshine-voice 0.0.73 ships it; "
                                "later versions download it)")
    return d


def read_tokens(path: Path) -> list[bytes]:
    """tokenizer.bin: each token's bytes in id order, each after its length (one byte; two,
    little-endian base 128, when the first is 128 or more)."""
    data = path.read_bytes()
    out: list[bytes] = []
    i = 0
    while i < len(data):
        n = data[i]
        i += 1
        if n >= 128:
            n = (n - 128) + data[i] * 128
            i += 1
        out.append(data[i:i + n])
        i += n
    return out


class Tokenizer:
    """SentencePiece BPE over the model's pieces ("\u2581" marks a word's start): enough to spell
    the answers as the model itself would (a piece's id is its merge rank: Llama's vocabulary)
    and to read the free decode back. Spelt otherwise ("\u2581Pa" "use" for "\u2581P" "ause"), an
    answer scores far below its own words."""

    def __init__(self, tokens: list[bytes]) -> None:
        self.tokens = tokens
        self.ids = {t: i for i, t in enumerate(tokens) if i > EOS}

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for w in text.split():
            parts = [c.encode() for c in "\u2581" + w]
            while len(parts) > 1:
                ranks = [self.ids.get(a + b) for a, b in zip(parts, parts[1:], strict=False)]
                best = min((r, i) for i, r in enumerate(ranks) if r is not None) \
                    if any(r is not None for r in ranks) else None
                if best is None:
                    break
                i = best[1]
                parts[i:i + 2] = [parts[i] + parts[i + 1]]
            for p in parts:
                if p not in self.ids:
                    raise KeyError(f"cannot spell {w!r}")
                out.append(self.ids[p])
        return out

    def decode(self, ids: list[int]) -> str:
        raw = b"".join(self.tokens[i] for i in ids if i > EOS and i < len(self.tokens))
        return raw.decode(errors="replace").replace("\u2581", " ").strip()


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class MoonshineRecognizer:
    def __init__(self, max_gap: float = MAX_GAP, second: Recognizer | None = None,
                 max_gap_agreed: float = MAX_GAP_AGREED,
                 prior_weight: float = PRIOR_WEIGHT,
                 quiet_gap_agreed: float | None = QUIET_GAP_AGREED) -> None:
        """``second``: asked about a rating Moonshine is nearly sure of (gap up to
        ``max_gap_agreed``); None: Moonshine alone. ``prior_weight``: PRIOR_WEIGHT (0: the
        decoder's scores as they are). ``quiet_gap_agreed``: QUIET_GAP_AGREED (None: the same
        gaps in a quiet room)."""
        self.max_gap = max_gap
        self.quiet_gap_agreed = quiet_gap_agreed
        self.prior_weight = prior_weight
        self.second = second
        self.max_gap_agreed = max_gap_agreed
        self._model: Any = None

    def load(self) -> None:
        """Load the model now (the daemon does it as it starts, as for PocketSphinx)."""
        self._load()

    def _load(self) -> _Model:
        if self._model is None:
            self._model = _Model(_assets())
        model: _Model = self._model
        return model

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        found = vad.speech(samples)
        if found is None:
            return None
        a = max(0, int((found.start_s - PAD_S) * RATE))
        b = min(samples.size, int((found.end_s + PAD_S) * RATE))
        m = self._load()
        h = m.encode(np.clip(samples[a:b], -1, 1))
        free_ids, free = m.greedy(h, int((b - a) / RATE * MAX_TOKENS_PER_S) + 4)
        text = m.tok.decode(free_ids)
        if what == "rating" and off_scale(text):
            log.info("listen: heard %r: a number off the scale, no rating", text)
            return Heard(" ".join(re.findall(r"[a-z0-9]+", text.lower())), None, None, 1.0,
                         found.end_s)
        answers = m.answers[what]
        scores = m.forced(h, what)
        if what == "rating":  # measured on ratings only (bench_listen.py hears no commands)
            free, scores = m.unprimed(free, free_ids, scores, what, self.prior_weight)
        k = int(np.argmax(scores))
        said, ids = answers[k]
        gap = (free - scores[k]) / (len(ids) + 1)
        said = words(said)
        rating, command = meaning(said, what)
        heard = Heard(said, rating, command, math.exp(-max(gap, 0.0)), found.end_s)
        max_gap, max_gap_agreed = self.gaps(samples, found, what)
        if gap <= max_gap:
            return heard
        if what == "rating" and self.second is not None and gap <= max_gap_agreed:
            other = self.second.hear(samples, what)
            if other is not None and other.rating == rating:
                log.info("listen: heard %r; %r explains it %.2f a token worse, and the second "
                         "recogniser heard it too", text, said, gap)
                return heard
        log.info("listen: heard %r; %r explains it %.2f a token worse (over %.2f): no answer",
                 text, said, gap, max_gap)
        return None

    def gaps(self, samples: np.ndarray, found: vad.Speech, what: Listening
             ) -> tuple[float, float]:
        """The gap a rating may have alone, and with the second recogniser agreeing: the latter
        narrower in a quiet room (QUIET_GAP_AGREED). Commands keep theirs (measured on ratings
        only)."""
        quiet = self.quiet_gap_agreed
        if what == "rating" and quiet is not None:
            snr = vad.snr_db(samples, found)
            if snr is not None and snr >= QUIET_SNR_DB:
                return self.max_gap, min(quiet, self.max_gap_agreed)
        return self.max_gap, self.max_gap_agreed


class _Model:
    def __init__(self, d: Path) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]  # only with engine: moonshine
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1  # one core: the player and the session have the other
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        cpu = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(d / "encoder_model.ort"), so, providers=cpu)
        self.decoder = ort.InferenceSession(str(d / "decoder_model_merged.ort"), so,
                                            providers=cpu)
        self.past = [i.name for i in self.decoder.get_inputs()
                     if i.name.startswith("past_key_values")]
        shape = next(i.shape for i in self.decoder.get_inputs() if i.name in self.past)
        self.heads, self.head_dim = int(shape[1]), int(shape[3])
        self.tok = Tokenizer(read_tokens(d / "tokenizer.bin"))
        self.answers: dict[Listening, list[tuple[str, list[int]]]] = {}
        vocabs: dict[Listening, tuple[str, ...]] = {"rating": NUMBER_WORDS, "command": COMMANDS}
        for what, vocab in vocabs.items():
            texts = [f.format(w) for w in vocab for f in FORMS[what]]
            self.answers[what] = [(t, self.tok.encode(t[0].upper() + t[1:])) for t in texts]
        self.forms = {what: len(a) for what, a in self.answers.items()}  # FORMS's, first
        self.answers["rating"] += [(said, self.tok.encode(spelt))
                                   for said, spelt_as in SPELLINGS.items() for spelt in spelt_as]
        hiss = np.random.default_rng(1).normal(0, 0.002, int(PRIOR_S * RATE))
        self.silence = self.encode(hiss.astype(np.float32))
        self.prior = {what: np.array(self.forced(self.silence, what)) for what in self.answers}

    def forced(self, h: np.ndarray, what: Listening) -> list[float]:
        """Every answer's log-probability: FORMS's in one batch, SPELLINGS's in another. The
        decoder is quantised per batch (DynamicQuantizeLinear, MatMulInteger): a row's score
        moves with the rows beside it (four rows added to FORMS's 20 moved theirs by 0.07
        nats a token in the median, 0.29 at the 95th percentile, 0.79 at most, over 101
        tuning stretches), so the spellings, apart, leave FORMS's scores as they were."""
        answers, n = self.answers[what], self.forms[what]
        scores = self.score(h, [ids for _, ids in answers[:n]])
        if n < len(answers):
            scores += self.score(h, [ids for _, ids in answers[n:]])
        return scores

    def unprimed(self, free: float, free_ids: list[int], scores: list[float], what: Listening,
                 weight: float) -> tuple[float, list[float]]:
        """The free decode's and the answers' log-probabilities less ``weight`` times what the
        decoder gives them over no speech (PRIOR_WEIGHT)."""
        if weight == 0:
            return free, scores
        over_nothing = self.score(self.silence, [free_ids])[0]
        return (free - weight * over_nothing,
                [float(v) for v in np.array(scores) - weight * self.prior[what]])

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32)[None]
        h: np.ndarray = self.encoder.run(None, {"input_values": x, "attention_mask":
                                                np.ones(x.shape, np.int64)})[0]
        return h

    def _feed(self, h: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
        n = ids.shape[0]
        feed = {"input_ids": ids, "encoder_hidden_states": np.repeat(h, n, axis=0),
                "encoder_attention_mask": np.ones((n, h.shape[1]), np.int64),
                "use_cache_branch": np.array([False])}
        empty = np.zeros((n, self.heads, 0, self.head_dim), np.float32)
        feed.update({name: empty for name in self.past})
        return feed

    def greedy(self, h: np.ndarray, max_tokens: int) -> tuple[list[int], float]:
        """The free decode (greedy, with the decoder's key/value cache) and its log-probability
        (end of text included)."""
        names = [o.name for o in self.decoder.get_outputs()]
        out = self.decoder.run(None, self._feed(h, np.array([[BOS]], np.int64)))
        # the cross-attention's keys and values from the first step: the cached steps give
        # no usable ones back
        cross = {p: v for p, v in zip(names[1:], out[1:], strict=True) if ".encoder." in p}
        ids: list[int] = []
        total = 0.0
        for _ in range(max_tokens):
            lp = _log_softmax(out[0][0, -1])
            k = int(lp.argmax())
            total += float(lp[k])
            if k == EOS:
                break
            ids.append(k)
            present = dict(zip(names[1:], out[1:], strict=True)) | cross
            feed: dict[str, np.ndarray] = {
                "input_ids": np.array([[k]], np.int64), "encoder_hidden_states": h,
                "encoder_attention_mask": np.ones((1, h.shape[1]), np.int64),
                "use_cache_branch": np.array([True])}
            feed.update({p: present[p.replace("past_key_values", "present")] for p in self.past})
            out = self.decoder.run(None, feed)
        return ids, total

    def score(self, h: np.ndarray, texts: list[list[int]]) -> list[float]:
        """Each token sequence's log-probability (start and end of text around it), all in one
        batch."""
        seqs = [[BOS, *t, EOS] for t in texts]
        n = max(len(s) for s in seqs)
        ids = np.array([s + [EOS] * (n - len(s)) for s in seqs], np.int64)
        lp = _log_softmax(self.decoder.run(["logits"], self._feed(h, ids[:, :-1]))[0])
        return [float(sum(lp[i, t, s[t + 1]] for t in range(len(s) - 1)))
                for i, s in enumerate(seqs)]
