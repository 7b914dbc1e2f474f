"""Waiting times as histogram buckets: health counts keep how many waited about this
long, never how long one person waited."""

from __future__ import annotations

from datetime import timedelta

# (name, upper bound); the last has none.
BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt1h", timedelta(hours=1)),
    ("1h-6h", timedelta(hours=6)),
    ("6h-1d", timedelta(days=1)),
    ("1d-3d", timedelta(days=3)),
    ("3d-7d", timedelta(days=7)),
    ("gt7d", None),
)
BUCKET_NAMES: tuple[str, ...] = tuple(name for name, _ in BUCKETS)


def bucket_of(waited: timedelta) -> str:
    """The bucket a wait falls in: ``lt1h`` for under an hour, ..., ``gt7d``."""
    for name, bound in BUCKETS:
        if bound is None or waited < bound:
            return name
    return BUCKET_NAMES[-1]
