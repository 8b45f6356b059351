"""The recognisers `listen: {engine: NAME}` picks: each imported only when picked (a daemon
without listen: loads neither), and loaded before it is handed over."""

from __future__ import annotations

from coach.audio.listen.recognizer import Recognizer
from coach.core.types import LISTEN_ENGINES, ListenEngine

ENGINES = LISTEN_ENGINES
DEFAULT: ListenEngine = "pocketsphinx"


def recognizer(name: ListenEngine = DEFAULT) -> Recognizer:
    """``name``'s recogniser, its model loaded (PocketSphinx: 0.3-0.6 CPU-s on x86; Moonshine
    tiny: 0.2 CPU-s more, PocketSphinx being its second opinion)."""
    from coach.audio.listen.sphinx import SECOND_OPINION_CARRIER_MIN_S, SphinxRecognizer
    if name == "pocketsphinx":
        s = SphinxRecognizer()
        s.load()
        return s
    # Moonshine, with PocketSphinx's second opinion on a rating it is nearly sure of
    s = SphinxRecognizer(carrier_min_s=SECOND_OPINION_CARRIER_MIN_S)
    s.load()
    from coach.audio.listen.moonshine import MoonshineRecognizer
    m = MoonshineRecognizer(second=s)
    m.load()
    return m
