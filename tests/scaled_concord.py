"""``concord`` (``python -m adapters.cli``) with the Telegram adapter made, as
tests/test_telegram.py makes it with ``create(..., limits)``, for a bot whose overall
flood limit is ``tests.chaos_workload.LIMITS``: the many-process test's stand-in
enforces the same limits. Nothing else differs from ``concord run``.

Telegram's documented 30 messages a second for one bot would make a thousand members'
onboarding last over ten minutes; the per-chat and per-group limits stay Telegram's."""

from __future__ import annotations

import sys

from adapters.cli import main
from adapters.telegram import adapter
from tests.chaos_workload import LIMITS

if __name__ == "__main__":
    adapter.create.__defaults__ = (LIMITS,)
    sys.exit(main())
