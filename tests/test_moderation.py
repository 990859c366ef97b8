"""Moderation over HTTP (JSON API and forms) and the socket: every action, who may act,
reports and auto-hide, pre-moderation, slow mode, the append-only audit log, the queue, and
bad input. Live propagation to other clients is in tests/test_moderation_live.py.

One conference per test (`kit`): sessions A and B, two threads in each, and one person per
role. People are written straight into the database and signed in by a login row and an API
token (no password hashing), so that a test costs little more than its own requests.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from yarl import URL

from confer.accounts import service as accounts
from confer.context import Ctx
from confer.live.hub import Hub
from confer.moderation import service as moderation
from confer.moderation.service import AUTO_HIDE_REASON
from confer.policy import Actor
from tests.conftest import Browser, insert_post
from tests.test_live import Client

# Socket acknowledgements carry the error's code; HTTP carries its status.
STATUS_OF_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "closed": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "too_many_requests": 429,
    "bad_request": 400,
}


class ModClient(Client):
    """tests.test_live's recording client, also hearing the moderation events."""

    def __init__(self) -> None:
        super().__init__()
        for name in ("flag:new", "flag:resolved", "post:removed", "notification"):
            self.sio.on(name, self._recorder(name))

    async def moderate(self, **data: Any) -> dict[str, Any]:
        return await self.sio.call("moderate", data, timeout=10)

    async def flag(self, **data: Any) -> dict[str, Any]:
        return await self.sio.call("flag", data, timeout=10)

    async def post(self, **data: Any) -> dict[str, Any]:
        return await self.sio.call("post", data, timeout=10)

    def got(self, name: str) -> list[Any]:
        return self.events.get(name, [])


@dataclass
class Person:
    id: int | None
    name: str
    cookie: str = ""
    token: str = ""


ANON = Person(None, "Anonymous")


# --- the action table: every moderation action, with how to prepare a target and how to
# --- see that it took effect ---------------------------------------------------------------


def _thread_sql(cond: str) -> str:
    return f"SELECT coalesce(({cond}), false) FROM threads WHERE id = $1"


def _post_sql(cond: str) -> str:
    return f"SELECT coalesce(({cond}), false) FROM posts WHERE id = $1"


def _member_sql(cond: str) -> str:
    return f"SELECT coalesce(({cond}), false) FROM memberships WHERE user_id = $1"


@dataclass(frozen=True)
class Act:
    kind: str  # "thread", "post", "flags" (resolve the reports on a post) or "member"
    action: str
    data: dict[str, Any] = field(default_factory=dict)
    prep: str = ""  # SQL run on a fresh target ($1: its id) to make the action meaningful
    effect: str = ""  # SQL answering true once the action has been done ($1: the target's id)
    status: str = "visible"  # a post target's status when it is made

    @property
    def name(self) -> str:
        return f"{self.kind}.{self.action}"

    @property
    def log_action(self) -> str:
        return f"flags.{self.data['outcome']}" if self.kind == "flags" else self.name

    @property
    def target_type(self) -> str:
        return {"flags": "post"}.get(self.kind, self.kind)


ACTIONS = [
    Act("thread", "pin", effect=_thread_sql("pinned_at IS NOT NULL")),
    Act(
        "thread",
        "unpin",
        prep="UPDATE threads SET pinned_at = now() WHERE id = $1",
        effect=_thread_sql("pinned_at IS NULL"),
    ),
    Act(
        "thread",
        "lock",
        {"reason": "Moved to the cafe thread"},
        effect=_thread_sql("locked_at IS NOT NULL AND lock_reason = 'Moved to the cafe thread'"),
    ),
    Act(
        "thread",
        "unlock",
        prep="UPDATE threads SET locked_at = now(), lock_reason = 'x' WHERE id = $1",
        effect=_thread_sql("locked_at IS NULL"),
    ),
    Act("thread", "close", effect=_thread_sql("closed_at IS NOT NULL")),
    Act(
        "thread",
        "reopen",
        prep="UPDATE threads SET closed_at = now() WHERE id = $1",
        effect=_thread_sql("closed_at IS NULL"),
    ),
    Act("thread", "premoderate", effect=_thread_sql("premoderated")),
    Act(
        "thread",
        "unpremoderate",
        prep="UPDATE threads SET premoderated = true WHERE id = $1",
        effect=_thread_sql("NOT premoderated"),
    ),
    Act("thread", "slow_mode", {"seconds": "30"}, effect=_thread_sql("slow_mode_seconds = 30")),
    Act(
        "thread",
        "summarise",
        {"summary": "We agreed on *three* things."},
        effect=_thread_sql("summary_md = 'We agreed on *three* things.'"),
    ),
    Act(
        "post",
        "hide",
        {"reason": "Personal attack"},
        effect=_post_sql("status = 'hidden' AND hidden_reason = 'Personal attack'"),
    ),
    Act("post", "restore", status="hidden", effect=_post_sql("status = 'visible'")),
    Act("post", "approve", status="pending", effect=_post_sql("status = 'visible'")),
    Act(
        "post",
        "reject",
        {"reason": "Off-topic"},
        status="pending",
        effect=_post_sql("status = 'hidden' AND hidden_reason = 'Not approved: Off-topic'"),
    ),
    Act("post", "pin", effect=_post_sql("pinned_at IS NOT NULL")),
    Act(
        "post",
        "unpin",
        prep="UPDATE posts SET pinned_at = now() WHERE id = $1",
        effect=_post_sql("pinned_at IS NULL"),
    ),
    Act("post", "move", {"to_thread_id": "sibling"}, effect=_post_sql("moved_from_thread_id > 0")),
    Act(
        "flags",
        "resolve",
        {"outcome": "keep"},
        effect="SELECT NOT EXISTS (SELECT 1 FROM flags WHERE post_id = $1 AND resolved_at IS NULL)",
    ),
    Act(
        "member",
        "mute",
        {"minutes": "30", "reason": "Cooling off"},
        effect=_member_sql("muted_until > now()"),
    ),
    Act(
        "member",
        "unmute",
        prep="UPDATE memberships SET muted_until = now() + interval '1 hour' WHERE user_id = $1",
        effect=_member_sql("muted_until IS NULL"),
    ),
    Act("member", "premoderate", effect=_member_sql("premoderated")),
    Act(
        "member",
        "unpremoderate",
        prep="UPDATE memberships SET premoderated = true WHERE user_id = $1",
        effect=_member_sql("NOT premoderated"),
    ),
    Act("member", "remove", {"reason": "Repeated abuse"}, effect=_member_sql("status = 'removed'")),
]
CHANNELS = ("api", "form", "socket")


# --- one conference per test ------------------------------------------------------------


