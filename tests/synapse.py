"""A real Synapse homeserver on loopback for the Matrix tests, and member clients.

One server per test session (about 3 s to start): a hand-written config with SQLite,
every rate limiter raised, no federation and no presence. Users are registered through
the shared-secret admin API. Members are real matrix-nio clients with their own crypto
store, so encrypted rooms are exercised end to end. Import this module only after
``pytest.importorskip("nio")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (  # type: ignore[import-untyped]
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MegolmEvent,
    SyncResponse,
    UnknownEvent,
)

SERVER_NAME = "concord.test"
_OPEN = {"per_second": 10_000, "burst_count": 100_000}
_LIMITERS = {
    "rc_message": _OPEN,
    "rc_registration": _OPEN,
    "rc_login": {"address": _OPEN, "account": _OPEN, "failed_attempts": _OPEN},
    "rc_joins": {"local": _OPEN, "remote": _OPEN},
    "rc_joins_per_room": _OPEN,
    "rc_invites": {"per_room": _OPEN, "per_user": _OPEN, "per_issuer": _OPEN},
    "rc_room_creation": _OPEN,
    "rc_3pid_validation": _OPEN,
    "rc_presence": {"per_user": _OPEN},
    "rc_profile": _OPEN,
    "rc_user_directory": _OPEN,
    "rc_admin_redaction": _OPEN,
    "rc_media_create": _OPEN,
    "rc_key_requests": _OPEN,
    "rc_third_party_invite": _OPEN,
    "rc_reports": _OPEN,
    "rc_delayed_event_mgmt": _OPEN,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str
    device_id: str


class Synapse:
    """A Synapse process; ``url`` is its client API on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def _config(self) -> dict[str, Any]:
        folder = self.folder
        return {
            "server_name": SERVER_NAME,
            "pid_file": str(folder / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "type": "http",
                    "tls": False,
                    "bind_addresses": ["127.0.0.1"],
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
            "media_store_path": str(folder / "media"),
            "signing_key_path": str(folder / "signing.key"),
            "log_config": None,
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "user_directory": {"enabled": False},
            "bcrypt_rounds": 4,
            "url_preview_enabled": False,
            "enable_metrics": False,
            **_LIMITERS,
        }

    def start(self, timeout: float = 60.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "homeserver.yaml"
        config.write_text(json.dumps(self._config()), "utf-8")  # JSON is valid YAML
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)]
        subprocess.run(
            [*command, "--generate-keys"],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.folder,
        )
        self._log = (self.folder / "homeserver.log").open("wb")
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.folder
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited; see {self.folder / 'homeserver.log'}")
            with contextlib.suppress(OSError):
                self.request("GET", "/_matrix/client/versions")
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("synapse did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        """A blocking JSON request to the server (set-up only, never inside a test's loop)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read() or b"{}")
            return result

    def register(self, localpart: str, admin: bool = False) -> Account:
        """A new user through the shared-secret admin API (HMAC-SHA1 over the fields)."""
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        password = secrets.token_hex(8)
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password, "admin" if admin else "notadmin"):
            if part != nonce:
                mac.update(b"\x00")
            mac.update(part.encode())
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        answer = self.request("POST", "/_synapse/admin/v1/register", body)
        return Account(answer["user_id"], answer["access_token"], answer["device_id"])

    async def bulk_users(
        self, admin: Account, localparts: list[str], room_id: str, parallel: int = 16
    ) -> list[str]:
        """Many users at once through the admin API (no devices, no passwords), each
        joined to ``room_id`` by the admin join API; their user ids. Bounded: ``parallel``
        requests at a time, each with a timeout."""
        limit = asyncio.Semaphore(parallel)
        headers = {"Authorization": f"Bearer {admin.token}"}
        timeout = aiohttp.ClientTimeout(total=30)

        async def one(session: aiohttp.ClientSession, localpart: str) -> str:
            user_id = f"@{localpart}:{SERVER_NAME}"
            async with limit:
                path = f"{self.url}/_synapse/admin/v2/users/{user_id}"
                async with session.put(path, json={"displayname": localpart}) as response:
                    response.raise_for_status()
                path = f"{self.url}/_synapse/admin/v1/join/{room_id}"
                async with session.post(path, json={"user_id": user_id}) as response:
                    response.raise_for_status()
            return user_id

        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            return list(await asyncio.gather(*(one(session, name) for name in localparts)))

    def rate_limited(self, user: str = "") -> int:
        """How many requests (of ``user``, or of anyone) the server answered with 429,
        counted in its own access log."""
        if self._log is not None:
            self._log.flush()
        log = self.folder / "homeserver.log"
        if not log.exists():
            return 0
        who = f"{{{user}}}" if user else ""
        return sum(
            1
            for line in log.read_text("utf-8", errors="replace").splitlines()
            if "synapse.access.http" in line and ' 429 "' in line and who in line
        )

    def room_events(self, admin: Account, room_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The latest events of a room, through the admin API (blocking)."""
        path = f"/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit={limit}"
        events: list[dict[str, Any]] = self.request("GET", path, token=admin.token)["chunk"]
        return events


def synapse_server(fallback: Path) -> Iterator[Synapse]:
    """The body of a session fixture: start, yield, always stop. Synapse commits every
    event to SQLite with an fsync, which dominates its speed on a disk; where there is a
    memory file system (/dev/shm) its files go there (about twice as fast), removed at
    the end; otherwise into ``fallback``."""
    with memory_folder() as folder:
        server = Synapse(folder or fallback)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def memory_folder() -> Iterator[Path | None]:
    """A temporary folder on /dev/shm, or None where there is none to write to."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="concord-synapse-", dir=shm) as name:
        yield Path(name)


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


# Member clients ------------------------------------------------------------------------


@dataclass
class Received:
    room_id: str
    event_id: str
    sender: str
    type: str
    content: dict[str, Any]
    encrypted: bool

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


@dataclass
class Member:
    """A member's own matrix-nio client with a crypto store: it accepts invites, keeps
    every message it receives (decrypted where the room is encrypted) and can wait for
    the bot's answers."""

    server: Synapse
    account: Account
    store: Path
    client: Any = None
    received: list[Received] = field(default_factory=list)
    seen: int = 0

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def start(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True, max_limit_exceeded=0, max_timeouts=0, request_timeout=20
        )
        self.client = AsyncClient(
            self.server.url,
            self.account.user_id,
            self.account.device_id,
            store_path=str(self.store),
            config=config,
        )
        self.client.restore_login(self.account.user_id, self.account.device_id, self.account.token)
        await self.sync(0)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def sync(self, timeout_ms: int = 300) -> None:
        response = await self.client.sync(timeout=timeout_ms)
        assert isinstance(response, SyncResponse), response
        for room_id, info in response.rooms.invite.items():
            if any(isinstance(e, InviteMemberEvent) for e in info.invite_state):
                await self.client.join(room_id)
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                source = event.source
                if isinstance(event, MegolmEvent):
                    kind = "undecryptable"
                elif isinstance(event, UnknownEvent):
                    kind = event.type
                else:
                    kind = source.get("type", "")
                decrypted = getattr(event, "decrypted", False)
                content = source.get("content", {})
                self.received.append(
                    Received(room_id, event.event_id, event.sender, kind, content, decrypted)
                )
        await self._keys()

    async def _keys(self) -> None:
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def wait_for(
        self, match: Callable[[Received], bool], timeout: float = 15.0, count: int = 1
    ) -> list[Received]:
        """Sync until ``count`` new received messages match; the matched ones are consumed
        (a later wait only sees what came after them)."""
        async with asyncio.timeout(timeout):
            while True:
                found = [r for r in self.received[self.seen :] if match(r)]
                if len(found) >= count:
                    last = self.received.index(found[count - 1], self.seen)
                    self.seen = last + 1
                    return found[:count]
                await self.sync()

    async def from_bot(
        self, bot: str, contains: str = "", room: str | None = None, timeout: float = 15.0
    ) -> Received:
        def match(r: Received) -> bool:
            return (
                r.sender == bot
                and r.type == "m.room.message"
                and contains in r.body
                and (room is None or r.room_id == room)
            )

        return (await self.wait_for(match, timeout))[0]

    async def say(self, room_id: str, text: str) -> str:
        while room_id not in self.client.rooms:  # joined, but not synced yet
            await self.sync()
        response = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        return str(response.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        await self.client.room_send(room_id, "m.reaction", content, ignore_unverified_devices=True)
