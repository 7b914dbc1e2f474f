"""Headless Chromium (Debian ``chromium``) driven over the DevTools protocol, for
tests of pages Concord writes: loaded from a file, with a fresh profile, no network
beyond the loopback debugging port."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """One tab: ``call`` sends a DevTools command to it; ``requests`` are the URLs it
    asked for."""

    ws: aiohttp.ClientWebSocketResponse
    session: str
    requests: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        await self.ws.send_json(
            {"id": number, "method": method, "params": params, "sessionId": self.session}
        )
        while True:
            message = json.loads((await self.ws.receive(timeout=30)).data)
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        found = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return found["result"].get("value")


@contextlib.asynccontextmanager
async def open_page(url: str, profile: Path) -> AsyncIterator[Page]:
    binary = chromium()
    assert binary is not None
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().splitlines()) == 2:
                break
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().splitlines()
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as ws,
        ):
            browser = Page(ws, "")
            target = await _browser_call(browser, "Target.createTarget", url="about:blank")
            attached = await _browser_call(
                browser, "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            page = Page(ws, attached["sessionId"])
            await page.call("Network.enable")
            await page.call("Page.enable")
            await page.call("Page.navigate", url=url)
            for _ in range(300):
                if await page.evaluate("document.readyState") == "complete":
                    break
                await asyncio.sleep(0.1)
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _browser_call(browser: Page, method: str, **params: Any) -> dict[str, Any]:
    number = next(browser._ids)
    await browser.ws.send_json({"id": number, "method": method, "params": params})
    while True:
        message = json.loads((await browser.ws.receive(timeout=30)).data)
        if message.get("id") == number:
            return dict(message.get("result", {}))
