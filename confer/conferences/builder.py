"""The programme builder: adding a session with its opening thread, and copying a session or
a whole day of sessions to another date.

A session is added by confer.conferences.service.save_session and its opening thread started
by confer.threads.service.create_thread (the one path for a thread and its first post, with
its pre-moderation): this module only runs them in turn. Copies are written by one query
(queries.copy_session) after the same checks of the conference's dates that save_session
makes. Wall times of copies are read in the conference's zone (confer.timefmt.resolve_local):
a 09:30 session copied across a clock change still starts at 09:30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from confer import places, timefmt
from confer.conferences import queries as q
from confer.conferences import service
from confer.conferences.lines import MAX_LINES_CHARS, days_of
from confer.context import Ctx
from confer.errors import ConferError, Invalid, NotFound
from confer.i18n import N_, _
from confer.live.events import conference_updated_event
from confer.places import Place
from confer.policy import Actor
from confer.threads import service as threads
from confer.validate import Fields

MAX_DAY_SESSIONS = 50  # a day's copy is one transaction; a real day has a dozen at most


@dataclass(frozen=True)
class Added:
    session_id: int
    thread_id: int | None = None
    # Why the opening thread could not be started (the session is saved): the programme page
    # then prompts for one.
    thread_error: str | None = None


def _check_opening(ctx: Ctx, f: Fields, data: dict[str, object]) -> tuple[str, str] | None:
    """The optional opening thread's title and first post (`thread_title`, `thread_body`);
    None when no first post is given. The title defaults to the session's."""
    body = f.text(
        "thread_body",
        data.get("thread_body"),
        required=None,
        too_long=N_("Your post must be %(max)s characters or fewer"),
        max_len=ctx.settings.post_max_chars,
    )
    title = f.text(
        "thread_title",
        data.get("thread_title"),
        required=None,
        too_long=N_("Title must be %(max)s characters or fewer"),
        max_len=ctx.settings.title_max_chars,
    )
    if not body:
        if title and "thread_title" not in f.errors:
            f.add("thread_body", _("Enter the first post of the opening thread"))
        return None
    if data.get("kind") != "discussion":
        f.add("thread_body", _("Only a discussion session has threads: leave this empty"))
        return None
    return title, body