class Kit:
    """A conference with sessions A and B (two threads each), one person per role, and
    helpers to act as any of them over the JSON API, the forms or a socket."""

    def __init__(self, pool: asyncpg.Pool, settings: Any, server: Any, world: Any) -> None:
        self.pool = pool
        self.settings = settings
        self.server = server
        self.world = world
        self.browsers: dict[str, Browser] = {}
        self.sockets: dict[str, ModClient] = {}
        self.extra_sockets: list[ModClient] = []

    async def build(self) -> Kit:
        w = self.world
        self.c = await w.conference()
        self.slug = self.c["slug"]
        self.sa = await w.session(self.c, title="Session A")
        self.sb = await w.session(self.c, title="Session B")
        self.other = await w.conference()
        self.other_session = await w.session(self.other, title="Elsewhere")
        self.org = await self.person("Olu Organiser", "organiser")
        self.fac = await self.person("Faye Facilitator", "facilitator")
        self.fac_a = await self.person("Abe Facilitates-A", "facilitator", sessions=[self.sa])
        self.ann = await self.person("Ann Author", "participant")
        self.ben = await self.person("Ben Reader", "participant")
        self.cat = await self.person("Cat Reader", "participant")
        self.dan = await self.person("Dan Reader", "participant")
        self.speaker = await self.person("Sam Speaker", "speaker")
        self.observer = await self.person("Oz Observer", "observer")
        self.other_org = await self.person("Pat Elsewhere", "organiser", conference=self.other)
        await w.member(self.other, {"id": self.org.id}, "organiser")
        self.ta = await self.thread(self.sa, "Thread A1")
        self.ta2 = await self.thread(self.sa, "Thread A2")
        self.tb = await self.thread(self.sb, "Thread B1")
        self.tb2 = await self.thread(self.sb, "Thread B2")
        self.ot = await w.thread(self.other_session, {"id": self.other_org.id}, title="Other")
        return self

    @property
    def roles(self) -> dict[str, Person]:
        return {
            "participant": self.ben,
            "speaker": self.speaker,
            "observer": self.observer,
            "organiser of another conference": self.other_org,
            "anonymous": ANON,
            "facilitator of session A only": self.fac_a,
        }

    async def close(self) -> None:
        for client in [*self.sockets.values(), *self.extra_sockets]:
            if client.sio.connected:
                await client.sio.disconnect()

    # --- making things ---

    async def person(
        self,
        name: str,
        role: str | None = None,
        *,
        conference: dict | None = None,
        sessions: list[dict] | None = None,
        sign_in: bool = True,
    ) -> Person:
        uid = await self.pool.fetchval(
            "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, '!') RETURNING id",
            f"{uuid.uuid4().hex[:12]}@example.org",
            name,
        )
        if role:
            await self.world.member(conference or self.c, {"id": uid}, role, sessions=sessions)
        if not sign_in:
            return Person(uid, name)
        cookie = await accounts.start_login(self.pool, self.settings, uid)
        token, _ = await accounts.create_api_token(self.pool, Actor(user_id=uid), "tests")
        return Person(uid, name, cookie, token)

    async def thread(self, session: dict, title: str) -> dict:
        return await self.world.thread(session, {"id": self.fac.id}, title=title)

    async def add_post(
        self, thread: dict, author: Person, body: str, status: str = "visible"
    ) -> int:
        """A post written directly (no time box, no pre-moderation), for setting up."""
        post_id = await insert_post(
            self.pool, thread["id"], author.id, None, body, f"<p>{body}</p>\n", None, status
        )
        if status == "hidden":
            await self.pool.execute(
                "UPDATE posts SET hidden_reason = 'Spam' WHERE id = $1", post_id
            )
        return post_id

    async def add_flag(self, post_id: int, flagger: Person, reason: str = "spam") -> None:
        await self.pool.execute(
            "INSERT INTO flags (post_id, conference_id, flagger_id, reason) "
            "SELECT id, conference_id, $2, $3 FROM posts WHERE id = $1",
            post_id,
            flagger.id,
            reason,
        )

    def sibling(self, thread_id: int) -> dict:
        """The other thread of the same session."""
        pairs = {self.ta["id"]: self.ta2, self.ta2["id"]: self.ta}
        pairs.update({self.tb["id"]: self.tb2, self.tb2["id"]: self.tb})
        return pairs[thread_id]

    async def target(self, act: Act, session: dict) -> tuple[int, int | None]:
        """A fresh target for `act` in `session`: (its id, the thread a post target is in)."""
        thread = self.ta if session is self.sa else self.tb
        if act.kind == "thread":
            made = await self.thread(session, f"For {act.name}")
            target, in_thread = made["id"], None
        elif act.kind == "member":
            target, in_thread = (
                (await self.person("Mo Member", "participant", sign_in=False)).id,
                None,
            )
        else:
            target = await self.add_post(thread, self.ann, f"Target of {act.name}", act.status)
            in_thread = thread["id"]
            if act.kind == "flags":
                await self.add_flag(target, self.cat)
        if act.prep:
            await self.pool.execute(act.prep, target)
        assert target is not None
        return target, in_thread

    async def effect(self, act: Act, target: int) -> bool:
        return bool(await self.pool.fetchval(act.effect, target))

    # --- acting ---

    async def browser(self, who: Person | None) -> Browser:
        """who's browser (signed in by cookie), or for None a cookie-less one for tokens."""
        key = "tokens" if who is None else who.name
        if key not in self.browsers:
            b = Browser(self.server)
            if who is not None and who.cookie:
                b.session.cookie_jar.update_cookies({"confer_session": who.cookie}, URL(b.url("/")))
            self.browsers[key] = b
        return self.browsers[key]

    async def api(
        self, who: Person, method: str, path: str, body: Any = None, *, via: str = "token"
    ) -> tuple[int, Any]:
        if who.id is not None and via == "token":
            return await (await self.browser(None)).api(method, path, body, token=who.token)
        return await (await self.browser(who)).api(method, path, body)

    async def form(self, who: Person, path: str, data: dict[str, Any]) -> tuple[Any, str]:
        b = await self.browser(who)
        return await b.post(path, {k: str(v) for k, v in data.items()})

    async def page(self, who: Person, path: str) -> tuple[Any, str]:
        return await (await self.browser(who)).get(path)

    async def socket(self, who: Person, *, fresh: bool = False) -> ModClient:
        if fresh or who.name not in self.sockets:
            client = ModClient()
            headers = {"Cookie": f"confer_session={who.cookie}"} if who.cookie else {}
            await client.sio.connect(
                str(self.server.make_url("/")),
                headers=headers,
                transports=["websocket"],
                wait_timeout=10,
            )
            if fresh:
                self.extra_sockets.append(client)
                return client
            self.sockets[who.name] = client
        return self.sockets[who.name]

    async def post_as(self, who: Person, thread: dict, body: str) -> tuple[int, Any]:
        return await self.api(who, "POST", f"/api/v1/threads/{thread['id']}/posts", {"body": body})

    async def perform(
        self, who: Person, act: Act, target: int, channel: str, in_thread: int | None = None
    ) -> tuple[int, Any]:
        """Do `act` on `target` as `who` over `channel`; answer (HTTP status, body).
        A socket acknowledgement's status is 200 when ok, else its error code's status."""
        data = dict(act.data)
        if data.get("to_thread_id") == "sibling":
            assert in_thread is not None
            data["to_thread_id"] = self.sibling(in_thread)["id"]
        if channel == "socket":
            key = {"thread": "thread_id", "post": "post_id", "member": "user_id"}[act.kind]
            extra = {"conference": self.slug} if act.kind == "member" else {}
            client = await self.socket(who)
            ack = await client.moderate(action=act.action, **{key: target}, **extra, **data)
            status = 200 if ack["ok"] else STATUS_OF_CODE[ack["error"]["code"]]
            return status, ack
        if channel == "api":
            path = {
                "thread": f"/api/v1/threads/{target}/moderation",
                "post": f"/api/v1/posts/{target}/moderation",
                "flags": f"/api/v1/posts/{target}/flags/resolve",
                "member": f"/api/v1/conferences/{self.slug}/members/{target}/moderation",
            }[act.kind]
            return await self.api(who, "POST", path, {"action": act.action, **data})
        path = {
            "thread": f"/c/{self.slug}/threads/{target}/moderate",
            "post": f"/c/{self.slug}/posts/{target}/moderate",
            "flags": f"/c/{self.slug}/posts/{target}/flags/resolve",
            "member": f"/c/{self.slug}/members/{target}/moderate",
        }[act.kind]
        r, text = await self.form(who, path, {"action": act.action, **data})
        return r.status, {"location": r.headers.get("Location", ""), "text": text}

    # --- looking ---

    async def log(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT actor_id, action, target_type, target_id, reason, session_id, details "
            "FROM moderation_log ORDER BY id"
        )
        return [dict(r) | {"details": json.loads(r["details"])} for r in rows]

    async def post_row(self, post_id: int) -> asyncpg.Record:
        return await self.pool.fetchrow("SELECT * FROM posts WHERE id = $1", post_id)

    async def thread_row(self, thread_id: int) -> asyncpg.Record:
        return await self.pool.fetchrow("SELECT * FROM threads WHERE id = $1", thread_id)

    async def snapshot(self) -> dict[str, list]:
        """Everything a moderation action could change."""
        return {
            "posts": [
                tuple(r)
                for r in await self.pool.fetch(
                    "SELECT id, thread_id, seq, status, hidden_reason, pinned_at, "
                    "moved_from_thread_id FROM posts ORDER BY id"
                )
            ],
            "threads": [
                tuple(r)
                for r in await self.pool.fetch(
                    "SELECT id, pinned_at, locked_at, lock_reason, closed_at, premoderated, "
                    "slow_mode_seconds, slow_mode_until, summary_md, post_count, last_seq "
                    "FROM threads ORDER BY id"
                )
            ],
            "memberships": [
                tuple(r)
                for r in await self.pool.fetch(
                    "SELECT conference_id, user_id, status, muted_until, premoderated "
                    "FROM memberships ORDER BY conference_id, user_id"
                )
            ],
            "flags": [
                tuple(r)
                for r in await self.pool.fetch(
                    "SELECT id, resolved_at, resolution FROM flags ORDER BY id"
                )
            ],
            "summaries": [
                tuple(r) for r in await self.pool.fetch("SELECT id FROM thread_summaries")
            ],
            "log": await self.log(),
        }


