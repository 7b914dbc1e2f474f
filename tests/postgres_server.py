"""A real, throwaway PostgreSQL cluster for the tests, on loopback.

Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl``; PostgreSQL refuses
to run as root, so as root they run as the ``postgres`` user (``runuser``). The cluster
lives in a temporary folder, listens on 127.0.0.1 on a free port with password
(SCRAM) authentication, and is stopped and removed at the end of the session. Each
test gets a database of its own, owned by an ordinary role. A run killed before its
end leaves its server running: the next run stops it and removes its folder
(``reap_abandoned``), each folder naming the process of the run it belongs to.

Where the binaries are missing the tests fail, saying how to get them; a developer may
set ``CONCORD_ALLOW_NO_POSTGRES=1`` to skip them instead (CI never does).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
ROLE = "concord"
PASSWORD = "s3cret-for-tests"
ALLOW_MISSING = "CONCORD_ALLOW_NO_POSTGRES"
HOW_TO_GET = "install the Debian package: apt-get install -y postgresql"
PREFIX = "concord-pg-"  # of every cluster's folder
OWNER = "owner"  # the file in it with the process id of the run it belongs to


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version, reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    bin_dir: Path
    folder: Path
    port: int
    as_user: list[str]

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / program), *args],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )

    def url(self, database: str, user: str = ROLE, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        admin_url = self.url("postgres", SUPERUSER, PASSWORD)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A fresh, empty database owned by the ordinary role: its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url(name)

    def stop(self, mode: str = "immediate") -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "stop")

    def start(self) -> None:
        """Start the server (again), on the same port and folder."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=60"
        )
        data, log = str(self.folder / "data"), str(self.folder / "log")
        self.run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")


def start_cluster() -> Cluster:
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise FileNotFoundError(f"no PostgreSQL server binaries (initdb): {HOW_TO_GET}")
    as_user = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
    reap_abandoned(bin_dir, as_user)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    (folder / OWNER).write_text(str(os.getpid()))
    if as_user:
        shutil.chown(folder, SUPERUSER)
    (folder / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(folder / "pw", SUPERUSER)
    cluster = Cluster(bin_dir, folder, free_port(), as_user)
    data = str(folder / "data")
    cluster.run(
        "initdb", "-D", data, "-U", SUPERUSER, "--pwfile", str(folder / "pw"),
        "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C",
    )  # fmt: skip
    cluster.start()
    cluster.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    return cluster


def reap_abandoned(bin_dir: Path, as_user: list[str]) -> list[Path]:
    """Stop and remove the clusters of runs that ended without doing so (killed, or
    interrupted twice): those whose folder names a process that is gone. A folder
    naming none (being made, or made before folders named one) is left alone."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        stop = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate"]
        subprocess.run([*stop, "stop"], capture_output=True, check=False)  # (if it runs)
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder)
    return reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


def missing_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if _bin_dir() is None:
        return f"no PostgreSQL server binaries (initdb): {HOW_TO_GET}"
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        return f"psycopg cannot be imported ({exc}): pip install -c constraints.txt '.[test]'"
    return None


def own_cluster() -> Iterator[Cluster]:
    """A cluster of the caller's own (to stop and start again), removed afterwards."""
    reason = missing_reason()
    if reason is not None:
        if os.environ.get(ALLOW_MISSING) == "1":
            pytest.skip(f"{reason} ({ALLOW_MISSING}=1)")
        pytest.fail(f"{reason}; or set {ALLOW_MISSING}=1 to skip these tests", pytrace=False)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        try:
            if cluster.folder.exists():  # (not removed as abandoned)
                with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
                    cluster.stop()
        finally:
            shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    yield from own_cluster()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """A fresh empty database on the test cluster, owned by an ordinary role."""
    return postgres_cluster.new_database()
