"""Conferences: creating and editing them, their programme, roles, and joining.

Every function checks permission through confer.policy; times come from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg

from confer import markup, places, policy, timefmt
from confer.accounts import queries as accounts_q
from confer.calendars import queries as calendars_q
from confer.calendars import service as calendars
from confer.conferences import lines
from confer.conferences import queries as q
from confer.context import Ctx
from confer.errors import Invalid, NotFound
from confer.i18n import LANGUAGES, N_, _
from confer.live import evict
from confer.live.events import conference_updated_event
from confer.notifications import service as notifications
from confer.places import Place
from confer.policy import Actor, Membership
from confer.registration import addresses, invitations
from confer.registration import queries as registration_q
from confer.registration import service as registration
from confer.registration.addresses import Problem
from confer.sso import service as sso
from confer.validate import EMAIL_FORMAT, EMAIL_REQUIRED, Fields, parse_id

ROLES = ("organiser", "facilitator", "speaker", "participant", "observer")
KINDS = ("discussion", "panel", "keynote", "break")
# A conference's or a session's title, and its longer texts (summary, description, code of
# conduct), at most (the API's document says so too).
TITLE_MAX = 200
TEXT_MAX = 20_000


async def list_visible(ctx: Ctx, actor: Actor) -> list[dict]:
    """The conferences the actor may see, each in the reader's language (places.for_reader)."""
    rows = await q.list_conferences(ctx.pool, actor.user_id, actor.is_admin)
    return [places.for_reader(c) for c in rows]


# --- creating and editing ---------------------------------------------------------------


REVEAL_DEFAULT = 15  # conferences.joining_reveal_minutes (migrations/0024_calendars.sql)
REVEAL_MAX = 1440  # a day


@dataclass(frozen=True)
class ConferenceInput:
    title: str
    summary_md: str
    code_of_conduct_md: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    visibility: str
    registration: str = "open"
    capacity: int | None = None
    language: str = "en"
    bilingual: bool = False
    # The texts in the other language, as given (Markdown): {"cy": {"title": …, "summary": …}}
    translations: dict[str, dict[str, str]] | None = None
    # From how many minutes before a session its joining link is shown to members (#24).
    joining_reveal_minutes: int = REVEAL_DEFAULT
    # Who may join without approval on a provider's word (confer.sso); None: unchanged.
    join_rules: sso.JoinRules | None = None


# --- bilingual conferences (migrations/0018_bilingual.sql, confer.i18n.localized) ----------
#
# A conference's `language` is the language of its own columns; a bilingual one gives its
# title, summary and code of conduct, and each session's title and description, in the other
# language too. Forms send them as `translation_<field>`, the JSON API as
# {"translations": {"cy": {"<field>": …}}}; both come here (`_check_translations`).

