"""SQL for files: their rows (what, whose, where, scanned or not). Their bytes are
confer.files.storage's."""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

FILE_COLUMNS = """
f.id, f.conference_id, f.uploader_id, f.session_id, f.post_id, f.title, f.alt, f.filename,
f.content_type, f.kind, f.size, f.chunks, f.sha256, f.scan_state, f.scan_result, f.scanned_at,
f.created_at, u.name AS uploader_name
"""

INSERT_FILE = """
INSERT INTO files (conference_id, uploader_id, session_id, post_id, title, alt, filename,
                   content_type, kind, size, chunks, sha256, scan_state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, '', $10)
RETURNING id
"""

SET_CONTENT = """
UPDATE files SET size = $2, chunks = $3, sha256 = $4 WHERE id = $1
"""

FETCH_FILE = f"""
SELECT {FILE_COLUMNS}
FROM files f
LEFT JOIN users u ON u.id = f.uploader_id
WHERE f.id = $1
"""

LIST_FOR_SESSIONS = f"""
SELECT {FILE_COLUMNS}
FROM files f
LEFT JOIN users u ON u.id = f.uploader_id
WHERE f.session_id = ANY($1::bigint[]) AND f.scan_state <> 'infected'
ORDER BY f.session_id, f.id
"""

LIST_FOR_POSTS = f"""
SELECT {FILE_COLUMNS}
FROM files f
LEFT JOIN users u ON u.id = f.uploader_id
WHERE f.post_id = ANY($1::bigint[]) AND f.scan_state <> 'infected'
ORDER BY f.post_id, f.id
"""

LIST_FOR_CONFERENCE = f"""
SELECT {FILE_COLUMNS}
FROM files f
LEFT JOIN users u ON u.id = f.uploader_id
WHERE f.conference_id = $1 AND f.scan_state <> 'infected'
ORDER BY f.id
"""

LIST_FOR_UPLOADER = f"""
SELECT {FILE_COLUMNS}, c.slug
FROM files f
JOIN conferences c ON c.id = f.conference_id
LEFT JOIN users u ON u.id = f.uploader_id
WHERE f.uploader_id = $1 AND f.scan_state <> 'infected'
ORDER BY f.id
"""

# What counts against the quotas: everything kept (an infected file's bytes are gone).
USED_BY_MEMBER = """
SELECT coalesce(sum(size), 0)::bigint FROM files
WHERE conference_id = $1 AND uploader_id = $2 AND scan_state <> 'infected'
"""
USED_BY_CONFERENCE = """
SELECT coalesce(sum(size), 0)::bigint FROM files
WHERE conference_id = $1 AND scan_state <> 'infected'
"""
COUNT_FOR_POST = """
SELECT count(*) FROM files WHERE post_id = $1 AND scan_state <> 'infected'
"""

# One file waiting for the scanner, locked so that two processes never scan it twice at once.
CLAIM_FILE = """
SELECT id, chunks FROM files
WHERE id = $1 AND scan_state = 'pending'
FOR UPDATE SKIP LOCKED
"""
NEXT_PENDING = """
SELECT id, chunks FROM files
WHERE scan_state = 'pending' AND id > $1
ORDER BY id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""
SET_SCANNED = """
UPDATE files SET scan_state = $2, scan_result = $3, scanned_at = now() WHERE id = $1
"""

DELETE_FILE = "DELETE FROM files WHERE id = $1"
DELETE_FOR_UPLOADER = "DELETE FROM files WHERE uploader_id = $1"

COUNT_FOR_CONFERENCE = """
SELECT count(*) FILTER (WHERE session_id IS NOT NULL) AS session_files,
       count(*) FILTER (WHERE post_id IS NOT NULL) AS post_files,
       coalesce(sum(size), 0)::bigint AS bytes,
       count(*) FILTER (WHERE scan_state = 'pending') AS pending,
       count(*) FILTER (WHERE scan_state = 'unscanned') AS unscanned
FROM files
WHERE conference_id = $1 AND scan_state <> 'infected'
"""


async def insert_file(con: Con, *args: object) -> int:
    return await con.fetchval(INSERT_FILE, *args)


async def set_content(con: Con, file_id: int, size: int, chunks: int, sha256: str) -> None:
    await con.execute(SET_CONTENT, file_id, size, chunks, sha256)


async def fetch_file(con: Con, file_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_FILE, file_id)


async def list_for_sessions(con: Con, session_ids: list[int]) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FOR_SESSIONS, session_ids)


async def list_for_posts(con: Con, post_ids: list[int]) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FOR_POSTS, post_ids)


async def list_for_conference(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FOR_CONFERENCE, conference_id)


async def list_for_uploader(con: Con, user_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_FOR_UPLOADER, user_id)


async def used_by_member(con: Con, conference_id: int, user_id: int) -> int:
    return await con.fetchval(USED_BY_MEMBER, conference_id, user_id)


async def used_by_conference(con: Con, conference_id: int) -> int:
    return await con.fetchval(USED_BY_CONFERENCE, conference_id)


async def count_for_post(con: Con, post_id: int) -> int:
    return await con.fetchval(COUNT_FOR_POST, post_id)


async def claim_file(con: Con, file_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(CLAIM_FILE, file_id)


# Files stored while no scanner was configured: once one is, they wait for it like any other.
UNSCANNED_TO_PENDING = "UPDATE files SET scan_state = 'pending' WHERE scan_state = 'unscanned'"


async def unscanned_to_pending(con: Con) -> int:
    status = await con.execute(UNSCANNED_TO_PENDING)
    return int(status.split()[-1])


async def next_pending(con: Con, after_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(NEXT_PENDING, after_id)


async def set_scanned(con: Con, file_id: int, state: str, result: str = "") -> None:
    await con.execute(SET_SCANNED, file_id, state, result)


async def delete_file(con: Con, file_id: int) -> None:
    await con.execute(DELETE_FILE, file_id)


async def delete_for_uploader(con: Con, user_id: int) -> int:
    status = await con.execute(DELETE_FOR_UPLOADER, user_id)
    return int(status.split()[-1])


async def count_for_conference(con: Con, conference_id: int) -> asyncpg.Record:
    return await con.fetchrow(COUNT_FOR_CONFERENCE, conference_id)
