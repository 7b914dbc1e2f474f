"""Suppression of small counts: a reader of the published table can recover no count
under k, not even by subtracting the published cells from a published total."""

from __future__ import annotations

from bot.features.health.suppression import Published, Table, suppress


def recoverable(published: Published, table: Table) -> set[tuple[str, str]]:
    """What an attacker recovers: whenever a row or column with a published total has
    exactly one hidden cell, that cell is the total minus the rest; repeat."""
    known = {pos: v for pos, v in published.cells.items() if v is not None}
    totals: list[tuple[list[tuple[str, str]], int | None]] = []
    for r in table.rows:
        if published.row_totals:
            totals.append(([(r, c) for c in table.columns], published.row_totals[r]))
    for c in table.columns:
        if published.column_totals:
            totals.append(([(r, c) for r in table.rows], published.column_totals[c]))
    found: set[tuple[str, str]] = set()
    progress = True
    while progress:
        progress = False
        for cells, total in totals:
            unknown = [p for p in cells if p not in known]
            if total is not None and len(unknown) == 1:
                known[unknown[0]] = total - sum(known[p] for p in cells if p in known)
                found.add(unknown[0])
                progress = True
    return {p for p in found if 0 < table.cells.get(p, 0) < published.k}


def test_one_small_cell_in_a_row_with_a_total_takes_a_second_one_with_it() -> None:
    # Naive suppression hides only the 3: 35 - 12 - 20 gives it back.
    table = Table(
        ["joins"],
        ["en", "es", "fr"],
        {("joins", "en"): 12, ("joins", "es"): 3, ("joins", "fr"): 20},
    )
    published = suppress(table, 5)
    assert published.cells[("joins", "es")] is None
    assert published.cells[("joins", "en")] is None  # the smallest other count
    assert published.cells[("joins", "fr")] == 20 and published.row_totals["joins"] == 35
    assert (published.primary, published.secondary) == (1, 1)
    assert recoverable(published, table) == set()


def test_secondary_suppression_follows_through_rows_and_columns() -> None:
    cells = {
        ("standard", "Q1"): 30,
        ("standard", "Q2"): 2,
        ("standard", "Q3"): 40,
        ("emergency", "Q1"): 12,
        ("emergency", "Q2"): 15,
        ("emergency", "Q3"): 13,
    }
    table = Table(["standard", "emergency"], ["Q1", "Q2", "Q3"], cells, column_totals=True)
    naive = Published(
        rows=table.rows,
        columns=table.columns,
        cells={p: (None if 0 < v < 11 else v) for p, v in cells.items()},
        row_totals={"standard": 72, "emergency": 40},
        column_totals={"Q1": 42, "Q2": 17, "Q3": 53},
        k=11,
    )
    assert recoverable(naive, table) == {("standard", "Q2")}  # the leak this prevents
    published = suppress(table, 11)
    assert recoverable(published, table) == set()
    hidden = [p for p, v in published.cells.items() if v is None]
    assert len(hidden) >= 4  # a rectangle: two in each affected row and column


def test_a_small_total_is_hidden_with_everything_in_it() -> None:
    table = Table(["appeals"], ["Q1", "Q2"], {("appeals", "Q1"): 2, ("appeals", "Q2"): 1})
    published = suppress(table, 5)
    assert published.row_totals["appeals"] is None
    assert set(published.cells.values()) == {None}


def test_zeros_and_large_counts_are_published_as_they_are() -> None:
    table = Table(["joins"], ["en", "es"], {("joins", "en"): 40})
    published = suppress(table, 5)
    assert published.cells == {("joins", "en"): 40, ("joins", "es"): 0}
    assert published.row_totals == {"joins": 40} and published.hidden == 0


def test_a_hidden_cell_is_not_given_away_by_a_single_column_total() -> None:
    # One column: the row's total is the cell itself, so it goes too.
    table = Table(["reports"], ["all"], {("reports", "all"): 4})
    published = suppress(table, 11)
    assert published.cells[("reports", "all")] is None and published.row_totals["reports"] is None
