"""The listening rig of tests/daemon/test_listening.py: an in-process daemon whose Listener
captures from a real PulseAudio source, a program started on it, the listener closed after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from coach.audio.listen.engines import recognizer
from coach.core.types import ListenEngine
from coach.daemon.ducking import DuckerFactory
from coach.daemon.listening import Listener
from tests.support.programs import RATED_SPLIT
from tests.support.rig import Rig


@contextmanager
def listening_session(tmp_path: Path, source: str, env: dict[str, str] | None,
                      program: str = RATED_SPLIT,
                      engine: ListenEngine = "pocketsphinx",
                      ducker_factory: DuckerFactory | None = None) -> Iterator[Rig]:
    """A Rig whose Listener hears ``source`` (on the sound server ``env`` names) with
    ``engine``'s recogniser, with ``program`` written as split.yaml and started (playing, its
    clips all made; its ducker made by ``ducker_factory``, None: no ducking)."""
    listener = Listener(source, partial(recognizer, engine), env=env)
    with Rig(tmp_path, listener=listener) as rig:
        assert rig.d.listener is not None
        rig.d.listener.start(rig.d.handle)
        try:
            (rig.programs / "split.yaml").write_text(program)
            rig.call("reload")
            rig.d.controller.ducker_factory = ducker_factory
            rig.start("split")
            # every clip made: a rating's read-back is made last and left out of what is said
            # until it is (test_rating_window's read-back test lost "left side" so in CI, once)
            rig.clips_made()
            yield rig
        finally:
            rig.d.listener.close()
