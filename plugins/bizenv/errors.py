"""Errors the CLI turns into one-line messages and exit codes (never tracebacks)."""

from __future__ import annotations


class BizenvError(Exception):
    """Unusable input or usage: exit code 2, one line naming the file, row and column."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        # One line, whatever a driver or parser put in its own message.
        message = " ".join(str(message).split())
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{': '.join([', '.join(where), self.message]) if where else self.message}"


class SchemaError(BizenvError):
    """A schema, registry or policy file is wrong; lists every problem found, not just the first."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems), file=file)


class GateRefused(BizenvError):
    """Data refused by a validation gate (exit 1); rows stay in quarantine."""

    exit_code = 1
