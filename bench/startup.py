"""Startup: how long ``concord check`` and ``concord chat`` take to answer."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_startup(runs: int, root: Path) -> dict[str, Any]:
    """Medians over runs, with the repository root as the working directory."""
    python = sys.executable
    check_times: list[float] = []
    prompt_times: list[float] = []
    reply_times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [python, "-m", "adapters.cli", "check"], cwd=root, check=True, capture_output=True
        )
        check_times.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            chat = subprocess.Popen(
                [python, "-u", "-m", "adapters.cli", "chat", "--db", f"{folder}/c.db"],
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert chat.stdin is not None and chat.stdout is not None
            chat.stdout.readline()  # "Concord console: ..."
            prompt_times.append(time.perf_counter() - start)
            chat.stdout.readline()  # the help line
            chat.stdin.write("ana joins\n")
            chat.stdin.flush()
            chat.stdout.readline()  # the welcome
            reply_times.append(time.perf_counter() - start)
            chat.stdin.close()
            chat.wait(timeout=60)
    return {
        "system": "startup",
        "check_s": statistics.median(check_times),
        "chat_prompt_s": statistics.median(prompt_times),
        "chat_first_reply_s": statistics.median(reply_times),
        "runs": runs,
    }
