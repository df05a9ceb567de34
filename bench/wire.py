"""A TCP proxy between the app and PostgreSQL that groups the client's messages by round trip."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field


@dataclass
class Wire:
    """The client's messages, grouped by round trip (a Sync, or a simple Query)."""

    recording: bool = False
    trips: list[list[str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    names: dict[bytes, str] = field(default_factory=dict)  # prepared statement -> SQL

    def message(self, kind: bytes, payload: bytes) -> None:
        if kind == b"P":
            name, _, rest = payload.partition(b"\0")
            sql = rest.partition(b"\0")[0].decode()
            self.names[name] = sql
            self.pending.append("Parse " + sql)
        elif kind == b"B":
            _portal, _, rest = payload.partition(b"\0")
            name = rest.partition(b"\0")[0]
            self.pending.append("Bind/Execute " + self.names.get(name, name.decode()))
        elif kind == b"Q":
            self.pending.append("Query " + payload.rstrip(b"\0").decode())
            self._trip()
        elif kind == b"S":
            self._trip()

    def _trip(self) -> None:
        if self.recording:
            self.trips.append(self.pending)
        self.pending = []


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _client_side(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire
) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:  # untyped messages: SSLRequest (answered by the server), StartupMessage
            head = await reader.readexactly(8)
            rest = await reader.readexactly(struct.unpack("!I", head[:4])[0] - 8)
            writer.write(head + rest)
            if struct.unpack("!I", head[4:])[0] != 80877103:
                break
        while True:
            head = await reader.readexactly(5)
            payload = await reader.readexactly(struct.unpack("!I", head[1:])[0] - 4)
            wire.message(head[:1], payload)
            writer.write(head + payload)
            await writer.drain()
    writer.close()


async def start_proxy(host: str, port: int, wire: Wire) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_client_side(reader, up_writer, wire), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