@pytest.fixture(name="kit")
async def kit_fixture(world, pool, settings, server) -> AsyncIterator[Kit]:
    k = await Kit(pool, settings, server, world).build()
    yield k
    await k.close()
    for b in k.browsers.values():
        await b.close()


def _thread_order(text: str, *ids: int) -> list[int]:
    """The order in which the threads `ids` are listed on a session page."""
    found = [int(m) for m in re.findall(r'data-thread-id="(\d+)"', text)]
    return [i for i in found if i in ids]


# === 1. each action, over HTTP and over the socket ========================================


@pytest.mark.parametrize("channel", CHANNELS)
async def test_every_action_by_a_facilitator_takes_effect_and_writes_one_log_row(kit, channel):
    """The whole action table over one channel: the change is made and logged once, with
    the actor, the action, the target and the reason."""
    problems = []
    for act in ACTIONS:
        if channel == "socket" and act.kind == "flags":
            continue  # resolving reports has no socket event
        target, in_thread = await kit.target(act, kit.sa)
        before = len(await kit.log())
        status, body = await kit.perform(kit.fac, act, target, channel, in_thread)
        expected = 303 if channel == "form" else 200
        if status != expected:
            problems.append(f"{act.name}: answered {status}: {str(body)[:300]}")
            continue
        if not await kit.effect(act, target):
            problems.append(f"{act.name}: answered {status} but did not take effect")
        rows = (await kit.log())[before:]
        wanted = {
            "actor_id": kit.fac.id,
            "action": act.log_action,
            "target_type": act.target_type,
            "target_id": target,
            "reason": act.data.get("reason", ""),
        }
        got = [{k: r[k] for k in wanted} for r in rows]
        if got != [wanted]:
            problems.append(f"{act.name}: log rows {got}, wanted [{wanted}]")
    assert problems == []


async def test_pinned_thread_is_listed_first_on_the_session_page_until_unpinned(kit):
    ta, ta2 = kit.ta["id"], kit.ta2["id"]
    await kit.pool.execute(
        "UPDATE threads SET last_post_at = now() - interval '1 hour' WHERE id = $1", ta
    )
    page = f"/c/{kit.slug}/sessions/{kit.sa['id']}"
    _, text = await kit.page(kit.ben, page)
    assert _thread_order(text, ta, ta2) == [ta2, ta]  # most recent activity first

    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{ta}/moderation", {"action": "pin"}, via="cookie"
    )
    assert status == 200 and body["pinned"] is True and body["change"] == "pin"
    _, text = await kit.page(kit.ben, page)
    assert _thread_order(text, ta, ta2) == [ta, ta2]
    status, listed = await kit.api(kit.ben, "GET", f"/api/v1/sessions/{kit.sa['id']}/threads")
    assert [t["id"] for t in listed["threads"] if t["id"] in (ta, ta2)] == [ta, ta2]

    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{ta}/moderation", {"action": "unpin"}, via="cookie"
    )
    assert status == 200 and body["pinned"] is False
    _, text = await kit.page(kit.ben, page)
    assert _thread_order(text, ta, ta2) == [ta2, ta]
    assert [r["action"] for r in await kit.log()] == ["thread.pin", "thread.unpin"]


async def test_pinning_a_post_through_the_form_shows_it_as_pinned_until_unpinned(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Our agreed terms of reference")
    thread_page = f"/c/{kit.slug}/threads/{kit.ta['id']}"
    r, _ = await kit.form(kit.fac, f"/c/{kit.slug}/posts/{post_id}/moderate", {"action": "pin"})
    assert r.status == 303
    assert (await kit.post_row(post_id))["pinned_at"] is not None
    _, text = await kit.page(kit.ben, thread_page)
    assert "Pinned by a facilitator" in text
    r, _ = await kit.form(kit.fac, f"/c/{kit.slug}/posts/{post_id}/moderate", {"action": "unpin"})
    assert r.status == 303
    assert (await kit.post_row(post_id))["pinned_at"] is None
    _, text = await kit.page(kit.ben, thread_page)
    assert "Pinned by a facilitator" not in text
    assert [(r["action"], r["target_id"]) for r in await kit.log()] == [
        ("post.pin", post_id),
        ("post.unpin", post_id),
    ]


async def test_locking_with_a_reason_refuses_posts_with_that_reason_until_unlocked(kit):
    tid = kit.ta["id"]
    r, _ = await kit.form(
        kit.fac,
        f"/c/{kit.slug}/threads/{tid}/moderate",
        {"action": "lock", "reason": "Continue in the cafe"},
    )
    assert r.status == 303
    row = await kit.thread_row(tid)
    assert row["locked_at"] is not None and row["lock_reason"] == "Continue in the cafe"

    status, body = await kit.post_as(kit.ann, kit.ta, "Can I still post?")
    assert status == 403 and body["error"]["code"] == "closed"
    assert "Continue in the cafe" in body["error"]["message"]
    author = await kit.socket(kit.ann)
    ack = await author.post(thread_id=tid, body="And over the socket?")
    assert ack["ok"] is False and "Continue in the cafe" in ack["error"]["message"]
    r, text = await kit.form(kit.ann, f"/c/{kit.slug}/threads/{tid}/posts", {"body": "Form?"})
    assert r.status == 403 and "Continue in the cafe" in text

    ack = await (await kit.socket(kit.fac)).moderate(action="unlock", thread_id=tid)
    assert ack["ok"] is True and ack["result"]["locked"] is False
    assert ack["result"]["posting_state"] == "open"
    status, _ = await kit.post_as(kit.ann, kit.ta, "Back again")
    assert status == 201
    log = await kit.log()
    assert [(r["action"], r["reason"]) for r in log] == [
        ("thread.lock", "Continue in the cafe"),
        ("thread.unlock", ""),
    ]


async def test_locking_without_a_reason_answers_422_naming_reason_and_changes_nothing(kit):
    tid = kit.ta["id"]
    before = await kit.snapshot()
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "lock"}
    )
    assert status == 422 and "reason" in body["error"]["fields"]
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "lock", "reason": "  "}
    )
    assert status == 422 and "reason" in body["error"]["fields"]
    ack = await (await kit.socket(kit.fac)).moderate(action="lock", thread_id=tid)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid"
    assert "reason" in ack["error"]["fields"]
    r, text = await kit.form(
        kit.fac, f"/c/{kit.slug}/threads/{tid}/moderate", {"action": "lock", "reason": ""}
    )
    assert r.status == 422
    assert await kit.snapshot() == before


async def test_closing_early_refuses_posts_and_reopening_allows_them_until_the_session_ends(
    kit,
):
    tid = kit.ta["id"]
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "close"}
    )
    assert status == 200 and body["posting_state"] == "closed"
    status, body = await kit.post_as(kit.ann, kit.ta, "Too late?")
    assert status == 403 and "A facilitator closed this thread" in body["error"]["message"]

    ack = await (await kit.socket(kit.fac)).moderate(action="reopen", thread_id=tid)
    assert ack["ok"] is True and ack["result"]["posting_state"] == "open"
    status, _ = await kit.post_as(kit.ann, kit.ta, "Open again")
    assert status == 201
    # Once the session has ended, a thread closed early stays closed.
    await kit.api(kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "close"})
    await kit.pool.execute(
        "UPDATE sessions SET starts_at = now() - interval '3 hours', "
        "ends_at = now() - interval '1 minute' WHERE id = $1",
        kit.sa["id"],
    )
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "reopen"}
    )
    assert status == 422 and "action" in body["error"]["fields"]
    assert (await kit.thread_row(tid))["closed_at"] is not None
    actions = [r["action"] for r in await kit.log()]
    assert actions == ["thread.close", "thread.reopen", "thread.close"]


