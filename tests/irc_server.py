"""A real IRC server on loopback for the IRC tests, member clients, and a SASL stand-in.

The server is InspIRCd 3 (Debian package ``inspircd``; .ci/run installs it), started
per test from a hand-written config: one loopback listener, no DNS or ident lookups,
no fake lag, the bot mode module (+B, ``BOT=B``). It registers a client about a
second after its NICK and USER (InspIRCd finishes registrations on its one-second
tick), so members connect concurrently.

SASL needs services behind InspIRCd (its m_sasl only relays to them) and ngIRCd has no
SASL at all, so the SASL tests talk to ``SaslStandIn``: a small loopback server that
speaks the IRCv3 CAP and AUTHENTICATE exchange (PLAIN, and EXTERNAL over TLS with a
client certificate), registers, and answers JOIN and PING; anything else gets
``421 Unknown command``, so a gap fails loudly.

Members are raw asyncio stream clients: they register, join, say, and record every
PRIVMSG they receive with its arrival time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_CONFIG = """
<server name="irc.test" description="Concord tests" network="ConcordTest">
<admin name="test" nick="test" email="test@irc.test">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect name="main" allow="127.0.0.1" maxchans="50" timeout="20" pingfreq="120"
  sendq="1048576" recvq="65536" threshold="100000" commandrate="100000000" fakelag="no"
  localmax="1000" globalmax="1000" useident="no" resolvehostnames="no">
<files motd="{dir}/motd">
<pid file="{dir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{dir}/ircd.log">
<dns timeout="1" server="127.0.0.1">
<options prefixquit="Quit: " allowhalfop="no">
<security hidesplits="no" announceinvites="dynamic" genericoper="no">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxquit="255" maxtopic="307"
  maxkick="255" maxreal="128" maxaway="200">
<performance netbuffersize="10240" somaxconn="128" softlimit="1024" quietbursts="yes">
<module name="cap">
<module name="ircv3">
<module name="botmode">
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ircd_binary() -> str:
    found = shutil.which("inspircd") or shutil.which("inspircd", path="/usr/sbin:/usr/bin")
    if found is None:
        raise RuntimeError("the IRC tests need InspIRCd 3: apt-get install inspircd")
    return found


