"""Files on sessions ("Papers and slides") and on posts: the one path for each action.

`upload()` checks who may add a file where, the limits (before reading the file when the
request says its length, and while reading it always), decides the type from the content,
re-encodes images, writes the bytes (confer.files.storage) and the row in one transaction,
then has the file scanned (confer.files.scan). `open_for_download()` says whether a reader may
have a file and how; nothing that is not clean (or, with no scanner configured, unscanned) is
ever handed out. `rescan_ctx` scans, when the scanner is back, what waited while it was away.

Never here: HTTP. The views hand over the file's bytes as an async iterator.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import weakref
import zipfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import asyncpg
from aiohttp import web

from confer import places
from confer.context import Ctx
from confer.errors import (
    ConferError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
)
from confer.files import kinds, scan, storage
from confer.files import queries as q
from confer.i18n import N_, _, ngettext
from confer.keys import ctx_key
from confer.moderation import queries as moderation_q
from confer.places import Place
from confer.policy import Actor
from confer.posts import queries as posts_q
from confer.posts import service as posts
from confer.tasks import running
from confer.urls import url
from confer.validate import Fields, number

log = logging.getLogger(__name__)

# A request carries the other fields and the multipart boundaries beside the file itself.
MULTIPART_SLACK = 64 * 1024

KIND_NAMES = {
    "image": N_("images (JPEG, PNG, GIF or WebP)"),
    "pdf": N_("PDF documents"),
    "office": N_("Word, Excel, PowerPoint and OpenDocument files"),
    "text": N_("plain text and CSV files"),
}


class Infected(ConferError):
    """The virus scanner found something in the file."""

    default_message = N_("The file was not added: the virus scanner found a virus in it.")
    status = 422
    code = "infected"


@dataclass(frozen=True)
class Incoming:
    """A file arriving: the name the client gave, its bytes as they come, and the length of
    the whole request when the client said it (Content-Length)."""

    filename: str
    chunks: AsyncIterator[bytes]
    declared_size: int | None = None


def megabytes(n: int) -> str:
    """A size for people: "4.2 MB" (in the reader's language)."""
    mb = n / (1024 * 1024)
    if mb < 0.1:
        return _("%(size)s KB") % {"size": number(max(1, round(n / 1024)))}
    return _("%(size)s MB") % {"size": number(round(mb, 1) if mb < 10 else round(mb))}


def _too_large(limit: int, which: str) -> TooLarge:
    if which == "member":
        message = _(
            "You have used your space for files in this conference (%(size)s). "
            "Delete a file you no longer need, or ask an organiser."
        )
    elif which == "conference":
        message = _("This conference has no space left for files (%(size)s). Ask an organiser.")
    elif which == "image":
        message = _("The image must be smaller than %(size)s.")
    else:
        message = _("The file must be smaller than %(size)s.")
    message = message % {"size": megabytes(limit)}
    return TooLarge(message, fields={"file": message})


@dataclass
class _Limits:
    file: int  # this file, by the kind of place
    member_left: int
    conference_left: int
    member_quota: int
    conference_quota: int

    def smallest(self) -> tuple[int, str]:
        return min(
            (self.file, "file"),
            (self.member_left, "member"),
            (self.conference_left, "conference"),
            key=lambda pair: pair[0],
        )

    def error(self, which: str) -> TooLarge:
        if which == "member":
            return _too_large(self.member_quota, "member")
        if which == "conference":
            return _too_large(self.conference_quota, "conference")
        return _too_large(self.file, "file")


class _Counted:
    """The incoming bytes, counted: past `limit` it stops reading and raises TooLarge, so an
    oversized upload is never read whole."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int, error: TooLarge) -> None:
        self._chunks = chunks
        self.limit = limit
        self.error = error
        self.size = 0
        self._head = b""

    async def head(self) -> bytes:
        while len(self._head) < kinds.SNIFF_BYTES:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                break
            self._count(chunk)
            self._head += chunk
        return self._head

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise self.error

    async def rest(self) -> AsyncIterator[bytes]:
        if self._head:
            yield self._head
            self._head = b""
        async for chunk in self._chunks:
            self._count(chunk)
            yield chunk


async def _session_target(con: asyncpg.Pool, place: Place, session_id: int) -> dict[str, Any]:
    session = await places.fetch_session(con, place, session_id)
    speakers = await con.fetch(
        "SELECT user_id FROM session_speakers WHERE session_id = $1", session_id
    )
    return {**dict(session), "speaker_ids": frozenset(r["user_id"] for r in speakers)}


async def _post_target(con: asyncpg.Pool, place: Place, post_id: int) -> asyncpg.Record:
    post = await posts_q.fetch_post(con, post_id)
    if post is None or post["conference_id"] != place.id:
        raise NotFound()
    return post


def may_add_to_session(place: Place, session: Mapping[str, Any]) -> bool:
    return place.can("session.files", session=session)


async def session_target(ctx: Ctx, place: Place, session_id: int) -> dict[str, Any]:
    """A session with its speaker_ids, as `session.files` needs it."""
    return await _session_target(ctx.pool, place, session_id)


async def upload(
    ctx: Ctx,
    actor: Actor,
    slug: str,
    *,
    session_id: int | None = None,
    post_id: int | None = None,
    fields: Mapping[str, str],
    incoming: Incoming,
) -> dict[str, Any]:
    """Add a file to a session or a post; the file as `present()` shows it.

    Raises Invalid (title, alt text, the type), TooLarge (413: the file, the image, or a
    quota), Infected (the scanner found a virus: the file is recorded for the moderators and
    not kept), Forbidden/NotFound."""
    pool = ctx.pool
    settings = ctx.settings
    place = await places.load(pool, actor, slug, "conference.see")
    place.require("conference.read")
    conference = place.conference
    allowed_kinds: tuple[str, ...] = kinds.KINDS
    session_of_file: int | None
    if session_id is not None:
        session = await _session_target(pool, place, session_id)
        place.require("session.files", session=session)
        file_limit = settings.file_max_bytes
        session_of_file = session_id
    else:
        assert post_id is not None
        post = await _post_target(pool, place, post_id)
        place.require("post.attach", post=post)
        # A file changes the post: it passes what an edit passes (the time box, locks, mute).
        await posts.check_change(ctx, actor, place, post, "post.attach")
        file_limit = min(settings.file_max_bytes, conference["post_file_max_mb"] * 1024 * 1024)
        allowed_kinds = tuple(conference["post_file_kinds"])
        session_of_file = post["session_id"]
        if await q.count_for_post(pool, post_id) >= conference["post_files_max"]:
            n = conference["post_files_max"]
            message = ngettext(
                "A post can have up to %(num)d file.", "A post can have up to %(num)d files.", n
            ) % {"num": n}
            raise Invalid(message, fields={"file": message})

    f = Fields()
    title = f.text(
        "title",
        fields.get("title") or ("" if session_id is not None else incoming.filename),
        required=N_("Enter a title for the file"),
        too_long=N_("The title must be %(max)s characters or fewer"),
        max_len=200,
    )
    alt = f.text(
        "alt",
        fields.get("alt"),
        required=None,
        too_long=N_("The text alternative must be %(max)s characters or fewer"),
        max_len=1000,
    )
    if not incoming.filename:
        f.errors["file"] = _("Choose a file to upload")
    f.raise_if_any()

    used_member = await q.used_by_member(pool, place.id, actor.user_id)
    used_conference = await q.used_by_conference(pool, place.id)
    limits = _Limits(
        file=file_limit,
        member_left=settings.files_member_quota_bytes - used_member,
        conference_left=settings.files_conference_quota_bytes - used_conference,
        member_quota=settings.files_member_quota_bytes,
        conference_quota=settings.files_conference_quota_bytes,
    )
    limit, which = limits.smallest()
    # Refused before a byte of the file is read, when the request says how long it is.
    if incoming.declared_size is not None and incoming.declared_size > limit + MULTIPART_SLACK:
        raise limits.error(which)
    counted = _Counted(incoming.chunks, max(limit, 0), limits.error(which))

    head = await counted.head()
    if not head:
        message = _("The file is empty")
        raise Invalid(message, fields={"file": message})
    kind = kinds.sniff(head)
    if kind is None or kind.kind not in allowed_kinds:
        message = _kind_refused(head, allowed_kinds)
        raise Invalid(message, fields={"file": message})
    if kind.image and not alt:
        message = _("Enter a text alternative that says what the image shows")
        raise Invalid(message, fields={"alt": message})

    image: bytes | None = None
    if kind.image:
        # An image is decoded whole to be re-encoded, so it has its own, smaller limit.
        if settings.image_max_bytes < counted.limit:
            counted.limit = settings.image_max_bytes
            counted.error = _too_large(settings.image_max_bytes, "image")
        data = bytearray()
        async for chunk in counted.rest():
            data += chunk
        try:
            image = await asyncio.get_running_loop().run_in_executor(
                None, kinds.reencode, bytes(data), kind.content_type
            )
        except kinds.BadImage:
            message = _(
                "The image could not be read. Save it again as a JPEG or PNG and upload that."
            )
            raise Invalid(message, fields={"file": message}) from None
        del data

    state = "pending" if settings.clamd_socket else "unscanned"
    # An upload holds a pool connection while the rest of the file arrives: at most a quarter
    # of the pool does at once, so slow uploads cannot take every connection (503 beyond).
    gate = _upload_gate(pool, settings.pool_max_size)
    if gate.locked():
        raise Unavailable(
            _("Several files are being uploaded right now. Try again in a moment."),
            retry_after=10,
        )
    async with gate, pool.acquire() as con, con.transaction():
        file_id = await q.insert_file(
            con,
            place.id,
            actor.user_id,
            session_id,
            post_id,
            title,
            alt,
            kinds.safe_filename(incoming.filename, kind),
            kind.content_type,
            kind.kind,
            state,
        )
        writer = storage.ChunkWriter(con, file_id)
        if image is not None:
            for start in range(0, len(image), storage.CHUNK_BYTES):
                await writer.write(image[start : start + storage.CHUNK_BYTES])
        else:
            async for chunk in counted.rest():
                await writer.write(chunk)
        size, chunks, sha256 = await writer.finish()
        await q.set_content(con, file_id, size, chunks, sha256)
        # The quotas again, now that the size is known, one upload per conference at a time
        # (two uploads racing would otherwise both fit in the space that fits one).
        await con.execute("SELECT pg_advisory_xact_lock(25, $1::int)", place.id)
        if await q.used_by_member(con, place.id, actor.user_id) > limits.member_quota:
            raise limits.error("member")
        if await q.used_by_conference(con, place.id) > limits.conference_quota:
            raise limits.error("conference")
    log.info("file %s stored (%s bytes, %s, session %s)", file_id, size, kind.kind, session_of_file)
    if state == "pending":
        verdict = await scan_file(ctx, file_id)
        if verdict is not None and not verdict.clean:
            raise Infected()
    row = await q.fetch_file(pool, file_id)
    assert row is not None
    return present(place, row)


_gates: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _upload_gate(pool: Any, pool_size: int) -> asyncio.Semaphore:
    gate = _gates.get(pool)
    if gate is None:
        gate = _gates[pool] = asyncio.Semaphore(max(1, pool_size // 4))
    return gate


def _kind_refused(head: bytes, allowed: tuple[str, ...]) -> str:
    names = ", ".join(_(KIND_NAMES[k]) for k in kinds.KINDS if k in allowed)
    if b"<svg" in head[:4096].lower():
        return _("SVG images cannot be uploaded. Save the image as a PNG and upload that.")
    return _("This type of file cannot be uploaded here. You can upload: %(kinds)s.") % {
        "kinds": names
    }


async def scan_file(ctx: Ctx, file_id: int) -> scan.Verdict | None:
    """Scan one waiting file with clamd and record the answer; None when it could not be
    scanned now (the scanner is away, or another process is scanning it): it keeps waiting.

    The file's row is locked (FOR UPDATE SKIP LOCKED) while it is scanned, so it is scanned
    once however many processes try. An infected file's bytes are deleted and the finding is
    written to the conference's moderation log, in the same transaction."""
    socket = ctx.settings.clamd_socket
    if not socket:
        return None
    async with ctx.pool.acquire() as con, con.transaction():
        claimed = await q.claim_file(con, file_id)
        if claimed is None:
            return None
        return await _scan_claimed(ctx, con, claimed["id"], claimed["chunks"])


async def _scan_claimed(
    ctx: Ctx, con: asyncpg.Connection, file_id: int, chunks: int
) -> scan.Verdict | None:
    socket = ctx.settings.clamd_socket
    assert socket
    try:
        verdict = await scan.instream(
            socket,
            storage.read(ctx.pool, file_id, chunks),
            limit=ctx.settings.clamd_timeout_seconds,
        )
    except scan.ScannerUnavailable as e:
        log.warning("file %s waits for the virus scanner: %s", file_id, e)
        return None
    if verdict.clean:
        await q.set_scanned(con, file_id, "clean")
        log.info("file %s scanned clean", file_id)
        return verdict
    row = await q.fetch_file(con, file_id)
    assert row is not None
    await storage.delete(con, file_id)
    await q.set_scanned(con, file_id, "infected", verdict.signature)
    session_id = row["session_id"]
    if row["post_id"] is not None:
        post = await posts_q.fetch_post(con, row["post_id"])
        session_id = post["session_id"] if post is not None else None
    await moderation_q.insert_log(
        con,
        row["conference_id"],
        session_id,
        row["uploader_id"],
        "file.infected",
        "file",
        file_id,
        details={
            "signature": verdict.signature,
            "title": row["title"],
            "filename": row["filename"],
            "post_id": row["post_id"],
        },
    )
    log.warning("file %s refused: the scanner found %s", file_id, verdict.signature)
    return verdict


async def scan_waiting(ctx: Ctx) -> int:
    """Scan every file left waiting; stops at the first the scanner cannot take. The number
    scanned."""
    done = 0
    after = 0
    while True:
        async with ctx.pool.acquire() as con, con.transaction():
            claimed = await q.next_pending(con, after)
            if claimed is None:
                return done
            after = claimed["id"]
            verdict = await _scan_claimed(ctx, con, claimed["id"], claimed["chunks"])
        if verdict is None:
            return done
        done += 1


async def _rescan_loop(ctx: Ctx) -> None:
    while True:
        try:
            await scan_waiting(ctx)
        except (OSError, asyncpg.PostgresError) as e:
            log.warning("scanning waiting files failed for now: %s", e)
        await asyncio.sleep(ctx.settings.files_scan_retry_seconds)


async def rescan_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background task (confer.tasks) that scans files left waiting while clamd was away;
    only when a scanner is configured. Files stored before one was (`unscanned`, served with
    a note to organisers) are then held like any waiting file until the scanner has passed
    them: once there is a scanner, nothing unscanned is served."""
    ctx = app[ctx_key]
    if not ctx.settings.clamd_socket:
        yield
        return
    async with ctx.pool.acquire() as con:
        held = await q.unscanned_to_pending(con)
    if held:
        log.info("%s files stored without a scanner are held until clamd has checked them", held)
    async with running(_rescan_loop(ctx), name="files-rescan"):
        yield


# --- reading --------------------------------------------------------------------------


def present(place: Place, row: Mapping[str, Any]) -> dict[str, Any]:
    """A file as pages and the JSON API show it."""
    slug = place.conference["slug"]
    return {
        "id": row["id"],
        "title": row["title"],
        "alt": row["alt"],
        "filename": row["filename"],
        "content_type": row["content_type"].split(";")[0],
        "kind": row["kind"],
        "size": row["size"],
        "size_text": megabytes(row["size"]),
        "scan_state": row["scan_state"],
        "session_id": row["session_id"],
        "post_id": row["post_id"],
        "uploader_id": row["uploader_id"],
        "uploader_name": row["uploader_name"],
        "created_at": row["created_at"],
        "servable": row["scan_state"] in ("clean", "unscanned"),
        "url": url("file", slug=slug, file_id=row["id"], filename=row["filename"]),
        "can_delete": place.actor.user_id is not None
        and (row["uploader_id"] == place.actor.user_id or place.can("conference.manage")),
    }


async def for_sessions(ctx: Ctx, place: Place, session_ids: list[int]) -> dict[int, list[dict]]:
    """The files of these sessions, by session (pages, the programme, transcripts)."""
    out: dict[int, list[dict]] = {}
    if not session_ids:
        return out
    for row in await q.list_for_sessions(ctx.pool, session_ids):
        if row["conference_id"] == place.id:
            out.setdefault(row["session_id"], []).append(present(place, row))
    return out


async def for_posts(ctx: Ctx, place: Place, post_ids: list[int]) -> dict[int, list[dict]]:
    """The files of these posts, by post. The caller shows only the posts the reader may see,
    so a hidden, pending or deleted post's files are not shown either."""
    out: dict[int, list[dict]] = {}
    if not post_ids:
        return out
    for row in await q.list_for_posts(ctx.pool, post_ids):
        if row["conference_id"] == place.id:
            out.setdefault(row["post_id"], []).append(present(place, row))
    return out


@dataclass(frozen=True)
class Download:
    row: Mapping[str, Any]

    @property
    def inline(self) -> bool:
        """Only images are shown in the browser; everything else is an attachment."""
        return self.row["kind"] == "image"


class BeingChecked(Conflict):
    default_message = N_(
        "This file is still being checked for viruses. Try again in a minute or two."
    )
    code = "being_checked"


async def open_for_download(ctx: Ctx, actor: Actor, slug: str, file_id: int) -> Download:
    """A file the actor may have, ready to stream. 404 for a file they may not see, including
    every file of a members-only conference for someone who is not a member; 409 while it is
    being checked."""
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    if not place.can("conference.read"):
        raise NotFound()
    row = await q.fetch_file(ctx.pool, file_id)
    if row is None or row["conference_id"] != place.id or row["scan_state"] == "infected":
        raise NotFound()
    if row["post_id"] is not None:
        post = await posts_q.fetch_post(ctx.pool, row["post_id"])
        if post is None or not post_shown(place, post):
            raise NotFound()
    if row["scan_state"] == "pending":
        raise BeingChecked()
    return Download(row)


def post_shown(place: Place, post: Mapping[str, Any]) -> bool:
    if post["status"] == "visible":
        return True
    if post["status"] == "deleted":
        return False
    if post["author_id"] == place.actor.user_id and post["status"] == "pending":
        return True
    return place.can("moderate", session={"id": post["session_id"]})


def content(ctx: Ctx, download: Download) -> AsyncIterator[bytes]:
    return storage.read(ctx.pool, download.row["id"], download.row["chunks"])


async def delete(ctx: Ctx, actor: Actor, slug: str, file_id: int) -> Mapping[str, Any]:
    """Delete a file: its uploader, an organiser, or (on a session) whoever may add files to
    that session. The row it was; the bytes go with it."""
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    place.require("conference.read")
    row = await q.fetch_file(ctx.pool, file_id)
    if row is None or row["conference_id"] != place.id:
        raise NotFound()
    allowed = (actor.user_id is not None and row["uploader_id"] == actor.user_id) or place.can(
        "conference.manage"
    )
    if not allowed and row["session_id"] is not None:
        session = await _session_target(ctx.pool, place, row["session_id"])
        allowed = place.can("session.files", session=session)
    if not allowed:
        place.require("session.files", session=None)
    async with ctx.pool.acquire() as con, con.transaction():
        await q.delete_file(con, file_id)
    return row


async def session_context(
    ctx: Ctx,
    place: Place,
    session: Mapping[str, Any],
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the "Papers and slides" part of a session or panel page needs."""
    target = await _session_target(ctx.pool, place, session["id"])
    return {
        "session_files": (await for_sessions(ctx, place, [session["id"]])).get(session["id"], []),
        "can_add_files": place.can("session.files", session=target),
        "file_errors": errors or {},
        "file_values": values or {},
        "file_max_text": megabytes(ctx.settings.file_max_bytes),
        "is_organiser": place.can("conference.manage"),
    }


async def attach_to_posts(ctx: Ctx, place: Place, posts: list[dict[str, Any]]) -> None:
    """Put each shown post's files on it (`files`, and `files_key` for confer.fragments' key).
    A post whose text is not shown (hidden, deleted: its `placeholder`) shows no files."""
    shown = [p for p in posts if not p.get("placeholder")]
    by_post = await for_posts(ctx, place, [p["id"] for p in shown]) if shown else {}
    for p in posts:
        found = by_post.get(p["id"], []) if not p.get("placeholder") else []
        p["files"] = found
        p["files_key"] = tuple(
            (f["id"], f["scan_state"], f["title"], f["alt"], f["size"]) for f in found
        )


async def update_settings(
    ctx: Ctx, actor: Actor, slug: str, data: Mapping[str, object]
) -> dict[str, Any]:
    """The conference's setting for files in posts (organisers): on or off, the largest file,
    how many on one post, and the kinds allowed; every field is read as the form sends it (an
    unticked box is absent: off), so the JSON API gives the current values with its changes
    (confer.files.api). Returns the saved settings."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    enabled = f.boolean(data.get("post_files_enabled"))
    top = ctx.settings.post_file_max_mb_limit
    max_mb = _whole(
        f, "post_file_max_mb", data.get("post_file_max_mb"), 1, top,
        _("Enter the largest file size as a whole number of megabytes, from 1 to %(max)s")
        % {"max": number(top)},
    )  # fmt: skip
    count = _whole(
        f, "post_files_max", data.get("post_files_max"), 1, 20,
        _("Enter how many files a post can have, from 1 to 20"),
    )  # fmt: skip
    chosen = [k for k in kinds.KINDS if f.boolean(data.get(f"kind_{k}"))]
    if enabled and not chosen:
        f.errors["kinds"] = _("Select at least one kind of file")
    f.raise_if_any()
    saved_kinds = chosen or list(place.conference["post_file_kinds"])
    async with ctx.pool.acquire() as con, con.transaction():
        await con.execute(
            """
            UPDATE conferences
            SET post_files_enabled = $2, post_file_max_mb = $3, post_files_max = $4,
                post_file_kinds = $5, updated_at = now()
            WHERE id = $1
            """,
            place.id,
            enabled,
            max_mb,
            count,
            saved_kinds,
        )
    return settings_of({
        "post_files_enabled": enabled, "post_file_max_mb": max_mb, "post_files_max": count,
        "post_file_kinds": saved_kinds,
    })  # fmt: skip


def settings_of(conference: Mapping[str, Any]) -> dict[str, Any]:
    """A conference's files-in-posts settings (its row, or what was just saved)."""
    return {
        "post_files_enabled": conference["post_files_enabled"],
        "post_file_max_mb": conference["post_file_max_mb"],
        "post_files_max": conference["post_files_max"],
        "post_file_kinds": [k for k in kinds.KINDS if k in conference["post_file_kinds"]],
    }


def _whole(f: Fields, name: str, raw: object, lo: int, hi: int, message: str) -> int:
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:
        f.errors[name] = message
        return lo
    return int(text)


async def my_files_zip(ctx: Ctx, actor: Actor) -> IO[bytes]:
    """Every file the member added (not an infected one), in a zip in a temporary file:
    `<conference>/<id>-<name>`, copied from PostgreSQL chunk by chunk. Part of their data
    download (confer.accounts.rights lists the same files in the JSON)."""
    if actor.user_id is None:
        raise Forbidden(_("Sign in to download your data."))
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+b")
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            for f in await q.list_for_uploader(ctx.pool, actor.user_id):
                name = f"{f['slug']}/{f['id']}-{f['filename']}"
                with zf.open(name, "w", force_zip64=True) as entry:
                    async for chunk in storage.read(ctx.pool, f["id"], f["chunks"]):
                        entry.write(chunk)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out
