"""The `coach` command line, one module per group of verbs (``program``: check, plan;
``authoring``: new, schema; ``sound``: render, run, demo; ``devices``; ``voices``; ``daemon``;
``service``: install-service; ``remote``: the daemon's verbs over its socket; ``history``), the
parser and ``main()`` in ``app``. A verb's module imports what it needs at its top and is
itself imported only when that verb runs."""

from coach.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