async def test_hiding_through_the_form_shows_others_the_reason_and_the_author_their_text(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "My candid view of the budget")
    count = (await kit.thread_row(kit.ta["id"]))["post_count"]
    r, _ = await kit.form(
        kit.fac,
        f"/c/{kit.slug}/posts/{post_id}/moderate",
        {"action": "hide", "reason_choice": "Personal attack", "reason": ""},
    )
    assert r.status == 303
    row = await kit.post_row(post_id)
    assert row["status"] == "hidden" and row["hidden_reason"] == "Personal attack"
    assert (await kit.thread_row(kit.ta["id"]))["post_count"] == count - 1
    placeholder = "Removed by a facilitator: Personal attack"

    # Others: the reason, never the text, on the page and in the API.
    for reader in (kit.ben, ANON):
        _, text = await kit.page(reader, f"/c/{kit.slug}/threads/{kit.ta['id']}")
        assert placeholder in text and "My candid view" not in text
        status, post = await kit.api(reader, "GET", f"/api/v1/posts/{post_id}")
        assert status == 200
        assert post["html"] == "" and post["placeholder"] == placeholder
        assert post["status"] == "hidden"
        _, listed = await kit.api(reader, "GET", f"/api/v1/threads/{kit.ta['id']}/posts")
        shown = next(p for p in listed["posts"] if p["id"] == post_id)
        assert shown["html"] == "" and shown["placeholder"] == placeholder
        assert "My candid view" not in json.dumps(listed)

    # The author: their own text, and why it was hidden.
    _, text = await kit.page(kit.ann, f"/c/{kit.slug}/threads/{kit.ta['id']}")
    assert "My candid view of the budget" in text and placeholder in text
    status, post = await kit.api(kit.ann, "GET", f"/api/v1/posts/{post_id}")
    assert status == 200 and "My candid view of the budget" in post["html"]
    assert post["status"] == "hidden" and post["hidden_reason"] == "Personal attack"
    (entry,) = await kit.log()
    assert entry["action"] == "post.hide" and entry["reason"] == "Personal attack"
    assert entry["actor_id"] == kit.fac.id and entry["session_id"] == kit.sa["id"]


async def test_restoring_a_hidden_post_shows_it_to_everyone_again(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Worth keeping after all")
    count = (await kit.thread_row(kit.ta["id"]))["post_count"]
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "x"}
    )
    assert status == 200
    ack = await (await kit.socket(kit.fac)).moderate(action="restore", post_id=post_id)
    assert ack["ok"] is True and ack["result"]["status"] == "visible"
    status, post = await kit.api(kit.ben, "GET", f"/api/v1/posts/{post_id}")
    assert "Worth keeping after all" in post["html"] and post["placeholder"] is None
    assert (await kit.thread_row(kit.ta["id"]))["post_count"] == count
    assert (await kit.post_row(post_id))["hidden_reason"] is None
    # Only a hidden post can be restored.
    ack = await (await kit.socket(kit.fac)).moderate(action="restore", post_id=post_id)
    assert ack["ok"] is False and "action" in ack["error"]["fields"]
    assert [r["action"] for r in await kit.log()] == ["post.hide", "post.restore"]


async def test_moving_a_post_takes_it_to_another_thread_of_the_same_conference(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "This belongs in B")
    old = await kit.post_row(post_id)
    ta_count = (await kit.thread_row(kit.ta["id"]))["post_count"]
    tb = await kit.thread_row(kit.tb["id"])
    status, body = await kit.api(
        kit.fac,
        "POST",
        f"/api/v1/posts/{post_id}/moderation",
        {"action": "move", "to_thread_id": kit.tb["id"]},
    )
    assert status == 200 and body["thread_id"] == kit.tb["id"]
    row = await kit.post_row(post_id)
    assert row["thread_id"] == kit.tb["id"] and row["seq"] == tb["last_seq"] + 1
    assert row["moved_from_thread_id"] == kit.ta["id"]
    assert (await kit.thread_row(kit.ta["id"]))["post_count"] == ta_count - 1
    assert (await kit.thread_row(kit.tb["id"]))["post_count"] == tb["post_count"] + 1
    _, in_b = await kit.api(kit.ben, "GET", f"/api/v1/threads/{kit.tb['id']}/posts")
    _, in_a = await kit.api(kit.ben, "GET", f"/api/v1/threads/{kit.ta['id']}/posts")
    assert post_id in [p["id"] for p in in_b["posts"]]
    assert post_id not in [p["id"] for p in in_a["posts"]]
    (entry,) = await kit.log()
    assert entry["action"] == "post.move" and entry["details"] == {
        "from_thread_id": kit.ta["id"],
        "from_seq": old["seq"],
        "to_thread_id": kit.tb["id"],
        "to_seq": row["seq"],
    }


