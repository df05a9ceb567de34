"""Infrastructure faults for live tests: a TCP proxy in front of PostgreSQL that a test cuts
and restores, and a migrated scratch database on the local server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from alembic import command

from conduit.cli import alembic_config
from tests.conftest import _postgres_scratch
from tests.live import free_port

POSTGRES = ("127.0.0.1", 5432)
ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def postgres_reachable() -> bool:
    """Whether PostgreSQL listens on 127.0.0.1:5432, whatever DATABASE_URL says."""
    try:
        socket.create_connection(POSTGRES, timeout=1).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, migrated to head; its name. Dropped after."""
    url, drop = _postgres_scratch(ADMIN_URL)
    try:
        command.upgrade(alembic_config(url), "head")
        yield url.rpartition("/")[2]
    finally:
        drop()


class TcpProxy:
    """A TCP forwarder the test can cut (close everything, refuse new connections) and
    restore, standing in for a database that becomes unreachable and comes back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):  # shutdown first: it wakes the other pump's recv
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
