"""SQL for follows, notifications and email preferences.

A notification is unread until its `read_at` is set: by "mark as read", by opening it, or by
reading the post in its thread (a trigger on read_state, migrations/0010). Notifications of
hidden, pending or deleted posts, and of conferences the recipient is no longer an active
member of, are left out everywhere.

Per-notification and per-recipient checks are written as `JOIN LATERAL (... LIMIT 1)` on
purpose: each stays an index probe per row, where a plain join lets the planner hash or
merge-scan every membership, post or notification of the conference (measured: 100 ms a post
on a conference of 60,000 posts, against under 1 ms).
"""

from __future__ import annotations

import asyncpg

Con = asyncpg.Connection | asyncpg.Pool

# Aliases: n notifications, p its post (visible only), s its session (a reminder's, or a
# question notice's; a deleted session takes them with it), hp the post a notice is about (a
# post hidden or restored; deleted by its author: the notice goes), with the recipient still a
# member. A notification is shown when what it points at is there: `SHOWN` goes in every
# WHERE. A removal is shown to the member removed, who is no longer one (it carries no link).
SHOWN_FROM = """
FROM notifications n
LEFT JOIN LATERAL (
    SELECT p.thread_id, p.seq, p.body_md
    FROM posts p
    WHERE p.id = n.post_id AND p.status = 'visible'
    LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT s.id, s.kind, s.title, s.translations, s.starts_at
    FROM sessions s
    WHERE s.id = n.session_id
    LIMIT 1
) s ON true
LEFT JOIN LATERAL (
    SELECT hp.thread_id, hp.body_md
    FROM posts hp
    WHERE hp.id = n.about_post_id AND hp.status <> 'deleted'
    LIMIT 1
) hp ON true
LEFT JOIN LATERAL (
    SELECT 1 AS active
    FROM memberships m
    WHERE m.conference_id = n.conference_id AND m.user_id = n.user_id AND m.status = 'active'
    LIMIT 1
) member ON true
"""
SHOWN = """(n.kind = 'removed' OR (member.active IS NOT NULL AND (
    p.thread_id IS NOT NULL OR s.id IS NOT NULL OR hp.thread_id IS NOT NULL
    OR n.kind IN ('muted', 'unmuted'))))"""

UNREAD_CAP = 99  # the header shows "99+" beyond this

COUNT_UNREAD = f"""
SELECT count(*)
FROM (
    SELECT 1
    {SHOWN_FROM}
    WHERE n.user_id = $1 AND n.read_at IS NULL AND {SHOWN}
    LIMIT {UNREAD_CAP + 1}
) unread
"""


# Everything a new post causes, in one statement inside the post's transaction:
#   $1 post, $2 thread, $3 author, $4 conference, $5 the post it replies to,
#   $6 whether the author now follows the thread (unless they unfollowed it),
#   and with mentions: $7 candidate names (lower-cased, one a line), $8 the '@' each one
#   follows (comma-separated). Text, not arrays, so that PostgreSQL can keep one generic plan
#   (an array's length changes its estimates, and so forces a fresh plan for every post).
# Candidates of one '@' compete: only the longest names that belong to active members of the
# conference count ("@Cllr Jane Smith" is Cllr Jane Smith, not a member called "Cllr Jane").
# One notification per recipient: mention beats reply beats followed_post. A follower who has
# an unread notification in the thread (follows.told) is not told again: they will read the
# new posts when they go there. So a busy thread costs one index probe that finds nobody, not
# a row per follower. Posts in one thread are serialised by the thread row's lock taken by
# WRITE_POST (confer.posts.queries), so two posts cannot both tell the same follower.
# Kept small to plan: the post's facts come as parameters, and what only the notified need
# (emails, counts) is read afterwards, when someone was notified.
_NOTIFY_CTES = """
author_follows AS (
    INSERT INTO follows (user_id, thread_id, following)
    SELECT {author}::bigint, {thread}::bigint, true
    WHERE {follow} AND {author}::bigint IS NOT NULL
    ON CONFLICT (user_id, thread_id) DO NOTHING
),
{mentioned}candidates AS (
    {mention}SELECT r.author_id AS user_id, 'reply' AS kind, 2 AS rank
    FROM posts r
    WHERE r.id = {reply_to}::bigint
    UNION ALL
    SELECT f.user_id, 'followed_post', 3
    FROM follows f
    WHERE f.thread_id = {thread} AND f.following AND NOT f.told
),
chosen AS (
    SELECT DISTINCT ON (c.user_id) c.user_id, c.kind
    FROM candidates c
    WHERE {notify} AND c.user_id IS NOT NULL AND c.user_id IS DISTINCT FROM {author}::bigint
    ORDER BY c.user_id, c.rank
),
inserted AS (
    INSERT INTO notifications (user_id, kind, post_id, thread_id, conference_id, actor_id)
    SELECT ch.user_id, ch.kind, {post}, {thread}, {conference}, {author}
    FROM chosen ch
    JOIN LATERAL (
        SELECT 1
        FROM memberships m
        WHERE m.conference_id = {conference} AND m.user_id = ch.user_id AND m.status = 'active'
        LIMIT 1
    ) member ON true
    ON CONFLICT (user_id, post_id) DO NOTHING
    RETURNING id, user_id, kind
),
told AS (
    UPDATE follows f
    SET told = true
    FROM inserted i
    WHERE f.user_id = i.user_id AND f.thread_id = {thread} AND f.following AND NOT f.told
)
"""

