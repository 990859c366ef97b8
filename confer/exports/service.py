"""Transcripts: who may export what, and the export itself, streamed in programme order.

Posts are read through a server-side cursor inside one REPEATABLE READ, read-only
transaction (a consistent snapshot), so memory stays flat however long the conference.
Every export writes an audit_log row first.

Over HTTP an export is written to a temporary file first (`spool`): the database connection
and its transaction are given back as soon as the file is complete, however slowly the
client then reads it, so downloads that are never read cannot take the pool (issue 18).
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

import asyncpg

from confer import i18n, places
from confer.errors import Forbidden, Invalid, NotFound, Unauthorized
from confer.exports import queries as q
from confer.exports.writers import EXTENSIONS, WRITERS, Writer, file_path
from confer.files import queries as files_q
from confer.files import storage
from confer.i18n import _
from confer.places import Place
from confer.policy import Actor
from confer.validate import Fields, parse_id

BATCH = 500  # posts per yielded chunk


@dataclass(frozen=True)
class Request:
    format: str
    session_id: int | None = None
    thread_id: int | None = None
    include_hidden: bool = False
    moderation_log: bool = False
    # The export's language: the conference's, or either of a bilingual conference's (None
    # until start() settles it: the conference's).
    lang: str | None = None
    bilingual: bool = False  # the conference is: the file's name says which language
    # A zip of the transcript with the files it names (confer.files) in a files/ folder.
    bundle_files: bool = False


def parse(data: dict[str, object]) -> Request:
    f = Fields()
    fmt = data.get("format") or "md"
    if fmt not in WRITERS:
        f.add("format", _("Choose Markdown, HTML, CSV or JSON"))
    ids: dict[str, int | None] = {}
    for name in ("session_id", "thread_id"):
        raw = data.get(name)
        if raw in (None, ""):
            ids[name] = None
        elif parse_id(raw) is not None:
            ids[name] = parse_id(raw)
        else:
            f.add(name, _("Choose from the list"))
            ids[name] = None
    lang = data.get("lang") or None
    if lang is not None and lang not in i18n.LANGUAGES:
        f.add("lang", _("Choose English or Welsh"))
        lang = None
    f.raise_if_any()
    return Request(
        str(fmt),
        ids["session_id"],
        ids["thread_id"],
        include_hidden=f.boolean(data.get("include_hidden")),
        moderation_log=f.boolean(data.get("moderation_log")),
        lang=str(lang) if lang else None,
        bundle_files=f.boolean(data.get("bundle_files")),
    )


async def conference_languages(pool: asyncpg.Pool, place: Place) -> dict[str, Any]:
    """The conference with its languages (`language`, `bilingual`, `translations`): what the
    writers need to write in its language and give its texts in the export's."""
    row = await q.fetch_languages(pool, place.id)
    conference = dict(place.conference)
    conference["language"] = row["language"] if row else i18n.DEFAULT
    conference["bilingual"] = bool(row and row["bilingual"])
    conference["translations"] = (row["translations"] if row else None) or {}
    return conference


def export_languages(conference: dict[str, Any]) -> tuple[str, ...]:
    """The languages a transcript of `conference` may be written in, its own first."""
    own = conference["language"]
    if not conference["bilingual"]:
        return (own,)
    return (own, *(code for code in i18n.LANGUAGES if code != own))


async def authorise(pool: asyncpg.Pool, place: Place, req: Request) -> Request:
    """Organisers export anything; facilitators their own sessions, where the organiser allows.
    A thread's session is filled in, and ids from another conference are a 404."""
    session_id = req.session_id
    if req.thread_id is not None:
        thread_session = await q.fetch_thread_session(pool, req.thread_id, place.id)
        if thread_session is None or (session_id is not None and session_id != thread_session):
            raise NotFound("No such thread in this conference.")
        session_id = thread_session
    if session_id is not None:
        await places.fetch_session(pool, place, session_id)
    conference = await conference_languages(pool, place)
    offered = export_languages(conference)
    if req.lang is not None and req.lang not in offered:
        raise Invalid(
            fields={"lang": _("This conference is written only in English")}
            if offered == ("en",)
            else {"lang": _("This conference is written only in Welsh")}
        )
    req = Request(
        req.format,
        session_id,
        req.thread_id,
        req.include_hidden,
        req.moderation_log,
        req.lang or offered[0],
        len(offered) > 1,
        req.bundle_files,
    )
    if place.can("conference.manage"):
        return req
    if not place.actor.authenticated:
        raise Unauthorized(_("Sign in to export transcripts."))
    member = place.member
    if member is None or not member.active or member.role != "facilitator":
        raise Forbidden(_("Only organisers can export transcripts."))
    if not place.conference["facilitators_may_export"]:
        raise Forbidden(_("The organisers have not allowed facilitators to export transcripts."))
    if session_id is None:
        if member.facilitates != "conference":
            raise Invalid(fields={"session_id": _("Choose one of the sessions you facilitate")})
    elif not member.facilitates_session(session_id):
        raise Forbidden(_("You can export only the sessions you facilitate."))
    if req.include_hidden or req.moderation_log:
        raise Forbidden(_("Only organisers can include hidden posts or the moderation log."))
    return req


