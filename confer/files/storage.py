"""Where a file's bytes live: PostgreSQL, in chunks (the `file_chunks` table).

This is the whole interface between Confer and its storage (docs/architecture.md, "Files"):

- `ChunkWriter(con, file_id)`: `await write(data)` any number of times inside the caller's
  transaction, then `await finish()` for the size, the number of chunks and the SHA-256;
- `read(pool, file_id, chunks)`: the bytes again, one chunk at a time;
- `delete(con, file_id)`: the bytes gone (the row in `files` stays, for the record).

At most one chunk (CHUNK_BYTES) is held in memory while writing, and one while reading: a
50 MB file never sits whole in a server. Reading takes a connection from the pool for one
chunk at a time, so a slow download does not hold a connection for its whole length.
An object store (S3 and the like) would implement these three with the same shapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# 256 KiB: large enough that a 50 MB file is 200 rows (one INSERT each), small enough that a
# few concurrent uploads and downloads stay a few megabytes of memory.
CHUNK_BYTES = 256 * 1024

INSERT_CHUNK = "INSERT INTO file_chunks (file_id, seq, data) VALUES ($1, $2, $3)"
FETCH_CHUNK = "SELECT data FROM file_chunks WHERE file_id = $1 AND seq = $2"
DELETE_CHUNKS = "DELETE FROM file_chunks WHERE file_id = $1"


class ChunkWriter:
    """Writes one file's bytes as chunks, in the caller's transaction."""

    def __init__(self, con: asyncpg.Connection, file_id: int) -> None:
        self.con = con
        self.file_id = file_id
        self.size = 0
        self.chunks = 0
        self._hash = hashlib.sha256()
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        self._hash.update(data)
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            await self._flush(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    async def _flush(self, chunk: bytes) -> None:
        await self.con.execute(INSERT_CHUNK, self.file_id, self.chunks, chunk)
        self.chunks += 1

    async def finish(self) -> tuple[int, int, str]:
        """Write what is left; (size, chunks, sha256 hex)."""
        if self._buffer:
            await self._flush(bytes(self._buffer))
            self._buffer.clear()
        return self.size, self.chunks, self._hash.hexdigest()


class Missing(Exception):
    """A chunk has gone: the file was deleted while it was being read."""


async def read(pool: asyncpg.Pool, file_id: int, chunks: int) -> AsyncIterator[bytes]:
    """The file's bytes, chunk by chunk."""
    for seq in range(chunks):
        data = await pool.fetchval(FETCH_CHUNK, file_id, seq)
        if data is None:
            raise Missing(file_id)
        yield data


async def delete(con: Con, file_id: int) -> None:
    await con.execute(DELETE_CHUNKS, file_id)
