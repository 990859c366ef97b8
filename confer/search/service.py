"""Searching a conference's posts: who may search, what they may find, and safe snippets.

Readers find visible posts only; organisers and facilitators also find the hidden and pending
posts of the sessions they moderate, labelled as such. Snippets are built from the Markdown
source and escaped here: stored HTML never reaches a snippet.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import asyncpg
from babel.numbers import format_decimal

from confer import i18n, places, timefmt
from confer.context import Ctx
from confer.errors import BadRequest, NotFound
from confer.i18n import N_, _, ngettext
from confer.places import Place
from confer.policy import Actor
from confer.posts.service import hidden_reason_text
from confer.search import queries as q
from confer.urls import url
from confer.validate import Fields, parse_id

PER_PAGE = 20
# At most this many matches are counted and ranked (the newest ones): beyond it a search says
# "more than 200" and asks for more words, rather than make a search cost O(matches). Ranking
# 1,000 cost 3-5 times as much for common words and phrases (docs/performance.md, "History").
MAX_RESULTS = 200
MAX_PAGE = MAX_RESULTS // PER_PAGE
QUERY_MAX_CHARS = 200
# ts_headline parses and stems all the text it is given (about 2 µs a word) and posts can be
# 20,000 characters; a snippet shows 15-35 words. A longer post is cut to this many characters
# around the first searched word.
HEADLINE_CHARS = 1000
FILTERS = ("session_id", "thread_id", "author_id")

STOP_WORDS_ONLY = N_(
    "Your search only has very common words, like ‘the’ or ‘and’, which Confer ignores. "
    "Add a more specific word."
)
# A malformed filter: (the error, the field's message), whole sentences for each filter.
_BAD_FILTER = {
    "session_id": (
        N_("Session must be a number from this conference's search page."),
        N_("Session must be a number"),
    ),
    "thread_id": (
        N_("Thread must be a number from this conference's search page."),
        N_("Thread must be a number"),
    ),
    "author_id": (
        N_("Author must be a number from this conference's search page."),
        N_("Author must be a number"),
    ),
}
# Markdown that reads as noise in a one-line snippet: emphasis, code marks, heading and quote
# marks, and a link's address ([text](address) shows as text).
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`|^#+\s|^>\s?", re.MULTILINE)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_SPACES = re.compile(r"\s+")
_MARKS = re.compile(f"([{q.MARK_START}{q.MARK_END}])")


@dataclass(frozen=True)
class Results:
    place: Place
    query: str
    page: int
    pages: int
    total: int  # counted up to MAX_RESULTS + 1
    hits: list[dict]
    filters: dict[str, int | None]
    labels: dict[str, str] = field(default_factory=dict)  # what each filter names, for people
    notice: str | None = None

    @property
    def more_than_max(self) -> bool:
        return self.total > MAX_RESULTS

    @property
    def total_text(self) -> str:
        locale = i18n.babel_locale()
        if self.more_than_max:
            return _("More than %(num)s results") % {
                "num": format_decimal(MAX_RESULTS, locale=locale)
            }
        return ngettext("%(num)s result", "%(num)s results", self.total) % {
            "num": format_decimal(self.total, locale=locale)
        }


async def load(ctx: Ctx, actor: Actor, slug: str) -> Place:
    """The conference, if this actor may read (and so search) its discussions."""
    return await places.load(ctx.pool, actor, slug, "conference.read")


async def discussion_sessions(ctx: Ctx, place: Place) -> list[asyncpg.Record]:
    """The sessions a search can be narrowed to (those that hold threads)."""
    return await q.list_discussion_sessions(ctx.pool, place.id)


def _filter_id(name: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    parsed = parse_id(value)
    if parsed is None:
        message, field_message = _BAD_FILTER[name]
        raise BadRequest(_(message), fields={name: _(field_message)})
    return parsed


def reader_config() -> str:
    """The text search configuration of the reader's language, which says whether their words
    are only stop words: 'simple' (no stop words) for Welsh, 'english' otherwise."""
    return "simple" if i18n.lang() == "cy" else "english"


def moderation_scope(place: Place) -> tuple[bool, list[int]]:
    """Where this reader may see hidden and pending posts: everywhere, or these sessions."""
    if place.can("moderate", session={"id": None}):
        return True, []
    member = place.member
    if member is None:
        return False, []
    return False, sorted(s for s in member.session_ids if place.can("moderate", session={"id": s}))


async def search(
    ctx: Ctx,
    actor: Actor,
    slug: str,
    query: object,
    *,
    session_id: object = None,
    thread_id: object = None,
    author_id: object = None,
    page: int = 1,
) -> Results:
    """One page (PER_PAGE hits) of the posts matching `query`, best first, newest on ties.

    Filters may be ids or their text (from a query string): a malformed one is a 400 naming
    the field; a session, thread or person that is not part of this conference is a 404.
    """
    place = await load(ctx, actor, slug)
    filters = {
        "session_id": _filter_id("session_id", session_id),
        "thread_id": _filter_id("thread_id", thread_id),
        "author_id": _filter_id("author_id", author_id),
    }
    f = Fields()
    text = f.text(
        "q",
        query,
        required=N_("Enter words to search for"),
        too_long=N_("Words to search for must be %(max)s characters or fewer"),
        max_len=QUERY_MAX_CHARS,
    )
    f.raise_if_any()
    labels = await _labels(ctx, place, filters)
    page = max(1, min(page, MAX_PAGE))
    moderate_all, moderate_sessions = moderation_scope(place)
    async with ctx.pool.acquire() as con:
        async with con.transaction(readonly=True):
            # Custom plans: the best plan depends on how common the searched words are.
            await con.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            ranked = await q.rank_posts(
                con,
                place.id,
                text,
                session_id=filters["session_id"],
                thread_id=filters["thread_id"],
                author_id=filters["author_id"],
                moderate_all=moderate_all,
                moderate_sessions=moderate_sessions,
                candidates=MAX_RESULTS + 1,
                limit=PER_PAGE,
                offset=(page - 1) * PER_PAGE,
                config=reader_config(),
            )
        ranks = {r["id"]: r["rank"] for r in ranked if r["id"] is not None}
        rows = []
        if ranks:
            rows = await q.fetch_hits(
                con,
                list(ranks),
                text,
                headline_chars=HEADLINE_CHARS,
                moderate_all=moderate_all,
                moderate_sessions=moderate_sessions,
                reader_id=place.actor.user_id,
            )
    total = ranked[0]["total"]
    counted = min(total, MAX_RESULTS)
    pages = max(1, -(-counted // PER_PAGE))
    hits = [_hit(place, r, ranks[r["id"]]) for r in rows]
    # Only common words, as the reader's language reads them, and nothing found (a Welsh
    # post may be found by a word that English ignores, such as "am" or "i").
    notice = _(STOP_WORDS_ONLY) if ranked[0]["terms"] == 0 and total == 0 else None
    return Results(place, text, page, pages, total, hits, filters, labels, notice)


async def _labels(ctx: Ctx, place: Place, filters: dict[str, int | None]) -> dict[str, str]:
    """Names for the chosen filters; one from another conference is a 404 that says nothing."""
    labels = {}
    if filters["session_id"] is not None:
        row = await q.fetch_session(ctx.pool, filters["session_id"], place.id)
        if row is None:
            raise NotFound(_("There is no such session in this conference."))
        labels["session_id"] = row["title"]
    if filters["thread_id"] is not None:
        row = await q.fetch_thread(ctx.pool, filters["thread_id"], place.id)
        if row is None:
            raise NotFound(_("There is no such thread in this conference."))
        labels["thread_id"] = row["title"]
    if filters["author_id"] is not None:
        row = await q.fetch_member(ctx.pool, filters["author_id"], place.id)
        if row is None:
            raise NotFound(_("There is no such person in this conference."))
        labels["author_id"] = _person(row["title"], row["name"])
    return labels


def _person(title: str | None, name: str | None) -> str:
    if not name:
        return _("Former participant")
    return f"{title} {name}" if title else name


def snippet_html(text: str | None) -> str:
    """ts_headline's text, escaped, with its highlight markers turned into <mark>.

    The markers are private-use characters removed from the text before ts_headline ran, so
    each one here is ts_headline's own; they are paired up again here all the same, so that
    the HTML is well formed whatever the tidying above removed."""
    if not text:
        return ""
    text = _MARKDOWN_LINK.sub(r"\1", _MARKDOWN_NOISE.sub("", text))
    out, open_mark = [], False
    for part in _MARKS.split(_SPACES.sub(" ", text).strip()):
        if part == q.MARK_START:
            if not open_mark:
                out.append("<mark>")
            open_mark = True
        elif part == q.MARK_END:
            if open_mark:
                out.append("</mark>")
            open_mark = False
        else:
            out.append(html.escape(part, quote=True))
    if open_mark:
        out.append("</mark>")
    return "".join(out)


def _hit(place: Place, r: asyncpg.Record, rank: float) -> dict:
    slug = place.conference["slug"]
    return {
        "id": r["id"],
        "url": url("post", slug=slug, post_id=r["id"]),
        "status": r["status"],
        "hidden_reason": r["hidden_reason"] if r["status"] == "hidden" else None,
        "hidden_text": hidden_reason_text(r["hidden_reason"]) if r["status"] == "hidden" else None,
        "lang": r["lang"],
        "thread": {
            "id": r["thread_id"],
            "title": r["thread_title"],
            "url": url("thread", slug=slug, thread_id=r["thread_id"]),
        },
        "session": {
            "id": r["session_id"],
            "title": r["session_title"],
            "url": url("session", slug=slug, session_id=r["session_id"]),
        },
        "author": {"id": r["author_id"], "name": _person(r["author_title"], r["author_name"])},
        "created_at": timefmt.iso(r["created_at"]),
        "created_at_text": timefmt.short(r["created_at"], place.tz),
        "rank": round(float(rank), 6),
        "snippet_html": snippet_html(r["snippet"]),
    }


def page_url(base: str, results: Results, page: int, **changes: int | None) -> str:
    """`base` with this search's words and filters (with `changes`), on `page`."""
    params: list[tuple[str, str | int]] = [("q", results.query)]
    for name in FILTERS:
        value = changes[name] if name in changes else results.filters[name]
        if value is not None:
            params.append((name, value))
    if page > 1:
        params.append(("page", page))
    return f"{base}?{urlencode(params)}"
