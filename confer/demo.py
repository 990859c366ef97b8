"""The demo conference: "Councillors connected", three days, live now.

Times are relative to the database clock, so the demo is always live when loaded:
one discussion has already closed and two have yet to open. It is bilingual (written in
English, with its title, summary, code of conduct and sessions in Welsh too), so that a
newcomer who reads Confer in Cymraeg sees the conference in Welsh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from confer import markup
from confer.accounts import queries as accounts_q
from confer.accounts import service as accounts
from confer.conferences import queries as conferences_q
from confer.threads import queries as threads_q

# The demonstration's posts are seeds, written as they were posted before the time box opened
# (every real post goes through confer.posts.service.create_post).
SEED_POST = """
WITH t AS (
    UPDATE threads
    SET last_seq = last_seq + 1, post_count = post_count + 1, last_post_at = now()
    WHERE id = $1
    RETURNING last_seq, conference_id
)
INSERT INTO posts (thread_id, conference_id, seq, author_id, body_md, body_html, status)
SELECT $1, t.conference_id, t.last_seq, $2, $3, $4, 'visible'
FROM t
"""

SLUG = "councillors-connected"


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    name: str
    title: str
    organisation: str
    password: str
    role: str | None  # their role in the demo conference
    bio: str = ""


USERS = [
    DemoUser(
        "admin",
        "admin@demo.confer.test",
        "Site Administrator",
        "",
        "Confer",
        "demo-admin-keeps-the-lights-on",
        None,
    ),
    DemoUser(
        "organiser",
        "organiser@demo.confer.test",
        "Olivia Okafor",
        "",
        "Local Government Association",
        "demo-organiser-plans-the-programme",
        "organiser",
    ),
    DemoUser(
        "facilitator",
        "facilitator@demo.confer.test",
        "Faisal Hussain",
        "",
        "Improvement and Development Agency",
        "demo-facilitator-keeps-it-civil",
        "facilitator",
    ),
    DemoUser(
        "leader",
        "leader@demo.confer.test",
        "Jane Smith",
        "Cllr",
        "Liverpool City Council",
        "demo-speaker-leads-the-council",
        "speaker",
        "Leader of the council, who has answered residents' questions on social media since 2009.",
    ),
    DemoUser(
        "marketing",
        "marketing@demo.confer.test",
        "Priya Desai",
        "",
        "Kent County Council",
        "demo-speaker-runs-communications",
        "speaker",
        "Head of marketing and communications; runs the council's channels "
        "and its social media policy.",
    ),
    DemoUser(
        "consultant",
        "consultant@demo.confer.test",
        "Tom Reilly",
        "",
        "Reilly Digital",
        "demo-speaker-advises-councils",
        "speaker",
        "Consultant who helps councils start and sustain online engagement.",
    ),
    DemoUser(
        "participant",
        "participant@demo.confer.test",
        "Sam Taylor",
        "Cllr",
        "Bristol City Council",
        "demo-participant-asks-questions",
        "participant",
    ),
    DemoUser(
        "officer",
        "officer@demo.confer.test",
        "Alex Morgan",
        "",
        "Leeds City Council",
        "demo-officer-shares-experience",
        "participant",
    ),
    DemoUser(
        "observer",
        "observer@demo.confer.test",
        "Chris Evans",
        "",
        "Audit Office",
        "demo-observer-reads-quietly",
        "observer",
    ),
]

SUMMARY = """\
A three-day online conference for councillors and officers on using social media well:
what councils are doing now, connecting communities to services, engagement, the risks,
and how to get started. Take part at any hour that suits you.
"""

CODE_OF_CONDUCT = """\
Keep the discussion **constructive and respectful**. Disagree with ideas, not people.
Do not share personal information about residents or colleagues.
Facilitators may hide posts that break these rules, and will say why.
"""


# The conference's texts in Welsh (migrations/0018_bilingual.sql: `translations`).
TITLE = "Councillors connected: social media online conference"
TITLE_CY = "Cynghorwyr mewn cysylltiad: cynhadledd ar-lein am y cyfryngau cymdeithasol"

SUMMARY_CY = """\
Cynhadledd ar-lein dros dri diwrnod i gynghorwyr a swyddogion ar ddefnyddio’r cyfryngau
cymdeithasol yn dda: beth mae cynghorau’n ei wneud nawr, cysylltu cymunedau â gwasanaethau,
ymgysylltu, y risgiau, a sut i ddechrau arni. Cymerwch ran ar unrhyw adeg sy’n gyfleus i chi.
"""

CODE_OF_CONDUCT_CY = """\
Cadwch y drafodaeth yn **adeiladol ac yn barchus**. Anghytunwch â syniadau, nid â phobl.
Peidiwch â rhannu gwybodaeth bersonol am breswylwyr na chydweithwyr.
Gall hwyluswyr guddio negeseuon sy’n torri’r rheolau hyn, a byddant yn dweud pam.
"""

# Each session's title and description in Welsh, by its English title.
SESSIONS_CY: dict[str, tuple[str, str]] = {
    "Opening keynote: why social media matters for local democracy": (
        "Prif anerchiad agoriadol: pam mae’r cyfryngau cymdeithasol yn bwysig i ddemocratiaeth"
        " leol",
        "Croeso gan y trefnwyr a sgwrs agoriadol.",
    ),
    "What councils and councillors are doing with social media": (
        "Beth mae cynghorau a chynghorwyr yn ei wneud gyda’r cyfryngau cymdeithasol",
        "Rhannwch beth mae eich cyngor yn ei wneud nawr: sianeli, cynulleidfaoedd, beth sy’n"
        " gweithio.",
    ),
    "Connecting communities to local public services": (
        "Cysylltu cymunedau â gwasanaethau cyhoeddus lleol",
        "Sut mae’r cyfryngau cymdeithasol yn helpu preswylwyr i gyrraedd gwasanaethau, a"
        " gwasanaethau i gyrraedd preswylwyr.",
    ),
    "Empowerment, engagement and improvement": (
        "Grymuso, ymgysylltu a gwella",
        "Defnyddio sgyrsiau ar-lein i gynnwys pobl mewn penderfyniadau.",
    ),
    "Ask the panel: social media for councillors": (
        "Holwch y panel: y cyfryngau cymdeithasol i gynghorwyr",
        "Gofynnwch eich cwestiynau i arweinydd cyngor, pennaeth marchnata ac ymgynghorydd.",
    ),
    "The risks of these new ways of communicating": (
        "Risgiau’r ffyrdd newydd hyn o gyfathrebu",
        "Camdriniaeth, camwybodaeth, y cyfnod cyn etholiad a’r cod ymddygiad.",
    ),
    "How councils and councillors can get started": (
        "Sut y gall cynghorau a chynghorwyr ddechrau arni",
        "Camau cyntaf, polisïau a hyfforddiant.",
    ),
    "Lunch": ("Cinio", ""),
    "Conference café": (
        "Caffi’r gynhadledd",
        "Dechreuwch eich trafodaeth eich hun ar unrhyw beth sy’n ymwneud â’r gynhadledd.",
    ),
}


def _session_cy(title: str) -> dict:
    """A demo session's `translations`: its Welsh title and description (with its HTML)."""
    title_cy, desc_cy = SESSIONS_CY[title]
    texts = {"title": title_cy}
    if desc_cy:
        texts.update(description_md=desc_cy, description_html=markup.render_sync(desc_cy))
    return {"cy": texts}


