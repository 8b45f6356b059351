"""The one exception type for user mistakes, and the diagnostics it carries (file, line, column)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a user's file, printed GCC-style: ``FILE:LINE:COL: error: MESSAGE``.

    ``line`` and ``col`` are 1-based; 0 means "the file as a whole" and is left out when printed.
    """

    path: str
    line: int
    col: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.path
        if self.line > 0:
            where += f":{self.line}"
            if self.col > 0:
                where += f":{self.col}"
        return f"{where}: {self.severity}: {self.message}"


class CoachError(Exception):
    """A user's mistake (bad program, bad config, missing file...), never a bug of coach.

    Carries one or more diagnostics; ``str()`` is one GCC-style line per diagnostic.
    The CLI prints it and exits 2.
    """

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__(str(self))

    @classmethod
    def at(cls, path: str, line: int, col: int, message: str) -> CoachError:
        return cls(Diagnostic(str(path), line, col, message))

    @property
    def path(self) -> str:
        return self.diagnostics[0].path if self.diagnostics else ""

    @property
    def line(self) -> int:
        return self.diagnostics[0].line if self.diagnostics else 0

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)