async def test_a_post_cannot_be_moved_to_a_thread_of_another_conference(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Stay here")
    before = await kit.snapshot()
    for to in (kit.ot["id"], 999_999, "abc", kit.ta["id"]):
        status, body = await kit.api(
            kit.org,  # organiser of both conferences
            "POST",
            f"/api/v1/posts/{post_id}/moderation",
            {"action": "move", "to_thread_id": to},
        )
        assert status == 422 and list(body["error"]["fields"]) == ["to_thread_id"], to
    assert await kit.snapshot() == before


async def test_summarising_shows_the_summary_on_the_thread_page_and_keeps_each_version(kit):
    tid = kit.ta["id"]
    fac = await kit.socket(kit.fac)
    ack = await fac.moderate(action="summarise", thread_id=tid, summary="First draft.")
    assert ack["ok"] is True
    ack = await fac.moderate(
        action="summarise", thread_id=tid, summary="We agreed on **three** things."
    )
    assert ack["ok"] is True and "<strong>three</strong>" in ack["result"]["summary_html"]
    _, text = await kit.page(kit.ben, f"/c/{kit.slug}/threads/{tid}")
    assert "We agreed on <strong>three</strong> things." in text and "First draft." not in text
    history = await kit.pool.fetch(
        "SELECT body_md, author_id FROM thread_summaries WHERE thread_id = $1 ORDER BY id", tid
    )
    assert [tuple(r) for r in history] == [
        ("First draft.", kit.fac.id),
        ("We agreed on **three** things.", kit.fac.id),
    ]
    ack = await fac.moderate(action="summarise", thread_id=tid, summary="")
    assert ack["ok"] is False and "summary" in ack["error"]["fields"]
    assert [r["action"] for r in await kit.log()] == ["thread.summarise"] * 2


async def test_muting_stops_a_member_posting_and_reporting_until_unmuted(kit):
    path = f"/api/v1/conferences/{kit.slug}/members/{kit.ben.id}/moderation"
    other_post = await kit.add_post(kit.ta, kit.ann, "Something to report")
    status, body = await kit.api(kit.fac, "POST", path, {"action": "mute", "minutes": 0})
    assert status == 422 and {"minutes", "reason"} <= set(body["error"]["fields"])
    status, _ = await kit.api(
        kit.fac, "POST", path, {"action": "mute", "minutes": 30, "reason": "Cooling off"}
    )
    assert status == 200
    status, body = await kit.post_as(kit.ben, kit.ta, "Let me speak")
    assert status == 403 and "muted" in body["error"]["message"]
    status, _ = await kit.api(
        kit.ben, "POST", f"/api/v1/posts/{other_post}/flags", {"reason": "spam"}
    )
    assert status == 403
    status, _ = await kit.api(kit.fac, "POST", path, {"action": "unmute"})
    assert status == 200
    status, _ = await kit.post_as(kit.ben, kit.ta, "Thank you")
    assert status == 201
    log = await kit.log()
    assert [(r["action"], r["target_type"], r["target_id"], r["reason"]) for r in log] == [
        ("member.mute", "member", kit.ben.id, "Cooling off"),
        ("member.unmute", "member", kit.ben.id, ""),
    ]
    assert log[0]["details"] == {"minutes": 30}


async def test_organisers_and_oneself_cannot_be_moderated_as_members(kit):
    before = await kit.snapshot()
    for who, target in ((kit.fac, kit.org), (kit.fac, kit.fac), (kit.org, kit.org)):
        status, _ = await kit.api(
            who,
            "POST",
            f"/api/v1/conferences/{kit.slug}/members/{target.id}/moderation",
            {"action": "remove", "reason": "x"},
        )
        assert status == 403
    assert await kit.snapshot() == before


# === 3. who may moderate: one table of roles x actions x channels =========================


@pytest.mark.parametrize(
    "role",
    [
        "participant",
        "speaker",
        "observer",
        "organiser of another conference",
        "anonymous",
        "facilitator of session A only",
    ],
)
async def test_roles_without_the_right_are_refused_every_action_on_every_channel(kit, role):
    """Every action on a target in session B: 403 (401 anonymous over the API and socket; the
    forms send the anonymous to sign in). Nothing changes and nothing is logged."""
    who = kit.roles[role]
    problems = []
    for act in ACTIONS:
        target, in_thread = await kit.target(act, kit.sb)
        for channel in CHANNELS:
            if channel == "socket" and act.kind == "flags":
                continue
            status, body = await kit.perform(who, act, target, channel, in_thread)
            if who is ANON and channel == "form":
                ok = status == 303 and body["location"].startswith("/login?next=")
            else:
                ok = status == (401 if who is ANON else 403)
            if not ok:
                problems.append(f"{act.name} over {channel}: {status} {str(body)[:200]}")
        if await kit.effect(act, target):
            problems.append(f"{act.name}: took effect")
    # The moderation queue, over the API and as a page.
    may_see_queue = role == "facilitator of session A only"
    status, _ = await kit.api(who, "GET", f"/api/v1/conferences/{kit.slug}/moderation")
    r, _ = await kit.page(who, f"/c/{kit.slug}/moderation")
    if may_see_queue:
        assert (status, r.status) == (200, 200)
    elif who is ANON:
        assert status == 401 and r.url.path == "/login"
    else:
        assert (status, r.status) == (403, 403)
    assert problems == []
    assert await kit.log() == []


async def test_a_facilitator_of_session_a_may_moderate_session_a_but_not_members(kit):
    problems = []
    for act in ACTIONS:
        target, in_thread = await kit.target(act, kit.sa)
        status, body = await kit.perform(kit.fac_a, act, target, "api", in_thread)
        expected = 403 if act.kind == "member" else 200
        if status != expected:
            problems.append(f"{act.name}: {status} {body}")
        if await kit.effect(act, target) != (expected == 200):
            problems.append(f"{act.name}: effect is not as expected")
    assert problems == []
    # Moving into session B is not theirs to do either.
    post_id = await kit.add_post(kit.ta, kit.ann, "To B?")
    status, body = await kit.api(
        kit.fac_a,
        "POST",
        f"/api/v1/posts/{post_id}/moderation",
        {"action": "move", "to_thread_id": kit.tb["id"]},
    )
    assert status == 422 and "to_thread_id" in body["error"]["fields"]
    assert (await kit.post_row(post_id))["thread_id"] == kit.ta["id"]


async def test_an_organiser_of_another_conference_cannot_see_a_members_only_conferences_posts(kit):
    await kit.pool.execute(
        "UPDATE conferences SET visibility = 'members' WHERE id = $1", kit.c["id"]
    )
    post_id = await kit.add_post(kit.ta, kit.ann, "Members only")
    before = await kit.snapshot()
    status, _ = await kit.api(
        kit.other_org,
        "POST",
        f"/api/v1/posts/{post_id}/moderation",
        {"action": "hide", "reason": "x"},
    )
    assert status == 404
    status, _ = await kit.api(
        kit.other_org, "POST", f"/api/v1/threads/{kit.ta['id']}/moderation", {"action": "pin"}
    )
    assert status in (403, 404)
    assert await kit.snapshot() == before


# === 4. reports and auto-hide ============================================================


async def test_reports_from_three_members_hide_a_post_and_log_an_auto_hide(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Buy cheap watches")
    results = []
    for flagger in (kit.ben, kit.cat):
        status, body = await kit.api(
            flagger, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"}
        )
        results.append((status, body))
    assert results == [
        (201, {"post_id": post_id, "flags": 1, "hidden": False}),
        (201, {"post_id": post_id, "flags": 2, "hidden": False}),
    ]
    assert (await kit.post_row(post_id))["status"] == "visible"
    ack = await (await kit.socket(kit.dan)).flag(post_id=post_id, reason="spam", note="")
    assert ack == {"ok": True, "result": {"post_id": post_id, "flags": 3, "hidden": True}}
    row = await kit.post_row(post_id)
    assert row["status"] == "hidden" and row["hidden_reason"] == AUTO_HIDE_REASON
    (entry,) = await kit.log()
    assert entry["action"] == "post.auto_hide" and entry["actor_id"] is None
    assert entry["target_id"] == post_id and entry["reason"] == AUTO_HIDE_REASON
    assert entry["details"] == {"flags": 3}
    _, post = await kit.api(kit.speaker, "GET", f"/api/v1/posts/{post_id}")
    assert (
        post["html"] == ""
        and post["placeholder"] == f"Removed by a facilitator: {AUTO_HIDE_REASON}"
    )


async def test_one_member_reporting_a_post_three_times_makes_one_report_and_does_not_hide_it(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Contentious")
    status, _ = await kit.api(kit.ben, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"})
    assert status == 201
    status, body = await kit.api(
        kit.ben, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "off_topic"}
    )
    assert status == 409 and body["error"]["code"] == "conflict"
    ack = await (await kit.socket(kit.ben)).flag(post_id=post_id, reason="disrespectful")
    assert ack["ok"] is False and ack["error"]["code"] == "conflict"
    assert await kit.pool.fetchval("SELECT count(*) FROM flags WHERE post_id = $1", post_id) == 1
    assert (await kit.post_row(post_id))["status"] == "visible"
    assert await kit.log() == []


async def test_the_auto_hide_threshold_is_set_per_conference(kit):
    await kit.pool.execute("UPDATE conferences SET flag_threshold = 2 WHERE id = $1", kit.c["id"])
    post_id = await kit.add_post(kit.ta, kit.ann, "Two is enough")
    _, first = await kit.api(kit.ben, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"})
    _, second = await kit.api(
        kit.cat, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "other", "note": "Advert"}
    )
    assert first["hidden"] is False and second == {"post_id": post_id, "flags": 2, "hidden": True}
    assert (await kit.post_row(post_id))["hidden_reason"] == AUTO_HIDE_REASON


async def _auto_hidden_post(kit: Kit) -> int:
    post_id = await kit.add_post(kit.ta, kit.ann, "Reported three times")
    for flagger in (kit.ben, kit.cat, kit.dan):
        status, _ = await kit.api(
            flagger, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "disrespectful"}
        )
        assert status == 201
    assert (await kit.post_row(post_id))["status"] == "hidden"
    return post_id


async def test_resolving_reports_with_keep_shows_an_auto_hidden_post_again(kit):
    post_id = await _auto_hidden_post(kit)
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/flags/resolve", {"outcome": "keep"}
    )
    assert status == 200 and body["status"] == "visible"
    row = await kit.post_row(post_id)
    assert row["status"] == "visible" and row["hidden_reason"] is None
    flags = await kit.pool.fetch(
        "SELECT resolved_at, resolved_by, resolution FROM flags WHERE post_id = $1", post_id
    )
    assert len(flags) == 3
    assert all(f["resolved_at"] and f["resolved_by"] == kit.fac.id for f in flags)
    assert {f["resolution"] for f in flags} == {"kept"}
    _, queue = await kit.api(kit.fac, "GET", f"/api/v1/conferences/{kit.slug}/moderation")
    assert queue["flagged"] == []
    assert [r["action"] for r in await kit.log()] == ["post.auto_hide", "flags.keep"]
    # Nothing left to resolve.
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/flags/resolve", {"outcome": "keep"}
    )
    assert status == 409


async def test_resolving_reports_with_hide_keeps_the_post_hidden_with_the_new_reason(kit):
    post_id = await _auto_hidden_post(kit)
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/flags/resolve", {"outcome": "hide"}
    )
    assert status == 422 and "reason" in body["error"]["fields"]
    r, _ = await kit.form(
        kit.fac,
        f"/c/{kit.slug}/posts/{post_id}/flags/resolve",
        {"outcome": "hide", "reason": "Disrespectful language"},
    )
    assert r.status == 303
    row = await kit.post_row(post_id)
    assert row["status"] == "hidden" and row["hidden_reason"] == "Disrespectful language"
    resolutions = await kit.pool.fetch("SELECT resolution FROM flags WHERE post_id = $1", post_id)
    assert {f["resolution"] for f in resolutions} == {"hidden"}
    _, post = await kit.api(kit.ben, "GET", f"/api/v1/posts/{post_id}")
    assert post["placeholder"] == "Removed by a facilitator: Disrespectful language"
    log = await kit.log()
    assert [(r["action"], r["reason"]) for r in log][-1] == ("flags.hide", "Disrespectful language")