# field → (maximum length, required when bilingual, its messages by the other language's code:
# (enter it, too long, not text)). Whole sentences: Welsh mutates and orders them its own way.
_TRANSLATED: dict[str, tuple[int, bool, dict[str, tuple[str, str, str]]]] = {
    "title": (
        TITLE_MAX,
        True,
        {
            "cy": (
                N_("Enter the title in Welsh"),
                N_("The title in Welsh must be %(max)s characters or fewer"),
                N_("The title in Welsh must be text"),
            ),
            "en": (
                N_("Enter the title in English"),
                N_("The title in English must be %(max)s characters or fewer"),
                N_("The title in English must be text"),
            ),
        },
    ),
    "summary": (
        TEXT_MAX,
        False,
        {
            "cy": (
                "",
                N_("The summary in Welsh must be %(max)s characters or fewer"),
                N_("The summary in Welsh must be text"),
            ),
            "en": (
                "",
                N_("The summary in English must be %(max)s characters or fewer"),
                N_("The summary in English must be text"),
            ),
        },
    ),
    "code_of_conduct": (
        TEXT_MAX,
        False,
        {
            "cy": (
                "",
                N_("The code of conduct in Welsh must be %(max)s characters or fewer"),
                N_("The code of conduct in Welsh must be text"),
            ),
            "en": (
                "",
                N_("The code of conduct in English must be %(max)s characters or fewer"),
                N_("The code of conduct in English must be text"),
            ),
        },
    ),
}
_SESSION_TRANSLATED: dict[str, tuple[int, bool, dict[str, tuple[str, str, str]]]] = {
    "title": (
        TITLE_MAX,
        True,
        {
            "cy": (
                N_("Enter the session title in Welsh"),
                N_("The session title in Welsh must be %(max)s characters or fewer"),
                N_("The session title in Welsh must be text"),
            ),
            "en": (
                N_("Enter the session title in English"),
                N_("The session title in English must be %(max)s characters or fewer"),
                N_("The session title in English must be text"),
            ),
        },
    ),
    "description": (
        TEXT_MAX,
        False,
        {
            "cy": (
                "",
                N_("The description in Welsh must be %(max)s characters or fewer"),
                N_("The description in Welsh must be text"),
            ),
            "en": (
                "",
                N_("The description in English must be %(max)s characters or fewer"),
                N_("The description in English must be text"),
            ),
        },
    ),
}
# How each text is stored under `translations` (Markdown and its HTML, or plain text).
_STORED_MD = {
    "summary": "summary",
    "code_of_conduct": "code_of_conduct",
    "description": "description",
}


def other_language(language: str) -> str:
    """The second language of a bilingual conference written in `language`."""
    return "cy" if language == "en" else "en"


def _check_language(f: Fields, data: dict[str, object], current: object = None) -> str:
    value = data.get("language")
    if value in (None, ""):
        return current["language"] if current is not None else "en"  # type: ignore[index]
    if value not in LANGUAGES:
        f.add("language", _("Select the conference’s main language: English or Cymraeg"))
        return "en"
    return str(value)


def _given_translations(
    f: Fields, data: dict[str, object], other: str, fields: tuple[str, ...]
) -> dict[str, object]:
    """The texts in the other language as given: the JSON API's {"translations": {"cy": {…}}}
    or a form's `translation_<field>`."""
    given = data.get("translations")
    if given is None:
        return {name: data.get(f"translation_{name}") for name in fields}
    if (
        not isinstance(given, dict)
        or not set(given) <= {other}
        or not isinstance(given.get(other, {}), dict)
    ):
        f.add(
            "translations",
            _("Give the texts in Welsh under “cy”")
            if other == "cy"
            else _("Give the texts in English under “en”"),
        )
        return {}
    inner = given.get(other) or {}
    return {name: inner.get(name) for name in fields}


def _check_translations(
    f: Fields,
    data: dict[str, object],
    language: str,
    bilingual: bool,
    table: dict[str, tuple[int, bool, dict[str, tuple[str, str, str]]]],
) -> dict[str, dict[str, str]]:
    """The other language's texts, checked as the main ones are (lengths; the title required
    when the conference is bilingual); errors under `translation_<field>`. {} when none."""
    other = other_language(language)
    given = _given_translations(f, data, other, tuple(table))
    out: dict[str, str] = {}
    for name, (max_len, required, messages) in table.items():
        enter, too_long, not_text = messages[other]
        key = f"translation_{name}"
        value = given.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str) or "\x00" in value:
            f.add(key, _(not_text))
            continue
        value = value.strip()
        if not value:
            if required and bilingual:
                f.add(key, _(enter))
            continue
        if len(value) > max_len:
            f.add(key, _(too_long) % {"max": f"{max_len:,}"})
        out[name] = value
    return {other: out} if out else {}


