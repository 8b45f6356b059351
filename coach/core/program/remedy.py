"""Reading `remedy:` (top level or exercise; the exercise wins): true (the method's defaults),
false, or a mapping {low, high, eccentric, peak, hold, flex, weaker_first}."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from coach.core.program.fields import REMEDY_FIELDS, REMEDY_KEYS
from coach.core.program.model import Remedy
from coach.core.program.values import read_value
from coach.core.yamlnodes import NodeReader, describe, is_null, parse_bool

# The remedies a mapping may name; a mapping that names none keeps the defaults of `true`,
# one that names some has only those (the others off).
REMEDY_KINDS = ("eccentric", "peak", "hold", "flex", "weaker_first")
SHAPE = ("remedy must be true, false or a mapping {low, high, eccentric, peak, hold, flex, "
         "weaker_first}")


def read_remedy(r: NodeReader, node: Node) -> Remedy | None | bool:
    """The Remedy a `remedy:` value says; None for false; False after a mistake (reported)."""
    if isinstance(node, ScalarNode) and not is_null(node):
        try:
            return Remedy() if parse_bool(node.value) else None
        except ValueError:
            pass
    if not isinstance(node, MappingNode):
        r.error(node, f"{SHAPE}, got {describe(node)}")
        return False
    before = len(r.diagnostics)
    items = r.mapping(node, "remedy") or []
    keys = r.known_keys(items, REMEDY_KEYS, "in remedy")
    values: dict[str, Any] = {}
    for key, vnode in keys.items():
        if isinstance(vnode, ScalarNode) and vnode.value.strip().startswith("+"):
            # "+1s": what is added, written as a step
            vnode = ScalarNode(vnode.tag, vnode.value.strip()[1:], vnode.start_mark,
                               vnode.end_mark)
        values[key] = read_value(r, REMEDY_FIELDS[key], vnode, f"remedy.{key}")
    for key in ("eccentric", "peak"):
        ms = values.get(key)
        if isinstance(ms, int) and ms % 1000:
            r.error(keys[key], f"remedy.{key} must be whole seconds (a tempo's digits are), "
                               f"got {describe(keys[key])}")
    if len(r.diagnostics) > before:
        return False
    remedy = Remedy()
    if any(k in values for k in REMEDY_KINDS):
        remedy = Remedy(eccentric_ms=0, peak_ms=0, hold_ms=0, flex_ms=0, weaker_first=False)
    remedy = replace(remedy, **{("weaker_first" if k == "weaker_first" else
                                 k if k in ("low", "high") else f"{k}_ms"): v
                                for k, v in values.items()})
    if remedy.low >= remedy.high:
        r.error(keys.get("low") or keys.get("high") or node,
                f"remedy.low ({remedy.low}) must be below remedy.high ({remedy.high})")
        return False
    return remedy
