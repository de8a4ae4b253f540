"""Typed errors of the call lists, each naming what to fix (row, field, setting)."""

from __future__ import annotations

from dataclasses import dataclass


class ListError(Exception):
    """Base of every call-list error; the message tells the user what to do next."""


class ListImportError(ListError):
    """A file that cannot be loaded at all (nothing was loaded). ``row`` counts like a spreadsheet:
    the header is row 1, the first lead row 2."""

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.row = row
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class RowProblem:
    """One rejected or skipped row of an import report."""

    row: int
    field: str
    reason: str
    value: str = ""


class ImportRejected(ListImportError):
    """Rows had errors and the import is all-or-nothing: nothing was loaded."""

    def __init__(self, problems: list[RowProblem], report: object) -> None:
        first = problems[0]
        super().__init__(
            f"{len(problems)} row(s) have errors, first: row {first.row}, field {first.field!r}: "
            f"{first.reason}; nothing was loaded (fix the rows, or pass --allow-partial to load the rest)"
        )
        self.problems = problems
        self.report = report


class PhoneError(ListError):
    """A phone number that cannot be turned into a dialable E.164 number."""


class StrategyError(ListError):
    """A campaign strategy (time-of-day windows) that makes no sense."""


class RetryRulesError(ListError):
    """Retry rules that make no sense (unknown outcome, negative delay)."""


class DispositionError(ListError):
    """An unknown disposition code or one missing what it needs (e.g. a callback time)."""


class CallbackError(ListError):
    """A callback that cannot be scheduled as asked."""


class OutcomeError(ListError):
    """An attempt outcome the lists do not know."""
