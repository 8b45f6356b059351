"""Reading values from YAML nodes by their Spec, near-miss keys, and a `voice:` mapping.

Shared by the program walker and config.yaml's voice defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from yaml.nodes import Node

from coach.core.nearmiss import near_miss
from coach.core.program.fields import VOICE_FIELDS, VOICE_KEYS, Spec
from coach.core.program.model import VoiceSettings
from coach.core.program.scalars import parse_load
from coach.core.yamlnodes import NodeReader


def misspelt(items: list[tuple[str, Node, Node]], allowed: tuple[str, ...],
             hints: Mapping[str, str] | None = None) -> set[str]:
    """Allowed keys that an unknown key of ``items`` looks like a typo of ("tmepo" -> tempo),
    by the same rule as the "did you mean" that reported it (``hints`` as known_keys takes).

    Their absence was already explained by "did you mean"; saying "needs tempo" too is noise.
    """
    out: set[str] = set()
    for key, _, _ in items:
        if key not in allowed:
            near = near_miss(key, allowed, hints)
            if near is not None:
                out.add(near)
    return out


def is_model_path(model: str) -> bool:
    """Whether a Piper ``model`` is a file path (else the name of an installed model)."""
    return model.endswith(".onnx") or "/" in model or os.sep in model or model.startswith("~")


def read_value(r: NodeReader, spec: Spec, node: Node, label: str):
    """A scalar value as ``spec`` says (None, with the mistake recorded in ``r``, when not)."""
    if spec.type == "text":
        return r.text(node, label)
    if spec.type == "int":
        return r.integer(node, label, int(spec.lo), int(spec.hi))  # type: ignore[arg-type]
    if spec.type == "number":
        return r.number(node, label, spec.lo, spec.hi)  # type: ignore[arg-type]
    if spec.type == "bool":
        return r.boolean(node, label)
    if spec.type == "duration":
        return r.duration_ms(node, label, int(spec.lo), int(spec.hi))  # type: ignore[arg-type]
    if spec.type == "choice":
        return r.choice(node, label, spec.choices)
    if spec.type == "load":
        written = r.text(node, label)
        if written is None:
            return None
        try:
            return parse_load(written, label)
        except ValueError as e:
            r.error(node, str(e))
            return None
    raise AssertionError(f"{spec.type} values are read by their own code")


def read_voice(r: NodeReader, node: Node, base_dir: str = "", label: str = "voice") -> VoiceSettings:
    """A `voice:` mapping (of a program, or config.yaml's defaults) as VoiceSettings whose
    ``given`` names the keys it said. A relative Piper model path is relative to ``base_dir``
    (the folder of the file that says it), never to the working directory. Pure."""
    items = r.mapping(node, label)
    if items is None:
        return VoiceSettings()
    keys = r.known_keys(items, VOICE_KEYS, f"in {label}")
    kw = {k: read_value(r, VOICE_FIELDS[k], n, f"{label}.{k}") for k, n in keys.items()}
    kw = {k: v for k, v in kw.items() if v is not None}
    model = kw.get("model")
    if (model and base_dir and is_model_path(model) and not model.startswith("~")
            and not os.path.isabs(model)):
        kw["model"] = os.path.join(base_dir, model)
    return VoiceSettings(**kw, given=frozenset(kw))
