"""Fixed memory: Concord's resident set with only the console, and with every adapter.

``python bench/footprint.py`` (from the repository root) prints the RSS of one process
that loaded the example community (every catalog, the dialogs, the code of conduct),
opened its SQLite store and built the engine, then created the adapters it was asked
for without connecting them. Run with ``--child console|all`` it measures itself;
without, it runs both in fresh processes. Needs the platform extras for ``all``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from measuring import proc_status

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Each platform's section as the README shows it; tokens are placeholders (nothing
# connects).
PLATFORMS = """
platforms:
  telegram:
    token_env: BENCH_TELEGRAM_TOKEN
    groups: [-1001234567890]
    moderators_chat: -1009876543210
  discord:
    token_env: BENCH_DISCORD_TOKEN
    guild: 123456789012345678
    moderators_channel: 223456789012345678
  matrix:
    homeserver: https://matrix.example.org
    user_id: "@concord:example.org"
    token_env: BENCH_MATRIX_TOKEN
    rooms: ["!abc:example.org"]
    moderators_room: "!mods:example.org"
"""
TOKENS = {
    "BENCH_TELEGRAM_TOKEN": "123456:bench-token-never-used",
    "BENCH_DISCORD_TOKEN": "bench.token.never-used",
    "BENCH_MATRIX_TOKEN": "bench-token-never-used",
}


async def measure(which: str, folder: Path) -> dict[str, Any]:
    from adapters.console.adapter import ConsoleAdapter
    from adapters.platforms import adapter_module, check_platforms
    from bot.app import build_engine
    from bot.config.community import load_config
    from bot.engine.host import AdapterHost

    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    config_path = folder / "concord.yaml"
    config_path.write_text(text + (PLATFORMS if which == "all" else ""), "utf-8")
    os.environ.update(TOKENS)
    config = load_config(config_path)
    engine = build_engine(config, folder / "concord.db")
    adapters: list[Any] = []
    if which == "all":
        host = AdapterHost(engine)
        for name, settings in check_platforms(config).items():
            adapter = adapter_module(name).create(settings, host)
            engine.add_adapter(adapter, ready=False)
            adapters.append(adapter)
    else:
        engine.add_adapter(ConsoleAdapter(print, config.moderators.channel))
    gc.collect()
    rss = proc_status()["VmRSS"]
    found = {"system": f"footprint-{which}", "rss": rss, "adapters": len(adapters)}
    engine.services.store.close()
    return found


def spawn(which: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", which]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"system": f"footprint-{which}", "error": done.stderr.strip().splitlines()[-1:]}
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def report() -> dict[str, Any]:
    """Both footprints, each from a fresh process, printed; returned for --json-out."""
    found: dict[str, Any] = {}
    for which, label in (("console", "only the console adapter"), ("all", "every adapter")):
        row = found[f"footprint_{which}"] = spawn(which)
        shown = row.get("error") or f"{row['rss'] / 2**20:.0f} MB"
        print(f"fixed RSS (engine built, nothing handled), {label}: {shown}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=("console", "all"))
    args = parser.parse_args(argv)
    if args.child:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(asyncio.run(measure(args.child, Path(folder)))))
        return 0
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
