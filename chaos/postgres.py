"""A PostgreSQL server of its own, in a temporary directory on a port of its own: started,
stopped, restarted, frozen and copied into a streaming replica, as the fault suite and the
replica tests need. Never the machine's shared server.

The binaries are Debian's (`/usr/lib/postgresql/<version>/bin`). PostgreSQL refuses to run
as root, so under root every command runs as the `postgres` user, which owns the directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

_ROOT = Path("/usr/lib/postgresql")


def binaries() -> Path | None:
    """The newest installed server's bin directory, or None when there is none."""
    versions = sorted(
        (p for p in _ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Postgres:
    """One server: its data directory, its port, and the commands that act on it."""

    def __init__(self, port: int, data: Path, bin_dir: Path) -> None:
        self.port = port
        self.data = data
        self.bin = bin_dir
        self.log = data.parent / f"postgres-{port}.log"

    @classmethod
    def create(cls, port: int, settings: dict[str, str] | None = None) -> Postgres:
        """A new, empty cluster (trust auth on 127.0.0.1, replication allowed), started."""
        server = cls(port, _scratch_dir() / "data", _bin())
        server._run(
            "initdb",
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        server.configure({"wal_level": "replica", "max_wal_senders": "5", **(settings or {})})
        server.start()
        return server

    def replica(self, port: int) -> Postgres:
        """A streaming replica of this server (pg_basebackup -R), started on `port`."""
        replica = Postgres(port, _scratch_dir() / "data", self.bin)
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-D",
            str(replica.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",  # a spread checkpoint would keep the copy waiting on it
            "--no-sync",
        )
        replica.configure({"hot_standby": "on"})
        replica.start()
        return replica

    def configure(self, settings: dict[str, str]) -> None:
        """Append settings to postgresql.conf (a later line wins); the port and the socket
        directory are always this server's own."""
        own = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.data.parent}'",
        }
        lines = [f"{name} = {value}" for name, value in {**settings, **own}.items()]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (clients disconnected, a clean shutdown) or `immediate`
        (as a crash: recovery on the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql; its output, unaligned, without headers."""
        out = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            statement,
        )
        return out.strip()

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _pids(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the server and its processes: connections stay open, nothing answers."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        """Stop it at once (if it runs) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            self.thaw()
            subprocess.run(
                _as_owner(
                    [
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ]
                ),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.data.parent, ignore_errors=True)

    def wait_replaying(self, timeout: float = 30.0) -> None:
        """Wait until this replica accepts queries."""
        deadline = time.monotonic() + timeout
        while self.sql("SELECT pg_is_in_recovery()") != "t" and time.monotonic() < deadline:
            time.sleep(0.2)

    def _run(self, program: str, *args: str) -> str:
        argv = _as_owner([str(self.bin / program), *args])
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout


def _bin() -> Path:
    found = binaries()
    if found is None:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found


def _scratch_dir() -> Path:
    """A new directory the server's user owns (a data directory is created inside it)."""
    path = Path(tempfile.mkdtemp(prefix="conduit-pg-"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path
