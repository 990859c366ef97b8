"""The daily digest: contents, exactly one email per member per day through a real SMTP
server, however often it runs and wherever it is interrupted; the clock and the command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from confer.notifications import digest
from confer.threads import queries as threads_q
from tests.conftest import World, insert_post

TZ = "Europe/London"


@pytest.fixture
def settings(settings, mailbox):
    return settings.with_(smtp_url=mailbox.url)


@dataclass
class Day:
    """A conference that started the day before yesterday; `day` is yesterday (in TZ)."""

    c: dict
    day: date
    users: dict[str, dict]
    threads: dict[str, int]


def plain(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def local(d: date, hm: str) -> datetime:
    h, m = map(int, hm.split(":"))
    return datetime(d.year, d.month, d.day, h, m, tzinfo=ZoneInfo(TZ))


async def _post(pool: asyncpg.Pool, thread_id: int, author: dict, body: str, at: datetime) -> int:
    post_id = await insert_post(pool, thread_id, author["id"], None, body, body, None)
    await pool.execute("UPDATE posts SET created_at = $2 WHERE id = $1", post_id, at)
    return post_id


async def _follow(pool: asyncpg.Pool, user: dict, thread_id: int, following: bool = True) -> None:
    await pool.execute(
        "INSERT INTO follows (user_id, thread_id, following) VALUES ($1, $2, $3)",
        user["id"],
        thread_id,
        following,
    )


async def _conference(world: World, members: list[tuple[str, str, str]]) -> Day:
    pool = world.pool
    today = await pool.fetchval("SELECT (now() AT TIME ZONE $1)::date", TZ)
    day = today - timedelta(days=1)
    c = dict(
        await pool.fetchrow(
            """
            INSERT INTO conferences (slug, title, timezone, starts_at, ends_at, published_at)
            VALUES ('digest-day', 'Councils online', $1, $2, $3, now())
            RETURNING id, slug
            """,
            TZ,
            local(day - timedelta(days=1), "09:00"),
            local(today + timedelta(days=3), "17:00"),
        )
    )
    programme = [
        ("discussion", "The café", local(day - timedelta(days=1), "09:00"), timedelta(days=5)),
        ("keynote", "Yesterday's keynote", local(day, "10:00"), timedelta(hours=1)),
        ("keynote", "Opening plenary", local(today, "09:30"), timedelta(hours=1)),
        ("panel", "Housing panel", local(today, "14:00"), timedelta(hours=1, minutes=30)),
        ("keynote", "Closing words", local(today + timedelta(days=1), "10:00"), timedelta(hours=1)),
    ]
    session_ids = []
    for kind, title, starts, lasts in programme:
        session_ids.append(
            await pool.fetchval(
                """
                INSERT INTO sessions (conference_id, kind, title, starts_at, ends_at)
                VALUES ($1, $2, $3, $4, $5) RETURNING id
                """,
                c["id"],
                kind,
                title,
                starts,
                starts + lasts,
            )
        )
    users = {}
    for key, name, pref in members:
        u = await world.user(name=name, email=f"{key}@example.org")
        await world.member(c, u, "participant")
        await pool.execute(
            "UPDATE memberships SET email_notifications = $3 WHERE conference_id = $1 "
            "AND user_id = $2",
            c["id"],
            u["id"],
            pref,
        )
        users[key] = u
    threads = {}
    for title in ("Bins", "Parking", "Libraries"):
        threads[title] = await threads_q.insert_thread(
            pool, c["id"], session_ids[0], title, next(iter(users.values()))["id"]
        )
    return Day(c, day, users, threads)


MEMBERS = [
    ("alice", "Alice Jones", "digest"),
    ("bob", "Bob Brown", "digest"),
    ("carol", "Carol White", "none"),
    ("dan", "Dan Green", "each"),
]


async def test_the_digest_has_followed_threads_new_posts_mentions_and_tomorrows_programme(
    world, server, mailbox, pool, settings
):
    d = await _conference(world, MEMBERS)
    alice, bob, carol = d.users["alice"], d.users["bob"], d.users["carol"]
    bins, parking, libraries = d.threads["Bins"], d.threads["Parking"], d.threads["Libraries"]
    await _follow(pool, alice, bins)
    await _follow(pool, alice, parking, False)  # unfollowed: left out
    await _follow(pool, bob, bins)
    before = d.day - timedelta(days=1)
    await _post(pool, bins, bob, "Old news from the day before.", local(before, "12:00"))
    first = await _post(pool, bins, bob, "Collections move to Tuesdays.", local(d.day, "09:15"))
    await _post(pool, bins, carol, "Glass goes in the **blue** box.", local(d.day, "16:40"))
    await _post(pool, bins, alice, "My own post is not news to me.", local(d.day, "17:00"))
    await _post(
        pool, bins, bob, "Posted after midnight.", local(d.day + timedelta(days=1), "00:30")
    )
    await _post(pool, parking, bob, "Parking permits.", local(d.day, "11:00"))
    mention = await _post(
        pool, libraries, carol, "@Alice Jones: opening hours?", local(d.day, "13:00")
    )
    await pool.execute(
        """
        INSERT INTO notifications (user_id, kind, post_id, thread_id, conference_id, actor_id,
                                   created_at)
        VALUES ($1, 'mention', $2, $3, $4, $5, $6)
        """,
        alice["id"],
        mention,
        libraries,
        d.c["id"],
        carol["id"],
        local(d.day, "13:00"),
    )

    result = await digest.run_digest(pool, settings, d.c["id"], d.day)
    assert result.finished and result.emails == 2  # Alice and Bob chose the digest

    [message] = await mailbox.wait_for("alice@example.org", 1, within=15)
    day_text = f"{d.day:%A} {d.day.day} {d.day:%B}"
    assert message["Subject"] == f"Councils online: your daily digest for {day_text}"
    text = plain(message)
    assert "“Bins”: 2 new posts" in text
    assert "Bob Brown: Collections move to Tuesdays." in text
    assert "Carol White: Glass goes in the **blue** box." in text
    assert f"/c/digest-day/posts/{first}" in text
    for absent in ("Old news", "after midnight", "My own post", "Parking", "Yesterday's keynote"):
        assert absent not in text, absent
    assert f"Carol White in “Libraries”: {settings.base_url}/c/digest-day/posts/{mention}" in text
    tomorrow = d.day + timedelta(days=1)
    zone = local(tomorrow, "09:30").tzname()  # GMT or BST
    assert (
        f"The programme for {tomorrow:%A} {tomorrow.day} {tomorrow:%B} (times in UK time):" in text
    )
    assert f"09:30–10:30 {zone}: Opening plenary" in text
    assert f"14:00–15:30 {zone}: Housing panel" in text
    assert "Closing words" not in text
    html = message.get_body(("html",)).get_content()
    assert "Glass goes in the **blue** box." in html and "<strong>" not in html

    # Bob follows Bins too: what is new to him there is Carol's and Alice's, not his own.
    [bob_message] = await mailbox.wait_for("bob@example.org", 1, within=15)
    bob_text = plain(bob_message)
    assert "“Bins”: 2 new posts\nAlice Jones: My own post" in bob_text
    assert "Collections move" not in bob_text and "Opening plenary" in bob_text
    await asyncio.sleep(1.0)
    assert mailbox.to("carol@example.org") == [] and mailbox.to("dan@example.org") == []


MANY = [(f"m{i}", f"Member Number{i}", "digest") for i in range(7)]


async def _exactly_one_each(mailbox, d: Day) -> None:
    for key in d.users:
        await mailbox.wait_for(f"{key}@example.org", 1, within=20)
    await asyncio.sleep(1.0)  # anything extra would have arrived by now
    counts = {key: len(mailbox.to(f"{key}@example.org")) for key in d.users}
    assert counts == {key: 1 for key in d.users}


async def test_running_a_day_twice_or_at_once_sends_one_email_each(
    world, server, mailbox, pool, settings
):
    d = await _conference(world, MANY)
    first, second = await asyncio.gather(
        digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=3),
        digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=3),
    )
    assert first.emails + second.emails == len(MANY)
    again = await digest.run_digest(pool, settings, d.c["id"], d.day)
    assert again.emails == 0 and again.total_emails == len(MANY)
    # Even if the run's progress were lost, the outbox's dedupe key holds.
    await pool.execute("UPDATE digest_runs SET done_upto_user_id = 0, finished_at = NULL")
    lost = await digest.run_digest(pool, settings, d.c["id"], d.day)
    assert lost.emails == 0
    await _exactly_one_each(mailbox, d)


async def test_a_run_interrupted_by_an_error_resumes_without_repeating(
    world, server, mailbox, pool, settings
):
    d = await _conference(world, MANY)

    async def crash(done: int) -> None:
        if done >= 2:
            raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        await digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=2, on_batch=crash)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'digest'") == 2
    rest = await digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=2)
    assert rest.emails == len(MANY) - 2 and rest.finished
    await _exactly_one_each(mailbox, d)


async def test_a_cancelled_run_resumes_without_repeating(world, server, mailbox, pool, settings):
    d = await _conference(world, MANY)
    reached = asyncio.Event()

    async def stall(done: int) -> None:
        if done >= 4:
            reached.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(
        digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=2, on_batch=stall)
    )
    await asyncio.wait_for(reached.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'digest'") == 4
    await digest.run_digest(pool, settings, d.c["id"], d.day, batch_size=2)
    await _exactly_one_each(mailbox, d)


async def test_the_clock_runs_yesterday_once_in_one_process(world, server, pool, settings):
    d = await _conference(world, MEMBERS)
    draft = await world.conference(published=False, starts_in=timedelta(days=-2))
    # Another process holds the lock: this one does nothing.
    async with pool.acquire() as other:
        await other.execute("SELECT pg_advisory_lock($1)", digest.DIGEST_LOCK)
        await digest._tick(server.app)
        assert await pool.fetchval("SELECT count(*) FROM digest_runs") == 0
        await other.execute("SELECT pg_advisory_unlock($1)", digest.DIGEST_LOCK)
    await digest._tick(server.app)
    runs = await pool.fetch("SELECT conference_id, day, finished_at, emails FROM digest_runs")
    assert [(r["conference_id"], r["day"]) for r in runs] == [(d.c["id"], d.day)]
    assert runs[0]["finished_at"] is not None and runs[0]["emails"] == 2
    assert draft["id"] not in [r["conference_id"] for r in runs]
    assert await digest.run_due(pool, settings) == []


async def test_the_next_digest_starts_where_the_last_one_ended(world, server, pool, settings):
    d = await _conference(world, MEMBERS)
    alice, bob = d.users["alice"], d.users["bob"]
    await _follow(pool, alice, d.threads["Bins"])
    two_days_ago = d.day - timedelta(days=1)
    await _post(pool, d.threads["Bins"], bob, "From the first day.", local(two_days_ago, "10:00"))
    await digest.run_digest(pool, settings, d.c["id"], two_days_ago)
    await _post(pool, d.threads["Bins"], bob, "From the second day.", local(d.day, "10:00"))
    await digest.run_digest(pool, settings, d.c["id"], d.day)
    bodies = {
        r["dedupe_key"]: r["body_text"]
        for r in await pool.fetch(
            "SELECT dedupe_key, body_text FROM outbox WHERE user_id = $1", alice["id"]
        )
    }
    first = bodies[digest.dedupe_key(d.c["id"], alice["id"], two_days_ago)]
    second = bodies[digest.dedupe_key(d.c["id"], alice["id"], d.day)]
    assert "From the first day." in first and "From the second day." not in first
    assert "From the second day." in second and "From the first day." not in second


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_URL", "XDG_RUNTIME_DIR")}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "confer", "digest", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_confer_digest_runs_a_day_by_hand_and_is_idempotent(
    world, server, mailbox, pool, database_url
):
    d = await _conference(world, MEMBERS)
    args = ("--conference", "digest-day", "--date", d.day.isoformat())
    first = await asyncio.to_thread(_cli, *args, database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "2 email(s) queued now, 2 in all" in first.stdout
    second = await asyncio.to_thread(_cli, *args, database_url=database_url)
    assert second.returncode == 0 and "0 email(s) queued now, 2 in all" in second.stdout
    await mailbox.wait_for("alice@example.org", 1, within=20)
    await mailbox.wait_for("bob@example.org", 1, within=20)
    wrong = await asyncio.to_thread(
        _cli, "--conference", "digest-day", "--date", "2001-01-01", database_url=database_url
    )
    assert wrong.returncode == 1 and "is not a day of digest-day" in wrong.stderr
    missing = await asyncio.to_thread(_cli, "--conference", "nope", database_url=database_url)
    assert missing.returncode == 1


async def test_the_days_notices_are_in_the_digest_in_the_members_language(
    world, server, browser_factory, mailbox, pool, settings
):
    """Notices (issue #23) go in the digest of those who chose it, in their language; "each"
    members had theirs one by one (and not again), "none" members hear nothing, and a member
    removed that day gets a digest with the notice of their removal alone."""
    c = await world.conference()
    panel = await world.session(c, kind="panel", title="Ask the panel", lasts=timedelta(hours=4))
    talk = await world.session(c, open_threads=True, title="Roads", lasts=timedelta(hours=4))
    people: dict = {}
    for key, role, pref in (
        ("fac", "facilitator", "none"),
        ("alice", "participant", "digest"),
        ("bob", "participant", "none"),
        ("dan", "participant", "each"),
        ("eve", "participant", "digest"),
    ):
        u = await world.user(name=key.title(), email=f"{key}@example.org")
        await world.member(c, u, role)
        await pool.execute(
            "UPDATE memberships SET email_notifications = $3 WHERE conference_id = $1 "
            "AND user_id = $2",
            c["id"],
            u["id"],
            pref,
        )
        people[key] = (u, await browser_factory(u["email"]))
    await pool.execute("UPDATE users SET language = 'cy' WHERE id = $1", people["alice"][0]["id"])
    fac_b = people["fac"][1]

    async def dismissed(key: str) -> None:
        status, q = await people[key][1].api(
            "POST", f"/api/v1/panels/{panel['id']}/questions", {"body": f"A question by {key}"}
        )
        assert status == 201, q
        status, _ = await fac_b.api(
            "POST",
            f"/api/v1/questions/{q['id']}/state",
            {"action": "dismiss", "reason": "Off topic"},
        )
        assert status == 200

    def members(key: str) -> str:
        return f"/api/v1/conferences/{c['slug']}/members/{people[key][0]['id']}/moderation"

    for key in ("alice", "bob", "dan"):
        await dismissed(key)
    status, thread = await people["alice"][1].api(
        "POST", f"/api/v1/sessions/{talk['id']}/threads", {"title": "Potholes", "body": "Rude."}
    )
    assert status == 201, thread
    post_id = await pool.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread["id"])
    status, _ = await fac_b.api(
        "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "Spam"}
    )
    assert status == 200
    status, _ = await fac_b.api(
        "POST", members("alice"), {"action": "mute", "minutes": "30", "reason": "Calm"}
    )
    assert status == 200
    status, _ = await fac_b.api(
        "POST", members("eve"), {"action": "remove", "reason": "Repeated abuse"}
    )
    assert status == 200

    today = await pool.fetchval(
        "SELECT (now() AT TIME ZONE timezone)::date FROM conferences WHERE id = $1", c["id"]
    )
    result = await digest.run_digest(pool, settings, c["id"], today)
    assert result.finished and result.emails == 2  # Alice's and Eve's

    [alice_mail] = await mailbox.wait_for("alice@example.org", 1, within=15)
    text = " ".join(plain(alice_mail).split())  # unwrapped
    assert "Amdanoch chi a’ch negeseuon:" in text
    assert "Cafodd eich cwestiwn yn “Ask the panel” ei ddiystyru. Y rheswm: Off topic" in text
    assert "Mae hwylusydd wedi cuddio eich neges yn “Potholes”. Y rheswm: Spam" in text
    assert f"{settings.base_url}/c/{c['slug']}/posts/{post_id}" in text
    assert "Mae hwylusydd wedi eich tawelu yn" in text
    assert "Your question" not in text and "A facilitator" not in text

    [eve_mail] = await mailbox.wait_for("eve@example.org", 1, within=15)
    text = " ".join(plain(eve_mail).split())
    assert f"You were removed from “Conference {c['slug']}”. The reason: Repeated abuse" in text
    assert "A question by eve" not in text and "Go to the conference" not in text
    assert "threads you follow" not in text

    # Dan chose "each": his one email is the notice itself, not a digest.
    [dan_mail] = await mailbox.wait_for("dan@example.org", 1, within=15)
    assert (
        dan_mail["Subject"]
        == "Your question in “Ask the panel” was dismissed. The reason: Off topic"
    )
    await asyncio.sleep(1.0)
    assert len(mailbox.to("dan@example.org")) == 1
    assert mailbox.to("bob@example.org") == [] and mailbox.to("fac@example.org") == []
    assert len(mailbox.to("alice@example.org")) == 1 and len(mailbox.to("eve@example.org")) == 1
