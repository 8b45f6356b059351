"""The YAML walker: a program's text to a validated Program, every mistake reported at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coach.core.errors import CoachError
from coach.core.nearmiss import did_you_mean
from coach.core.phrases import PACKS, PHRASE_IDS, missing_phrases
from coach.core.program.fields import (
    BUILTIN_PAUSES_MS,
    DEFAULT_FIELDS,
    DEFAULT_KEYS,
    EXERCISE_FIELDS,
    EXERCISE_KEYS,
    KEY_HINTS,
    PAUSE_KEYS,
    POSE_FIELDS,
    POSE_KEYS,
    TOP_FIELDS,
    TOP_KEYS,
    Spec,
)
from coach.core.program.length import MAX_SESSION_MS, session_lower_bound_ms, session_too_long_message
from coach.core.program.model import (
    Exercise,
    Load,
    Pose,
    Program,
    Remedy,
    Schedule,
    VoiceSettings,
)
from coach.core.program.progress import read_progress
from coach.core.program.remedy import read_remedy
from coach.core.program.scalars import parse_schedule, parse_tempo, template_problem
from coach.core.program.values import misspelt, read_value, read_voice
from coach.core.types import QUESTIONS, Kind, Question
from coach.core.yamlnodes import (
    NodeReader,
    compose,
    describe,
    is_null,
    parse_bool,
    quote,
    where,
)


class _Walker:
    """One pass over a program's nodes; mistakes are collected in ``r``."""

    def __init__(self, path: str):
        self.r = NodeReader(path)
        # The program's folder, for relative paths in it ("" when the text has no file).
        self.base_dir = "" if path.startswith("<") else os.path.dirname(path)

    def read(self, spec: Spec, node: Node, label: str):
        return read_value(self.r, spec, node, label)

    def words(self, node: Node, where_text: str) -> dict[str, str]:
        r = self.r
        out: dict[str, str] = {}
        items = r.mapping(node, "words")
        if items is None:
            return out
        ids = [p for p in PHRASE_IDS if p != "numbers"]
        for key, knode, vnode in items:
            if key == "numbers":
                r.error(knode, '"numbers" cannot be changed in words (numbers are spoken by '
                               "the voice or the language pack)")
                continue
            if key not in ids:
                r.error(knode, f"unknown phrase id {quote(key)} in words {where_text}"
                               f"{did_you_mean(key, ids)}")
                continue
            text = r.text(vnode, f"words.{key}")
            if text is None:
                continue
            problem = template_problem(key, text)
            if problem:
                r.error(vnode, problem)
            else:
                out[key] = text
        return out

    def schedules(self, node: Node) -> tuple[Schedule, ...]:
        r = self.r
        nodes = [node]
        if isinstance(node, SequenceNode):
            nodes = r.sequence(node, "schedule") or []
        out = []
        for n in nodes:
            written = r.text(n, "schedule")
            if written is None:
                continue
            try:
                out.append(parse_schedule(written))
            except ValueError as e:
                r.error(n, str(e))
        return tuple(out)

    def voice(self, node: Node) -> VoiceSettings:
        return read_voice(self.r, node, self.base_dir)

    def defaults(self, node: Node) -> dict[str, Any]:
        """The defaults' values: pauses (ms), sets, load (a Load, None when absent; False
        after a mistake, so that no exercise repeats it)."""
        r = self.r
        out: dict[str, Any] = self.defaults_builtin()
        items = r.mapping(node, "defaults")
        if items is None:
            return out
        keys = r.known_keys(items, DEFAULT_KEYS, "in defaults", KEY_HINTS)
        if "load" in keys:
            load = self.read(DEFAULT_FIELDS["load"], keys["load"], "defaults.load")
            out["load"] = False if load is None else load
        if "sets" in keys:
            sets = self.read(DEFAULT_FIELDS["sets"], keys["sets"], "defaults.sets")
            if sets is not None:
                out["sets"] = sets
        for k in PAUSE_KEYS:
            if k in keys:
                ms = self.read(DEFAULT_FIELDS[k], keys[k], f"defaults.{k}")
                if ms is not None:
                    out[k] = ms
        return out

    def rate(self, node: Node) -> tuple[Question, ...] | None:
        """`rate`: feel, effort, a list of them, or false (no rating); None after a mistake."""
        r = self.r
        shape = "rate must be feel, effort, a list of both ([feel, effort]) or false"
        if isinstance(node, SequenceNode):
            out: list[Question] = []
            ok = True
            for n in r.sequence(node, "rate") or []:
                q = self.question(n, "each rating in the rate list must be feel or effort")
                if q is not None and q in out:
                    r.error(n, f"rate asks {q} twice")
                    q = None
                if q is None:
                    ok = False
                else:
                    out.append(q)
            return tuple(out) if ok and node.value else None
        if isinstance(node, ScalarNode) and not is_null(node):
            try:
                if parse_bool(node.value) is False:
                    return ()
            except ValueError:
                pass
            q = self.question(node, shape)
            return None if q is None else (q,)
        r.error(node, f"{shape}, got {describe(node)}")
        return None

    def question(self, node: Node, shape: str) -> Question | None:
        value = node.value.strip() if isinstance(node, ScalarNode) and not is_null(node) else ""
        if value in QUESTIONS:
            return value
        hint = did_you_mean(value, QUESTIONS) if value else ""
        self.r.error(node, f"{shape}, got {describe(node)}{hint}")
        return None

    def poses(self, node: Node, label: str, hold_ms: int | None,
              hold_given: bool) -> tuple[Pose, ...]:
        """``hold_ms``: the exercise's hold (None when absent or bad, ``hold_given`` tells)."""
        r = self.r
        out = []
        for j, pn in enumerate(r.sequence(node, "poses") or [], 1):
            name: str | None = None
            hold = hold_ms
            has_hold = hold_given  # a bad hold was reported already: no "needs a hold" too
            typo = False
            if isinstance(pn, ScalarNode):
                name = r.text(pn, f"pose {j} name")
            elif isinstance(pn, MappingNode):
                pose_label = f"pose {j} of {label}"
                items = r.mapping(pn, pose_label) or []
                keys = r.known_keys(items, POSE_KEYS, f"in {pose_label}")
                typos = misspelt(items, POSE_KEYS)
                typo = "hold" in typos
                if "name" in keys:
                    name = self.read(POSE_FIELDS["name"], keys["name"], "pose name")
                elif "name" not in typos:
                    r.error(pn, f"{pose_label} needs a name")
                if "hold" in keys:
                    hold = self.read(POSE_FIELDS["hold"], keys["hold"], "hold")
                    has_hold = True
            else:
                r.error(pn, f"pose {j} must be a name or {{name: ..., hold: ...}}, "
                            f"got {describe(pn)}")
                continue
            if not has_hold and not typo:
                shown = f" {quote(name)}" if name else ""
                r.error(pn, f"pose {j}{shown} needs a hold: give the pose "
                            "{name: ..., hold: 10s} or give the exercise a hold")
            if name is not None and hold is not None:
                out.append(Pose(name, hold))
        return tuple(out)

    def exercise(self, node: Node, index: int, dflt: Mapping[str, Any],
                 top_rate: tuple[tuple[Question, ...] | None, tuple[int, int]] = ((), (0, 0)),
                 top_remedy: tuple[Remedy | None | bool, tuple[int, int]] = (None, (0, 0)),
                 ) -> Exercise | None:
        r = self.r
        label = f"exercise {index}"
        before = len(r.diagnostics)
        items = r.mapping(node, label)
        if items is None:
            return None
        keys = r.known_keys(items, EXERCISE_KEYS, f"in {label}", KEY_HINTS)
        typos = misspelt(items, EXERCISE_KEYS, KEY_HINTS)
        kw: dict = {"line": node.start_mark.line + 1}

        def read(key: str):
            return self.read(EXERCISE_FIELDS[key], keys[key], key)

        if "name" in keys:
            kw["name"] = read("name")
        elif "name" not in typos:
            r.error(node, f"{label} needs a name")
        if "focus" in keys:
            kw["focus"] = read("focus")
        if "notes" in keys:
            kw["notes"] = read("notes")
        # The exercise's load, else the defaults' (False: a mistake already reported).
        load: Load | None | bool = read("load") if "load" in keys else dflt["load"]
        if "load" in keys and load is None:
            load = False
        if isinstance(load, Load):
            kw["load"] = load
        kw["sets"] = read("sets") if "sets" in keys else dflt["sets"]
        if "reps" in keys:
            kw["reps"] = read("reps")
        if "tempo" in keys:
            written = r.text(keys["tempo"], "tempo")
            if written is not None:
                try:
                    kw["tempo"] = parse_tempo(written)
                except ValueError as e:
                    r.error(keys["tempo"], str(e))
        if "cadence" in keys:
            kw["cadence_ms"] = read("cadence")
        if "hold" in keys:
            kw["hold_ms"] = read("hold")
        if "eyes_closed" in keys:
            kw["eyes_closed"] = read("eyes_closed")
        if "sides" in keys:
            sides = keys["sides"]
            if isinstance(sides, ScalarNode) and sides.value.strip() == "both":
                kw["sides"] = ("left", "right")
            else:
                r.error(sides, f'sides must be "both" (every set left, then right), '
                               f"got {describe(sides)}")
        for k in PAUSE_KEYS:
            kw[f"{k}_ms"] = read(k) if k in keys else dflt[k]
        if "words" in keys:
            kw["words"] = self.words(keys["words"], f"of {label}")
        kw["rate"], kw["rate_at"] = top_rate
        if "rate" in keys:
            kw["rate"] = self.rate(keys["rate"])
            kw["rate_at"] = where(next(kn for k, kn, _ in items if k == "rate"))
        remedy, kw["remedy_at"] = top_remedy
        if "remedy" in keys:
            remedy = read_remedy(r, keys["remedy"])
            kw["remedy_at"] = where(next(kn for k, kn, _ in items if k == "remedy"))
        if isinstance(remedy, Remedy):
            kw["remedy"] = remedy

        kind_typo = bool(typos & {"tempo", "cadence", "hold", "poses", "reps"})
        kind = self.kind(node, label, keys, quiet=kind_typo)
        kw["kind"] = kind
        if "poses" in keys:
            kw["poses"] = self.poses(keys["poses"], label, kw.get("hold_ms"), "hold" in keys)
        if "progress" in keys:
            shown = f"{quote(kw['name'])}" if kw.get("name") else label
            own = {"reps": kw.get("reps"), "hold": kw.get("hold_ms"), "sets": kw.get("sets")}
            kw["progress"] = read_progress(r, keys["progress"], shown, kind, own, kw["rate"],
                                           load)
        if len(r.diagnostics) > before or kind is None:
            return None
        return Exercise(**kw)

    def kind(self, node: Node, label: str, keys: Mapping[str, Node],
             quiet: bool = False) -> Kind | None:
        """Which kind the present keys say; a key counts even when its value is bad.

        ``quiet``: a near-miss key was already reported; stay silent about what it would fix.
        """
        r = self.r
        kinds = [k for k in ("tempo", "cadence", "poses") if k in keys]
        if "hold" in keys and "poses" not in keys:
            kinds.append("hold")
        if len(kinds) > 1:
            first, second = sorted(kinds, key=lambda k: keys[k].start_mark.index)[:2]
            r.error(keys[second], f"{first} and {second} cannot be used together; an exercise "
                                  "is one of tempo or cadence (with reps), hold, or poses")
            return None
        if not kinds:
            if quiet:
                return None
            if "reps" in keys:
                r.error(keys["reps"], "reps needs tempo or cadence (how each rep is paced)")
            else:
                r.error(node, f"{label} needs one of tempo or cadence (with reps), hold, "
                              "or poses")
            return None
        kind = kinds[0]
        if kind in ("tempo", "cadence") and "reps" not in keys and not quiet:
            r.error(node, f"{kind} needs reps (how many reps per set) in {label}")
            return None
        if kind in ("hold", "poses") and "reps" in keys:
            r.error(keys["reps"], f"reps cannot be used with {kind}; reps go with tempo "
                                  "or cadence")
            return None
        return kind  # type: ignore[return-value]

    def program(self, root: Node) -> Program | None:
        r = self.r
        items = r.mapping(root, "a program")
        if items is None:
            return None
        keys = r.known_keys(items, TOP_KEYS, "at the top level", KEY_HINTS)
        typos = misspelt(items, TOP_KEYS, KEY_HINTS)
        kw: dict = {"path": r.path}
        if "program" in keys:
            kw["name"] = self.read(TOP_FIELDS["program"], keys["program"], "program")
        elif "program" not in typos:
            r.error(root, "the program needs a name: add `program: NAME`")
        if "schedule" in keys:
            kw["schedules"] = self.schedules(keys["schedule"])
        if "language" in keys:
            lang = r.text(keys["language"], "language")
            if lang is not None and lang not in PACKS:
                r.error(keys["language"], f"language {quote(lang)} is not available; available: "
                                          + ", ".join(sorted(PACKS))
                                          + did_you_mean(lang, PACKS))
            elif lang is not None and missing_phrases(lang):
                # A gap in a shipped pack is an error, never a silent English word.
                r.error(keys["language"], f"language {quote(lang)} pack lacks phrases: "
                                          + ", ".join(missing_phrases(lang)))
            elif lang is not None:
                kw["language"] = lang
        if "voice" in keys:
            kw["voice"] = self.voice(keys["voice"])
        if "words" in keys:
            kw["words"] = self.words(keys["words"], "at the top level")
        if "notes" in keys:
            kw["notes"] = self.read(TOP_FIELDS["notes"], keys["notes"], "notes")
        dflt = self.defaults(keys["defaults"]) if "defaults" in keys else self.defaults_builtin()
        top_rate: tuple[tuple[Question, ...] | None, tuple[int, int]] = ((), (0, 0))
        if "rate" in keys:
            top_rate = (self.rate(keys["rate"]), where(next(kn for k, kn, _ in items if k == "rate")))
        top_remedy: tuple[Remedy | None | bool, tuple[int, int]] = (None, (0, 0))
        if "remedy" in keys:
            top_remedy = (read_remedy(r, keys["remedy"]),
                          where(next(kn for k, kn, _ in items if k == "remedy")))
        exercises = []
        knode: Node = root
        if "exercises" in keys:
            for i, en in enumerate(r.sequence(keys["exercises"], "exercises") or [], 1):
                exercises.append(self.exercise(en, i, dflt, top_rate, top_remedy))
            # The key, like other errors about a whole list (a merged key: where it is written).
            knode = next(kn for k, kn, _ in items if k == "exercises")
            kw["exercises_at"] = where(knode)
        elif "exercises" not in typos:
            r.error(root, "the program needs exercises: add `exercises:` with a list of them")
        if r.diagnostics:
            return None
        # Before the timeline builds its events: an absurd session is refused in microseconds.
        valid = [e for e in exercises if e is not None]  # all of them: no diagnostics above
        bound = session_lower_bound_ms(valid)
        if bound > MAX_SESSION_MS:
            r.error(knode, session_too_long_message(bound))
            return None
        return Program(exercises=tuple(valid), **kw)

    @staticmethod
    def defaults_builtin() -> dict[str, Any]:
        return {**BUILTIN_PAUSES_MS, "sets": 1, "load": None}


def parse_program(text: str, path: str = "<program>") -> Program:
    """Validate a program's YAML text. Pure. Raises CoachError with every mistake at once."""
    path = str(path)
    root = compose(text, path)
    if root is None or is_null(root):
        raise CoachError.at(path, 1, 1, "the program is empty: it needs `program:` and "
                                        "`exercises:`")
    walker = _Walker(path)
    program = walker.program(root)
    walker.r.raise_if_any()
    assert program is not None  # no diagnostics means every part was built
    return program