async def _render_translations(texts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Stored as migration 0018 describes: titles as they are, Markdown with its HTML."""
    stored: dict[str, dict[str, str]] = {}
    for code, fields in texts.items():
        one: dict[str, str] = {}
        for name, value in fields.items():
            if name in _STORED_MD:
                one[f"{name}_md"] = value
                one[f"{name}_html"] = await markup.render(value)
            else:
                one[name] = value
        stored[code] = one
    return stored


def conference_form_values(c: object) -> dict[str, object]:
    """A conference's fields as its settings form shows them: the texts as written (not the
    reader's version of a bilingual conference) and those in the other language."""
    row = places.written(c)
    tz = row["timezone"]  # type: ignore[index]
    other = (row["translations"] or {}).get(other_language(row["language"])) or {}  # type: ignore[index]
    return {
        "title": row["title"],  # type: ignore[index]
        "summary": row["summary_md"],  # type: ignore[index]
        "code_of_conduct": row["code_of_conduct_md"],  # type: ignore[index]
        "timezone": tz,
        "starts_at": timefmt.input_value(row["starts_at"], tz),  # type: ignore[index]
        "ends_at": timefmt.input_value(row["ends_at"], tz),  # type: ignore[index]
        "visibility": row["visibility"],  # type: ignore[index]
        "language": row["language"],  # type: ignore[index]
        "bilingual": row["bilingual"],  # type: ignore[index]
        "translation_title": other.get("title", ""),
        "translation_summary": other.get("summary_md", ""),
        "translation_code_of_conduct": other.get("code_of_conduct_md", ""),
        "joining_reveal_minutes": str(row["joining_reveal_minutes"]),  # type: ignore[index]
    }


def session_form_values(c: object, s: object) -> dict[str, object]:
    """A session's fields as its form shows them (as written, with the other language's)."""
    conference, row = places.written(c), places.written(s)
    tz = conference["timezone"]  # type: ignore[index]
    other = (row["translations"] or {}).get(other_language(conference["language"])) or {}  # type: ignore[index]
    return {
        "kind": row["kind"],  # type: ignore[index]
        "title": row["title"],  # type: ignore[index]
        "description": row["description_md"],  # type: ignore[index]
        "starts_at": timefmt.input_value(row["starts_at"], tz),  # type: ignore[index]
        "ends_at": timefmt.input_value(row["ends_at"], tz),  # type: ignore[index]
        "posting_window": row["posting_window"],  # type: ignore[index]
        "participants_start_threads": row["participants_start_threads"],  # type: ignore[index]
        "translation_title": other.get("title", ""),
        "translation_description": other.get("description_md", ""),
    }


def _check_conference(
    f: Fields, data: dict[str, object], current: asyncpg.Record | None = None
) -> ConferenceInput:
    title = f.text(
        "title",
        data.get("title"),
        required=N_("Enter title"),
        too_long=N_("Title must be %(max)s characters or fewer"),
        max_len=TITLE_MAX,
    )
    summary = f.text(
        "summary",
        data.get("summary"),
        required=None,
        too_long=N_("Summary must be %(max)s characters or fewer"),
        max_len=TEXT_MAX,
    )
    coc = f.text(
        "code_of_conduct",
        data.get("code_of_conduct"),
        required=None,
        too_long=N_("Code of conduct must be %(max)s characters or fewer"),
        max_len=TEXT_MAX,
    )
    tz = f.timezone("timezone", data.get("timezone") or "Europe/London")
    starts, ends = _start_end(f, data, tz)
    if starts and ends and ends <= starts:
        f.add("ends_at", _("End must be after the start"))
    visibility = f.choice(
        "visibility",
        data.get("visibility") or "public",
        ("public", "members"),
        required=N_("Select who can read it"),
    )
    mode, capacity = registration.check_settings(f, data, current)
    language = _check_language(f, data, current)
    bilingual = f.boolean(data.get("bilingual"))
    translations = _check_translations(f, data, language, bilingual, _TRANSLATED)
    reveal = _check_reveal_minutes(f, data, current)
    join_rules = sso.check_join_rules(f, data, current)
    return ConferenceInput(
        title,
        summary,
        coc,
        tz,
        starts,  # type: ignore[arg-type]
        ends,  # type: ignore[arg-type]
        visibility,
        mode,
        capacity,
        language,
        bilingual,
        translations,
        reveal,
        join_rules,
    )


def _check_reveal_minutes(
    f: Fields, data: dict[str, object], current: asyncpg.Record | None = None
) -> int:
    """The joining link's reveal time: a whole number of minutes from 0 to 1,440; absent
    (the JSON API's update), the conference's current one."""
    name = "joining_reveal_minutes"
    kept = current[name] if current is not None else REVEAL_DEFAULT
    if name not in data:
        return kept
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        f.add(name, _("Enter how many minutes before a session its joining link is shown"))
        return kept
    text = str(raw).strip()
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()):
        f.add(
            name,
            _("The time the joining link is shown must be a whole number of minutes, like 15"),
        )
        return kept
    minutes = int(text[:12])
    if len(text) > 12 or minutes > REVEAL_MAX:
        f.add(
            name,
            _(
                "The time the joining link is shown must be between 0 and %(max)s minutes "
                "(a day) before the session"
            )
            % {"max": f"{REVEAL_MAX:,}"},
        )
        return kept
    return minutes


