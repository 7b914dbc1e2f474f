"""``concord report`` over databases of growing size: how long counting, reading, adding
up and writing the page take, to place the size from which the report shows its steps
(``bot.features.health.command.LARGE``).

``python bench/report.py`` (from the repository root) fills SQLite databases with a
year of daily counts over more and more platforms and languages, through the store's
own writes, and prints one line per size: rows, then seconds for each step.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config.community import load_config  # noqa: E402
from bot.features.health.page import render  # noqa: E402
from bot.features.health.report import NEWCOMERS, build, read_counts  # noqa: E402
from bot.i18n.catalogs import Catalogs  # noqa: E402
from bot.store.sqlite import SQLiteStore  # noqa: E402
from bot.store.types import Changes  # noqa: E402
from bot.store.writes import AddCount  # noqa: E402

METRICS = [*NEWCOMERS, "channel_messages:newer", "channel_messages:veteran", "first_reply:lt1h"]
LANGUAGES = ["en", "es", "fr", "de", "ja", "ru", "pt-BR", "ar", "fa", "sw", "hi", "id"]
PLATFORMS = ["discord", "matrix", "telegram", "irc", "console"]


def fill(path: Path, today: date, days: int, platforms: int, languages: int) -> int:
    store = SQLiteStore(path)
    rows = 0
    for back in range(days):
        day = (today - timedelta(days=back)).isoformat()
        writes = [
            AddCount("example", day, metric, platform, language, 7)
            for metric in METRICS
            for platform in PLATFORMS[:platforms]
            for language in LANGUAGES[:languages]
        ]
        store.apply(Changes(at=datetime.now(UTC), writes=list(writes)))
        rows += len(writes)
    store.close()
    return rows


def measure(path: Path, today: date) -> list[float]:
    config = load_config(None)
    texts = Catalogs.load(list(config.locale_dirs)).translator("en")
    since = today - timedelta(days=364)
    store = SQLiteStore(path)
    times, started = [], time.perf_counter()
    store.health_count_rows("example", since.isoformat())
    for work in ("count", "read", "build", "page"):
        if work == "read":
            rows = read_counts(store, "example", since, today)
        elif work == "build":
            report = build(rows, since, today)
        elif work == "page":
            render(report, texts, "Bench")
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
    store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    print("rows      count   read    build   page    total (s)")
    for platforms, languages in ((1, 2), (2, 4), (3, 8), (5, 12)):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            rows = fill(path, today, args.days, platforms, languages)
            times = measure(path, today)
            cells = "  ".join(f"{t:6.3f}" for t in times)
            print(f"{rows:<9} {cells}  {sum(times):6.3f}")


if __name__ == "__main__":
    main()