async def test_a_member_cannot_report_their_own_post(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Mine")
    status, body = await kit.api(
        kit.ann, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"}
    )
    assert status == 403 and "your own post" in body["error"]["message"]
    ack = await (await kit.socket(kit.ann)).flag(post_id=post_id, reason="spam")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert await kit.pool.fetchval("SELECT count(*) FROM flags") == 0


async def test_a_post_awaiting_approval_cannot_be_reported_by_others(kit):
    """Members who cannot see a pending post get 404, as for any post they cannot see."""
    post_id = await kit.add_post(kit.ta, kit.ann, "Queued", status="pending")
    status, _ = await kit.api(kit.ben, "POST", f"/api/v1/posts/{post_id}/flags", {"reason": "spam"})
    assert status == 404
    assert await kit.pool.fetchval("SELECT count(*) FROM flags") == 0


# === 5. pre-moderation ===================================================================


async def test_a_premoderated_thread_queues_member_posts_until_a_facilitator_approves(kit):
    tid = kit.ta["id"]
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/threads/{tid}/moderation", {"action": "premoderate"}
    )
    assert status == 200
    count = (await kit.thread_row(tid))["post_count"]
    status, post = await kit.post_as(kit.ann, kit.ta, "Queued words")
    assert status == 201 and post["status"] == "pending"
    post_id = post["id"]
    assert (await kit.thread_row(tid))["post_count"] == count

    # The author sees it, marked; nobody else does.
    _, text = await kit.page(kit.ann, f"/c/{kit.slug}/threads/{tid}")
    assert "Queued words" in text and "Awaiting approval" in text
    status, mine = await kit.api(kit.ann, "GET", f"/api/v1/posts/{post_id}")
    assert status == 200 and mine["status"] == "pending"
    for reader in (kit.ben, ANON):
        _, text = await kit.page(reader, f"/c/{kit.slug}/threads/{tid}")
        assert "Queued words" not in text
        status, _ = await kit.api(reader, "GET", f"/api/v1/posts/{post_id}")
        assert status == 404
        _, listed = await kit.api(reader, "GET", f"/api/v1/threads/{tid}/posts")
        assert post_id not in [p["id"] for p in listed["posts"]]
    _, queue = await kit.api(kit.fac, "GET", f"/api/v1/conferences/{kit.slug}/moderation")
    assert [p["post_id"] for p in queue["pending"]] == [post_id]

    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "approve"}
    )
    assert status == 200 and body["status"] == "visible"
    status, seen = await kit.api(kit.ben, "GET", f"/api/v1/posts/{post_id}")
    assert status == 200 and "Queued words" in seen["html"]
    assert (await kit.thread_row(tid))["post_count"] == count + 1
    # Approving twice is refused.
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "approve"}
    )
    assert status == 422 and "action" in body["error"]["fields"]
    assert [r["action"] for r in await kit.log()] == ["thread.premoderate", "post.approve"]


async def test_rejecting_a_queued_post_hides_it_as_not_approved_with_the_reason(kit):
    await kit.pool.execute("UPDATE threads SET premoderated = true WHERE id = $1", kit.ta["id"])
    _, post = await kit.post_as(kit.ann, kit.ta, "Please publish me")
    post_id = post["id"]
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "reject"}
    )
    assert status == 422 and "reason" in body["error"]["fields"]
    assert (await kit.post_row(post_id))["status"] == "pending"
    ack = await (await kit.socket(kit.fac)).moderate(
        action="reject", post_id=post_id, reason="Off-topic"
    )
    assert ack["ok"] is True
    row = await kit.post_row(post_id)
    assert row["status"] == "hidden" and row["hidden_reason"] == "Not approved: Off-topic"
    _, mine = await kit.api(kit.ann, "GET", f"/api/v1/posts/{post_id}")
    assert "Please publish me" in mine["html"] and mine["status"] == "hidden"
    status, other = await kit.api(kit.ben, "GET", f"/api/v1/posts/{post_id}")
    assert other["html"] == "" and other["placeholder"].endswith("Not approved: Off-topic")
    (entry,) = await kit.log()
    assert (entry["action"], entry["reason"]) == ("post.reject", "Off-topic")


async def test_a_premoderated_member_has_every_post_queued_until_released(kit):
    path = f"/api/v1/conferences/{kit.slug}/members/{kit.ann.id}/moderation"
    status, _ = await kit.api(kit.fac, "POST", path, {"action": "premoderate"})
    assert status == 200
    _, in_a = await kit.post_as(kit.ann, kit.ta, "In A")
    _, in_b = await kit.post_as(kit.ann, kit.tb, "In B")
    _, others = await kit.post_as(kit.ben, kit.ta, "Ben's")
    assert (in_a["status"], in_b["status"], others["status"]) == ("pending", "pending", "visible")
    status, _ = await kit.api(kit.fac, "POST", path, {"action": "unpremoderate"})
    assert status == 200
    _, later = await kit.post_as(kit.ann, kit.ta, "Free again")
    assert later["status"] == "visible"
    assert [r["action"] for r in await kit.log()] == ["member.premoderate", "member.unpremoderate"]


async def test_a_members_first_posts_are_queued_until_they_have_n_posts_shown(kit):
    """premoderate_first_posts = 2: a post needs approval while its author has fewer than 2
    visible-or-hidden posts in the conference (any thread)."""
    await kit.pool.execute(
        "UPDATE conferences SET premoderate_first_posts = 2 WHERE id = $1", kit.c["id"]
    )

    async def post(thread: dict, body: str) -> dict:
        status, made = await kit.post_as(kit.ann, thread, body)
        assert status == 201
        return made

    async def approve(post_id: int) -> None:
        status, _ = await kit.api(
            kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "approve"}
        )
        assert status == 200

    first = await post(kit.ta, "First")
    second = await post(kit.tb, "Second")
    assert (first["status"], second["status"]) == ("pending", "pending")
    await approve(first["id"])
    third = await post(kit.ta, "Third")  # one shown, fewer than two: still queued
    assert third["status"] == "pending"
    await approve(second["id"])
    fourth = await post(kit.ta, "Fourth")  # two shown: no longer queued
    assert fourth["status"] == "visible"
    # Another member starts again from their own count.
    _, bens = await kit.post_as(kit.ben, kit.ta, "Ben's first")
    assert bens["status"] == "pending"


async def test_staff_posts_are_never_queued(kit):
    await kit.pool.execute(
        "UPDATE conferences SET premoderate_first_posts = 5 WHERE id = $1", kit.c["id"]
    )
    await kit.pool.execute("UPDATE threads SET premoderated = true")
    await kit.pool.execute("UPDATE memberships SET premoderated = true")
    for who in (kit.org, kit.fac, kit.fac_a):
        status, post = await kit.post_as(who, kit.ta, f"From {who.name}")
        assert (status, post["status"]) == (201, "visible"), who.name
    _, control = await kit.post_as(kit.ben, kit.ta, "From a participant")
    assert control["status"] == "pending"


# === 6. slow mode ========================================================================


async def _slow_mode(kit: Kit, seconds: int = 60, **extra: Any) -> None:
    status, body = await kit.api(
        kit.fac,
        "POST",
        f"/api/v1/threads/{kit.ta['id']}/moderation",
        {"action": "slow_mode", "seconds": seconds, **extra},
    )
    assert status == 200, body


async def test_slow_mode_refuses_a_second_post_within_the_interval_with_retry_after(kit):
    await _slow_mode(kit, 60)
    assert (await kit.thread_row(kit.ta["id"]))["slow_mode_seconds"] == 60
    status, _ = await kit.post_as(kit.ann, kit.ta, "First")
    assert status == 201
    b = await kit.browser(None)
    async with b.session.post(
        b.url(f"/api/v1/threads/{kit.ta['id']}/posts"),
        json={"body": "Second"},
        headers={"Authorization": f"Bearer {kit.ann.token}"},
    ) as r:
        body = await r.json()
        assert r.status == 429 and body["error"]["code"] == "too_many_requests"
        assert 58 <= int(r.headers["Retry-After"]) <= 60
    assert "you can post again in 1 minute." in body["error"]["message"]  # not "59 seconds"
    ack = await (await kit.socket(kit.ann)).post(thread_id=kit.ta["id"], body="Socket")
    assert ack["ok"] is False and ack["error"]["code"] == "too_many_requests"
    # The form shows the page again with the text kept.
    r, text = await kit.form(
        kit.ann, f"/c/{kit.slug}/threads/{kit.ta['id']}/posts", {"body": "Keep this text"}
    )
    assert r.status == 429 and "Keep this text" in text and "Slow mode is on" in text
    # Other threads are not slowed.
    status, _ = await kit.post_as(kit.ann, kit.ta2, "Elsewhere")
    assert status == 201
    assert (
        await kit.pool.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", kit.ann.id) == 2
    )


