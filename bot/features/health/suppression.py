"""Publishing counts without exposing people: every cell from 1 to k-1 is hidden
(primary suppression), and then, wherever a published total would let a reader
subtract their way back to one hidden cell, one more is hidden (secondary
suppression), until every line with a published total hides none or at least two.

A table has cells by (row, column); each row may publish its total, each column its
total, and with both the grand total. A row with its total is one "line": the cells
add up to the total, so exactly one unknown in it is as good as published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Position = tuple[str, ...]  # ("cell", row, column), ("row", row), ("column", column), ("all",)


@dataclass
class Table:
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], int]
    row_totals: bool = True
    column_totals: bool = False

    def value(self, row: str, column: str) -> int:
        return self.cells.get((row, column), 0)


@dataclass
class Published:
    """A table as it may be shown: ``None`` where a number is hidden."""

    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], int | None]
    row_totals: dict[str, int | None] = field(default_factory=dict)
    column_totals: dict[str, int | None] = field(default_factory=dict)
    grand_total: int | None = None
    primary: int = 0  # hidden for being small
    secondary: int = 0  # hidden so that no total gives a small one away
    k: int = 5

    @property
    def hidden(self) -> int:
        return self.primary + self.secondary


def _values(table: Table) -> dict[Position, int]:
    values: dict[Position, int] = {
        ("cell", r, c): table.value(r, c) for r in table.rows for c in table.columns
    }
    if table.row_totals:
        for r in table.rows:
            values[("row", r)] = sum(table.value(r, c) for c in table.columns)
    if table.column_totals:
        for c in table.columns:
            values[("column", c)] = sum(table.value(r, c) for r in table.rows)
    if table.row_totals and table.column_totals:
        values[("all",)] = sum(
            table.cells.get((r, c), 0) for r in table.rows for c in table.columns
        )
    return values


def _lines(table: Table) -> list[tuple[list[Position], Position]]:
    """Each published total with the positions that add up to it."""
    lines: list[tuple[list[Position], Position]] = []
    if table.row_totals:
        for r in table.rows:
            lines.append(([("cell", r, c) for c in table.columns], ("row", r)))
    if table.column_totals:
        for c in table.columns:
            lines.append(([("cell", r, c) for r in table.rows], ("column", c)))
    if table.row_totals and table.column_totals:
        lines.append(([("row", r) for r in table.rows], ("all",)))
        lines.append(([("column", c) for c in table.columns], ("all",)))
    return lines


def _second(parts: Iterable[Position], total: Position, values: dict[Position, int]) -> Position:
    """What else to hide in a line: its smallest count above zero, else a zero, else
    the total itself."""
    shown = [p for p in parts]
    above = sorted((values[p], p) for p in shown if values[p] > 0)
    if above:
        return above[0][1]
    zeros = [p for p in shown if values[p] == 0]
    return zeros[0] if zeros else total


def suppress(table: Table, k: int) -> Published:
    values = _values(table)
    hidden = {p for p, v in values.items() if 0 < v < k}
    primary = len(hidden)
    lines = _lines(table)
    changed = True
    while changed:
        changed = False
        for parts, total in lines:
            unknown = [p for p in (*parts, total) if p in hidden]
            if len(unknown) == 1:
                candidates = [p for p in parts if p not in hidden]
                hidden.add(_second(candidates, total, values) if candidates else total)
                changed = True

    def shown(position: Position) -> int | None:
        return None if position in hidden else values[position]

    return Published(
        rows=list(table.rows),
        columns=list(table.columns),
        cells={(r, c): shown(("cell", r, c)) for r in table.rows for c in table.columns},
        row_totals={r: shown(("row", r)) for r in table.rows} if table.row_totals else {},
        column_totals=(
            {c: shown(("column", c)) for c in table.columns} if table.column_totals else {}
        ),
        grand_total=shown(("all",)) if ("all",) in values else None,
        primary=primary,
        secondary=len(hidden) - primary,
        k=k,
    )
