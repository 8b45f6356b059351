"""Reading an exercise's `progress:` rules: {reps|hold|sets: step, max, when}, one or a list."""

from __future__ import annotations

from collections.abc import Mapping

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coach.core.program.fields import EXERCISE_FIELDS, PROGRESS_FIELDS, PROGRESS_KEYS, SETS_SPEC
from coach.core.program.model import PROGRESS_TARGETS, Condition, ProgressRule, ProgressTarget
from coach.core.program.scalars import parse_condition
from coach.core.program.values import misspelt, read_value
from coach.core.types import Kind, Question
from coach.core.yamlnodes import (
    NodeReader,
    describe,
    format_duration,
    is_null,
    parse_duration_ms,
    parse_int,
    quote,
)


def read_progress(r: NodeReader, node: Node, label: str, kind: Kind | None,
                  own: Mapping[str, int | None],
                  rate: tuple[Question, ...] | None) -> tuple[ProgressRule, ...] | None:
    """`progress`: one rule (a mapping) or a list of them; None after a mistake.
    ``own``: the exercise's own reps, hold (ms) and sets (None when absent or bad)."""
    if isinstance(node, SequenceNode):
        nodes = r.sequence(node, "progress")
        if nodes is None:
            return None
    elif isinstance(node, MappingNode):
        nodes = [node]
    else:
        r.error(node, "progress must be a rule {reps: +1, max: 12} or a list of rules, "
                      f"got {describe(node)}")
        return None
    before = len(r.diagnostics)
    rules: list[ProgressRule] = []
    first_at: dict[str, int] = {}
    for n in nodes:
        got = _read_rule(r, n, label, kind, own, rate)
        if got is None:
            continue
        rule, target_key = got
        line = target_key.start_mark.line + 1
        if rule.target in first_at:
            r.error(target_key, f"progress has two {rule.target} rules (first at line "
                                f"{first_at[rule.target]}); give one")
            continue
        first_at[rule.target] = line
        rules.append(rule)
    return tuple(rules) if len(r.diagnostics) == before else None


def _read_rule(r: NodeReader, node: Node, label: str, kind: Kind | None,
               own: Mapping[str, int | None], rate: tuple[Question, ...] | None
               ) -> tuple[ProgressRule, Node] | None:
    """One rule and its target's key node; ``rate`` None: unknown (a mistake of its own)."""
    before = len(r.diagnostics)
    items = r.mapping(node, "a progress rule")
    if items is None:
        return None
    keys = r.known_keys(items, PROGRESS_KEYS, "in progress")
    typos = misspelt(items, PROGRESS_KEYS)
    key_nodes = {k: kn for k, kn, _ in items}
    targets = sorted((k for k in PROGRESS_TARGETS if k in keys),
                     key=lambda k: key_nodes[k].start_mark.index)
    if len(targets) > 1:
        r.error(key_nodes[targets[1]], f"a progress rule raises one of reps, hold or sets; "
                                       f"this one has {targets[0]} and {targets[1]} "
                                       "(write a list of rules)")
        return None
    if not targets:
        if not typos & set(PROGRESS_TARGETS):
            r.error(node, "a progress rule needs what it raises: reps, hold or sets, with "
                          "the step (reps: +1, hold: +5s, sets: +1)")
        return None
    target: ProgressTarget = targets[0]
    tnode = key_nodes[target]
    needs = {"reps": ("tempo", "cadence"), "hold": ("hold",)}.get(target)
    if needs is not None and kind is not None and kind not in needs:
        what = "reps (tempo or cadence)" if target == "reps" else "a hold"
        r.error(tnode, f"progress of {target} needs an exercise with {what}; {label} is "
                       f"a {kind} exercise")
    step = _read_step(r, keys[target], target)
    spec = {"reps": EXERCISE_FIELDS["reps"], "hold": EXERCISE_FIELDS["hold"],
            "sets": SETS_SPEC}[target]
    top: int | None = None
    if "max" in keys:
        top = read_value(r, spec, keys["max"], f"progress max of {target}")
        value = own.get(target)
        if top is not None and value is not None and top < value:
            shown = format_duration if target == "hold" else str
            r.error(keys["max"], f"progress max {shown(top)} is below the exercise's own "
                                 f"{target} ({shown(value)}): it could never go up")
    elif "max" not in typos:
        r.error(node, f"a progress rule needs a max: the most {target} it goes up to "
                      f"(max: {format_duration(60_000) if target == 'hold' else 12})")
    when = Condition()
    if "when" in keys:
        written = r.text(keys["when"], "when")
        if written is not None:
            try:
                when = parse_condition(written)
            except ValueError as e:
                r.error(keys["when"], str(e))
            else:
                if rate is not None and when.kind != "completed" and when.kind not in rate:
                    r.error(keys["when"], f"when: {when} needs {label} to ask {when.kind} "
                                          f"after each set (rate: {when.kind})")
    if len(r.diagnostics) > before or step is None or top is None:
        return None
    return ProgressRule(target, step, top, when), tnode


def _read_step(r: NodeReader, node: Node, target: str) -> int | None:
    """A progress step: +1 (reps, sets) or +5s (hold); positive, within the key's range."""
    spec = PROGRESS_FIELDS[target]
    hi = int(spec.hi or 0)
    example = "+5s" if target == "hold" else "+1"
    raw = node.value.strip() if isinstance(node, ScalarNode) and not is_null(node) else None
    if raw is None:
        r.error(node, f"the {target} step must be {example}, got {describe(node)}")
        return None
    if raw.startswith("-") or raw.lstrip("+").strip() in ("0", "0s"):
        r.error(node, f"the {target} step must be positive, like {example}, got {quote(raw)}")
        return None
    body = raw[1:].strip() if raw.startswith("+") else raw
    try:
        value = parse_duration_ms(body) if target == "hold" else parse_int(body)
    except ValueError:
        kind = "a duration" if target == "hold" else "a whole number"
        r.error(node, f"the {target} step must be {kind} like {example}, got {quote(raw)}")
        return None
    if value <= 0:
        r.error(node, f"the {target} step must be positive, like {example}, got {quote(raw)}")
        return None
    if value > hi:
        top = format_duration(hi) if target == "hold" else str(hi)
        r.error(node, f"the {target} step must be at most {top}, got {quote(raw)}")
        return None
    return value