async def test_slow_mode_allows_the_next_post_once_the_interval_has_passed(kit):
    await _slow_mode(kit, 60)
    status, first = await kit.post_as(kit.ann, kit.ta, "First")
    assert status == 201
    await kit.pool.execute(
        "UPDATE posts SET created_at = created_at - interval '55 seconds' WHERE id = $1",
        first["id"],
    )
    status, body = await kit.post_as(kit.ann, kit.ta, "Nearly")
    assert status == 429
    m = re.search(r"in (\d+) seconds?\b", body["error"]["message"])
    assert m and 1 <= int(m.group(1)) <= 5
    await kit.pool.execute(
        "UPDATE posts SET created_at = created_at - interval '6 seconds' WHERE id = $1",
        first["id"],
    )  # 61 seconds ago in all
    status, _ = await kit.post_as(kit.ann, kit.ta, "Now")
    assert status == 201


async def test_facilitators_are_exempt_from_slow_mode(kit):
    await _slow_mode(kit, 60)
    for body in ("One", "Two", "Three"):
        status, _ = await kit.post_as(kit.fac, kit.ta, body)
        assert status == 201
    for body in ("One", "Two"):
        status, _ = await kit.post_as(kit.org, kit.ta, body)
        assert status == 201


async def test_slow_mode_past_its_end_time_no_longer_limits(kit):
    await _slow_mode(kit, 60, until="2099-01-01T12:00")
    row = await kit.thread_row(kit.ta["id"])
    assert row["slow_mode_until"] is not None
    status, _ = await kit.post_as(kit.ann, kit.ta, "First")
    status, _ = await kit.post_as(kit.ann, kit.ta, "Second")
    assert status == 429
    await kit.pool.execute(
        "UPDATE threads SET slow_mode_until = now() - interval '1 minute' WHERE id = $1",
        kit.ta["id"],
    )
    for body in ("Third", "Fourth"):
        status, _ = await kit.post_as(kit.ann, kit.ta, body)
        assert status == 201


# === 7. the audit log: atomic with its action, and append-only ===========================

FAIL_ON = """
CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by the test';
END;
$$;
CREATE TRIGGER refuse_log BEFORE INSERT ON moderation_log
FOR EACH ROW WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_log();
"""


async def test_a_hide_whose_log_row_fails_is_not_made(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Still here")
    await kit.pool.execute(FAIL_ON.format(action="post.hide"))
    before = await kit.snapshot()
    ctx = Ctx(pool=kit.pool, settings=kit.settings, hub=Hub())
    with pytest.raises(asyncpg.RaiseError):
        await moderation.moderate_post(
            ctx, Actor(user_id=kit.fac.id), post_id, "hide", {"reason": "x"}
        )
    assert await kit.snapshot() == before
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "x"}
    )
    assert status == 500
    r, _ = await kit.form(
        kit.fac, f"/c/{kit.slug}/posts/{post_id}/moderate", {"action": "hide", "reason": "x"}
    )
    assert r.status == 500
    row = await kit.post_row(post_id)
    assert row["status"] == "visible" and row["hidden_reason"] is None
    assert await kit.log() == []
    # Other actions are unaffected.
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "pin"}
    )
    assert status == 200 and [r["action"] for r in await kit.log()] == ["post.pin"]


async def test_no_action_is_kept_when_its_log_row_cannot_be_written(kit):
    """With every insert into moderation_log refused, each action (and the auto-hide that a
    third report makes) answers 500 and leaves no trace: not the change, not the report."""
    targets = [(act, *await kit.target(act, kit.sa)) for act in ACTIONS]
    reported = await kit.add_post(kit.ta, kit.ann, "Reported")
    for flagger in (kit.ben, kit.cat):
        await kit.add_flag(reported, flagger)
    await kit.pool.execute(FAIL_ON.replace("NEW.action = '{action}'", "true"))
    before = await kit.snapshot()
    problems = []
    for act, target, in_thread in targets:
        status, _ = await kit.perform(kit.fac, act, target, "api", in_thread)
        if status != 500 or await kit.effect(act, target):
            problems.append(f"{act.name}: {status}")
    status, _ = await kit.api(
        kit.dan, "POST", f"/api/v1/posts/{reported}/flags", {"reason": "spam"}
    )
    assert status == 500
    assert problems == []
    assert await kit.snapshot() == before  # the third report is not kept either


async def test_the_moderation_log_refuses_updates_and_deletes(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Logged")
    await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "x"}
    )
    before = await kit.log()
    assert len(before) == 1
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await kit.pool.execute("UPDATE moderation_log SET reason = 'rewritten'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await kit.pool.execute("DELETE FROM moderation_log")
    assert await kit.log() == before


async def test_deleting_a_session_with_moderation_history_keeps_the_log_and_does_not_fail(kit):
    """moderation_log.session_id references sessions ON DELETE SET NULL: an UPDATE that the
    append-only trigger refuses. An organiser deleting such a session must get an answer
    (done, or refused politely), never a 500, and the log must keep its rows."""
    post_id = await kit.add_post(kit.tb, kit.ann, "Pinned in B")
    status, _ = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "pin"}
    )
    assert status == 200
    r, _ = await kit.form(kit.org, f"/c/{kit.slug}/manage/sessions/{kit.sb['id']}/delete", {})
    assert r.status != 500
    assert [(e["action"], e["target_id"]) for e in await kit.log()] == [("post.pin", post_id)]


# === 8. the moderation queue =============================================================


async def _queue_world(kit: Kit) -> dict[str, int]:
    """Pending and reported posts in both sessions, and log rows for both and for a member."""
    ids = {
        "pending_a": await kit.add_post(kit.ta, kit.ann, "Pending in A", "pending"),
        "pending_b": await kit.add_post(kit.tb, kit.ben, "Pending in B", "pending"),
        "twice": await kit.add_post(kit.ta, kit.ann, "Reported twice"),
        "once_b": await kit.add_post(kit.tb, kit.ann, "Reported once in B"),
        "once_a": await kit.add_post(kit.ta2, kit.ben, "Reported once in A"),
        "hidden_a": await kit.add_post(kit.ta, kit.ann, "Hidden in A"),
        "hidden_b": await kit.add_post(kit.tb, kit.ann, "Hidden in B"),
    }
    await kit.add_flag(ids["twice"], kit.ben, "spam")
    await kit.add_flag(ids["twice"], kit.cat, "off_topic")
    await kit.add_flag(ids["once_b"], kit.cat, "disrespectful")
    await kit.add_flag(ids["once_a"], kit.dan, "personal_information")
    # The order the reports were made in: twice, then once_b, then once_a (newest).
    for minutes, post in ((30, "twice"), (20, "once_b"), (10, "once_a")):
        await kit.pool.execute(
            "UPDATE flags SET created_at = now() - make_interval(mins => $2) WHERE post_id = $1",
            ids[post],
            minutes,
        )
    for key in ("hidden_a", "hidden_b"):
        status, _ = await kit.api(
            kit.fac,
            "POST",
            f"/api/v1/posts/{ids[key]}/moderation",
            {"action": "hide", "reason": key},
        )
        assert status == 200
    status, _ = await kit.api(
        kit.fac,
        "POST",
        f"/api/v1/conferences/{kit.slug}/members/{kit.dan.id}/moderation",
        {"action": "premoderate"},
    )
    assert status == 200
    return ids


async def test_the_queue_lists_pending_and_reported_posts_newest_report_first_with_counts(kit):
    ids = await _queue_world(kit)
    status, queue = await kit.api(kit.fac, "GET", f"/api/v1/conferences/{kit.slug}/moderation")
    assert status == 200
    pending = {p["post_id"]: p for p in queue["pending"]}
    assert set(pending) == {ids["pending_a"], ids["pending_b"]}
    assert pending[ids["pending_a"]]["body_md"] == "Pending in A"
    assert pending[ids["pending_a"]]["author_id"] == kit.ann.id
    assert pending[ids["pending_b"]]["session_id"] == kit.sb["id"]
    flagged = [(f["post_id"], f["flag_count"]) for f in queue["flagged"]]
    assert flagged == [(ids["once_a"], 1), (ids["once_b"], 1), (ids["twice"], 2)]
    twice = queue["flagged"][2]
    assert sorted(twice["reasons"]) == ["off_topic", "spam"]
    assert [(r["action"], r["target_id"]) for r in queue["log"]] == [
        ("member.premoderate", kit.dan.id),
        ("post.hide", ids["hidden_b"]),
        ("post.hide", ids["hidden_a"]),
    ]  # newest first


