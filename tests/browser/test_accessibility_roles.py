"""axe-core, JavaScript on, on the page states #23 (item 7) names that the first audits never
drew: the programme with session descriptions, a panel page as each role (with questions
pending, open, being answered, answered and dismissed), and the moderation page on a busy day
(posts waiting for approval, a long reported post folded behind "Show all", and opened).

Nothing at all may be found (every impact fails, as in test_phone.py). The questions, posts
and reports are made through the service functions the pages call.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.async_api import expect

from confer.keys import ctx_key
from confer.moderation import service as moderation
from confer.panels import service as panels
from confer.posts import service as posts
from tests.browser.helpers import IMPACTS, SESSION_LOOP, Audits
from tests.browser.test_notices_pages import actor

pytestmark = [pytest.mark.browser, SESSION_LOOP]


async def busy_day(world, server) -> dict:
    ctx = server.app[ctx_key]
    pool = world.pool
    conf = await world.conference()
    slug = conf["slug"]
    talk = await world.session(conf, title="Housing", lasts=timedelta(hours=4))
    panel = await world.session(conf, kind="panel", title="Money", lasts=timedelta(hours=4))
    later = await world.session(conf, kind="keynote", title="Close", starts_in=timedelta(hours=5))
    for s, text in ((talk, "Waiting lists and what to do"), (panel, "Ask the finance team")):
        await pool.execute(
            "UPDATE sessions SET description_md = $2, description_html = $3 WHERE id = $1",
            s["id"], text, f"<p>{text}</p><ul><li>One point</li><li>Another</li></ul>",
        )  # fmt: skip
    await pool.execute(
        "UPDATE sessions SET description_md = 'Last words', description_html = '<p>Last words</p>'"
        " WHERE id = $1",
        later["id"],
    )
    people = {}
    for role in ("organiser", "facilitator", "speaker", "participant", "observer"):
        people[role] = await world.user(f"{role.capitalize()} Person")
        await world.member(conf, people[role], role)
    reporter = await world.user("Rita Reporter")
    await world.member(conf, reporter)
    await pool.execute(
        "INSERT INTO session_speakers (session_id, user_id) VALUES ($1, $2)",
        panel["id"], people["speaker"]["id"],
    )  # fmt: skip
    fac, member = actor(people["facilitator"]), actor(people["participant"])

    # Questions in every state: open, being answered, answered, dismissed, and (premoderated)
    # waiting for approval.
    ids = []
    for body in ("Where does the money go?", "Who decides?", "When?", "Off topic"):
        q, _ = await panels.ask(
            ctx, member, slug, panel["id"], {"body": body, "idempotency_key": str(uuid.uuid4())}
        )
        ids.append(q["id"])
    await panels.change_state(ctx, fac, ids[1], "answering", {})
    await panels.answer(ctx, actor(people["speaker"]), ids[2], {"body": "In **May**."})
    await panels.change_state(ctx, fac, ids[3], "dismiss", {"reason": "Not about money"})
    await pool.execute(
        "UPDATE sessions SET questions_premoderated = true WHERE id = $1", panel["id"]
    )
    await panels.ask(
        ctx, member, slug, panel["id"], {"body": "Pending?", "idempotency_key": str(uuid.uuid4())}
    )

    # The moderation queue: a thread whose posts wait for approval, and a long reported post.
    thread = await world.thread(talk, people["facilitator"], title="Temporary accommodation")
    long_body = " ".join(f"word{i}" for i in range(1700))
    long_post, _ = await posts.create_post(
        ctx, member, slug, thread["id"], {"body": long_body, "idempotency_key": str(uuid.uuid4())}
    )
    await moderation.flag_post(ctx, actor(reporter), long_post["id"], {"reason": "spam"})
    await moderation.flag_post(
        ctx, actor(people["speaker"]), long_post["id"], {"reason": "other", "note": "Rambling"}
    )
    await moderation.moderate_thread(ctx, fac, thread["id"], "premoderate", {})
    for body in ("Waiting one", "Waiting two"):
        await posts.create_post(
            ctx, member, slug, thread["id"], {"body": body, "idempotency_key": str(uuid.uuid4())}
        )
    await moderation.moderate_member(
        ctx, fac, slug, reporter["id"], "mute", {"minutes": "60", "reason": "Cooling off"}
    )
    return {"conf": conf, "slug": slug, "panel": panel, "people": people, "flagged": long_post}


@pytest.mark.parametrize("width", [1280, 320], ids=["desktop", "320px"])
async def test_programme_panels_by_role_and_busy_moderation_have_no_axe_violations(
    world, new_page, server, width
):
    s = await busy_day(world, server)
    c = f"/c/{s['slug']}"
    viewport = {"width": width, "height": 800 if width > 320 else 640}
    audits = Audits(IMPACTS)

    for role in (None, "observer", "participant", "speaker", "facilitator", "organiser"):
        who = role or "anonymous"
        page = await new_page(user=s["people"][role] if role else None)
        await page.set_viewport_size(viewport)
        await page.goto(f"{c}/programme")
        await expect(page.get_by_text("Waiting lists and what to do")).to_be_visible()
        await audits.check(page, f"programme with descriptions ({who}, {width}px)")
        await page.goto(f"{c}/panels/{s['panel']['id']}")
        await expect(page.locator("p", has_text="Who decides?")).to_be_visible()
        await audits.check(page, f"panel ({who}, {width}px)")

    page = await new_page(user=s["people"]["facilitator"])
    await page.set_viewport_size(viewport)
    await page.goto(f"{c}/moderation")
    await expect(page.get_by_text("Waiting two")).to_be_visible()
    item = page.locator(f"#flagged-{s['flagged']['id']}")
    await expect(item.get_by_role("button", name="Keep the post")).to_be_visible()
    await audits.check(page, f"moderation, queued and reported ({width}px)")
    await item.get_by_text("Show all of this post").click()
    await expect(item.get_by_text("word1699")).to_be_visible()
    await audits.check(page, f"moderation, a long post shown whole ({width}px)")
    audits.assert_clean()