async def start(
    pool: asyncpg.Pool, actor: Actor, slug: str, data: dict[str, object], *, actor_label: str = ""
) -> tuple[Place, Request]:
    """Check everything and write the audit row; then stream() produces the file."""
    place = await places.load(pool, actor, slug, "conference.see")
    req = await authorise(pool, place, parse(data))
    # A person is recorded by id only: audit_log is append-only, so a name copied into it
    # would outlive the person's erasure. A label is for actors without an account (the CLI).
    await q.insert_audit(
        pool,
        actor.user_id,
        actor_label or ("" if actor.user_id is not None else actor.name),
        place.id,
        None,
        "transcript.export",
        {
            "format": req.format,
            "session_id": req.session_id,
            "thread_id": req.thread_id,
            "include_hidden": req.include_hidden,
            "moderation_log": req.moderation_log,
            "lang": req.lang,
            "bundle_files": req.bundle_files,
        },
    )
    return place, req


async def stream(
    pool: asyncpg.Pool,
    place: Place,
    req: Request,
    progress: Callable[[int], None] | None = None,
    named_files: list[Any] | None = None,
) -> AsyncIterator[str]:
    """The transcript, chunk by chunk. `named_files`: filled with the files it names."""
    conference = await conference_languages(pool, place)
    lang = req.lang or export_languages(conference)[0]
    own = WRITERS[req.format](conference, include_hidden=req.include_hidden, lang=lang)
    writer = _InLanguage(own, lang)
    done = 0
    async with pool.acquire() as con, con.transaction(isolation="repeatable_read", readonly=True):
        # Files' rows only (their bytes are read for a zip, after): what is served is named.
        for f in await files_q.list_for_conference(con, place.id):
            if f["scan_state"] not in ("clean", "unscanned"):
                continue
            if f["session_id"] is not None:
                own.session_files.setdefault(f["session_id"], []).append(f)
            else:
                own.post_files.setdefault(f["post_id"], []).append(f)
        yield writer.start()
        for s in await q.list_sessions(con, place.id, req.session_id):
            yield writer.session(s)
            for t in await q.list_threads(con, s["id"], req.thread_id):
                chunk = [writer.thread(t)]
                async for p in con.cursor(q.POSTS_OF_THREAD, t["id"], prefetch=BATCH):
                    chunk.append(writer.post(p))
                    done += 1
                    if len(chunk) >= BATCH:
                        yield "".join(chunk)
                        chunk = []
                        if progress:
                            progress(done)
                chunk.append(writer.thread_end())
                yield "".join(chunk)
            if s["kind"] in ("panel", "keynote") and req.thread_id is None:
                answers: dict[int, list] = {}
                for a in await q.list_answers(con, s["id"]):
                    answers.setdefault(a["question_id"], []).append(a)
                yield writer.questions(await q.list_questions(con, s["id"]), answers)
            yield writer.session_end()
        if req.moderation_log:
            yield writer.appendix(await q.list_moderation_log(con, place.id, req.session_id))
        yield writer.end()
    if named_files is not None:
        named_files.extend(own.named_files)
    if progress:
        progress(done)


class _InLanguage:
    """A writer whose every call writes in the export's language. Each call sets the language
    and puts it back before returning: an async generator must not hold a context variable
    across its yields, which run in its consumer's context."""

    def __init__(self, writer: Writer, lang: str) -> None:
        self._writer = writer
        self._lang = lang

    def __getattr__(self, name: str) -> Callable[..., str]:
        method = getattr(self._writer, name)

        def call(*args: Any) -> str:
            with i18n.using(self._lang):
                return method(*args)

        return call


SPOOL_IN_MEMORY = 1024 * 1024  # larger exports go on to a temporary file on disk


async def spool(pool: asyncpg.Pool, place: Place, req: Request) -> IO[bytes]:
    """The whole export in a temporary file (in memory up to 1 MiB), positioned at its start.
    The pool connection is held only while it is written, never while a client reads it."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+b")
    try:
        async for chunk in stream(pool, place, req):
            if chunk:
                out.write(chunk.encode())
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


async def spool_zip(pool: asyncpg.Pool, place: Place, req: Request) -> IO[bytes]:
    """A zip (in a temporary file) of the transcript and, in files/, every file it names;
    each file is copied from PostgreSQL chunk by chunk, never whole in memory."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+b")
    named: list[Any] = []
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            inner = zipfile.ZipInfo(filename(place, req, inner=True))
            inner.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(inner, "w") as t:
                async for chunk in stream(pool, place, req, named_files=named):
                    if chunk:
                        t.write(chunk.encode())
            seen: set[int] = set()
            for f in named:
                if f["id"] in seen:
                    continue
                seen.add(f["id"])
                # Stored, not deflated: PDFs, Office files and pictures are compressed already.
                with zf.open(file_path(f), "w", force_zip64=True) as entry:
                    async for chunk in storage.read(pool, f["id"], f["chunks"]):
                        entry.write(chunk)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


async def count_posts(pool: asyncpg.Pool, place: Place, req: Request) -> int:
    return await pool.fetchval(
        """
        SELECT count(*) FROM posts p JOIN threads t ON t.id = p.thread_id
        WHERE p.conference_id = $1 AND p.status <> 'pending'
          AND ($2::bigint IS NULL OR t.session_id = $2) AND ($3::bigint IS NULL OR t.id = $3)
        """,
        place.id,
        req.session_id,
        req.thread_id,
    )


def filename(place: Place, req: Request, *, inner: bool = False) -> str:
    """The download's name; a zip's (`bundle_files`) ends in .zip, and `inner` is the name of
    the transcript inside it."""
    scope = (
        f"-thread-{req.thread_id}"
        if req.thread_id
        else (f"-session-{req.session_id}" if req.session_id else "")
    )
    # A bilingual conference's transcript in each language: one file name each.
    lang = f"-{req.lang}" if req.bilingual and req.lang else ""
    name = f"{place.conference['slug']}{scope}-transcript{lang}"
    if req.bundle_files and not inner:
        return f"{name}.zip"
    return f"{name}.{EXTENSIONS[req.format]}"