class InspIRCd:
    """One InspIRCd on a free loopback port; ``restart`` keeps the port."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "motd").write_text("Concord tests\n")
        (directory / "inspircd.conf").write_text(_CONFIG.format(port=self.port, dir=directory))

    def start(self) -> None:
        config = self.dir / "inspircd.conf"
        self.process = subprocess.Popen(
            [ircd_binary(), f"--config={config}", "--nofork", "--runasroot"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"inspircd exited: see {self.dir / 'ircd.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.02)
        raise RuntimeError("inspircd did not start listening")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """The server stops reading (SIGSTOP), as a link that silently died: lines
        sent to it pile up unread."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def crash_and_start(self) -> None:
        """Killed without a goodbye (SIGKILL), then started again on the same port:
        whatever it had not read is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None
        self.start()


@dataclass
class Heard:
    at: float
    source: str  # the sender's nick
    target: str
    text: str
    size: int  # bytes of the line as it arrived, CRLF included


@dataclass
class Member:
    """A member's IRC client on raw asyncio streams."""

    nick: str
    port: int
    received: list[Heard] = field(default_factory=list)
    numerics: list[list[str]] = field(default_factory=list)
    joins: list[tuple[str, str]] = field(default_factory=list)  # (nick, channel)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    pongs: set[str] = field(default_factory=set)
    notices: list[Heard] = field(default_factory=list)  # from users, not the server

    async def connect(self, user: str | None = None) -> Member:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.task = asyncio.create_task(self._read())
        await self.send(f"NICK {self.nick}")
        await self.send(f"USER {user or self.nick} 0 * :{self.nick} the member")
        await self.wait_for(lambda: any(n[0] == "001" for n in self.numerics), 10)
        return self

    async def send(self, line: str) -> None:
        assert self.writer is not None
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()

    async def say(self, target: str, text: str) -> None:
        await self.send(f"PRIVMSG {target} :{text}")

    async def join(self, channel: str) -> None:
        await self.send(f"JOIN {channel}")
        await self.wait_for(lambda: (self.nick.lower(), channel.lower()) in self._joined(), 10)

    def _joined(self) -> set[tuple[str, str]]:
        return {(n.lower(), c.lower()) for n, c in self.joins}

    def texts(self, source: str | None = None, target: str | None = None) -> list[str]:
        return [
            h.text
            for h in self.received
            if (source is None or h.source.lower() == source.lower())
            and (target is None or h.target.lower() == target.lower())
        ]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    async def settle(self, quiet: float = 0.3) -> None:
        """Until nothing arrived for ``quiet`` seconds (the rest of a reply)."""
        while True:
            count = len(self.received)
            await asyncio.sleep(quiet)
            if len(self.received) == count:
                return

    async def sync(self) -> None:
        """Until the server answered a PING: whatever it sent before is read."""
        token = f"sync-{time.monotonic_ns()}"
        self.pongs.discard(token)
        await self.send(f"PING :{token}")
        await self.wait_for(lambda: token in self.pongs)

    async def whois(self, nick: str) -> list[list[str]]:
        start = len(self.numerics)
        await self.send(f"WHOIS {nick}")
        await self.wait_for(lambda: any(n[0] == "318" for n in self.numerics[start:]))
        return self.numerics[start:]

    async def _read(self) -> None:
        assert self.reader is not None
        while line := await self.reader.readline():
            self._take(line.decode("utf-8", "replace").rstrip("\r\n"), len(line))
            self.changed.set()
        self.changed.set()

    def _take(self, line: str, size: int) -> None:
        source, command, params = parse(line)
        nick = source.split("!")[0]
        if command == "PING":
            assert self.writer is not None
            self.writer.write(f"PONG :{params[-1]}\r\n".encode())
        elif command == "PRIVMSG":
            self.received.append(Heard(time.monotonic(), nick, params[0], params[1], size))
        elif command == "JOIN":
            self.joins.append((nick, params[0]))
        elif command == "PONG":
            self.pongs.add(params[-1])
        elif command == "NOTICE" and "!" in source:
            self.notices.append(Heard(time.monotonic(), nick, params[0], params[-1], size))
        elif command.isdigit():
            self.numerics.append([command, *params])

    async def quit(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.write(b"QUIT :bye\r\n")
                await self.writer.drain()
            self.writer.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


def parse(line: str) -> tuple[str, str, list[str]]:
    """(source, command, params) of one IRC line."""
    if line.startswith("@"):
        line = line.split(" ", 1)[1]
    source = ""
    if line.startswith(":"):
        source, line = line[1:].split(" ", 1)
    head, sep, trailing = line.partition(" :")
    words = head.split()
    params = words[1:] + ([trailing] if sep else [])
    return source, words[0].upper(), params


class SaslStandIn:
    """Speaks the IRCv3 CAP / AUTHENTICATE exchange (PLAIN, EXTERNAL) and registers.

    ``accounts``: PLAIN account -> password; ``fingerprints``: SHA-256 of client
    certificates (DER) accepted for EXTERNAL -> account."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.accounts: dict[str, str] = {}
        self.fingerprints: dict[str, str] = {}
        self.logins: list[tuple[str, str]] = []  # (mechanism, account)
        self.failures: list[str] = []
        self.unknown: list[str] = []
        self.realnames: list[str] = []
        self.joined: list[str] = []
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = _Session(writer)
        self.writers.append(writer)
        cert = writer.get_extra_info("ssl_object")
        der = cert.getpeercert(binary_form=True) if cert is not None else None
        state.fingerprint = hashlib.sha256(der).hexdigest() if der else None
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                await self._line(state, *parse(line.decode().rstrip("\r\n")))
        writer.close()

    async def _line(self, s: _Session, source: str, command: str, params: list[str]) -> None:
        if command == "CAP" and params[0] == "LS":
            s.capping = True
            s.put(":standin CAP * LS :sasl=PLAIN,EXTERNAL")
        elif command == "CAP" and params[0] == "REQ":
            s.put(f":standin CAP * ACK :{params[1]}")
        elif command == "CAP" and params[0] == "END":
            s.capping = False
        elif command == "AUTHENTICATE":
            self._authenticate(s, params[0])
        elif command == "NICK":
            s.nick = params[0]
        elif command == "USER":
            s.user = params[0]
            self.realnames.append(params[-1])
        elif command == "PING":
            s.put(f":standin PONG standin :{params[-1]}")
        elif command == "JOIN":
            for channel in params[0].split(","):
                self.joined.append(channel)
                s.put(f":{s.nick}!{s.user}@127.0.0.1 JOIN {channel}")
        elif command == "WHO":
            s.put(f":standin 315 {s.nick} {params[0]} :End of /WHO list.")
        elif command == "WHOIS":
            s.put(f":standin 318 {s.nick} {params[0]} :End of /WHOIS list.")
        elif command in ("MODE", "QUIT", "PRIVMSG"):
            pass
        else:
            self.unknown.append(command)
            s.put(f":standin 421 {s.nick or '*'} {command} :Unknown command")
        if s.nick and s.user and not s.capping and not s.welcomed:
            s.welcomed = True
            for numeric in ("001", "375", "376"):
                s.put(f":standin {numeric} {s.nick} :welcome")
        await s.writer.drain()

    def _authenticate(self, s: _Session, value: str) -> None:
        if value in ("PLAIN", "EXTERNAL"):
            s.mechanism = value
            s.put("AUTHENTICATE +")
            return
        if value == "*":
            s.put(f":standin 906 {s.nick or '*'} :SASL authentication aborted")
            return
        account = None
        if s.mechanism == "PLAIN":
            _, user, password = base64.b64decode(value).split(b"\0")
            if self.accounts.get(user.decode()) == password.decode():
                account = user.decode()
        elif s.mechanism == "EXTERNAL" and s.fingerprint is not None:
            account = self.fingerprints.get(s.fingerprint)
        if account is None:
            self.failures.append(s.mechanism)
            s.put(f":standin 904 {s.nick or '*'} :SASL authentication failed")
            return
        self.logins.append((s.mechanism, account))
        s.put(f":standin 900 {s.nick or '*'} x {account} :You are now logged in as {account}")
        s.put(f":standin 903 {s.nick or '*'} :SASL authentication successful")


@dataclass
class _Session:
    writer: asyncio.StreamWriter
    nick: str = ""
    user: str = ""
    capping: bool = False
    welcomed: bool = False
    mechanism: str = ""
    fingerprint: str | None = None

    def put(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")


def certificate(directory: Path, name: str) -> tuple[Path, Path, str]:
    """A self-signed certificate and key for ``name`` (PEM files in ``directory``) and
    the SHA-256 fingerprint of the certificate, as IRC services record it."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert_path, key_path, hashlib.sha256(der).hexdigest()


def tls_server_context(directory: Path, client_ca: Path) -> ssl.SSLContext:
    """A TLS server context that asks for a client certificate issued by ``client_ca``."""
    cert, key, _ = certificate(directory, "server")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(client_ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
