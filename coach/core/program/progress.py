"""Reading an exercise's `progress:` rules: {reps|hold|sets: step, max, when, then}, one or a
list; `then:` (double progression) adds load at max and returns the target to a floor."""

from __future__ import annotations

from collections.abc import Mapping

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coach.core.program.fields import (
    EXERCISE_FIELDS,
    PROGRESS_FIELDS,
    PROGRESS_KEYS,
    SETS_SPEC,
    THEN_FIELDS,
    THEN_KEYS,
)
from coach.core.program.model import (
    PROGRESS_TARGETS,
    Condition,
    Load,
    ProgressRule,
    ProgressTarget,
    Then,
)
from coach.core.program.scalars import parse_condition, parse_load_step
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
                  rate: tuple[Question, ...] | None,
                  load: Load | None | bool = None) -> tuple[ProgressRule, ...] | None:
    """`progress`: one rule (a mapping) or a list of them; None after a mistake.
    ``own``: the exercise's own reps, hold (ms) and sets (None when absent or bad); ``load``
    the exercise's load (None: none given; False: a mistake already reported)."""
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
        got = _read_rule(r, n, label, kind, own, rate, load)
        if got is None:
            continue
        rule, target_key, then_key = got
        line = target_key.start_mark.line + 1
        if rule.target in first_at:
            r.error(target_key, f"progress has two {rule.target} rules (first at line "
                                f"{first_at[rule.target]}); give one")
            continue
        if then_key is not None:
            # Two rules adding load after one session would add it twice.
            if "then" in first_at:
                r.error(then_key, f"progress has two rules with then (first at line "
                                  f"{first_at['then']}); one rule adds the load")
                continue
            first_at["then"] = then_key.start_mark.line + 1
        first_at[rule.target] = line
        rules.append(rule)
    return tuple(rules) if len(r.diagnostics) == before else None


def _read_rule(r: NodeReader, node: Node, label: str, kind: Kind | None,
               own: Mapping[str, int | None], rate: tuple[Question, ...] | None,
               load: Load | None | bool = None
               ) -> tuple[ProgressRule, Node, Node | None] | None:
    """One rule, its target's key node and its `then` key node (None: no `then`); ``rate``
    None: unknown (a mistake of its own)."""
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
    then = None
    if "then" in keys:
        then = _read_then(r, keys["then"], target, top, own.get(target), load, label)
    if len(r.diagnostics) > before or step is None or top is None:
        return None
    return ProgressRule(target, step, top, when, then), tnode, \
        key_nodes["then"] if then is not None else None


def _read_then(r: NodeReader, node: Node, target: ProgressTarget, top: int | None,
               own: int | None, load: Load | None | bool, label: str) -> Then | None:
    """`then: {load: +2.5kg, reps: 8}`: the load added at max (in the exercise's load unit) and
    the floor the target returns to (the rule's own target only; within max)."""
    items = r.mapping(node, "then")
    if items is None:
        return None
    keys = r.known_keys(items, THEN_KEYS, "in then")
    typos = misspelt(items, THEN_KEYS)
    key_nodes = {k: kn for k, kn, _ in items}
    for k in keys:
        if k not in ("load", target):
            r.error(key_nodes[k], f"then returns the rule's own target ({target}) to a floor, "
                                  f"not {k}: then: {{load: +2.5kg, {target}: ...}}")
    step: int | None = None
    if "load" in keys:
        step = _read_load_step(r, keys["load"], load, label)
    elif "load" not in typos:
        r.error(node, "then needs the load it adds: then: {load: +2.5kg"
                      + (f", {target}: 8}}" if target == "reps" else "}"))
    floor: int | None = None
    if target in keys:
        shown = format_duration if target == "hold" else str
        floor = read_value(r, THEN_FIELDS[target], keys[target], f"then {target}")
        if floor is not None and top is not None and floor > top:
            r.error(keys[target], f"then {target} {shown(floor)} is above the rule's max "
                                  f"({shown(top)})")
            floor = None
        elif floor is not None and own is not None and floor < own:
            r.error(keys[target], f"then {target} {shown(floor)} is below the exercise's own "
                                  f"{target} ({shown(own)}); lower the exercise's {target}")
            floor = None
    if step is None or not isinstance(load, Load) or load.unit is None:
        return None
    return Then(step, load.unit, floor)


def _read_load_step(r: NodeReader, node: Node, load: Load | None | bool,
                    label: str) -> int | None:
    """The load a `then:` adds, checked against the exercise's load (its unit; never on a
    bodyweight exercise or one without a load)."""
    raw = node.value if isinstance(node, ScalarNode) and not is_null(node) else None
    if raw is None:
        r.error(node, f"the load step must be a positive weight like +2.5kg or +5lb, "
                      f"got {describe(node)}")
        return None
    try:
        step, unit = parse_load_step(raw)
    except ValueError as e:
        r.error(node, str(e))
        return None
    if load is None:
        r.error(node, f"then adds load, but {label} has no load: give it one (load: 24kg)")
        return None
    if isinstance(load, Load) and load.unit is None:
        r.error(node, f"then adds load, but {label} is a bodyweight exercise (load: bodyweight)")
        return None
    if isinstance(load, Load) and load.unit != unit:
        like = "+2.5kg" if load.unit == "kg" else "+5lb"
        r.error(node, f"the load step is in {unit}, but the load of {label} is in {load.unit} "
                      f"({load}): give the step in {load.unit}, like {like}")
        return None
    return step


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
