"""Piper in a child process: one model loaded, texts in, float32 samples out, until its stdin
closes. coach.audio.voice.piper runs this file as a script (``python -P FILE MODEL CONFIG``)
while clips are being made and ends it after, so the daemon itself never loads onnxruntime
(importing it and loading a model kept ~180 MB in the daemon for good; freed in-process with
malloc_trim, 43 MB stayed: BENCHMARKS.md). It imports nothing of coach.

The protocol, on the child's stdin and its original stdout (every library print goes to
stderr instead): the child first writes one JSON line, ``{"ok": true, "sample_rate": R,
"length_scale": L}`` (the model's config) or ``{"ok": false, "stage": "import" | "load",
"error": "..."}`` and exits. Then per request line ``{"text": T, "length_scale": L}`` it
answers ``{"ok": true, "frames": N}`` followed by N little-endian float32 samples, or
``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO


def _send(out: BinaryIO, obj: dict[str, Any], payload: bytes = b"") -> None:
    out.write(json.dumps(obj).encode() + b"\n" + payload)
    out.flush()


def main(argv: list[str]) -> int:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library printing on stdout must never corrupt the protocol
    sys.stdout = sys.stderr
    try:
        import numpy as np
        import piper
    except Exception as e:  # ImportError, or onnxruntime failing to load its shared library
        _send(out, {"ok": False, "stage": "import", "error": str(e)})
        return 1
    try:
        voice = piper.PiperVoice.load(argv[1], config_path=argv[2])
    except Exception as e:  # onnxruntime errors on a damaged model, bad JSON...
        _send(out, {"ok": False, "stage": "load", "error": str(e)})
        return 1
    cfg = voice.config
    _send(out, {"ok": True, "sample_rate": int(cfg.sample_rate),
                "length_scale": float(cfg.length_scale)})
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            syn = piper.SynthesisConfig(length_scale=float(req["length_scale"]),
                                        normalize_audio=False)
            chunks = [c.audio_float_array for c in voice.synthesize(str(req["text"]), syn)]
            x = (np.concatenate(chunks) if chunks else np.zeros(0)).astype("<f4")
        except Exception as e:
            _send(out, {"ok": False, "error": str(e) or type(e).__name__})
            continue
        _send(out, {"ok": True, "frames": int(x.size)}, x.tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