def _check_slug(f: Fields, value: object) -> str:
    slug = f.text(
        "slug",
        value,
        required=N_("Enter web address (slug)"),
        too_long=N_("Web address (slug) must be %(max)s characters or fewer"),
        max_len=63,
    ).lower()
    if slug and "slug" not in f.errors:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", slug):
            f.add(
                "slug",
                _("Use 2 to 63 lower-case letters, numbers and hyphens, like social-media-2026"),
            )
    return slug


async def create_conference(ctx: Ctx, actor: Actor, data: dict[str, object]) -> str:
    """A site admin, or someone an admin allowed (policy "conference.create"), creates a draft
    conference and names its organisers (emails; none: the creator).

    `programme` (optional) holds the programme page's paste-box lines ("Day 1 | 09:30-10:00 |
    Keynote | Title"): read as the programme page's paste box reads them (check_lines,
    against the new conference's days, inside the same transaction) and written with it, so a bad
    line creates nothing and comes back on the field."""
    await require_create(ctx, actor)
    f = Fields()
    slug = _check_slug(f, data.get("slug"))
    c = _check_conference(f, data)
    organiser_emails = _emails(f, "organisers", data.get("organisers"))
    programme_text = f.text(
        "programme",
        data.get("programme"),
        required=None,
        too_long=N_("The sessions must be %(max)s characters or fewer"),
        max_len=lines.MAX_LINES_CHARS,
    )
    f.raise_if_any()
    # Organisers with an account get the role now; any other address an invitation to be one.
    organiser_ids, to_invite = await _user_ids(ctx.pool, organiser_emails)
    if not actor.is_admin and actor.user_id not in organiser_ids:
        organiser_ids.append(actor.user_id)  # whoever an admin allowed organises their own
    summary_html = await markup.render(c.summary_md)
    coc_html = await markup.render(c.code_of_conduct_md)
    translations = await _render_translations(c.translations or {})
    async with ctx.pool.acquire() as con, con.transaction():
        try:
            conference_id = await q.insert_conference(
                con,
                slug,
                c.title,
                c.summary_md,
                summary_html,
                c.code_of_conduct_md,
                coc_html,
                c.timezone,
                c.starts_at,
                c.ends_at,
                c.visibility,
                actor.user_id,
                language=c.language,
                bilingual=c.bilingual,
                translations=translations,
                joining_reveal_minutes=c.joining_reveal_minutes,
            )
        except asyncpg.UniqueViolationError:
            raise Invalid(fields={"slug": _("That web address is taken: choose another")}) from None
        for user_id in organiser_ids or [actor.user_id]:
            await q.upsert_membership(con, conference_id, user_id, "organiser", "conference")
        await sso.save_join_rules(con, conference_id, c.join_rules)
        await registration.change_settings(
            con, ctx.settings, conference_id, c.registration, c.capacity
        )
        if programme_text:
            place = await places.load(con, actor, slug, "conference.manage")
            checked = await check_lines(ctx, actor, place, f, "programme", programme_text)
            f.raise_if_any()  # rolls the conference back: nothing half-created
            rendered = [await render_session(s) for s in checked]
            await write_lines(con, checked, rendered)
        if to_invite:
            conference = await registration_q.fetch_conference(con, conference_id)
            for email in to_invite:
                await invitations.send_role_invitation(
                    ctx, con, conference, actor, email, "organiser", []
                )
    return slug