async def add_session(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> Added:
    """Add a session, and for a discussion, its opening thread when a first post is given.

    Both forms' fields are checked before anything is written, so a bad one saves nothing;
    the thread is then started through the thread service, as the session page would."""
    f = Fields()
    opening = _check_opening(ctx, f, data)
    if f.errors:
        # Check the session's fields too, to name every bad field at once.
        try:
            await service.check_session(ctx, actor, slug, data)
        except Invalid as e:
            f.errors = {**e.fields, **f.errors}
        f.raise_if_any()
    session_id = await service.save_session(ctx, actor, slug, None, data)
    if opening is None:
        return Added(session_id)
    title, body = opening
    session_title = str(data.get("title") or "").strip()
    try:
        thread_id, _post_id, _created = await threads.create_thread(
            ctx, actor, slug, session_id, {"title": title or session_title, "body": body}
        )
    except ConferError as e:
        message = next(iter(e.fields.values()), None) or e.message
        return Added(session_id, thread_error=message)
    return Added(session_id, thread_id)


def _parse_date(f: Fields, name: str, value: object, *, required: str) -> date | None:
    raw = f.text(name, value, required=required, too_long=required, max_len=10)
    if not raw or name in f.errors:
        return None
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        f.add(name, _("Enter a real date, like 2027-03-29"))
        return None
    return d


def _moved(place: Place, start: datetime, end: datetime, to: date) -> tuple[datetime, datetime]:
    """`start`..`end` moved to the day `to` at the same wall time in the conference's zone
    (the length kept). A wall time the clocks skip on `to` moves on by the gap."""
    local = timefmt.local(start, place.tz)
    naive = datetime.combine(to, local.time().replace(tzinfo=None))
    resolved = timefmt.resolve_local(naive, place.tz)
    new_start = resolved.at
    return new_start, new_start + (end - start)


def _inside(place: Place, f: Fields, name: str, start: datetime, end: datetime) -> None:
    c = place.conference
    if start < c["starts_at"] or end > c["ends_at"]:
        f.add(name, _("The copy must be inside the conference's dates"))


async def duplicate_session(
    ctx: Ctx, actor: Actor, slug: str, session_id: int, data: dict[str, object]
) -> int:
    """A copy of a session on `date` (YYYY-MM-DD; absent or empty: the same day), at the same
    wall time. Its texts and settings are copied; threads, speakers, facilitators and the
    joining link are not."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    s = await places.fetch_session(ctx.pool, place, session_id)
    f = Fields()
    to = timefmt.local(s["starts_at"], place.tz).date()
    if data.get("date") not in (None, ""):
        to = _parse_date(f, "date", data.get("date"), required=N_("Enter the date")) or to
    f.raise_if_any()
    start, end = _moved(place, s["starts_at"], s["ends_at"], to)
    _inside(place, f, "date", start, end)
    f.raise_if_any()
    async with ctx.pool.acquire() as con, con.transaction():
        new_id = await q.copy_session(con, session_id, place.id, start, end)
    if new_id is None:
        raise NotFound()
    await ctx.hub.publish([conference_updated_event(place.id)])
    return new_id


async def duplicate_day(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> list[int]:
    """Copy every session that starts on `from_date` to `to_date` (both YYYY-MM-DD, days in
    the conference's zone), at the same wall times. All or nothing: one transaction."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    source = _parse_date(
        f, "from_date", data.get("from_date"), required=N_("Select the day to copy")
    )
    to = _parse_date(f, "to_date", data.get("to_date"), required=N_("Enter the date to copy it to"))
    if source and to and source == to:
        f.add("to_date", _("Choose a different day from the one you are copying"))
    f.raise_if_any()
    assert source is not None and to is not None
    day = [
        s
        for s in await q.list_sessions(ctx.pool, place.id)
        if timefmt.local(s["starts_at"], place.tz).date() == source
    ]
    if not day:
        f.add("from_date", _("There are no sessions on that day"))
    copies = [(s["id"], *_moved(place, s["starts_at"], s["ends_at"], to)) for s in day]
    for _sid, start, end in copies:
        _inside(place, f, "to_date", start, end)
    if len(copies) > MAX_DAY_SESSIONS:
        f.add("from_date", _("That day has too many sessions to copy at once"))
    f.raise_if_any()
    made: list[int] = []
    async with ctx.pool.acquire() as con, con.transaction():
        for sid, start, end in copies:
            new_id = await q.copy_session(con, sid, place.id, start, end)
            assert new_id is not None
            made.append(new_id)
    await ctx.hub.publish([conference_updated_event(place.id)])
    return made


# --- several sessions at once ---------------------------------------------------------------


async def add_sessions(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> list[int]:
    """Several sessions from lines of text (`lines`), one a line: each is checked as the add
    form's session is (service.check_session: the same messages, clock changes included),
    then all are written in one transaction, or none when any line is wrong."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    text = f.text(
        "lines",
        data.get("lines"),
        required=N_("Enter the sessions, one a line"),
        too_long=N_("The sessions must be %(max)s characters or fewer"),
        max_len=MAX_LINES_CHARS,
    )
    f.raise_if_any()
    checked = await service.check_lines(ctx, actor, place, f, "lines", text)
    f.raise_if_any()
    rendered = [await service.render_session(c) for c in checked]
    async with ctx.pool.acquire() as con, con.transaction():
        made = await service.write_lines(con, checked, rendered)
    await ctx.hub.publish([conference_updated_event(place.id)])
    return made


__all__ = ["MAX_LINES_CHARS", "days_of"]  # also read by the console
