"""Help for writing a program file: `coach new` (a commented starting program for a method) and
`coach schema` (the format's JSON Schema, for editors)."""

from __future__ import annotations

import argparse
import os
import sys
from importlib.resources import files

from coach.core.errors import CoachError
from coach.core.schema import schema_json


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_json())
    return 0


def new_program_text(kind: str) -> str:
    """The commented starting program for ``kind`` (shipped as coach/data/new-KIND.yaml)."""
    return files("coach").joinpath("data", f"new-{kind}.yaml").read_text("utf-8")


def cmd_new(args: argparse.Namespace) -> int:
    text = new_program_text(args.kind)
    if args.file is None:
        sys.stdout.write(text)
        return 0
    path = args.file
    if os.path.isdir(path):
        path = os.path.join(path, f"{args.kind}.yaml")  # as cp does: the file goes inside
    try:
        # "x": never overwrite, even if the file appears between a check and the write.
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise CoachError.at(path, 0, 0, "already exists; coach new never overwrites a "
                            "file (choose another name, or remove it first)") from None
    except OSError as e:
        raise CoachError.at(path, 0, 0, f"cannot write: {e.strerror or e}") from None
    print(f"{path}: a {args.kind} program; edit it, then `coach check {path}`", file=sys.stderr)
    return 0