async def require_create(ctx: Ctx, actor: Actor) -> None:
    """Refuse someone who may not create conferences, saying who can allow them."""
    if policy.site_can(actor, "conference.create"):
        return
    admins = await accounts_q.list_admin_names(ctx.pool)
    if admins:
        refusal = _(
            "Only site administrators, and the people they allow, can create conferences. "
            "To be allowed, ask a site administrator: %(names)s."
        ) % {"names": ", ".join(admins)}
    else:
        refusal = _(
            "Only site administrators, and the people they allow, can create conferences. "
            "To be allowed, ask whoever runs this site."
        )
    policy.site_require(actor, "conference.create", refusal)


def _start_end(
    f: Fields, data: dict[str, object], tz: str
) -> tuple[datetime | None, datetime | None]:
    """`starts_at` and `ends_at` of a conference's or a session's form, read in `tz`."""
    starts = f.local_datetime(
        "starts_at",
        data.get("starts_at"),
        tz,
        required=N_("Enter start"),
        invalid=N_("Start must be a real date and time"),
    )
    ends = f.local_datetime(
        "ends_at",
        data.get("ends_at"),
        tz,
        required=N_("Enter end"),
        invalid=N_("End must be a real date and time"),
    )
    return starts, ends


def _emails(f: Fields, name: str, value: object) -> list[str]:
    raw = f.text(
        name,
        value,
        required=None,
        too_long=N_("Email addresses must be %(max)s characters or fewer"),
        max_len=5000,
    )
    emails = [e.strip() for e in raw.replace(";", ",").replace("\n", ",").split(",") if e.strip()]
    for e in emails:
        sub = Fields()
        sub.email(name, e)
        if sub.errors:
            f.add(name, _("%(email)s is not an email address") % {"email": e})
    return emails


async def _user_ids(pool: asyncpg.Pool, emails: list[str]) -> tuple[list[int], list[str]]:
    """The accounts of `emails`, and the addresses that have none."""
    ids: list[int] = []
    missing: list[str] = []
    for email in emails:
        row = await accounts_q.fetch_user_by_email(pool, email)
        if row is None:
            missing.append(email)
        elif row["id"] not in ids:
            ids.append(row["id"])
    return ids, missing


