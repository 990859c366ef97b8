"""A small client for ClamAV's daemon (clamd): the INSTREAM command over its socket.

Why our own: the maintained asyncio client on PyPI (aioclamd 1.1) speaks TCP only and reads
from a file object, while Debian's clamd listens on a unix socket by default and Confer's files
come out of PostgreSQL chunk by chunk. The protocol is small (clamd(8), "INSTREAM"):

    zINSTREAM\\0, then each chunk as a 4-byte big-endian length and its bytes, then a zero
    length; clamd answers one NUL-terminated line: "stream: OK", "stream: <name> FOUND" or
    "<reason> ERROR" (for instance "INSTREAM size limit exceeded. ERROR" past StreamMaxLength).

This module knows nothing of files or the database: it scans an async stream of bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterable
from dataclasses import dataclass

# clamd's answer is one short line; more than this is not clamd.
_MAX_ANSWER = 4096


class ScannerUnavailable(Exception):
    """clamd could not be reached, or did not finish: the file waits and is tried again."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""  # the name of what was found, when not clean


def _address(socket: str) -> tuple[str, str | int]:
    """CLAMD_SOCKET: a unix socket's path (starts with "/"), or host:port."""
    if socket.startswith("/"):
        return ("unix", socket)
    host, _, port = socket.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


async def _connect(socket: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    kind, where = _address(socket)
    if kind == "unix":
        return await asyncio.open_unix_connection(str(where))
    return await asyncio.open_connection(kind, int(where))


async def instream(socket: str, chunks: AsyncIterable[bytes], *, limit: float) -> Verdict:
    """Scan the bytes of `chunks` with the clamd at `socket`.

    Raises ScannerUnavailable when clamd cannot be reached, stops answering within `limit`
    seconds, or answers with an error: the caller keeps the file unserved and tries later."""
    try:
        async with asyncio.timeout(limit):
            reader, writer = await _connect(socket)
            try:
                writer.write(b"zINSTREAM\0")
                async for chunk in chunks:
                    # One chunk at a time: only what PostgreSQL handed over is in memory.
                    for start in range(0, len(chunk), 1 << 20):
                        piece = chunk[start : start + (1 << 20)]
                        writer.write(struct.pack("!L", len(piece)) + piece)
                        await writer.drain()
                writer.write(struct.pack("!L", 0))
                await writer.drain()
                answer = await reader.readuntil(b"\0")
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
    except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, ValueError) as e:
        raise ScannerUnavailable(f"{type(e).__name__}: {e}") from None
    except asyncio.LimitOverrunError:
        raise ScannerUnavailable("clamd's answer was too long") from None
    return parse_answer(answer[:_MAX_ANSWER].rstrip(b"\0").decode("utf-8", "replace"))


def parse_answer(line: str) -> Verdict:
    """clamd's one line: "stream: OK", "stream: <signature> FOUND", or an ERROR."""
    if line.endswith(" FOUND"):
        name = line.removesuffix(" FOUND")
        name = name.split(": ", 1)[1] if ": " in name else name
        return Verdict(clean=False, signature=name)
    if line.endswith(": OK"):
        return Verdict(clean=True)
    raise ScannerUnavailable(f"clamd answered {line!r}")


async def ping(socket: str, *, limit: float = 5.0) -> bool:
    """True if clamd answers PONG."""
    try:
        async with asyncio.timeout(limit):
            reader, writer = await _connect(socket)
            try:
                writer.write(b"zPING\0")
                await writer.drain()
                return (await reader.readuntil(b"\0")).rstrip(b"\0") == b"PONG"
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
    except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        return False
