"""Speaker panels: members ask questions and vote for others' questions; facilitators move
questions through their states (approve, answering now, answered, dismiss, merge); the
panel's speakers answer. Permission through confer.policy; windows from the database clock;
events to the panel's room after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from confer import markup, places, timebox, timefmt
from confer.context import Ctx
from confer.errors import Conflict, NotFound
from confer.i18n import N_, _
from confer.live.events import Event, moderation_rooms, notice_event, panel_room, user_room
from confer.moderation import queries as moderation_q
from confer.notifications import service as notifications
from confer.panels import queries as q
from confer.places import Place
from confer.policy import Actor
from confer.urls import url
from confer.validate import Fields, parse_id

QUESTION_MAX = 500
ANSWER_MAX = 20_000
STATE_ACTIONS = ("approve", "answering", "answered", "dismiss", "merge", "reopen")
PANEL_KINDS = ("panel", "keynote")


@dataclass(frozen=True)
class Panel:
    place: Place
    window: asyncpg.Record  # PANEL_WINDOW: state, asking_open, answering_open, ...
    speaker_ids: frozenset[int]

    @property
    def session(self) -> dict[str, Any]:
        return {"id": self.window["id"], "speaker_ids": self.speaker_ids}

    @property
    def staff(self) -> bool:
        return self.place.can("moderate", session={"id": self.window["id"]})


async def load(ctx: Ctx, actor: Actor, slug: str, session_id: int) -> Panel:
    place = await places.load(ctx.pool, actor, slug, "conference.see")
    place.require("conference.read")
    window = await q.panel_window(ctx.pool, session_id, place.id)
    if window is None or window["kind"] not in PANEL_KINDS:
        raise NotFound()
    speakers = await ctx.pool.fetch(
        "SELECT user_id FROM session_speakers WHERE session_id = $1", session_id
    )
    return Panel(place, window, frozenset(r["user_id"] for r in speakers))


async def _load_question(ctx: Ctx, actor: Actor, question_id: int) -> tuple[Panel, asyncpg.Record]:
    found = await q.fetch_slug_of_question(ctx.pool, question_id)
    if found is None:
        raise NotFound()
    panel = await load(ctx, actor, found["slug"], found["session_id"])
    question = await q.fetch_question(ctx.pool, question_id)
    assert question is not None
    return panel, question


def visible_to(panel: Panel, question: asyncpg.Record) -> bool:
    if question["status"] != "pending":
        return True
    return panel.staff or question["author_id"] == panel.place.actor.user_id


def payload(panel: Panel, question: asyncpg.Record | dict, answers: list | None = None) -> dict:
    slug = panel.place.conference["slug"]
    tz = panel.place.tz
    data = {
        "id": question["id"],
        "session_id": question["session_id"],
        "html": question["body_html"],
        "status": question["status"],
        "vote_count": question["vote_count"],
        "dismiss_reason": question["dismiss_reason"],
        "merged_into_id": question["merged_into_id"],
        "author": {
            "id": question["author_id"],
            "name": question["author_name"] or _("Former participant"),
            "title": question["author_title"] or "",
            "organisation": question["author_organisation"] or "",
        },
        "created_at": timefmt.iso(question["created_at"]),
        "created_at_text": timefmt.short(question["created_at"], tz),
        "created_at_texts": timefmt.short_texts(question["created_at"], tz),
        "change_seq": question["change_seq"],
        "url": f"{url('panel', slug=slug, session_id=question['session_id'])}"
        f"#question-{question['id']}",
    }
    if answers is not None:
        data["answers"] = [answer_payload(panel, a) for a in answers]
    return data


def answer_payload(panel: Panel, a: asyncpg.Record | dict) -> dict:
    return {
        "id": a["id"],
        "question_id": a["question_id"],
        "html": a["body_html"],
        "speaker": {
            "id": a["speaker_id"],
            "name": a["speaker_name"] or _("Former speaker"),
            "title": a["speaker_title"] or "",
            "organisation": a["speaker_organisation"] or "",
        },
        "created_at": timefmt.iso(a["created_at"]),
        "created_at_text": timefmt.short(a["created_at"], panel.place.tz),
        "created_at_texts": timefmt.short_texts(a["created_at"], panel.place.tz),
    }


async def questions(ctx: Ctx, panel: Panel, sort: str = "votes") -> list[dict]:
    """The panel's questions as this reader may see them, each with its answers."""
    rows = await q.list_questions(
        ctx.pool, panel.window["id"], panel.place.actor.user_id, "new" if sort == "new" else "votes"
    )
    return await _with_answers(ctx, panel, rows)