async def update_conference(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    c = _check_conference(f, data, place.conference)
    f.raise_if_any()
    summary_html = await markup.render(c.summary_md)
    coc_html = await markup.render(c.code_of_conduct_md)
    translations = await _render_translations(c.translations or {})
    async with ctx.pool.acquire() as con, con.transaction():
        await q.update_conference(
            con,
            place.id,
            c.title,
            c.summary_md,
            summary_html,
            c.code_of_conduct_md,
            coc_html,
            c.timezone,
            c.starts_at,
            c.ends_at,
            c.visibility,
            language=c.language,
            bilingual=c.bilingual,
            translations=translations,
            joining_reveal_minutes=c.joining_reveal_minutes,
        )
        await sso.save_join_rules(con, place.id, c.join_rules)
        promoted = await registration.change_settings(
            con, ctx.settings, place.id, c.registration, c.capacity
        )
    if c.visibility != place.conference["visibility"]:
        await evict.conference(ctx, place.id)  # members-only: readers without a place leave
    await ctx.hub.publish(
        [
            conference_updated_event(place.id),
            *registration.promotion_events(place.id, promoted),
        ]
    )


# --- the programme ----------------------------------------------------------------------


async def programme(ctx: Ctx, place: Place) -> list[dict]:
    """The sessions, each in the reader's language (places.for_reader)."""
    return [
        places.for_reader(s, place.conference) for s in await q.list_sessions(ctx.pool, place.id)
    ]


def by_day(sessions: list[dict], tz: str) -> list[dict]:
    """The programme by the days of the conference's calendar: each session under every day it
    is open, from the day it starts to the day it ends (an end at midnight is the day before's),
    `continuing` on the days after its first: a café from Sunday to Tuesday is listed under
    Sunday, then under Monday and Tuesday as continuing."""
    days: dict[date, list[dict]] = {}
    for s in sessions:
        first = timefmt.local(s["starts_at"], tz).date()
        last = timefmt.local(max(s["ends_at"] - timedelta(microseconds=1), s["starts_at"]), tz)
        d = first
        while d <= last.date():
            days.setdefault(d, []).append({"s": s, "continuing": d != first})
            d += timedelta(days=1)
    return [
        {"date": d, "key": d.isoformat(), "items": days[d]}
        for d in sorted(days)  # within a day, in the order of their starts
    ]


def happening_now(sessions: list[dict]) -> tuple[list[dict], list[dict]]:
    """What is open now, whatever day it started, and what opens next (every session that
    opens at the next start): by the database clock (each session's `state`)."""
    now = [s for s in sessions if s["state"] == "open"]
    upcoming = [s for s in sessions if s["state"] == "upcoming"]
    first = min((s["starts_at"] for s in upcoming), default=None)
    return now, [s for s in upcoming if s["starts_at"] == first]


async def speakers_by_session(ctx: Ctx, place: Place) -> dict[int, list[asyncpg.Record]]:
    out: dict[int, list[asyncpg.Record]] = {}
    for row in await q.list_speakers(ctx.pool, place.id):
        out.setdefault(row["session_id"], []).append(row)
    return out


@dataclass(frozen=True)
class SessionInput:
    place: Place
    args: tuple  # queries.insert_session's / update_session's, after the ids
    texts: dict[str, dict[str, str]]
    joining_url: str | None


async def check_session(
    ctx: Ctx, actor: Actor, slug: str, data: dict[str, object], *, place: Place | None = None
) -> SessionInput:
    """A session's fields checked (Invalid names every bad one), nothing written. `place`:
    the conference already loaded (a new conference's programme, inside its transaction)."""
    if place is None:
        place = await places.load(ctx.pool, actor, slug, "conference.manage")
    tz = place.tz
    f = Fields()
    kind = f.choice("kind", data.get("kind"), KINDS, required=N_("Select kind of session"))
    title = f.text(
        "title",
        data.get("title"),
        required=N_("Enter title"),
        too_long=N_("Title must be %(max)s characters or fewer"),
        max_len=TITLE_MAX,
    )
    description = f.text(
        "description",
        data.get("description"),
        required=None,
        too_long=N_("Description must be %(max)s characters or fewer"),
        max_len=TEXT_MAX,
    )
    starts, ends = _start_end(f, data, tz)
    window = f.choice(
        "posting_window",
        data.get("posting_window") or "session",
        ("session", "conference"),
        required=N_("Select when threads take posts"),
    )
    open_threads = f.boolean(data.get("participants_start_threads"))
    # Absent (the add form, the JSON API): left as it is; empty: removed.
    joining_url = calendars.check_joining_url(f, data.get("joining_url"))
    c = place.conference
    texts = _check_translations(f, data, c["language"], c["bilingual"], _SESSION_TRANSLATED)
    if starts and ends:
        if ends <= starts:
            f.add("ends_at", _("End must be after the start"))
        if starts < c["starts_at"] or ends > c["ends_at"]:
            f.add("starts_at", _("The session must be inside the conference's dates"))
    f.raise_if_any()
    args = (kind, title, description, "", starts, ends, window, open_threads)
    return SessionInput(place, args, texts, joining_url)


async def save_session(
    ctx: Ctx, actor: Actor, slug: str, session_id: int | None, data: dict[str, object]
) -> int:
    """Add (session_id None) or edit a session of the programme."""
    checked = await check_session(ctx, actor, slug, data)
    place = checked.place
    rendered = await render_session(checked)
    async with ctx.pool.acquire() as con, con.transaction():
        session_id = await write_session(con, checked, rendered, session_id, data)
    await ctx.hub.publish([conference_updated_event(place.id)])
    return session_id


async def render_session(checked: SessionInput) -> tuple[tuple, dict]:
    """A checked session's query arguments with its description's HTML, and its rendered
    translations: done before the transaction (rendering runs off the event loop)."""
    kind, title, description, _html, starts, ends, window, open_threads = checked.args
    html = await markup.render(description)
    args = (kind, title, description, html, starts, ends, window, open_threads)
    return args, await _render_translations(checked.texts)


async def write_session(
    con: asyncpg.Connection,
    checked: SessionInput,
    rendered: tuple[tuple, dict],
    session_id: int | None,
    data: dict[str, object],
) -> int:
    """The one write of a session (inside the caller's transaction): insert or update."""
    place = checked.place
    args, translations = rendered
    if session_id is None:
        session_id = await q.insert_session(con, place.id, *args, translations=translations)
    elif (
        await q.update_session(con, session_id, place.id, *args, translations=translations) is None
    ):
        raise NotFound()
    if "joining_url" in data:
        await calendars.save_joining_url(con, place, session_id, checked.joining_url)
    assert session_id is not None
    return session_id


async def delete_session(ctx: Ctx, actor: Actor, slug: str, session_id: int) -> None:
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    async with ctx.pool.acquire() as con, con.transaction():
        # First, while its stars are there: calendars that imported it mark it cancelled
        # (same UID, SEQUENCE raised), "starred" feeds included.
        await calendars_q.insert_cancelled(con, session_id, place.id)
        if await q.delete_session(con, session_id, place.id) is None:
            raise NotFound()
    await ctx.hub.publish([conference_updated_event(place.id)])


# --- roles and joining ------------------------------------------------------------------


MAX_ROLE_ADDRESSES = 200  # one transaction; invitations for more go through the invitations page


@dataclass
class RolesGiven:
    """What one role submission did: the members given the role at once, the addresses sent
    an invitation carrying it, and what could not be read as an address (with its reason)."""

    assigned: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)

    def refused_text(self) -> str:
        """The refused entries, one a line: what goes back in the box to correct."""
        return "\n".join(p.text for p in self.refused)

    def json(self) -> dict[str, object]:
        """As the JSON API answers it (confer.api.routes.assign_role)."""
        return {
            "assigned": self.assigned,
            "invited": self.invited,
            "refused": [
                {"where": p.where, "text": p.text, "reason": p.reason} for p in self.refused
            ],
        }