async def test_a_session_scoped_facilitator_sees_only_their_sessions_in_the_queue(kit):
    ids = await _queue_world(kit)
    status, queue = await kit.api(
        kit.fac_a, "GET", f"/api/v1/conferences/{kit.slug}/moderation", via="cookie"
    )
    assert status == 200
    assert [p["post_id"] for p in queue["pending"]] == [ids["pending_a"]]
    assert [f["post_id"] for f in queue["flagged"]] == [ids["once_a"], ids["twice"]]
    assert [(r["action"], r["target_id"]) for r in queue["log"]] == [("post.hide", ids["hidden_a"])]
    assert "Pending in B" not in json.dumps(queue) and "hidden_b" not in json.dumps(queue)


# === 9. bad input changes nothing ========================================================


async def test_bad_input_is_refused_with_the_field_named_and_changes_nothing(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "A fine post")
    pending = await kit.add_post(kit.ta, kit.ann, "Queued", "pending")
    tid = kit.ta["id"]
    member = f"/api/v1/conferences/{kit.slug}/members/{kit.ben.id}/moderation"
    cases: list[tuple[str, dict[str, Any], int, str | None]] = [
        (f"/api/v1/threads/{tid}/moderation", {"action": "lock"}, 422, "reason"),
        # What the OpenAPI document rules out (an action outside its enum, a missing one) is a
        # 400 from the API's contract (confer.api.contract), naming the field.
        (f"/api/v1/threads/{tid}/moderation", {"action": "explode"}, 400, "action"),
        (f"/api/v1/threads/{tid}/moderation", {}, 400, "action"),
        (f"/api/v1/threads/{tid}/moderation", {"action": "summarise"}, 422, "summary"),
        *[
            (
                f"/api/v1/threads/{tid}/moderation",
                {"action": "slow_mode", "seconds": v},
                422,
                "seconds",
            )
            for v in ("abc", -5, 3601, "")
        ],
        ("/api/v1/threads/999999/moderation", {"action": "pin"}, 404, None),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "hide"}, 422, "reason"),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": " "}, 422, "reason"),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "delete"}, 400, "action"),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "restore"}, 422, "action"),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "approve"}, 422, "action"),
        (f"/api/v1/posts/{pending}/moderation", {"action": "reject"}, 422, "reason"),
        (f"/api/v1/posts/{post_id}/moderation", {"action": "move"}, 422, "to_thread_id"),
        ("/api/v1/posts/999999/moderation", {"action": "hide", "reason": "x"}, 404, None),
        ("/api/v1/posts/999999/flags", {"reason": "spam"}, 404, None),
        (f"/api/v1/posts/{post_id}/flags", {"reason": "rude"}, 400, "reason"),
        (f"/api/v1/posts/{post_id}/flags", {"reason": "other", "note": ""}, 422, "note"),
        ("/api/v1/posts/999999/flags/resolve", {"outcome": "keep"}, 404, None),
        (f"/api/v1/posts/{post_id}/flags/resolve", {"outcome": "maybe"}, 400, "outcome"),
        (member, {"action": "mute", "minutes": 10}, 422, "reason"),
        (member, {"action": "mute", "minutes": "ten", "reason": "x"}, 422, "minutes"),
        (member, {"action": "remove"}, 422, "reason"),
        (member, {"action": "ban", "reason": "x"}, 400, "action"),
        (
            f"/api/v1/conferences/{kit.slug}/members/999999/moderation",
            {"action": "mute", "minutes": 5, "reason": "x"},
            404,
            None,
        ),
        (
            f"/api/v1/conferences/{kit.slug}/members/{kit.other_org.id}/moderation",
            {"action": "premoderate"},
            404,
            None,
        ),  # not a member of this conference
    ]
    before = await kit.snapshot()
    problems = []
    for path, body, expected, named in cases:
        status, answer = await kit.api(kit.fac, "POST", path, body)
        fields = answer.get("error", {}).get("fields", {}) if isinstance(answer, dict) else {}
        if status != expected or (named is not None and named not in fields):
            problems.append(f"{path} {body}: {status} {answer}")
    fac = await kit.socket(kit.fac)
    socket_cases = [
        ({"action": "lock", "thread_id": tid}, "invalid", "reason"),
        ({"action": "explode", "post_id": post_id}, "invalid", "action"),
        ({"action": "hide", "post_id": 999999, "reason": "x"}, "not_found", None),
        ({"post_id": post_id}, "bad_request", "action"),
        ({"action": "hide"}, "not_found", None),  # no target
    ]
    for data, code, named in socket_cases:
        ack = await fac.moderate(**data)
        if (
            ack["ok"]
            or ack["error"]["code"] != code
            or (named and named not in ack["error"]["fields"])
        ):
            problems.append(f"socket {data}: {ack}")
    ack = await (await kit.socket(kit.ben)).flag(post_id=999999, reason="spam")
    if ack["ok"] or ack["error"]["code"] != "not_found":
        problems.append(f"socket flag of an unknown post: {ack}")
    # Forms: unknown posts and threads are 404; bad fields show the problem page.
    for path, data, expected in (
        (f"/c/{kit.slug}/posts/999999/moderate", {"action": "hide", "reason": "x"}, 404),
        (f"/c/{kit.slug}/threads/999999/moderate", {"action": "pin"}, 404),
        (f"/c/{kit.slug}/posts/{post_id}/moderate", {"action": "explode"}, 422),
        (f"/c/{kit.slug}/posts/{post_id}/moderate", {"action": "hide", "reason": ""}, 422),
    ):
        r, _ = await kit.form(kit.fac, path, data)
        if r.status != expected:
            problems.append(f"form {path} {data}: {r.status}")
    assert problems == []
    assert await kit.snapshot() == before


async def test_a_post_or_thread_of_another_conference_is_not_found_through_this_conferences_forms(
    kit,
):
    """The organiser moderates both conferences, but /c/<slug>/... only reaches <slug>'s."""
    other_post = await kit.add_post(kit.ot, kit.other_org, "In the other conference")
    before = await kit.snapshot()
    for path, data in (
        (f"/c/{kit.slug}/posts/{other_post}/moderate", {"action": "hide", "reason": "x"}),
        (f"/c/{kit.slug}/posts/{other_post}/moderate", {"action": "pin"}),
        (f"/c/{kit.slug}/threads/{kit.ot['id']}/moderate", {"action": "lock", "reason": "x"}),
        (f"/c/{kit.slug}/posts/{other_post}/flags/resolve", {"outcome": "keep"}),
    ):
        r, _ = await kit.form(kit.org, path, data)
        assert r.status == 404, path
    assert await kit.snapshot() == before


async def test_a_post_deleted_by_its_author_cannot_be_pinned_but_can_be_unpinned(kit):
    post_id = await kit.add_post(kit.ta, kit.ann, "Pinned, then withdrawn")
    await kit.api(kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "pin"})
    status, _ = await kit.api(kit.ann, "DELETE", f"/api/v1/posts/{post_id}")
    assert status == 200
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "unpin"}
    )
    assert status == 200, body
    assert (await kit.post_row(post_id))["pinned_at"] is None
    status, body = await kit.api(
        kit.fac, "POST", f"/api/v1/posts/{post_id}/moderation", {"action": "pin"}
    )
    assert status == 422 and "action" in body["error"]["fields"]
    assert (await kit.post_row(post_id))["pinned_at"] is None
    assert [r["action"] for r in await kit.log()] == ["post.pin", "post.unpin"]


def test_the_action_table_covers_every_action_the_service_offers():
    covered = {(a.kind, a.action) for a in ACTIONS}
    offered = {("thread", a) for a in moderation.THREAD_ACTIONS}
    offered |= {("post", a) for a in moderation.POST_ACTIONS}
    offered |= {("member", a) for a in moderation.MEMBER_ACTIONS}
    offered |= {("flags", "resolve")}
    assert covered == offered
