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
from pathlib import Path
from typing import Any

import numpy as np

from coach.audio.listen import vad
from coach.audio.listen.recognizer import (
    COMMANDS,
    NUMBER_WORDS,
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
# The audio kept around the gate's stretch: 0.2 s (PocketSphinx's) cut the weak "f" of
# espeak-ng's "five", heard then as "I am" (tuning set, quiet room: 26 answers of 35 at 0.2 s,
# 33 at 0.4 s, same threshold).
PAD_S = 0.4
MAX_TOKENS_PER_S = 6.5  # the free decode's bound (Moonshine's own rule of thumb)
# An answer as the model writes it: capitalised, with or without a full stop.
FORMS: dict[Listening, tuple[str, ...]] = {
    "rating": ("{}", "{}.", "A {}.", "It was a {}."),
    "command": ("{}", "{}."),
}


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
                 max_gap_agreed: float = MAX_GAP_AGREED) -> None:
        """``second``: asked about a rating Moonshine is nearly sure of (gap up to
        ``max_gap_agreed``); None: Moonshine alone."""
        self.max_gap = max_gap
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
        answers = m.answers[what]
        scores = m.score(h, [ids for _, ids in answers])
        k = int(np.argmax(scores))
        said, ids = answers[k]
        gap = (free - scores[k]) / (len(ids) + 1)
        said = words(said)
        rating, command = meaning(said, what)
        heard = Heard(said, rating, command, math.exp(-max(gap, 0.0)), found.end_s)
        if gap <= self.max_gap:
            return heard
        if what == "rating" and self.second is not None and gap <= self.max_gap_agreed:
            other = self.second.hear(samples, what)
            if other is not None and other.rating == rating:
                log.info("listen: heard %r; %r explains it %.2f a token worse, and the second "
                         "recogniser heard it too", text, said, gap)
                return heard
        log.info("listen: heard %r; %r explains it %.2f a token worse (over %.2f): no answer",
                 text, said, gap, self.max_gap)
        return None


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