_MENTIONED = """mentioned AS (
    SELECT ranked.user_id
    FROM (
        SELECT named.user_id,
               rank() OVER (PARTITION BY c.at ORDER BY length(c.name) DESC) AS r
        FROM ROWS FROM (string_to_table({names}::text, E'\\n'),
                        string_to_table({positions}::text, ','))
             AS c (name, at)
        JOIN LATERAL (
            SELECT u.id AS user_id
            FROM users u
            WHERE lower(u.name) = c.name
            OFFSET 0
        ) named ON true
        JOIN LATERAL (
            SELECT 1
            FROM memberships mm
            WHERE mm.conference_id = {conference} AND mm.user_id = named.user_id
              AND mm.status = 'active'
            LIMIT 1
        ) member ON true
    ) ranked
    WHERE ranked.r = 1
),
"""

_MENTION = "SELECT user_id, 'mention' AS kind, 1 AS rank FROM mentioned\n    UNION ALL\n    "


def notify_ctes(*, mentions: bool, **params: str) -> str:
    """The WITH items that notify of a post (ending in `inserted`, the notifications made).

    `params` are SQL expressions for post, thread, author, conference, reply_to, follow
    (whether the author follows), notify (whether anyone is told) and, with mentions, names
    and positions: the statement that writes a post uses them with the post it inserts.
    """
    if mentions:
        mentioned = _MENTIONED.format(**params)
        return _NOTIFY_CTES.format(mentioned=mentioned, mention=_MENTION, **params)
    return _NOTIFY_CTES.format(mentioned="", mention="", **params)


_PARAMS = {
    "post": "$1",
    "thread": "$2",
    "author": "$3",
    "conference": "$4",
    "reply_to": "$5",
    "follow": "$6",
    "notify": "true",
    "names": "$7",
    "positions": "$8",
}
_SELECT_INSERTED = "SELECT id, user_id, kind\nFROM inserted\n"
NOTIFY_FOR_POST = f"WITH {notify_ctes(mentions=False, **_PARAMS)}{_SELECT_INSERTED}"
NOTIFY_FOR_POST_WITH_MENTIONS = f"WITH {notify_ctes(mentions=True, **_PARAMS)}{_SELECT_INSERTED}"

# A pending post: its author follows the thread now; nobody is notified until approval.
FOLLOW_THREAD = """
INSERT INTO follows (user_id, thread_id, following)
VALUES ($1, $2, true)
ON CONFLICT (user_id, thread_id) DO NOTHING
"""

# What the notified need: their email preference and address, their new unread count, and
# where the post is and who wrote it. Only this transaction notifies of post $1 (when it is
# posted or approved), so its notifications are exactly the ones just made.
LIST_NOTIFIED = f"""
SELECT fresh.id, fresh.user_id, fresh.kind, fresh.created_at,
       r.email_notifications, r.email, r.name, r.language,
       ({COUNT_UNREAD.replace("$1", "fresh.user_id")}) AS unread,
       x.thread_id, x.body_md, x.thread_title, x.slug, x.conference_title,
       x.conference_language, x.conference_bilingual, x.conference_translations,
       x.author_name, x.author_title
FROM notifications fresh
JOIN LATERAL (
    SELECT p.thread_id, p.body_md, th.title AS thread_title, c.slug,
           c.title AS conference_title, c.language AS conference_language,
           c.bilingual AS conference_bilingual, c.translations AS conference_translations,
           u.name AS author_name, u.title AS author_title
    FROM posts p
    JOIN threads th ON th.id = p.thread_id
    JOIN conferences c ON c.id = p.conference_id
    LEFT JOIN users u ON u.id = p.author_id
    WHERE p.id = fresh.post_id
    LIMIT 1
) x ON true
JOIN LATERAL (
    SELECT m.email_notifications, u.email, u.name, u.language
    FROM memberships m
    JOIN users u ON u.id = m.user_id
    WHERE m.conference_id = fresh.conference_id AND m.user_id = fresh.user_id
    LIMIT 1
) r ON true
WHERE fresh.post_id = $1
ORDER BY fresh.user_id
"""