async def questions_changed(ctx: Ctx, panel: Panel, since: int, limit: int) -> list[dict]:
    """The questions changed after change number `since` (at most `limit`, oldest change
    first), as this reader may see them, each with its answers: a panel page catching up."""
    rows = await q.list_questions_changed(
        ctx.pool, panel.window["id"], panel.place.actor.user_id, since, limit
    )
    return await _with_answers(ctx, panel, rows)


async def _with_answers(ctx: Ctx, panel: Panel, rows: list[asyncpg.Record]) -> list[dict]:
    rows = [r for r in rows if visible_to(panel, r)]
    answers: dict[int, list] = {}
    for a in await q.list_answers(ctx.pool, [r["id"] for r in rows]):
        answers.setdefault(a["question_id"], []).append(a)
    out = []
    for r in rows:
        item = payload(panel, r, answers.get(r["id"], []))
        item["voted"] = r["voted"]
        item["mine"] = r["author_id"] == panel.place.actor.user_id
        out.append(item)
    return out


def _rooms(panel: Panel, question: asyncpg.Record | dict) -> list[str]:
    """Pending questions go only to the panel's moderators and their author."""
    if question["status"] == "pending":
        rooms = moderation_rooms(panel.place.id, panel.window["id"])
        if question["author_id"] is not None:
            rooms.append(user_room(question["author_id"]))
        return rooms
    return [panel_room(panel.window["id"])]


def question_new_events(panel: Panel, question: asyncpg.Record, data: dict) -> list[Event]:
    """A question asked, or approved: the whole question (its `payload`)."""
    return [Event("question:new", room, data) for room in _rooms(panel, question)]


def question_updated_events(
    panel: Panel, question: asyncpg.Record, data: dict | None = None, *, vote_count: int = 0
) -> list[Event]:
    """A question changed: the whole question (its `payload`, as `data`), or, without `data`,
    only its new `vote_count` (`{"id", "session_id", "vote_count"}`)."""
    if data is None:
        data = {
            "id": question["id"],
            "session_id": question["session_id"],
            "vote_count": vote_count,
        }
    return [Event("question:updated", room, data) for room in _rooms(panel, question)]


def question_answering_event(panel: Panel, data: dict) -> Event:
    """The question (its `payload`) the panel is answering now, to the panel's page."""
    return Event("question:answering", panel_room(panel.window["id"]), data)


async def ask(
    ctx: Ctx, actor: Actor, slug: str, session_id: int, data: dict[str, Any]
) -> tuple[dict, bool]:
    """Ask a question while asking is open; a repeated idempotency key returns the first."""
    panel = await load(ctx, actor, slug, session_id)
    panel.place.require("question.ask")
    f = Fields()
    body = f.text(
        "body",
        data.get("body"),
        required=N_("Enter your question"),
        too_long=N_("Your question must be %(max)s characters or fewer"),
        max_len=QUESTION_MAX,
    )
    key = data.get("idempotency_key") or None
    if key is not None:
        key = f.text(
            "idempotency_key",
            key,
            required=N_("Enter idempotency key"),
            too_long=N_("Idempotency key must be %(max)s characters or fewer"),
            max_len=100,
        )
    f.raise_if_any()
    assert actor.user_id is not None
    if key and (existing := await q.fetch_question_by_key(ctx.pool, actor.user_id, key)):
        row = await q.fetch_question(ctx.pool, existing)
        assert row is not None
        return payload(panel, row, []), False
    w = panel.window
    timebox.check_asking_open(w, panel.place.tz)
    html = await markup.render(body)
    status = "pending" if w["questions_premoderated"] and not panel.staff else "open"
    try:
        question_id = await q.insert_question(
            ctx.pool, session_id, panel.place.id, actor.user_id, body, html, status, key
        )
    except asyncpg.UniqueViolationError:
        existing = await q.fetch_question_by_key(ctx.pool, actor.user_id, key or "")
        if existing is None:
            raise
        row = await q.fetch_question(ctx.pool, existing)
        assert row is not None
        return payload(panel, row, []), False
    row = await q.fetch_question(ctx.pool, question_id)
    assert row is not None
    data_out = payload(panel, row, [])
    await ctx.hub.publish(question_new_events(panel, row, data_out))
    return data_out, True