async def load_demo(pool: asyncpg.Pool) -> tuple[bool, list[DemoUser]]:
    """Load the demo conference if absent; return (created, the demo accounts)."""
    if await conferences_q.fetch_conference_by_slug(pool, SLUG) is not None:
        return False, USERS
    ids: dict[str, int] = {}
    for u in USERS:
        row = await accounts_q.fetch_user_by_email(pool, u.email)
        if row is None:
            ids[u.key] = await accounts.create_user(
                pool, email=u.email, name=u.name, password=u.password, is_admin=u.key == "admin"
            )
            await accounts_q.update_profile(
                pool, ids[u.key], u.name, u.title, u.organisation, u.bio
            )
        else:
            ids[u.key] = row["id"]

    async with pool.acquire() as con, con.transaction():
        now = await con.fetchval("SELECT date_trunc('hour', now())")
        start = now - timedelta(hours=2)
        h = timedelta(hours=1)
        d = timedelta(days=1)
        cid = await conferences_q.insert_conference(
            con,
            SLUG,
            TITLE,
            SUMMARY,
            markup.render_sync(SUMMARY),
            CODE_OF_CONDUCT,
            markup.render_sync(CODE_OF_CONDUCT),
            "Europe/London",
            start,
            start + 3 * d,
            "public",
            ids["admin"],
            language="en",
            bilingual=True,
            translations={
                "cy": {
                    "title": TITLE_CY,
                    "summary_md": SUMMARY_CY,
                    "summary_html": markup.render_sync(SUMMARY_CY),
                    "code_of_conduct_md": CODE_OF_CONDUCT_CY,
                    "code_of_conduct_html": markup.render_sync(CODE_OF_CONDUCT_CY),
                }
            },
        )
        await conferences_q.set_published(con, cid, True)
        for u in USERS:
            if u.role:
                await conferences_q.upsert_membership(con, cid, ids[u.key], u.role, "conference")

        async def session(
            kind: str,
            title: str,
            desc: str,
            s: timedelta,
            e: timedelta,
            window: str = "session",
            open_threads: bool = False,
        ) -> int:
            return await conferences_q.insert_session(
                con,
                cid,
                kind,
                title,
                desc,
                markup.render_sync(desc),
                start + s,
                start + e,
                window,
                open_threads,
                translations=_session_cy(title),
            )

        await session(
            "keynote",
            "Opening keynote: why social media matters for local democracy",
            "Welcome from the organisers and an opening talk.",
            0 * h,
            h / 2,
        )
        doing = await session(
            "discussion",
            "What councils and councillors are doing with social media",
            "Share what your council does now: channels, audiences, what works.",
            h / 2,
            h + h / 2,
        )
        services = await session(
            "discussion",
            "Connecting communities to local public services",
            "How social media helps residents reach services, and services reach residents.",
            h,
            d,
        )
        await session(
            "discussion",
            "Empowerment, engagement and improvement",
            "Using online conversation to involve people in decisions.",
            h,
            2 * d,
        )
        panel = await session(
            "panel",
            "Ask the panel: social media for councillors",
            "Put your questions to a council leader, a head of marketing and a consultant.",
            h + h / 2,
            d,
        )
        await session(
            "discussion",
            "The risks of these new ways of communicating",
            "Abuse, misinformation, purdah and the code of conduct.",
            d,
            2 * d,
        )
        await session(
            "discussion",
            "How councils and councillors can get started",
            "First steps, policies and training.",
            2 * d,
            3 * d - h,
        )
        await session("break", "Lunch", "", d + 3 * h, d + 4 * h)
        cafe = await session(
            "discussion",
            "Conference café",
            "Start your own thread on anything related to the conference.",
            0 * h,
            3 * d,
            window="conference",
            open_threads=True,
        )
        for position_key in ("leader", "marketing", "consultant"):
            await conferences_q.insert_session_speaker(con, panel, ids[position_key])

        async def thread(session_id: int, title: str, posts: list[tuple[str, str]]) -> None:
            first_author = ids[posts[0][0]]
            tid = await threads_q.insert_thread(con, cid, session_id, title, first_author)
            for author, body in posts:
                await con.execute(SEED_POST, tid, ids[author], body, markup.render_sync(body))

        await thread(
            doing,
            "Which channels does your council use?",
            [
                (
                    "facilitator",
                    "Welcome! Tell us which channels your council uses and who you reach on each.",
                ),
                (
                    "officer",
                    "We use Facebook for residents' groups and X for service updates. "
                    "Nextdoor has been surprisingly useful for bin collection news.",
                ),
                (
                    "participant",
                    "As a ward councillor I mostly use a Facebook page. "
                    "The hardest part is finding time to reply to everyone.",
                ),
            ],
        )
        await thread(
            services,
            "Reporting problems through social media",
            [
                (
                    "facilitator",
                    "Should residents be able to report potholes or missed bins through social "
                    "media, or should we point them to the council's forms?",
                ),
                (
                    "officer",
                    "We answer every report but always link to the form, "
                    "so it gets a reference number.",
                ),
            ],
        )
        await thread(
            cafe,
            "Introduce yourself",
            [
                (
                    "organiser",
                    "Say hello: who you are, your council, "
                    "and what you hope to get from the conference.",
                ),
                (
                    "participant",
                    "Sam, councillor in Bristol. Hoping to learn how others handle abuse online.",
                ),
            ],
        )
    return True, USERS