# Bulk: every email of a post (or of a digest batch) in one statement; a repeated dedupe key
# is skipped, so a rerun never queues a second copy.
INSERT_EMAILS = """
INSERT INTO outbox (kind, dedupe_key, user_id, to_address, to_name, subject, body_text, body_html)
SELECT $8, e.dedupe_key, e.user_id, e.to_address, e.to_name, e.subject, e.body_text,
       e.body_html
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS e (dedupe_key, user_id, to_address, to_name, subject, body_text, body_html)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""

NOTIFICATION_COLUMNS = """
n.id, n.user_id, n.kind, n.post_id, p.thread_id, n.conference_id, n.created_at, n.read_at,
n.session_id, s.kind AS session_kind, s.title AS session_title,
s.translations AS session_translations, s.starts_at AS session_starts_at,
n.read_at IS NOT NULL AS is_read,
n.question_id, n.answer_id, n.about_post_id, n.reason, n.until, hp.thread_id AS about_thread_id,
p.seq, left(coalesce(p.body_md, hp.body_md), 400) AS excerpt,
th.title AS thread_title, c.slug, c.title AS conference_title, c.timezone,
c.language AS conference_language, c.bilingual AS conference_bilingual,
c.translations AS conference_translations,
a.name AS actor_name, a.title AS actor_title,
CASE WHEN n.kind = 'followed_post' AND n.read_at IS NULL THEN (
    SELECT count(*)
    FROM posts later
    WHERE later.thread_id = p.thread_id AND later.seq > p.seq AND later.status = 'visible'
) ELSE 0 END AS newer_posts
"""

NOTIFICATION_FROM = f"""
{SHOWN_FROM}
LEFT JOIN threads th ON th.id = coalesce(p.thread_id, hp.thread_id)
JOIN conferences c ON c.id = n.conference_id
LEFT JOIN users a ON a.id = n.actor_id
"""

# Newest first, by keyset ($2: list before this id).
LIST_NOTIFICATIONS = f"""
SELECT {NOTIFICATION_COLUMNS}
{NOTIFICATION_FROM}
WHERE n.user_id = $1 AND n.id < $2 AND (NOT $4 OR n.read_at IS NULL) AND {SHOWN}
ORDER BY n.id DESC
LIMIT $3
"""

FETCH_NOTIFICATION = f"""
SELECT {NOTIFICATION_COLUMNS}
{NOTIFICATION_FROM}
WHERE n.id = $1 AND n.user_id = $2 AND {SHOWN}
"""

MARK_READ = f"""
UPDATE notifications
SET read_at = coalesce(read_at, now())
WHERE id = (
    SELECT n.id
    {SHOWN_FROM}
    WHERE n.id = $1 AND n.user_id = $2 AND {SHOWN}
)
RETURNING id
"""

# Already-read notifications keep their read_at; $2 (optional) limits it to older ones, so
# that "mark all as read" does not swallow what arrived after the page was shown.
MARK_ALL_READ = """
UPDATE notifications
SET read_at = now()
WHERE user_id = $1 AND read_at IS NULL AND ($2::bigint IS NULL OR id <= $2)
"""

FETCH_FOLLOWING = """
SELECT following
FROM follows
WHERE user_id = $1 AND thread_id = $2
"""

SET_FOLLOWING = """
INSERT INTO follows (user_id, thread_id, following)
VALUES ($1, $2, $3)
ON CONFLICT (user_id, thread_id)
DO UPDATE SET following = EXCLUDED.following, updated_at = now()
"""

LIST_EMAIL_PREFERENCES = """
SELECT c.id, c.slug, c.title, c.timezone, c.starts_at, c.ends_at, m.role,
       m.email_notifications, c.language, c.bilingual, c.translations