async def vote(ctx: Ctx, actor: Actor, question_id: int, *, withdraw: bool = False) -> dict:
    """One vote per member per question; withdrawing removes it. Safe under concurrency:
    the vote row is unique and the count moves only when a row was really added or removed."""
    panel, question = await _load_question(ctx, actor, question_id)
    panel.place.require("question.vote", post=question)
    if question["status"] not in ("open", "answering"):
        raise Conflict(_("Votes are closed for this question."))
    timebox.check_voting_open(panel.window)
    assert actor.user_id is not None
    async with ctx.pool.acquire() as con, con.transaction():
        if withdraw:
            changed = await q.delete_vote(con, question_id, actor.user_id)
            count = await q.add_to_count(con, question_id, -1 if changed else 0)
        else:
            changed = await q.insert_vote(con, question_id, actor.user_id)
            count = await q.add_to_count(con, question_id, 1 if changed else 0)
    result = {"question_id": question_id, "vote_count": count, "voted": not withdraw}
    if changed:
        await ctx.hub.publish(question_updated_events(panel, question, vote_count=count))
    return result


# A whole sentence for each status a question can be in (change_state's refusal).
CANNOT_CHANGE: dict[str, str] = {
    "pending": N_("A question that is pending cannot be changed like that"),
    "open": N_("A question that is open cannot be changed like that"),
    "answering": N_("A question that is answering cannot be changed like that"),
    "answered": N_("A question that is answered cannot be changed like that"),
    "dismissed": N_("A question that is dismissed cannot be changed like that"),
}
# Stored as the reason of a merged question (the page shows it in the reader's language).
MERGED_REASON = N_("Merged with a similar question")


