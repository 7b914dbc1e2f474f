"""IRC lines out: what the PING after each line costs, and the default pacing, measured
against a real InspIRCd on loopback (apt-get install inspircd).

Run from the repository root: ``python bench/irc_lines.py [--lines N]``. Prints the lines
a second the adapter delivers unpaced (each confirmed by the server before the next)
and the arrival times of 10 lines at the default pacing (1 a second, bursts of 4).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.irc.adapter import IrcAdapter, create  # noqa: E402
from adapters.irc.settings import parse  # noqa: E402
from bot.app import build_engine  # noqa: E402
from bot.config.community import load_config  # noqa: E402
from bot.core.actions import Say  # noqa: E402
from bot.core.events import Place, PlaceKind  # noqa: E402
from bot.engine.host import AdapterHost  # noqa: E402
from tests.irc_server import InspIRCd, Member  # noqa: E402


async def adapter_on(
    port: int, folder: Path, **irc: object
) -> tuple[IrcAdapter, asyncio.Task[None]]:
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    section = {
        "host": "127.0.0.1",
        "port": port,
        "tls": False,
        "operator": "bench",
        "channels": ["#bench"],
        **irc,
    }
    path = folder / f"concord-{len(irc)}.yaml"
    path.write_text(text + "\nplatforms:\n  irc: " + json.dumps(section) + "\n", "utf-8")
    config = load_config(path)
    engine = build_engine(config, folder / f"db-{len(irc)}")
    adapter = create(parse(config.platforms["irc"]), AdapterHost(engine))
    task = asyncio.create_task(adapter.run())
    while adapter.sender.connection is None:
        await asyncio.sleep(0.05)
    return adapter, task


async def measure(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ircd = InspIRCd(folder / "ircd")
        ircd.start()
        try:
            member = await Member("reader", ircd.port).connect()
            to = Place("irc", PlaceKind.DIRECT, "reader")
            adapter, task = await adapter_on(ircd.port, folder, send_rate=10_000, send_burst=10_000)
            start = time.perf_counter()
            for n in range(lines):
                await adapter.deliver(Say(to, f"line {n}"), f"k{n}")
            elapsed = time.perf_counter() - start
            print(
                f"unpaced, each line confirmed: {lines} lines in {elapsed:.2f} s,"
                f" {lines / elapsed:,.0f} lines/s, {1000 * elapsed / lines:.2f} ms a line"
            )
            task.cancel()
            await adapter.close()

            paced, task = await adapter_on(ircd.port, folder)  # the defaults: 1/s, bursts of 4
            await member.wait_for(lambda: len(member.received) >= lines, 30)
            first = len(member.received)
            for n in range(10):
                await paced.deliver(Say(to, f"paced {n}"), f"p{n}")
            await member.wait_for(lambda: len(member.received) >= first + 10, 30)
            times = [h.at for h in member.received[first:]]
            print(
                "default pacing, arrival of 10 lines (s):",
                " ".join(f"{t - times[0]:.2f}" for t in times),
            )
            task.cancel()
            await paced.close()
            await member.quit()
        finally:
            ircd.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500)
    asyncio.run(measure(parser.parse_args().lines))
