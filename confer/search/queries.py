"""SQL for searching a conference's posts (posts.search, a generated tsvector with a GIN index).

Two statements: RANK_POSTS finds and ranks, FETCH_HITS reads the page's posts and their snippets.
Run RANK_POSTS with custom plans (`plan_cache_mode = force_custom_plan`): whether walking the
newest posts or the GIN index is cheaper depends on how common the searched words are, which the
planner can only judge when it sees them. FETCH_HITS does not depend on the words, so its cached
plan is kept: planning the joins for every search cost more than running them.
"""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# U+E000 and U+E001 (private use) mark a highlighted word: removed from the text first, so that
# the only ones in ts_headline's output are its own; the service escapes the text, then turns
# them into <mark> and </mark>.
MARK_START = "\ue000"
MARK_END = "\ue001"
# One passage around the best match (fragment mode drops a short post's first and last words).
HEADLINE_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=35, MinWords=15"

# What a search looks for: the words as English ('english': stems, without stop words) or as
# written ('simple'), which is how Welsh posts are indexed (posts.lang: migrations/0019).
# PostgreSQL has no Welsh stemmer, and the English one drops Welsh words ("a", "i", "am", "is")
# and mangles others. Each post's tsvector is in its own language's configuration, and each
# post is matched by the query in its own (OWN_QUERY: "social -coverage" must not find an
# English post by its stem "coverag" missing the word "coverage"). The two queries ORed find
# every post either finds, which the GIN index answers; the post's own query then decides.
QUERY_EN = "websearch_to_tsquery('english', $2)"
QUERY_CY = "websearch_to_tsquery('simple', $2)"
QUERY = f"({QUERY_EN} || {QUERY_CY})"


def own_query(alias: str) -> str:
    """The query in the language of the post `alias` (its `lang`)."""
    return f"(CASE WHEN {alias}.lang = 'cy' THEN {QUERY_CY} ELSE {QUERY_EN} END)"


# Who may see a post in search: visible posts, and hidden or pending ones for those who moderate
# them — $A (everywhere) or the sessions in $B.
_MAY_SEE = """(p.status = 'visible'
           OR (p.status IN ('hidden', 'pending')
               AND (${a}::boolean OR p.session_id = ANY(${b}::bigint[]))))"""

# cand: the newest $8 matching posts this reader may see. The planner chooses between walking
#   posts_conference_idx (or posts_session_created_idx, with a session filter) newest first and
#   testing each post, for common words, and the GIN index then a top-N sort, for rare ones.
#   Ranking reads each candidate's tsvector, so bounding the candidates bounds the work: with
#   more matches than that, the newest are the ones ranked.
# {match} is MATCH_INDEXED, or MATCH_TESTED when the search is within one thread or one
#   person's posts: there are few of those to test, while ANDing them with the GIN index reads
#   every post with a common word in the whole site (the planner thinks that cheap; it is not).
# Always at least one row, carrying `total` (candidates, up to $8) and `terms` (0: only stop
#   words were given, as the reader's language reads them: $11, 'english' or 'simple').
_RANK_POSTS = """
WITH cand AS MATERIALIZED (
    SELECT p.id, p.created_at, p.search, p.lang
    FROM posts p
    WHERE p.conference_id = $1
      AND {match}
      AND ($3::bigint IS NULL OR p.session_id = $3)
      AND ($4::bigint IS NULL OR p.thread_id = $4)
      AND ($5::bigint IS NULL OR p.author_id = $5)
      AND {may_see}
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT $8
), ranked AS (
    SELECT c.id, c.created_at, ts_rank_cd(c.search, {query}) AS rank
    FROM cand c
    ORDER BY rank DESC, c.created_at DESC, c.id DESC
    LIMIT $9 OFFSET $10
), total AS (
    SELECT count(*) AS n, numnode(websearch_to_tsquery($11::regconfig, $2)) AS terms
    FROM cand
)
SELECT total.n AS total, total.terms, r.id, r.rank
FROM total
LEFT JOIN ranked r ON true
ORDER BY r.rank DESC, r.created_at DESC, r.id DESC
"""
MATCH_INDEXED = f"p.search @@ {QUERY} AND p.search @@ {own_query('p')}"
# The same test, written so that no index can answer it (IS TRUE is not an index operator).
MATCH_TESTED = f"(p.search @@ {own_query('p')}) IS TRUE"
_RANK_MAY_SEE = _MAY_SEE.format(a=6, b=7)
_RANK_QUERY = own_query("c")
RANK_POSTS = _RANK_POSTS.format(match=MATCH_INDEXED, may_see=_RANK_MAY_SEE, query=_RANK_QUERY)
RANK_FEW_POSTS = _RANK_POSTS.format(match=MATCH_TESTED, may_see=_RANK_MAY_SEE, query=_RANK_QUERY)