async def change_state(
    ctx: Ctx, actor: Actor, question_id: int, action: str, data: dict[str, Any]
) -> dict:
    """Facilitators and organisers: approve, mark answering now, answered, dismiss with a
    reason (the author is told), merge a duplicate into another (votes combine), reopen."""
    panel, question = await _load_question(ctx, actor, question_id)
    panel.place.require("moderate", session={"id": question["session_id"]})
    f = Fields()
    if action not in STATE_ACTIONS:
        f.add("action", _("Choose what to do"))
    reason = f.text(
        "reason",
        data.get("reason"),
        required=N_("Enter reason") if action == "dismiss" else None,
        too_long=N_("Reason must be %(max)s characters or fewer"),
        max_len=500,
    )
    into = None
    if action == "merge":
        raw = str(data.get("into") or data.get("into_id") or "")
        into_id = parse_id(raw)
        if into_id is None:
            f.add("into", _("Choose the question to merge this one into"))
        else:
            into = await q.fetch_question(ctx.pool, into_id)
            if into is None or into["session_id"] != question["session_id"]:
                f.add("into", _("That question is not in this panel"))
            elif into["id"] == question_id:
                f.add("into", _("A question cannot be merged into itself"))
            elif into["status"] in ("dismissed", "pending"):
                f.add("into", _("Merge into an open question"))
    allowed = {
        "approve": ("pending",),
        "answering": ("open", "answered"),
        "answered": ("open", "answering"),
        "dismiss": ("pending", "open", "answering", "answered"),
        "merge": ("pending", "open", "answering"),
        "reopen": ("answering", "answered", "dismissed"),
    }
    if action in allowed and question["status"] not in allowed[action]:
        f.add("action", _(CANNOT_CHANGE[question["status"]]))
    f.raise_if_any()
    new_status = {
        "approve": "open",
        "answering": "answering",
        "answered": "answered",
        "dismiss": "dismissed",
        "merge": "dismissed",
        "reopen": "open",
    }[action]
    events_extra: list[Event] = []
    async with ctx.pool.acquire() as con, con.transaction():
        await q.lock_question(con, question_id)
        if action == "answering":
            # One question is "answering now" at a time; the previous one goes back to open.
            await con.execute(
                "UPDATE questions SET status = 'open', updated_at = now() "
                "WHERE session_id = $1 AND status = 'answering' AND id <> $2",
                question["session_id"],
                question_id,
            )
        if action == "merge":
            assert into is not None
            await q.lock_question(con, into["id"])
            kept_count = await q.merge_votes(con, question_id, into["id"])
            await q.set_status(con, question_id, "dismissed", MERGED_REASON, into["id"])
            events_extra += question_updated_events(panel, into, vote_count=kept_count)
        else:
            await q.set_status(
                con, question_id, new_status, reason if action == "dismiss" else None
            )
        await moderation_q.insert_log(
            con,
            panel.place.id,
            question["session_id"],
            actor.user_id,
            f"question.{action}",
            "question",
            question_id,
            reason,
            {"into": into["id"]} if into else {},
        )
        # Its asker is told (in this transaction; live after commit) when it is answered or
        # dismissed: merged, they are told why.
        author_id = question["author_id"]
        if action in ("answered", "dismiss", "merge") and author_id not in (None, actor.user_id):
            told = await notifications.tell_member(
                con,
                ctx.settings,
                author_id,
                "question_answered" if action == "answered" else "question_dismissed",
                conference_id=panel.place.id,
                actor_id=actor.user_id,
                session_id=question["session_id"],
                question_id=question_id,
                reason={"dismiss": reason, "merge": MERGED_REASON}.get(action),
            )
            if told is not None:
                events_extra.append(told)
    fresh = await q.fetch_question(ctx.pool, question_id)
    assert fresh is not None
    answers = await q.list_answers(ctx.pool, [question_id])
    data_out = payload(panel, fresh, answers)
    if action == "approve":
        events = question_new_events(panel, fresh, data_out) + events_extra
    else:
        events = question_updated_events(panel, fresh, data_out) + events_extra
    if action == "answering":
        events.append(question_answering_event(panel, data_out))
    if action in ("dismiss", "merge") and question["author_id"] is not None:
        events.append(
            notice_event(
                question["author_id"],
                "question.dismissed",
                conference_id=panel.place.id,
                reason=fresh["dismiss_reason"],
                question_id=question_id,
            )
        )
    await ctx.hub.publish(events)
    return data_out


async def answer(ctx: Ctx, actor: Actor, question_id: int, data: dict[str, Any]) -> dict:
    """A speaker of the panel (or an organiser) answers, while answering is open."""
    panel, question = await _load_question(ctx, actor, question_id)
    panel.place.require("question.answer", session=panel.session)
    if question["status"] in ("pending", "dismissed"):
        raise Conflict(_("This question cannot be answered."))
    timebox.check_answering_open(panel.window, panel.place.tz)
    f = Fields()
    body = f.text(
        "body",
        data.get("body"),
        required=N_("Enter your answer"),
        too_long=N_("Your answer must be %(max)s characters or fewer"),
        max_len=ANSWER_MAX,
        too_large_is_413=True,
    )
    f.raise_if_any()
    html = await markup.render(body)
    told = None
    async with ctx.pool.acquire() as con, con.transaction():
        status = (await q.lock_question(con, question_id))["status"]
        answer_id = await q.insert_answer(con, question_id, actor.user_id, body, html)
        # Answered now: it no longer says "answering now" (nor waits as open).
        if status in ("open", "answering"):
            await q.set_status(con, question_id, "answered")
        if question["author_id"] not in (None, actor.user_id):
            told = await notifications.tell_member(
                con,
                ctx.settings,
                question["author_id"],
                "question_answered",
                conference_id=panel.place.id,
                actor_id=actor.user_id,
                session_id=question["session_id"],
                question_id=question_id,
                answer_id=answer_id,
            )
    rows = await q.list_answers(ctx.pool, [question_id])
    fresh = await q.fetch_question(ctx.pool, question_id)
    assert fresh is not None
    data_out = payload(panel, fresh, rows)
    data_out["answer_id"] = answer_id
    await ctx.hub.publish(
        question_updated_events(panel, fresh, data_out) + ([told] if told is not None else [])
    )
    return data_out
