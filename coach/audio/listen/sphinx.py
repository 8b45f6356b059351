"""PocketSphinx (its English model ships in the wheel) with a JSGF grammar of the answers and of
filler words that compete with them, behind the voice-activity gate (vad.py: Silero VAD).

A grammar of the five numbers alone cannot reject: it maps any sound onto a number (issue 22
measured a rating in 42 % of music windows with no speech). Three things reject here: the
gate (one short stretch of speech), the filler words ("like",
"hello", "stop"... heard as themselves, not as "five", "one", "two"), and the decoder's word
posteriors (MIN_CONFIDENCE). ``import pocketsphinx`` happens on the first window, so a daemon
without ``listen:`` never loads it."""

from __future__ import annotations

import logging
import math
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
    meaning,
)

log = logging.getLogger(__name__)

# Words that are no answer but sound like speech; each must be in the model's dictionary. One
# filler covers a whole stretch (not a sequence of them: "mm water uh" then won over "one", and
# JSGF weights on the two branches changed nothing); words that took numbers in espeak-ng's
# voice are out ("oh", "what", "hello", "fine", "nice", "so", "go", "no", "water").
# "zero" (a lifter who felt nothing): Piper's "zero" was heard as "two" in a quiet room, and
# people's (bench/listen_human.py, six men, 8 kHz) 149 times in 250 windows over 5 rooms; with
# it a filler 40, for 9 right answers lost of 1076. The tuning set lost 1 answer of 315 ("four"
# at 5 dB gym noise), the check set 2 of 540 (one voice's "four"; off-grammar speech taken 99
# -> 94 of 360): BENCHMARKS.md, "People, not synthetic voices".
FILLERS = ("uh", "um", "the", "and", "like", "yeah", "okay", "hey", "is", "that", "this",
           "good", "hard", "right", "ah", "er", "hmm", "mm", "seven", "ten", "six", "nine",
           "eight", "wait", "zero")  # "water" took "one"
# The least word posterior kept. Measured on espeak-ng (5 voices x 2 speeds, 48 -> 16 kHz):
# right answers 0.81-0.97, off-grammar words taken for a number ("fine", "go", "what") 0.75-0.94:
# it drops the worst of those and no answer; it cannot separate the rest.
MIN_CONFIDENCE = 0.8
# A command window's: bench/bench_listen_commands.py's tuning set (7 voices x 9 commands in a
# quiet room, 10 dB gym noise and 10 dB music) lost 2, 5 and 14 commands of 72 to 0.8 and kept
# 0-2 more false ones out; 0.6 changed nothing there.
MIN_CONFIDENCE_COMMAND = 0.6
# How much better a free phone loop (PocketSphinx's allphone search with its English phone
# bigram) explains the stretch than the rating grammar's best path, nats per 10-ms frame: speech
# that is a number fits the grammar about as well as the loop; "fine", "what", "hello there"
# taken as numbers fit it worse. bench_listen.py's tuning set (Silero gate; quiet, 10 dB gym,
# 10 and 15 dB music, 5 dB gym): right answers median -2.5e-4, 90th percentile 3.6e-4; such
# false answers median 3.5e-4, 90th percentile 12.9e-4. Over 7e-4 dropped 2 of 151 right answers,
# 4 of 16 wrong ones and 45 of 124 off-grammar ratings.
MAX_PHONE_GAIN = 7e-4
# In a command window the numbers are fillers too: a rating said there is no command, and the
# numbers are what a lifter says most besides commands ("four" was heard as "pause", "three" as
# "repeat"). Tuning set, of 91 windows of off-grammar speech and numbers per condition: commands
# taken 17 / 21 / 22 -> 3 / 7 / 7 (quiet / gym 10 dB / music 10 dB), with the 0.6 floor;
# commands heard 61 / 57 / 40 -> 63 / 58 / 48 of 72 (BENCHMARKS.md, "Command windows").
COMMAND_FILLERS = NUMBER_WORDS

GRAMMARS: dict[Listening, str] = {
    "rating": ("#JSGF V1.0;\ngrammar rating;\n"
               "public <answer> = <rating> | <other>;\n"
               f"<rating> = [[it was] a] ({' | '.join(NUMBER_WORDS)});\n"),
    "command": ("#JSGF V1.0;\ngrammar command;\n"
                "public <answer> = <command> | <other>;\n"
                f"<command> = {' | '.join(COMMANDS)};\n"),
}

# A stretch shorter than this (the gate's, s) is decoded without the "it was" carrier: no tuning
# voice said "it was a four" that fast (189 such stretches, 0.67 s and more; the fresh set's
# fastest, 0.60 s, is then heard "a five", the same rating), and in music a short word took the
# carrier from the music around it ("one" heard "it was a five":
# 47 of the 58 "it was" hypotheses on other answers were stretches under 0.6 s).
# bench/listen_sphinx_music.py over the tuning set's three draws (105 answers a condition, 189
# off-grammar windows a room): music 20 / 15 / 10 / 5 dB 86 / 74 / 65 / 47 -> 91 / 78 / 70 / 52,
# wrong ratings in music 44 -> 14, quiet and gym 485 -> 490 answers, off-grammar taken quiet /
# gym / music 21 / 36 / 33 -> 20 / 40 / 30 (BENCHMARKS.md, "No carrier in a short stretch").
CARRIER_MIN_S = 0.6
# Moonshine's second opinion (engines.py) decodes as its thresholds were chosen with: every
# stretch with the carrier (CARRIER_MIN_S not measured with that engine).
SECOND_OPINION_CARRIER_MIN_S = 0.0
SHORT_RATING = ("#JSGF V1.0;\ngrammar short;\npublic <answer> = <rating> | <other>;\n"
                f"<rating> = [a] ({' | '.join(NUMBER_WORDS)});\n")