async def assign_role(ctx: Ctx, actor: Actor, slug: str, data: dict[str, object]) -> RolesGiven:
    """An organiser gives a role, with a facilitator's or speaker's sessions, to one address
    or several (`email`: pasted as the invitations form takes them, confer.registration.
    addresses), all with the same role and sessions, in one transaction.

    An active member of the conference has their role changed at once ("assigned"). Anyone
    else is sent an invitation carrying the role, which they accept ("invited"): giving a
    role never enrols an account without its holder's consent, and the answer is the same
    whether or not the address has an account. An entry that is no address is listed back
    in `refused` with its reason and never stops the good ones."""
    place = await places.load(ctx.pool, actor, slug, "conference.manage")
    f = Fields()
    pasted = f.text(
        "email",
        data.get("email"),
        required=EMAIL_REQUIRED,
        too_long=N_("Email addresses must be %(max)s characters or fewer"),
        max_len=20_000,
    )
    role = f.choice("role", data.get("role"), ROLES, required=N_("Select role"))
    raw_sessions = data.get("sessions") or []
    if isinstance(raw_sessions, str):
        raw_sessions = [raw_sessions]
    session_ids = [
        sid
        for s in raw_sessions  # type: ignore[union-attr]
        if (sid := parse_id(s)) is not None
    ]
    people, bad = addresses.parse_pasted(pasted) if pasted else ([], [])
    emails = list({p.email.lower(): p.email for p in people}.values())
    if pasted and not emails and len(bad) == 1:
        f.add("email", _(EMAIL_FORMAT))  # one address, as the form always said
    if len(emails) > MAX_ROLE_ADDRESSES:
        f.add(
            "email",
            _("Give a role to at most %(max)s addresses at a time") % {"max": MAX_ROLE_ADDRESSES},
        )
    f.raise_if_any()
    result = RolesGiven(refused=bad)
    granted: list[int] = []
    async with ctx.pool.acquire() as con, con.transaction():
        for email in emails:
            user = await accounts_q.fetch_user_by_email(con, email)
            status = (
                await q.fetch_membership_status_for_update(con, place.id, user["id"])
                if user is not None
                else None
            )
            if status != "active":
                await invitations.invite_with_role(
                    ctx, con, place, actor, email, role, session_ids, data
                )
                result.invited.append(email)
                continue
            assert user is not None
            await registration.grant_role(con, place.id, user["id"], role, session_ids)
            result.assigned.append(email)
            granted.append(user["id"])
    for user_id in granted:
        await evict.member(ctx, user_id, place.id)  # a demoted facilitator leaves moderation
    return result