FROM memberships m
JOIN conferences c ON c.id = m.conference_id
WHERE m.user_id = $1 AND m.status = 'active'
ORDER BY c.starts_at DESC, c.id DESC
"""

SET_EMAIL_PREFERENCE = """
UPDATE memberships
SET email_notifications = $3
WHERE conference_id = $1 AND user_id = $2 AND status = 'active'
RETURNING email_notifications
"""


# A notice of what was done about a member (confer.notifications.notices), in the action's
# transaction.
INSERT_NOTICE = """
INSERT INTO notifications (user_id, kind, conference_id, actor_id, session_id, question_id,
                           answer_id, about_post_id, reason, until)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""

# Whom a notice goes to: their address, language and email choice for the conference (a
# removed member's choice too: they are told of their removal as they chose).
NOTICE_RECIPIENT = """
SELECT u.email, u.name, u.language, c.language AS conference_language,
       m.email_notifications
FROM users u
JOIN conferences c ON c.id = $2
LEFT JOIN memberships m ON m.conference_id = c.id AND m.user_id = u.id
WHERE u.id = $1
"""


async def insert_notice(con: asyncpg.Connection, *args: object) -> int:
    return await con.fetchval(INSERT_NOTICE, *args)


async def notice_recipient(
    con: asyncpg.Connection, user_id: int, conference_id: int
) -> asyncpg.Record | None:
    return await con.fetchrow(NOTICE_RECIPIENT, user_id, conference_id)


async def count_unread(con: Con, user_id: int) -> int:
    return await con.fetchval(COUNT_UNREAD, user_id)


async def notify_for_post(
    con: asyncpg.Connection,
    post_id: int,
    thread_id: int,
    author_id: int | None,
    conference_id: int,
    reply_to_id: int | None,
    names: list[str],
    positions: list[int],
    *,
    follow: bool,
) -> list[asyncpg.Record]:
    args = (post_id, thread_id, author_id, conference_id, reply_to_id, follow)
    if names:
        mentions = ("\n".join(names), ",".join(map(str, positions)))
        return await con.fetch(NOTIFY_FOR_POST_WITH_MENTIONS, *args, *mentions)
    return await con.fetch(NOTIFY_FOR_POST, *args)


async def follow_thread(con: Con, user_id: int, thread_id: int) -> None:
    await con.execute(FOLLOW_THREAD, user_id, thread_id)


async def list_notified(con: asyncpg.Connection, post_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_NOTIFIED, post_id)


async def insert_emails(con: asyncpg.Connection, kind: str, rows: list[tuple]) -> int:
    """Queue emails given as (dedupe_key, user_id, to, to_name, subject, text, html) rows;
    return how many were new."""
    if not rows:
        return 0
    columns = [list(c) for c in zip(*rows, strict=True)]
    return len(await con.fetch(INSERT_EMAILS, *columns, kind))


async def list_notifications(
    con: Con, user_id: int, *, before: int, limit: int, unread_only: bool
) -> list[asyncpg.Record]:
    return await con.fetch(LIST_NOTIFICATIONS, user_id, before, limit, unread_only)


async def fetch_notification(con: Con, notification_id: int, user_id: int) -> asyncpg.Record | None:
    return await con.fetchrow(FETCH_NOTIFICATION, notification_id, user_id)


async def mark_read(con: Con, notification_id: int, user_id: int) -> bool:
    return await con.fetchval(MARK_READ, notification_id, user_id) is not None


async def mark_all_read(con: Con, user_id: int, upto_id: int | None) -> int:
    status = await con.execute(MARK_ALL_READ, user_id, upto_id)
    return int(status.split()[-1])


async def fetch_following(con: Con, user_id: int, thread_id: int) -> bool | None:
    return await con.fetchval(FETCH_FOLLOWING, user_id, thread_id)


async def set_following(con: Con, user_id: int, thread_id: int, following: bool) -> None:
    await con.execute(SET_FOLLOWING, user_id, thread_id, following)


async def list_email_preferences(con: Con, user_id: int) -> list[asyncpg.Record]:
    return await con.fetch(LIST_EMAIL_PREFERENCES, user_id)


async def set_email_preference(
    con: Con, conference_id: int, user_id: int, value: str
) -> str | None:
    return await con.fetchval(SET_EMAIL_PREFERENCE, conference_id, user_id, value)