class SphinxRecognizer:
    def __init__(self, min_confidence: float = MIN_CONFIDENCE,
                 max_phone_gain: float = MAX_PHONE_GAIN,
                 carrier_min_s: float = CARRIER_MIN_S, mllr: str | None = None) -> None:
        self.min_confidence = min_confidence
        self.mllr = mllr  # an MLLR transform file (sphinxtrain's mllr_solve): benches only
        self.max_phone_gain = max_phone_gain
        self.carrier_min_s = carrier_min_s
        self._decoder: Any = None

    def load(self) -> None:
        """Load the model now: the daemon does it as it starts, never at a window (loading
        holds the GIL 0.25-0.5 s; at a session's first window the player underflowed)."""
        self._load()

    def _load(self) -> Any:
        if self._decoder is None:
            # lazy: only a daemon with listen: pays for it
            from pocketsphinx import Decoder  # type: ignore[import-untyped]
            # bestpath=False, default beams, no dither: bench/bench_recognise.py's findings
            d = Decoder(samprate=RATE, loglevel="FATAL", bestpath=False,
                        **({"mllr": self.mllr} if self.mllr else {}))
            fillers = [w for w in FILLERS if d.lookup_word(w)]
            extra: dict[Listening, tuple[str, ...]] = {"rating": (),
                                                       "command": COMMAND_FILLERS}
            for name, grammar in GRAMMARS.items():
                other = " | ".join([*fillers, *extra[name]])
                d.add_jsgf_string(name, f"{grammar}<other> = {other};\n")
            d.add_jsgf_string("rating_short", f"{SHORT_RATING}<other> = {' | '.join(fillers)};\n")
            d.add_allphone_file("phones", str(_model_dir() / "en-us-phone.lm.bin"))
            self._decoder = d
        return self._decoder

    def hear(self, samples: np.ndarray, what: Listening = "rating") -> Heard | None:
        stretch = speech_pcm(samples)
        if stretch is None:
            return None
        found, pcm = stretch
        d = self._load()
        short = what == "rating" and found.end_s - found.start_s < self.carrier_min_s
        d.activate_search("rating_short" if short else what)
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None:
            return None
        text = hyp.hypstr
        rating, command = meaning(text, what)
        confidence = _confidence(d)
        if rating is None and command is None:
            if what == "rating" and text in OFF_SCALE_WORDS and confidence >= self.min_confidence:
                return Heard(text, None, None, confidence, found.end_s)  # off the scale
            log.debug("listen: heard %r: no answer", text)
            return None
        floor = self.min_confidence if what == "rating" else MIN_CONFIDENCE_COMMAND
        if confidence < floor:
            log.info("listen: heard %r at confidence %.2f: below %.2f, ignored", text,
                     confidence, floor)
            return None
        if what == "rating":
            gain = _phone_gain(d, pcm, hyp.best_score)
            if gain > self.max_phone_gain:
                log.info("listen: heard %r, but a phone loop fits it %.1fe-4 nats a frame "
                         "better (over %.1fe-4): ignored", text, gain * 1e4,
                         self.max_phone_gain * 1e4)
                return None
        return Heard(text, rating, command, confidence, found.end_s)


def speech_pcm(samples: np.ndarray) -> tuple[vad.Speech, bytes] | None:
    """The gate's one stretch of speech in ``samples`` and its audio as the decoder takes it
    (padded by vad.PAD_S, 16-bit), or None."""
    found = vad.speech(samples)
    if found is None:
        return None
    a = max(0, int((found.start_s - vad.PAD_S) * RATE))
    b = min(samples.size, int((found.end_s + vad.PAD_S) * RATE))
    return found, (np.clip(samples[a:b], -1, 1) * 32767).astype("<i2").tobytes()


def _model_dir() -> Path:
    import pocketsphinx
    return Path(pocketsphinx.__file__).parent / "model" / "en-us"


def _phone_gain(d: Any, pcm: bytes, grammar_score: float) -> float:
    """How much better the phone loop explains ``pcm`` than the grammar's best path did
    (``grammar_score``: its hypothesis's best_score, as the binding gives it, a probability),
    nats per frame."""
    frames = max(1, d.n_frames())
    d.activate_search("phones")
    d.start_utt()
    d.process_raw(pcm, full_utt=True)
    d.end_utt()
    h = d.hyp()
    if h is None or h.best_score <= 0 or grammar_score <= 0:
        return 0.0
    return (math.log(h.best_score) - math.log(grammar_score)) / frames


def _confidence(d: Any) -> float:
    """The least posterior of the hypothesis's words (fillers and silences left out)."""
    probs = [s.prob for s in d.seg() if not s.word.startswith(("<", "("))]
    return min((p if 0 <= p <= 1 else math.exp(p) for p in probs), default=0.0)