async def join(
    ctx: Ctx, actor: Actor, slug: str, accept_code_of_conduct: object, email: object = None
) -> Membership:
    """Register for a conference, accepting its code of conduct: a place, the waitlist or a
    request to the organisers, by its registration mode (confer.registration.service).
    `email`, when given, is how the member wants email of replies and other notifications
    ('each', 'digest' or 'none'), saved once they have a place (issue #23)."""
    if email not in (None, ""):
        f = Fields()
        f.choice(
            "email",
            email,
            notifications.EMAIL_CHOICES,
            required=N_("Select how you want to hear by email"),
        )
        if f.errors and not f.boolean(accept_code_of_conduct):
            f.add("accept_code_of_conduct", _("Confirm that you accept the code of conduct"))
        f.raise_if_any()
    done = await registration.register(ctx, actor, slug, accept_code_of_conduct)
    member = await places.membership_of(ctx.pool, actor, done.conference_id)
    assert member is not None
    if email not in (None, "") and member.active:
        await notifications.set_email_preference(ctx, actor, slug, email)
    return member


async def members(ctx: Ctx, place: Place) -> list[asyncpg.Record]:
    place.require("conference.manage")
    return await q.list_members(ctx.pool, place.id)


# --- a programme as lines of text (confer.conferences.lines) ------------------------------


async def check_lines(
    ctx: Ctx, actor: Actor, place: Place, f: Fields, name: str, text: str
) -> list[SessionInput]:
    """The sessions of `text`'s lines, checked; what is wrong with any line goes on field
    `name` of `f` (line by line). The programme page's paste box and a new conference's
    "Programme" box (create_conference, with the conference loaded inside its
    transaction) both read lines here."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(numbered) > lines.MAX_LINES:
        f.add(name, _("Enter %(max)s sessions or fewer at once") % {"max": lines.MAX_LINES})
        return []
    days = lines.days_of(place)
    checked: list[SessionInput] = []
    problems: list[str] = []
    for n, line in numbered:
        values = lines.line_values(place, days, line)
        if isinstance(values, str):
            problems.append(_("Line %(num)s: %(problem)s") % {"num": n, "problem": values})
            continue
        try:
            slug = place.conference["slug"]
            checked.append(await check_session(ctx, actor, slug, values, place=place))
        except Invalid as e:
            for message in dict.fromkeys(e.fields.values()):
                problems.append(_("Line %(num)s: %(problem)s") % {"num": n, "problem": message})
    if problems:
        f.add(name, " ".join(problems[:10]))
    return checked


async def write_lines(
    con: asyncpg.Connection,
    checked: list[SessionInput],
    rendered: list[tuple[tuple, dict]],
) -> list[int]:
    """Write checked lines' sessions in the caller's transaction."""
    return [
        await write_session(con, c, r, None, {}) for c, r in zip(checked, rendered, strict=True)
    ]