# The page's posts ($1, in rank order) with where they are, who wrote them and a snippet. The
# visibility test is repeated: a post may have been hidden since it was ranked.
# ts_headline is costly (it parses and stems every word it is given): a post longer than $4
#   characters is cut to $4 from a little before the first place where a searched word's stem
#   appears (or from its start, if the stem does not appear as such).
FETCH_HITS = f"""
WITH words AS (
    -- Stems as they appear in text: the stemmer turns a final y into i ("policy": "polici").
    -- With the words as written, for Welsh posts.
    SELECT websearch_to_tsquery('english', $2) AS query,
           websearch_to_tsquery('simple', $2) AS simple_query,
           (SELECT coalesce(array_agg(CASE WHEN w.lexeme LIKE '%i' THEN left(w.lexeme, -1)
                                           ELSE w.lexeme END), '{{}}')
            FROM unnest(to_tsvector('english', $2)) w)
           || (SELECT coalesce(array_agg(w.lexeme), '{{}}')
               FROM unnest(to_tsvector('simple', $2)) w) AS stems
)
SELECT p.id, p.thread_id, p.status, p.hidden_reason, p.created_at, p.author_id, p.lang,
       th.title AS thread_title, th.session_id, s.title AS session_title,
       u.name AS author_name, u.title AS author_title,
       CASE WHEN p.lang = 'cy'
            THEN ts_headline('simple', translate(excerpt.text, E'\\uE000\\uE001', ''),
                             words.simple_query, $3)
            ELSE ts_headline('english', translate(excerpt.text, E'\\uE000\\uE001', ''),
                             words.query, $3)
       END AS snippet
FROM unnest($1::bigint[]) WITH ORDINALITY AS hit (id, n)
CROSS JOIN words
JOIN posts p ON p.id = hit.id
JOIN threads th ON th.id = p.thread_id
JOIN sessions s ON s.id = th.session_id
LEFT JOIN users u ON u.id = p.author_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN length(p.body_md) <= $4 THEN p.body_md
                ELSE substr(p.body_md,
                            greatest(1, min(nullif(strpos(lower(p.body_md), w), 0)) - $4 / 4),
                            $4)
           END AS text
    FROM unnest(CASE WHEN length(p.body_md) > $4 THEN words.stems END) w
) excerpt
WHERE {_MAY_SEE.format(a=5, b=6)}
  -- A thread awaiting approval (its opening post pending) is not there for most readers.
  AND (NOT th.awaiting_approval OR $5::boolean OR th.session_id = ANY($6::bigint[])
       OR th.author_id = $7::bigint)
ORDER BY hit.n
"""

LIST_DISCUSSION_SESSIONS = """
SELECT s.id, s.title, s.starts_at
FROM sessions s
WHERE s.conference_id = $1 AND s.kind = 'discussion'
ORDER BY s.starts_at, s.id
"""

FETCH_SESSION = """
SELECT s.id, s.title
FROM sessions s
WHERE s.id = $1 AND s.conference_id = $2
"""

FETCH_THREAD = """
SELECT t.id, t.title, t.session_id
FROM threads t
WHERE t.id = $1 AND t.conference_id = $2
"""

# Only someone with a place in this conference can be named by a search filter: an id from
# elsewhere reveals nothing.
FETCH_MEMBER = """
SELECT u.id, u.name, u.title
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.user_id = $1 AND m.conference_id = $2
"""


async def rank_posts(
    con: asyncpg.Connection,
    conference_id: int,
    query: str,
    *,
    session_id: int | None,
    thread_id: int | None,
    author_id: int | None,
    moderate_all: bool,
    moderate_sessions: list[int],
    candidates: int,
    limit: int,
    offset: int,
    config: str = "english",
) -> list[asyncpg.Record]:
    """The page's (id, rank), best first; always one row or more, with `total` and `terms`
    (counted as `config`, the reader's language's configuration, reads the words)."""
    few = thread_id is not None or author_id is not None
    return await con.fetch(
        RANK_FEW_POSTS if few else RANK_POSTS,
        conference_id,
        query,
        session_id,
        thread_id,
        author_id,
        moderate_all,
        moderate_sessions,
        candidates,
        limit,
        offset,
        config,
    )


async def fetch_hits(
    con: Con,
    post_ids: list[int],
    query: str,
    *,
    headline_chars: int,
    moderate_all: bool,
    moderate_sessions: list[int],
    reader_id: int | None,
) -> list[asyncpg.Record]:
    """The posts `post_ids`, in that order, with their snippets (any no longer visible left out)."""
    return await con.fetch(
        FETCH_HITS,
        post_ids,
        query,
        HEADLINE_OPTIONS,
        headline_chars,
        moderate_all,
        moderate_sessions,
        reader_id,
    )


async def list_discussion_sessions(con: Con, conference_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_DISCUSSION_SESSIONS, conference_id)


async def fetch_session(con: Con, session_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_SESSION, session_id, conference_id)


async def fetch_thread(con: Con, thread_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_THREAD, thread_id, conference_id)


async def fetch_member(con: Con, user_id: int, conference_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_MEMBER, user_id, conference_id)
